//! The router: HTTP functions' routes, the key check and body limit in front of every handler,
//! and the axum router built from the route table.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};

use crate::api::route::{Body, RouteEntry, handler, resp};
use crate::app::state::{FunctionEntry, HostState};
use crate::error::{ApiError, empty};
use crate::functions::http_function::AuthLevel;
use crate::functions::request::{Call, HttpRequest, QueryParams, presented_key, read_body};
use crate::keys::Access;
use durafn_runtime::{SpanKind, SpanRecord, with_trace_context};

type BoxFuture = Pin<Box<dyn Future<Output = Result<Response, ApiError>> + Send>>;

/// The routes of the app's HTTP functions.
pub(crate) fn function_routes(functions: &[Arc<FunctionEntry>]) -> Vec<RouteEntry> {
    let mut out = Vec::new();
    for f in functions {
        let access = match f.trigger.auth_level {
            AuthLevel::Anonymous => Access::Anonymous,
            AuthLevel::Function => Access::Function(f.name.clone()),
            AuthLevel::Admin => Access::Admin,
        };
        for path in &f.template.paths {
            for method in &f.methods {
                let entry = f.clone();
                out.push(RouteEntry {
                    method: method.clone(),
                    path: path.clone(),
                    access: access.clone(),
                    tag: "functions",
                    summary: format!("HTTP function {}", f.name),
                    query: Vec::new(),
                    responses: vec![resp(
                        0,
                        "Whatever the function answers; 500 with {\"Message\"} when it fails or runs longer than functionTimeout.",
                        Body::Anything,
                    )],
                    body: Some("*/*"),
                    function: Some(f.name.clone()),
                    handler: handler(move |s, c| invoke(entry.clone(), s, c)),
                });
            }
        }
    }
    out
}

/// Runs an HTTP function. Its errors and panics become a 500 that says nothing about them;
/// the detail is logged.
async fn invoke(f: Arc<FunctionEntry>, s: HostState, call: Call) -> Result<Response, ApiError> {
    if !f.template.accepts(&call.path) {
        return Ok(empty(StatusCode::NOT_FOUND));
    }
    let origin = s.origin_of(&call.headers);
    let span = s.telemetry.sink().map(|_| request_span(&f, &call));
    let req = HttpRequest::from_call(call, &origin);
    let client = s.http_client(origin);
    let handler = f.handler.clone();
    let context = span.as_ref().map(SpanRecord::context);
    let log = tracing::info_span!(
        "function",
        function = f.name.as_str(),
        trace_id = span
            .as_ref()
            .map(|s| durafn_core::trace::hex(&s.trace_id))
            .unwrap_or_default(),
    );
    let mut task = tokio::spawn(tracing::Instrument::instrument(
        with_trace_context(context, async move { handler.call(req, client).await }),
        log,
    ));
    let answer = run_function(&f, &s, &mut task).await;
    if let (Some(sink), Some(mut span)) = (s.telemetry.sink(), span) {
        span.end = chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now());
        let status = match &answer {
            Ok(r) => r.status().as_u16(),
            Err(e) => e.status().as_u16(),
        };
        let failed = (status >= 500).then(|| format!("the function answered {status}"));
        sink.emit(vec![
            span.with_int("http.response.status_code", i64::from(status))
                .failed(failed),
        ]);
    }
    answer
}

/// The server span of one call of an HTTP function: `{method} {route}`, a child of the
/// request's `traceparent` (or a new trace's root).
fn request_span(f: &FunctionEntry, call: &Call) -> SpanRecord {
    let route = f.template.paths.first().cloned().unwrap_or_default();
    SpanRecord::begin(
        crate::api::management::trace_context(call).as_ref(),
        format!("{} {route}", call.method),
        SpanKind::Server,
        &durafn_runtime::new_id(),
        chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now()),
    )
    .with("http.request.method", call.method.as_str())
    .with("http.route", route)
    .with("faas.trigger", "http")
    .with("faas.name", f.name.as_str())
}

/// Waits for a function's task up to the function timeout.
async fn run_function(
    f: &FunctionEntry,
    s: &HostState,
    task: &mut tokio::task::JoinHandle<
        Result<
            crate::functions::request::HttpResponse,
            crate::functions::http_function::HandlerError,
        >,
    >,
) -> Result<Response, ApiError> {
    let joined = match s.function_timeout {
        None => Some((&mut *task).await),
        Some(limit) => tokio::time::timeout(limit, &mut *task).await.ok(),
    };
    let Some(joined) = joined else {
        task.abort();
        tracing::error!(function = %f.name, "the function ran longer than the function timeout and was stopped");
        return Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The function ran longer than the function timeout (host.json functionTimeout) and was stopped.",
        ));
    };
    match joined {
        Ok(Ok(response)) => Ok(response.into_response()),
        Ok(Err(e)) => {
            tracing::error!(function = %f.name, error = %e, "the function failed");
            Err(function_failed())
        }
        Err(join) => {
            let detail = if join.is_panic() {
                "panicked"
            } else {
                "was cancelled"
            };
            tracing::error!(function = %f.name, "the function {detail}");
            Err(function_failed())
        }
    }
}

fn function_failed() -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "The function failed; see the host log.",
    )
}

/// Wraps a route's handler: the query is parsed, the key checked (401 with an empty body),
/// path parameters decoded and the body read under the limit before the handler runs.
fn endpoint(
    entry: &RouteEntry,
    rpc: bool,
) -> impl Fn(State<HostState>, Request) -> BoxFuture + Clone + Send + Sync + 'static {
    let access = entry.access.clone();
    let h = entry.handler.clone();
    let route: Arc<str> = Arc::from(format!("{} {}", entry.method, entry.path));
    move |State(s): State<HostState>, req: Request| {
        let access = access.clone();
        let h = h.clone();
        let route = route.clone();
        Box::pin(async move {
            let started = std::time::Instant::now();
            let answer = serve_call(&s, req, &access, &h, rpc).await;
            s.http_seconds
                .observe(&route, started.elapsed().as_secs_f64());
            answer
        })
    }
}

/// Parses, authorizes and runs one request of a route.
async fn serve_call(
    s: &HostState,
    req: Request,
    access: &Access,
    h: &crate::api::route::Handler,
    rpc: bool,
) -> Result<Response, ApiError> {
    let s = s.clone();
    let (mut parts, body) = req.into_parts();
    let query = QueryParams::parse(&parts.uri)?;
    if !s
        .keys
        .authorize(presented_key(&parts.headers, &query), access)
    {
        return Ok(empty(StatusCode::UNAUTHORIZED));
    }
    let path = Call::path_params(&mut parts, &s).await?;
    let body = read_body(body, &parts.headers, s.max_body).await?;
    let call = Call {
        method: parts.method,
        uri: parts.uri,
        headers: parts.headers,
        query,
        path,
        body,
        rpc,
    };
    h(s, call).await
}

async fn no_route() -> Response {
    empty(StatusCode::NOT_FOUND)
}

/// Builds the router from the route table. Routes of one path share a method router whose
/// other methods answer 404 with an empty body, as unknown routes do. `rpc` marks the router of
/// the local RPC endpoint.
pub(crate) fn build_router(state: HostState, routes: &[RouteEntry], rpc: bool) -> Router {
    let mut by_path: BTreeMap<String, MethodRouter<HostState>> = BTreeMap::new();
    for r in routes {
        let Ok(filter) = MethodFilter::try_from(r.method.clone()) else {
            continue;
        };
        let ep = endpoint(r, rpc);
        let served = move |st: State<HostState>, req: Request| {
            let ep = ep.clone();
            async move {
                match ep(st, req).await {
                    Ok(r) => r,
                    Err(e) => e.into_response(),
                }
            }
        };
        let mr = match by_path.remove(&r.path) {
            Some(existing) => existing.on(filter, served),
            None => on(filter, served),
        };
        by_path.insert(r.path.clone(), mr);
    }
    let mut router = Router::new();
    for (path, mr) in by_path {
        router = router.route(&path, mr.fallback(no_route));
    }
    router.fallback(no_route).with_state(state)
}
