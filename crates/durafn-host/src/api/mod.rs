//! The host's HTTP API: one module per group of handlers (each owning its routes), and the
//! route table that lists every route with its access rule and documentation. The router and
//! the OpenAPI document are both built from that one table, so they cannot disagree.

pub(crate) mod admin;
pub(crate) mod inspect;
pub(crate) mod management;
pub(crate) mod metrics;
pub(crate) mod openapi;
pub(crate) mod route;
pub(crate) mod status_json;

use std::sync::Arc;

use self::route::RouteEntry;
use crate::app::router::function_routes;
use crate::app::state::FunctionEntry;

/// Every route: the app's functions, the management API, admin and host routes.
pub(crate) fn all_routes(functions: &[Arc<FunctionEntry>]) -> Vec<RouteEntry> {
    let mut routes = function_routes(functions);
    routes.extend(management::routes::routes());
    routes.extend(inspect::routes::routes());
    routes.extend(admin::routes::routes());
    routes
}
