//! The management API's query-string and body parsing, through the real router of an in-memory
//! host (its local RPC router: the management and entity routes, without keys). The input picks
//! a route of the host's own route table and gives its path parameters, the query string and the
//! body; whatever they are, the host must answer (never panic), and never with a server error:
//! nothing in an in-memory host can fail but the request.
//!
//! Input: `[route][path params] 0xFF [query] 0xFF [body]`. The low bits of the first byte pick
//! the route, its high bit the JSON content type. Path parameters are percent-encoded whole (any
//! text reaches the handler); the query is passed nearly raw (only bytes a URI cannot hold are
//! encoded), so broken escapes and separators reach the query parser.
#![no_main]

use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use durafn_host::http::{Request, header};
use durafn_host::{App, HostConfig, MANAGEMENT_BASE, RouteInfo};
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

struct World {
    runtime: tokio::runtime::Runtime,
    router: Router,
    routes: Vec<RouteInfo>,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let dir = std::env::temp_dir().join(format!("durafn-fuzz-{}", std::process::id()));
        let host = runtime
            .block_on(App::new().config(HostConfig::in_memory(dir)).start())
            .expect("an in-memory host starts");
        let router = host.rpc_router();
        let routes = host
            .routes()
            .into_iter()
            .filter(|r| r.path.starts_with(MANAGEMENT_BASE))
            .collect();
        // The host (and its runtime) lives as long as the process.
        std::mem::forget(host);
        World {
            runtime,
            router,
            routes,
        }
    })
}

fn encode(bytes: &[u8], keep: impl Fn(u8) -> bool) -> String {
    let mut out = String::new();
    for &b in bytes {
        if b.is_ascii_alphanumeric() || keep(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The route's path with its `{parameters}` filled from `params` (split at `/`).
fn fill(template: &str, params: &[u8]) -> String {
    let mut values = params.split(|b| *b == b'/');
    let mut path = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        path.push_str(&rest[..open]);
        path.push_str(&encode(values.next().unwrap_or(b"x"), |b| {
            b"-_.~".contains(&b)
        }));
        rest = &rest[open + close + 1..];
    }
    path.push_str(rest);
    path
}

fuzz_target!(|data: &[u8]| {
    let world = world();
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let mut parts = rest.splitn(3, |b| *b == 0xFF);
    let params = parts.next().unwrap_or_default();
    let query = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or_default();
    let route = &world.routes[usize::from(selector & 0x7F) % world.routes.len()];
    let mut uri = fill(&route.path, params);
    if !query.is_empty() {
        uri.push('?');
        uri.push_str(&encode(query, |b| b"-_.~&=%+,;:@/!$'()*".contains(&b)));
    }
    let mut request = Request::builder().method(route.method.as_str()).uri(&uri);
    if selector & 0x80 != 0 {
        request = request.header(header::CONTENT_TYPE, "application/json");
    }
    let request = request
        .body(Body::from(body.to_vec()))
        .expect("the request is well-formed");
    let response = world.runtime.block_on(async {
        let response = world
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router always answers");
        let status = response.status();
        let body = response.into_body().collect().await.map(|b| b.to_bytes());
        (status, body)
    });
    let (status, body) = response;
    assert!(
        !status.is_server_error(),
        "{} {uri} answered {status}: {body:?}",
        route.method
    );
});
