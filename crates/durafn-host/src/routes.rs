//! The route table: every route the host serves, with its access rule and documentation. The
//! router and the OpenAPI document are both built from it, so they cannot disagree.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::http::{Method, StatusCode};
use axum::response::Response;

use crate::durable_http::MANAGEMENT_BASE;
use crate::error::{ApiError, json_response};
use crate::keys::Access;
use crate::request::Call;
use crate::router::function_routes;
use crate::state::{FunctionEntry, HostState};
use crate::{admin, management, metrics, openapi};

type BoxFuture = Pin<Box<dyn Future<Output = Result<Response, ApiError>> + Send>>;
pub(crate) type Handler = Arc<dyn Fn(HostState, Call) -> BoxFuture + Send + Sync>;

/// Boxes an async handler function.
pub(crate) fn handler<F, Fut>(f: F) -> Handler
where
    F: Fn(HostState, Call) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Response, ApiError>> + Send + 'static,
{
    Arc::new(move |s, c| Box::pin(f(s, c)))
}

/// A documented query parameter.
#[derive(Debug, Clone)]
pub(crate) struct QueryDoc {
    pub(crate) name: &'static str,
    pub(crate) kind: &'static str,
    pub(crate) description: &'static str,
}

const fn q(name: &'static str, kind: &'static str, description: &'static str) -> QueryDoc {
    QueryDoc {
        name,
        kind,
        description,
    }
}

/// One route.
#[derive(Clone)]
pub(crate) struct RouteEntry {
    pub(crate) method: Method,
    /// The path template (`{name}` parameters, `{*name}` catch-all), the same in axum and
    /// OpenAPI apart from the catch-all star.
    pub(crate) path: String,
    pub(crate) access: Access,
    pub(crate) tag: &'static str,
    pub(crate) summary: String,
    pub(crate) query: Vec<QueryDoc>,
    pub(crate) responses: Vec<(u16, &'static str)>,
    /// The request body's media type, if it takes one.
    pub(crate) body: Option<&'static str>,
    /// The HTTP function serving it, for function routes.
    pub(crate) function: Option<String>,
    pub(crate) handler: Handler,
}

/// A route as the public API lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    /// The method.
    pub method: String,
    /// The path template, such as `/runtime/webhooks/durabletask/instances/{instanceId}`.
    pub path: String,
    /// Who may call it: `anonymous`, `function`, `admin` (master key) or `system` (the
    /// durabletask system key or the master key).
    pub auth: &'static str,
    /// What it does.
    pub summary: String,
    /// The HTTP function serving it (`None` for the host's own routes).
    pub function: Option<String>,
}

impl RouteEntry {
    pub(crate) fn info(&self) -> RouteInfo {
        RouteInfo {
            method: self.method.to_string(),
            path: self.path.clone(),
            auth: match self.access {
                Access::Anonymous => "anonymous",
                Access::Function(_) => "function",
                Access::Admin => "admin",
                Access::System => "system",
            },
            summary: self.summary.clone(),
            function: self.function.clone(),
        }
    }
}

const HUB: QueryDoc = q(
    "taskHub",
    "string",
    "Task hub; another hub's name gives 404.",
);
const CONNECTION: QueryDoc = q("connection", "string", "Accepted and ignored.");

#[allow(clippy::too_many_arguments)]
fn route(
    method: Method,
    path: &str,
    access: Access,
    tag: &'static str,
    summary: &str,
    query: Vec<QueryDoc>,
    responses: Vec<(u16, &'static str)>,
    h: Handler,
) -> RouteEntry {
    RouteEntry {
        method,
        path: path.to_string(),
        access,
        tag,
        summary: summary.to_string(),
        query,
        responses,
        body: None,
        function: None,
        handler: h,
    }
}

fn with_body(mut r: RouteEntry, media: &'static str) -> RouteEntry {
    r.body = Some(media);
    r
}

fn management_routes() -> Vec<RouteEntry> {
    let m = |p: &str| format!("{MANAGEMENT_BASE}{p}");
    let sys = || Access::System;
    let t = "management";
    let hub = || vec![HUB, CONNECTION];
    let with = |extra: &[QueryDoc]| {
        let mut v = hub();
        v.extend_from_slice(extra);
        v
    };
    let reason = q("reason", "string", "Why (recorded in history).");
    let list_query = with(&[
        q("instanceIdPrefix", "string", "Only ids starting with this."),
        q("createdTimeFrom", "date-time", "Created at or after."),
        q("createdTimeTo", "date-time", "Created at or before."),
        q(
            "runtimeStatus",
            "string",
            "Comma-separated statuses; may repeat.",
        ),
        q("showInput", "boolean", "Include inputs (default false)."),
        q("top", "integer", "Page size (default 100, at most 1000)."),
    ]);
    let purge_query = with(&[
        q(
            "createdTimeFrom",
            "date-time",
            "Required: created at or after.",
        ),
        q("createdTimeTo", "date-time", "Created at or before."),
        q(
            "runtimeStatus",
            "string",
            "Comma-separated statuses; may repeat.",
        ),
    ]);
    let start_query = with(&[
        q(
            "timeout",
            "integer",
            "With pollingInterval: wait up to this many seconds.",
        ),
        q(
            "pollingInterval",
            "integer",
            "With timeout: wait for completion.",
        ),
    ]);
    let start_responses = vec![
        (200, "Completed within the timeout: the output."),
        (
            202,
            "Started: the check-status body, Location and Retry-After.",
        ),
        (
            400,
            "Unknown orchestrator, invalid instance id or invalid JSON.",
        ),
        (409, "An active instance has that id."),
    ];
    let op_responses = vec![
        (202, "Accepted."),
        (404, "No such instance (empty body)."),
        (410, "The instance has finished (empty body)."),
    ];
    let start = handler(management::start);
    let mut routes = vec![
        with_body(
            route(
                Method::POST,
                &m("/orchestrators/{functionName}"),
                sys(),
                t,
                "Start an orchestration",
                start_query.clone(),
                start_responses.clone(),
                start.clone(),
            ),
            "application/json",
        ),
        with_body(
            route(
                Method::POST,
                &m("/orchestrators/{functionName}/{instanceId}"),
                sys(),
                t,
                "Start an orchestration with an instance id",
                start_query,
                start_responses,
                start,
            ),
            "application/json",
        ),
    ];
    for path in ["/instances", "/instances/"] {
        routes.push(route(
            Method::GET,
            &m(path),
            sys(),
            t,
            "List instances, one page at a time (x-ms-continuation-token)",
            list_query.clone(),
            vec![
                (200, "A JSON array of status objects."),
                (400, "A bad filter."),
            ],
            handler(management::list),
        ));
        routes.push(route(
            Method::DELETE,
            &m(path),
            sys(),
            t,
            "Purge finished instances by filter",
            purge_query.clone(),
            vec![
                (200, "{\"instancesDeleted\": n}"),
                (400, "createdTimeFrom is missing or a filter is bad."),
                (404, "Nothing matched (empty body)."),
            ],
            handler(management::purge_many),
        ));
    }
    routes.extend([
        route(
            Method::GET,
            &m("/instances/{instanceId}"),
            sys(),
            t,
            "Get an instance's status",
            with(&[
                q(
                    "showHistory",
                    "boolean",
                    "Include the history (default false).",
                ),
                q(
                    "showHistoryOutput",
                    "boolean",
                    "Include results in the history.",
                ),
                q("showInput", "boolean", "Include the input (default true)."),
                q(
                    "returnInternalServerErrorOnFailure",
                    "boolean",
                    "500 when Failed.",
                ),
            ]),
            vec![
                (200, "Completed, Terminated or Failed."),
                (202, "Pending, Running, ContinuedAsNew or Suspended."),
                (404, "No such instance (empty body)."),
                (500, "Failed, with returnInternalServerErrorOnFailure."),
            ],
            handler(management::status),
        ),
        route(
            Method::DELETE,
            &m("/instances/{instanceId}"),
            sys(),
            t,
            "Purge an instance's history",
            hub(),
            vec![
                (200, "{\"instancesDeleted\": 1}"),
                (404, "No such instance (empty body)."),
                (409, "The instance is still active."),
            ],
            handler(management::purge_one),
        ),
        route(
            Method::POST,
            &m("/instances/{instanceId}/terminate"),
            sys(),
            t,
            "Terminate an instance",
            with(std::slice::from_ref(&reason)),
            op_responses.clone(),
            handler(management::terminate),
        ),
        route(
            Method::POST,
            &m("/instances/{instanceId}/suspend"),
            sys(),
            t,
            "Suspend an instance",
            with(std::slice::from_ref(&reason)),
            op_responses.clone(),
            handler(management::suspend),
        ),
        route(
            Method::POST,
            &m("/instances/{instanceId}/resume"),
            sys(),
            t,
            "Resume an instance",
            with(std::slice::from_ref(&reason)),
            op_responses.clone(),
            handler(management::resume),
        ),
        route(
            Method::POST,
            &m("/instances/{instanceId}/rewind"),
            sys(),
            t,
            "Rewind a failed instance",
            with(&[reason]),
            vec![
                (202, "Accepted (only a Failed instance is rewound)."),
                (404, "No such instance (empty body)."),
                (410, "Completed or Terminated (empty body)."),
            ],
            handler(management::rewind),
        ),
        route(
            Method::POST,
            &m("/instances/{instanceId}/restart"),
            sys(),
            t,
            "Start an instance again with the same input",
            with(&[q(
                "restartWithNewInstanceId",
                "boolean",
                "Use a new id (default true).",
            )]),
            vec![
                (202, "The check-status body of the new instance."),
                (404, "No such instance (empty body)."),
                (409, "Same id requested and the instance is still active."),
            ],
            handler(management::restart),
        ),
        with_body(
            route(
                Method::POST,
                &m("/instances/{instanceId}/raiseEvent/{eventName}"),
                sys(),
                t,
                "Raise an event",
                hub(),
                vec![
                    (202, "Accepted."),
                    (400, "Not application/json, or invalid JSON."),
                    (404, "No such instance (empty body)."),
                    (410, "The instance has finished (empty body)."),
                ],
                handler(management::raise_event),
            ),
            "application/json",
        ),
    ]);
    routes.extend([
        route(
            Method::GET,
            &m("/entities"),
            sys(),
            t,
            "List entities",
            hub(),
            vec![(200, "[{\"entityId\": {\"name\", \"key\"}, \"lastOperationTime\", \"state\"}]; more pages: x-ms-continuation-token.")],
            handler(management::list_entities),
        ),
        route(
            Method::GET,
            &m("/entities/{entityName}"),
            sys(),
            t,
            "List the entities of one entity function",
            hub(),
            vec![(200, "The entities (as for all entities).")],
            handler(management::list_entities),
        ),
        route(
            Method::GET,
            &m("/entities/{entityName}/{entityKey}"),
            sys(),
            t,
            "Get an entity's state",
            hub(),
            vec![
                (200, "The entity's state as JSON."),
                (400, "Invalid entity id."),
                (404, "The entity holds no state (JSON message)."),
            ],
            handler(management::get_entity),
        ),
        route(
            Method::POST,
            &m("/entities/{entityName}/{entityKey}"),
            sys(),
            t,
            "Signal an entity operation (op), the JSON body as input",
            hub(),
            vec![(202, "Signalled (one-way)."), (400, "No op, invalid id or invalid JSON.")],
            handler(management::signal_entity),
        ),
        route(
            Method::DELETE,
            &m("/entities/{entityName}/{entityKey}"),
            sys(),
            t,
            "Delete an entity's state (signals the delete operation)",
            hub(),
            vec![(202, "Signalled."), (400, "Invalid entity id.")],
            handler(management::delete_entity),
        ),
    ]);
    routes
}

fn admin_routes() -> Vec<RouteEntry> {
    let a = || Access::Admin;
    let keys_list = vec![
        (200, "{\"keys\": [{\"name\", \"value\"}]}"),
        (404, "Unknown function or collection."),
    ];
    let key_one = vec![(200, "{\"name\", \"value\"}"), (404, "No such key.")];
    let key_set = vec![
        (200, "Replaced: {\"name\", \"value\"}"),
        (201, "Created: {\"name\", \"value\"}"),
        (400, "Invalid name or value."),
        (404, "Unknown function or collection."),
        (409, "The key is set by an app setting."),
    ];
    let key_delete = vec![
        (204, "Deleted."),
        (400, "Cannot be deleted."),
        (404, "No such key."),
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
            vec![(200, "A JSON array.")],
            handler(admin::functions),
        ),
        route(
            Method::GET,
            "/admin/functions/{name}",
            a(),
            "admin",
            "One function and its bindings",
            vec![],
            vec![(200, "The function."), (404, "No such function.")],
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
            vec![(200, "The host's state.")],
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
            vec![(200, "The binding.")],
            handler(admin::binding),
        ),
        route(
            Method::GET,
            "/metrics",
            a(),
            "host",
            "Metrics in the Prometheus text format",
            vec![],
            vec![(200, "Prometheus text.")],
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
                (200, "Healthy."),
                (503, "Stopping, or the task hub does not answer."),
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
            vec![(200, "OpenAPI 3.1.")],
            handler(openapi::document),
        ),
    ]
}

/// Every route: the app's functions, the management API, admin and host routes.
pub(crate) fn all_routes(functions: &[Arc<FunctionEntry>]) -> Vec<RouteEntry> {
    let mut routes = function_routes(functions);
    routes.extend(management_routes());
    routes.extend(admin_routes());
    routes
}

/// The JSON answer of routes that return a fixed document.
pub(crate) fn json_ok(value: &serde_json::Value) -> Response {
    json_response(StatusCode::OK, value)
}
