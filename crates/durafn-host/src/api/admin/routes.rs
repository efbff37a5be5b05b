//! The admin API (master key), metrics, the health check and this document.

use axum::http::Method;

use crate::api::route::{Body, RouteEntry, handler, resp, route, with_body};
use crate::api::{admin, metrics, openapi};
use crate::keys::Access;

pub(crate) fn routes() -> Vec<RouteEntry> {
    let a = || Access::Admin;
    let error = || Body::Json("Error");
    let keys_list = vec![
        resp(200, "The keys.", Body::Json("Keys")),
        resp(404, "Unknown function or collection.", error()),
    ];
    let key_one = vec![
        resp(200, "The key.", Body::Json("Key")),
        resp(404, "No such key, function or collection.", error()),
    ];
    let key_set = vec![
        resp(200, "Replaced.", Body::Json("Key")),
        resp(201, "Created.", Body::Json("Key")),
        resp(400, "Invalid name, value or body.", error()),
        resp(404, "Unknown function or collection.", error()),
        resp(409, "The key is set by an app setting.", error()),
    ];
    let key_delete = vec![
        resp(204, "Deleted (empty body).", Body::Empty),
        resp(400, "Cannot be deleted.", error()),
        resp(404, "No such key, function or collection.", error()),
    ];
    let fk = "/admin/functions/{name}/keys";
    let hk = "/admin/host/{keyKind}";
    let kind = "keys";
    vec![
        route(
            Method::GET,
            "/admin/functions",
            a(),
            "admin",
            "The app's functions and their bindings (function.json)",
            vec![],
            vec![resp(200, "The functions.", Body::Json("Functions"))],
            handler(admin::functions),
        ),
        route(
            Method::GET,
            "/admin/functions/{name}",
            a(),
            "admin",
            "One function and its bindings",
            vec![],
            vec![
                resp(200, "The function.", Body::Json("Function")),
                resp(404, "No such function.", error()),
            ],
            handler(admin::function),
        ),
        route(
            Method::GET,
            fk,
            a(),
            kind,
            "A function's keys",
            vec![],
            keys_list.clone(),
            handler(admin::function_keys),
        ),
        route(
            Method::GET,
            &format!("{fk}/{{keyName}}"),
            a(),
            kind,
            "A function key",
            vec![],
            key_one.clone(),
            handler(admin::function_key),
        ),
        route(
            Method::POST,
            &format!("{fk}/{{keyName}}"),
            a(),
            kind,
            "Create or regenerate a function key",
            vec![],
            key_set.clone(),
            handler(admin::generate_function_key),
        ),
        with_body(
            route(
                Method::PUT,
                &format!("{fk}/{{keyName}}"),
                a(),
                kind,
                "Set a function key ({\"value\": …})",
                vec![],
                key_set.clone(),
                handler(admin::put_function_key),
            ),
            "application/json",
        ),
        route(
            Method::DELETE,
            &format!("{fk}/{{keyName}}"),
            a(),
            kind,
            "Delete a function key",
            vec![],
            key_delete.clone(),
            handler(admin::delete_function_key),
        ),
        route(
            Method::GET,
            "/admin/host/status",
            a(),
            "admin",
            "Host status",
            vec![],
            vec![resp(200, "The host's state.", Body::Json("HostStatus"))],
            handler(admin::host_status),
        ),
        route(
            Method::GET,
            hk,
            a(),
            kind,
            "Host keys (functionkeys, keys) or system keys (systemkeys)",
            vec![],
            keys_list,
            handler(admin::host_keys),
        ),
        route(
            Method::GET,
            &format!("{hk}/{{keyName}}"),
            a(),
            kind,
            "A host or system key (_master is the master key)",
            vec![],
            key_one,
            handler(admin::host_key),
        ),
        route(
            Method::POST,
            &format!("{hk}/{{keyName}}"),
            a(),
            kind,
            "Create or regenerate a host or system key",
            vec![],
            key_set.clone(),
            handler(admin::generate_host_key),
        ),
        with_body(
            route(
                Method::PUT,
                &format!("{hk}/{{keyName}}"),
                a(),
                kind,
                "Set a host or system key ({\"value\": …})",
                vec![],
                key_set,
                handler(admin::put_host_key),
            ),
            "application/json",
        ),
        route(
            Method::DELETE,
            &format!("{hk}/{{keyName}}"),
            a(),
            kind,
            "Delete a host or system key",
            vec![],
            key_delete,
            handler(admin::delete_host_key),
        ),
        route(
            Method::GET,
            "/admin/durabletask/binding",
            a(),
            "admin",
            "The durable client binding (the starter string of other languages' clients)",
            vec![],
            vec![resp(200, "The binding.", Body::Json("Binding"))],
            handler(admin::binding),
        ),
        route(
            Method::GET,
            "/metrics",
            a(),
            "host",
            "Metrics in the Prometheus text format",
            vec![],
            vec![resp(200, "Metrics.", Body::Metrics)],
            handler(metrics::metrics),
        ),
        route(
            Method::GET,
            "/healthz",
            Access::Anonymous,
            "host",
            "Health check",
            vec![],
            vec![
                resp(200, "Healthy.", Body::Json("Health")),
                resp(
                    503,
                    "Stopping, or the task hub does not answer.",
                    Body::Json("Health"),
                ),
            ],
            handler(admin::health),
        ),
        route(
            Method::GET,
            "/openapi.json",
            Access::Anonymous,
            "host",
            "This document",
            vec![],
            vec![resp(200, "OpenAPI 3.1.", Body::Json("OpenApi"))],
            handler(openapi::document),
        ),
    ]
}
