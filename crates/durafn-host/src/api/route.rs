//! The shape of a route: its handler, access rule and documentation (query parameters, and
//! every status code it can answer with the body and headers of each).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::http::{Method, StatusCode};
use axum::response::Response;

use crate::app::state::HostState;
use crate::error::{ApiError, json_response};
use crate::functions::request::Call;
use crate::keys::Access;

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

pub(crate) const fn q(
    name: &'static str,
    kind: &'static str,
    description: &'static str,
) -> QueryDoc {
    QueryDoc {
        name,
        kind,
        description,
    }
}

/// What a response carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Body {
    /// Nothing (the management API's 202, 404 and 410).
    Empty,
    /// JSON of the named schema (`components.schemas`).
    Json(&'static str),
    /// JSON of one of the named schemas.
    JsonAnyOf(&'static [&'static str]),
    /// JSON of any shape (an orchestration's output, an entity's state).
    AnyJson,
    /// The Prometheus text format.
    Metrics,
    /// Whatever an HTTP-triggered function answers.
    Anything,
}

/// A response header a route may set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Header {
    /// `Location`: the status URL.
    Location,
    /// `Retry-After`: seconds until polling again.
    RetryAfter,
    /// `x-ms-continuation-token`: the next page.
    Continuation,
}

/// One response a route can give: its status code (0 for "any other", HTTP functions), what it
/// means, its body and headers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Resp {
    pub(crate) code: u16,
    pub(crate) description: &'static str,
    pub(crate) body: Body,
    pub(crate) headers: &'static [Header],
}

/// A response without headers.
pub(crate) const fn resp(code: u16, description: &'static str, body: Body) -> Resp {
    Resp {
        code,
        description,
        body,
        headers: &[],
    }
}

/// A response with headers.
pub(crate) const fn resp_with(
    code: u16,
    description: &'static str,
    body: Body,
    headers: &'static [Header],
) -> Resp {
    Resp {
        code,
        description,
        body,
        headers,
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
    pub(crate) responses: Vec<Resp>,
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

/// A route of the host's own (not an HTTP function).
#[allow(clippy::too_many_arguments)]
pub(crate) fn route(
    method: Method,
    path: &str,
    access: Access,
    tag: &'static str,
    summary: &str,
    query: Vec<QueryDoc>,
    responses: Vec<Resp>,
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

/// The route takes a body of this media type.
pub(crate) fn with_body(mut r: RouteEntry, media: &'static str) -> RouteEntry {
    r.body = Some(media);
    r
}

/// The JSON answer of routes that return a fixed document.
pub(crate) fn json_ok(value: &serde_json::Value) -> Response {
    json_response(StatusCode::OK, value)
}
