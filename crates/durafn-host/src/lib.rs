//! The durafn function-app host.
//!
//! A durafn function app is one binary that serves HTTP (by default on `127.0.0.1:7071`) and
//! runs its durable functions in the same process, in the shape of Azure Functions:
//!
//! - **HTTP-triggered functions** ([`HttpFunction`], or any [`HttpHandler`]) under the route
//!   prefix (`/api` by default), with route templates (`status/{id}`), methods and auth levels;
//!   each is handed the request and a [`DurableHttpClient`] that starts and manages
//!   orchestrations and answers with management links
//!   ([`DurableHttpClient::create_check_status_response`]);
//! - **orchestrators and activities** run by the durafn runtime over the app's task hub (SQLite
//!   by default, in the data directory);
//! - the **Durable Functions management API** under `/runtime/webhooks/durabletask`
//!   (the durabletask system key or the master key);
//! - the **admin API** (master key): `/admin/functions`, `/admin/host/status`, key management,
//!   the durable client binding (`/admin/durabletask/binding`), and `/metrics`;
//! - `/healthz` and `/openapi.json` (anonymous).
//!
//! Configuration follows Functions too: `host.json` (see [`config`]), app settings from the
//! environment and `local.settings.json` (see [`settings`]), and keys created on first start in
//! the data directory (see [`keys`]).
//!
//! # Routes and who may call them
//!
//! | Routes | Key |
//! |---|---|
//! | `/{routePrefix}/…` HTTP functions | per function: none (`anonymous`), a key of the function, a host key or the master key (`function`), the master key (`admin`) |
//! | `/runtime/webhooks/durabletask/…` | the `durabletask_extension` system key or the master key |
//! | `/admin/…`, `/metrics` | the master key |
//! | `/healthz`, `/openapi.json` | none |
//!
//! A key is passed in the `x-functions-key` header (which wins) or as `?code=`. A missing or
//! wrong key gets 401 with an empty body; an unknown route gets 404 with an empty body; every
//! other error is a 4xx with a JSON body `{"Message": …}` and never says more than the caller
//! needs (internal failures are logged and answered with a generic 500 or 503).
//! `GET /openapi.json` describes every route.
//!
//! The management API follows the Durable Functions extension route by route. Entities are not
//! enabled yet: the `entities` routes answer 404 with
//! `{"Message":"entities are not enabled in this function app"}`. The `rpcBaseUrl` of the client
//! binding points at the same key-protected API (there is no separate loopback listener).
//!
//! `/metrics` serves the Prometheus text format: instances by runtime status, turns and
//! activities processed and failed, dead-lettered work, instance cache hits and misses and size,
//! and orchestration turn and activity time as summaries with `_sum` and `_count` only (the
//! runtime keeps totals, not distributions). It needs the master key because instance counts
//! describe the business.
//!
//! # App settings the host reads
//!
//! `DURAFN_PORT`, `DURAFN_HOST`, `DURAFN_DATA_DIR` (also `--port`, `--host`, `--data-dir`),
//! `DURAFN_MASTER_KEY` and `DURAFN_SYSTEM_KEY` (set the master key and the durabletask system
//! key instead of generated ones; an operator uses them to give several hosts the same keys),
//! and `DURAFN_LOG` (the log level of [`App::run`]). See [`settings::HOST_SETTINGS`].
//!
//! ```no_run
//! use durafn_core::{FunctionError, OrchestrationContext, activity_fn, orchestrator_fn};
//! use durafn_host::{App, AuthLevel, HttpFunction, HttpResponse};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), durafn_host::HostError> {
//!     App::new()
//!         .orchestrator(orchestrator_fn("hello", |ctx: OrchestrationContext, name: String| async move {
//!             ctx.call_activity::<String>("greet", &name).await
//!         }))
//!         .activity(activity_fn("greet", |_ctx, name: String| async move {
//!             Ok::<_, FunctionError>(format!("Hello {name}!"))
//!         }))
//!         .function(
//!             HttpFunction::new("start-hello")
//!                 .route("hello/{name}")
//!                 .methods(["POST"])
//!                 .auth(AuthLevel::Function)
//!                 .handler(|req, client| async move {
//!                     let name = req.route_param("name").unwrap_or("world").to_string();
//!                     let id = client.start_new("hello", None, &name).await?;
//!                     Ok::<_, durafn_host::HandlerError>(client.create_check_status_response(&req, id.as_str()))
//!                 }),
//!         )
//!         .run()
//!         .await
//! }
//! ```
//!
//! For tests, [`App::start`] gives a [`Host`] whose [`Host::router`] answers requests without a
//! socket; [`Host::serve`] serves a listener until a shutdown future completes.

mod admin;
mod app;
pub mod config;
mod durable_http;
mod error;
mod host_json;
mod http_function;
pub mod keys;
mod log;
mod management;
mod metrics;
mod openapi;
mod request;
mod router;
mod routes;
mod rpc;
pub mod secrets;
pub mod settings;
mod state;
mod status_json;

pub use app::{App, Host, SECRETS_DIR, listen, shutdown_signal};
pub use config::{ConfigError, HostConfig, HostJsonReport, StorageProvider};
pub use durable_http::{DurableHttpClient, HttpManagementPayload, MANAGEMENT_BASE};
pub use error::{ApiError, HostError};
pub use http_function::{
    AuthLevel, HandlerError, HandlerFuture, HttpFunction, HttpHandler, HttpTrigger,
    IntoHandlerResult,
};
pub use keys::{KeyEntry, KeyError, KeyScope, KeyStore, list_keys};
pub use management::{CONTINUATION_HEADER, DEFAULT_PAGE, MAX_PAGE, MAX_WAIT_SECS};
pub use metrics::PROMETHEUS_CONTENT_TYPE;
pub use request::{BodyError, HttpRequest, HttpResponse};
pub use routes::RouteInfo;
pub use rpc::RpcListener;
pub use settings::{AppSettings, HostArgs};

/// Re-exported so apps and tests name the same HTTP types the host uses.
pub use axum::http;
