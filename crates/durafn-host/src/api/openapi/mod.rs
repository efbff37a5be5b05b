//! `GET /openapi.json` (anonymous): an OpenAPI 3.1 description of every route the host serves,
//! generated from the same route table the router is built from.
//!
//! Each operation lists every status code its route can answer with, the body of each (a
//! schema under `components.schemas` for every JSON body, no content for empty ones) and its
//! headers. The codes every route shares are added here: 400 for a query string or path that
//! cannot be decoded, 401 for routes that need a key, 413 for a body over the limit, 500 for an
//! internal failure, and for the management API a 404 for another task hub (unless the route
//! documents its own 404, whose shape it then takes) and 503 when the task hub is busy.

use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::api::metrics::PROMETHEUS_CONTENT_TYPE;
use crate::api::route::{Body, Header, Resp, RouteEntry, json_ok, resp};
use crate::app::state::HostState;
use crate::error::ApiError;
use crate::functions::durable_http::MANAGEMENT_BASE;
use crate::functions::request::Call;
use crate::keys::Access;
use durafn_core::Registry;

mod inspect_schemas;
mod schemas;

/// The parameters of a path template, in order (`{name}` and `{*name}`).
fn path_params(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|p| p.trim_start_matches('*').to_string())
        .collect()
}

/// The OpenAPI form of a path: catch-alls lose their star.
fn openapi_path(path: &str) -> String {
    path.replace("{*", "{")
}

fn security(access: &Access) -> Value {
    match access {
        Access::Anonymous => json!([]),
        _ => json!([{"functionsKeyHeader": []}, {"functionsKeyQuery": []}]),
    }
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn header(h: Header) -> (&'static str, Value) {
    match h {
        Header::Location => (
            "Location",
            json!({"description": "The status URL.", "schema": {"type": "string"}}),
        ),
        Header::RetryAfter => (
            "Retry-After",
            json!({"description": "Seconds to wait before polling again.", "schema": {"type": "integer"}}),
        ),
        Header::Continuation => (
            crate::api::management::CONTINUATION_HEADER,
            json!({"description": "Send it back to get the next page (only when there is one).", "schema": {"type": "string"}}),
        ),
    }
}

fn response(r: &Resp) -> Value {
    let mut out = json!({"description": r.description});
    let json_content = |schema: Value| json!({"application/json": {"schema": schema}});
    let content = match r.body {
        Body::Empty | Body::Anything => None,
        Body::Json(name) => Some(json_content(schema_ref(name))),
        Body::JsonAnyOf(names) => Some(json_content(
            json!({"anyOf": names.iter().map(|n| schema_ref(n)).collect::<Vec<_>>()}),
        )),
        Body::AnyJson => Some(json_content(json!({}))),
        Body::Metrics => Some(json!({
            PROMETHEUS_CONTENT_TYPE.split(';').next().unwrap_or("text/plain"):
                {"schema": {"type": "string"}}
        })),
    };
    if let Some(content) = content {
        out["content"] = content;
    }
    if !r.headers.is_empty() {
        let headers: Map<String, Value> = r
            .headers
            .iter()
            .map(|h| {
                let (name, value) = header(*h);
                (name.to_string(), value)
            })
            .collect();
        out["headers"] = Value::Object(headers);
    }
    out
}

/// The responses of a route: its own, and the ones every route of its kind shares.
fn responses(r: &RouteEntry) -> Map<String, Value> {
    let starts = r.path.starts_with(MANAGEMENT_BASE)
        && (r.path.contains("/orchestrators/") || r.path.ends_with("/restart"));
    let mut all: Vec<Resp> = r.responses.clone();
    let is_function = r.function.is_some();
    let management = r.path.starts_with(MANAGEMENT_BASE);
    let error = || Body::Json("Error");
    let mut shared = Vec::new();
    if !is_function {
        shared.push(resp(
            400,
            "The query string or the path could not be decoded.",
            error(),
        ));
        shared.push(resp(
            413,
            "The request body is larger than the limit.",
            error(),
        ));
        shared.push(resp(
            500,
            "An internal failure (the detail is in the host log).",
            error(),
        ));
    }
    if management {
        shared.push(resp(404, "Another task hub was named.", error()));
        shared.push(resp(503, "The task hub is busy; retry.", error()));
    }
    if !matches!(r.access, Access::Anonymous) {
        shared.push(resp(
            401,
            "No key, or a key that does not open this route (empty body).",
            Body::Empty,
        ));
    }
    for s in shared {
        if !all.iter().any(|a| a.code == s.code) {
            all.push(s);
        }
    }
    all.sort_by_key(|a| if a.code == 0 { u16::MAX } else { a.code });
    all.iter()
        .map(|a| {
            let code = if a.code == 0 {
                "default".to_string()
            } else {
                a.code.to_string()
            };
            let mut doc = response(a);
            if starts && a.body == Body::Json("CheckStatus") {
                doc["links"] = instance_links();
            }
            (code, doc)
        })
        .collect()
}

fn query_schema(kind: &str) -> Value {
    match kind {
        "date-time" => json!({"type": "string", "format": "date-time"}),
        "boolean" => json!({"type": "boolean"}),
        "integer" => json!({"type": "integer", "minimum": 0}),
        _ => json!({"type": "string"}),
    }
}

/// The names a path parameter can take when the app knows them all: its orchestrators for
/// `functionName` of the start routes, its entities for `entityName`.
pub(crate) struct Names<'a> {
    pub(crate) orchestrators: &'a [String],
    pub(crate) entities: &'a [String],
}

fn path_schema(name: &str, r: &RouteEntry, names: &Names<'_>) -> Value {
    let known = match name {
        "functionName" if r.path.contains("/orchestrators/") => names.orchestrators,
        "entityName" => names.entities,
        _ => &[],
    };
    if known.is_empty() {
        json!({"type": "string", "minLength": 1})
    } else {
        json!({"type": "string", "enum": known})
    }
}

/// The operations a started instance's id opens, as OpenAPI links from the start and restart
/// responses (clients and tools follow them as the check-status payload's URLs).
fn instance_links() -> Value {
    let mut links = Map::new();
    for (name, method, suffix) in [
        ("status", "GET", ""),
        ("purge", "DELETE", ""),
        ("terminate", "POST", "/terminate"),
        ("suspend", "POST", "/suspend"),
        ("resume", "POST", "/resume"),
        ("rewind", "POST", "/rewind"),
        ("restart", "POST", "/restart"),
        ("raiseEvent", "POST", "/raiseEvent/{eventName}"),
    ] {
        links.insert(
            name.to_string(),
            json!({
                "operationId": format!("{method} {MANAGEMENT_BASE}/instances/{{instanceId}}{suffix}"),
                "parameters": {"instanceId": "$response.body#/id"},
            }),
        );
    }
    Value::Object(links)
}

fn operation(r: &RouteEntry, names: &Names<'_>) -> Value {
    let mut parameters: Vec<Value> = path_params(&r.path)
        .into_iter()
        .map(|name| {
            let schema = path_schema(&name, r, names);
            json!({"name": name, "in": "path", "required": true, "schema": schema})
        })
        .collect();
    for q in &r.query {
        parameters.push(json!({
            "name": q.name, "in": "query", "required": false,
            "description": q.description, "schema": query_schema(q.kind),
        }));
    }
    let pages = r
        .responses
        .iter()
        .any(|a| a.headers.contains(&Header::Continuation));
    if pages {
        parameters.push(json!({
            "name": crate::api::management::CONTINUATION_HEADER, "in": "header", "required": false,
            "description": "The token of the next page, from the previous response.",
            "schema": {"type": "string"},
        }));
    }
    let role = match &r.access {
        Access::Anonymous => "anonymous".to_string(),
        Access::Function(f) => format!("function key of {f}, a host key or the master key"),
        Access::Admin => "master key".to_string(),
        Access::System => "durabletask_extension system key or master key; without a key on the local RPC endpoint".to_string(),
    };
    let mut op = json!({
        "operationId": format!("{} {}", r.method, r.path),
        "summary": r.summary,
        "description": format!("Access: {role}."),
        "tags": [r.tag],
        "parameters": parameters,
        "responses": responses(r),
        "security": security(&r.access),
    });
    if let Some(media) = r.body {
        op["requestBody"] = json!({
            "required": false,
            "content": {media: {"schema": schemas::request_body(&r.path, media)}},
        });
    }
    op
}

/// The document for a route table.
pub(crate) fn build(routes: &[RouteEntry], hub: &str, names: &Names<'_>) -> Value {
    let mut paths = Map::new();
    for r in routes {
        let entry = paths
            .entry(openapi_path(&r.path))
            .or_insert_with(|| Value::Object(Map::new()));
        entry[r.method.as_str().to_ascii_lowercase()] = operation(r, names);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "durafn function app",
            "version": env!("CARGO_PKG_VERSION"),
            "description": format!(
                "HTTP functions, the Durable Functions management API and the admin API of a durafn host (task hub {hub})."
            ),
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "functionsKeyHeader": {"type": "apiKey", "in": "header", "name": "x-functions-key"},
                "functionsKeyQuery": {"type": "apiKey", "in": "query", "name": "code"},
            },
            "schemas": schemas::all(),
        },
    })
}

/// The document of an app, made once when it starts.
pub(crate) fn of_app(routes: &[RouteEntry], hub: &str, registry: &Registry) -> Value {
    let orchestrators = registry.orchestrator_names();
    let entities = registry.entity_names();
    build(
        routes,
        hub,
        &Names {
            orchestrators: &orchestrators,
            entities: &entities,
        },
    )
}

/// GET `/openapi.json`.
pub(crate) async fn document(s: HostState, _: Call) -> Result<Response, ApiError> {
    Ok(json_ok(&s.openapi))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_of_paths() {
        assert_eq!(
            path_params("/x/{a}/y/{*rest}"),
            vec!["a".to_string(), "rest".to_string()]
        );
        assert_eq!(openapi_path("/x/{*rest}"), "/x/{rest}");
    }

    #[test]
    fn every_schema_named_by_a_route_exists() {
        let names: Vec<String> = schemas::all()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        let mut referenced = Vec::new();
        for r in crate::api::all_routes(&[]) {
            for a in &r.responses {
                match a.body {
                    Body::Json(n) => referenced.push(n),
                    Body::JsonAnyOf(ns) => referenced.extend_from_slice(ns),
                    _ => {}
                }
            }
        }
        referenced.push("Error");
        for n in referenced {
            assert!(names.iter().any(|k| k == n), "schema {n} is missing");
        }
    }
}
