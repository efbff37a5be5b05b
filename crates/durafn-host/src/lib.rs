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
//! - **queue-triggered functions** ([`QueueFunction`], or any [`QueueHandler`]) run once per
//!   message of an Azure Storage queue (Azurite with `UseDevelopmentStorage=true`), polling as
//!   the Functions host does (see [`queues`]); **timer-triggered functions**
//!   ([`TimerFunction`], or any [`TimerHandler`]) run on an NCRONTAB or `TimeSpan` schedule,
//!   each occurrence on exactly one of the hosts sharing a task hub (see [`timers`]);
//!   [`Queues`] sends messages from any function, activities included;
//! - **orchestrators and activities** run by the durafn runtime over the app's task hub (SQLite
//!   by default, in the data directory);
//! - the **Durable Functions management API** under `/runtime/webhooks/durabletask`
//!   (the durabletask system key or the master key);
//! - the **admin API** (master key): `/admin/functions`, `/admin/host/status`, key management,
//!   the durable client binding (`/admin/durabletask/binding`), and `/metrics`;
//! - `/healthz` and `/openapi.json` (anonymous).
//!
//! Configuration follows Functions too: `host.json` (see [`config`]; every documented key of
//! host.json 2.0 is accepted, so an Azure app's file loads), app settings from the environment
//! and `local.settings.json` (see [`settings`]), and keys created on first start in the data
//! directory (see [`keys`]).
//!
//! # Routes and who may call them
//!
//! | Routes | Key |
//! |---|---|
//! | `/{routePrefix}/…` HTTP functions | per function: none (`anonymous`), a key of the function, a host key or the master key (`function`), the master key (`admin`) |
//! | `/runtime/webhooks/durabletask/…` | the `durabletask_extension` system key or the master key |
//! | the same management and entity routes on the local RPC endpoint | none (loopback only) |
//! | `/admin/…`, `/metrics` | the master key |
//! | `/dashboard/…` (feature `dashboard`, default) | the master key or the `dashboard` system key; the `dashboard_readonly` system key only reads |
//! | `/healthz`, `/openapi.json` | none |
//!
//! A key is passed in the `x-functions-key` header (which wins) or as `?code=`. A missing or
//! wrong key gets 401 with an empty body; an unknown route gets 404 with an empty body; every
//! other error is a 4xx with a JSON body `{"Message": …}` and never says more than the caller
//! needs (internal failures are logged and answered with a generic 500 or 503).
//! `GET /openapi.json` describes every route but the dashboard's HTML pages, every status code
//! it can answer with and the schema of every JSON body (CI checks the document against the test
//! app with schemathesis).
//!
//! The management API follows the Durable Functions extension route by route, entities
//! included (`entities/{name}/{key}` to read, signal and delete, `entities[/{name}]` to list;
//! `DELETE entities` cleans entity storage, a durafn route). A start takes `?version=` (the
//! instance's version, shown in its status) and keeps the W3C `traceparent`/`tracestate`
//! headers on the instance's `ExecutionStarted` event.
//!
//! # The local RPC endpoint
//!
//! Out-of-process Durable Functions clients (the Python and JavaScript SDKs) are built from the
//! durable client binding (`GET /admin/durabletask/binding`, the `starter` string of a Python
//! client function) and send every call to its `rpcBaseUrl`, without a key. As the Functions
//! host does, durafn serves the management and entity routes there on a second listener bound
//! to `127.0.0.1` and `::1` only (never a wildcard address), and closes every connection whose
//! peer address is not a loopback address, so a port forward cannot open the keyless routes to
//! the network. Its port is `--rpc-port` or `DURAFN_RPC_PORT`; the default is 0, a free port,
//! so that several hosts on one machine never collide (the binding names the port; Azure's fixed
//! 17071 would not allow two). `extensions.durableTask.localRpcEndpointEnabled: false` in
//! host.json switches it off; the binding then has no `rpcBaseUrl`, and the Python client can
//! no longer be used (it refuses to work without one), while the JavaScript client falls back
//! to the binding's key-carrying URLs. Links the endpoint answers with (check-status payloads)
//! point at the public listener, with the system key.
//!
//! `/metrics` serves the Prometheus text format: instances by runtime status, turns and
//! activities processed and failed, dead-lettered work, instance cache hits and misses and size,
//! and orchestration turn and activity time as summaries with `_sum` and `_count` only (the
//! runtime keeps totals, not distributions). It needs the master key because instance counts
//! describe the business.
//!
//! # App settings the host reads
//!
//! `DURAFN_PORT`, `DURAFN_HOST`, `DURAFN_RPC_PORT`, `DURAFN_DATA_DIR` (also `--port`,
//! `--host`, `--rpc-port`, `--data-dir`),
//! `DURAFN_MASTER_KEY` and `DURAFN_SYSTEM_KEY` (set the master key and the durabletask system
//! key instead of generated ones; an operator uses them to give several hosts the same keys),
//! `DURAFN_LEASE_SECONDS` (how long fetched work stays leased, default 60: after a crash another
//! host, or the same one restarted, takes it over once the lease has passed), and `DURAFN_LOG`
//! (the log level of [`App::run`]). See [`settings::HOST_SETTINGS`].
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
//! For tests, [`App::start`] gives a [`Host`] whose [`Host::router`] (and [`Host::rpc_router`])
//! answers requests without a socket; [`Host::serve`] serves a listener, and the local RPC
//! endpoint, until a shutdown future completes.

mod api;
mod app;
pub mod config;
mod error;
mod functions;
pub mod keys;
pub mod queues;
mod replay_check;
pub mod timers;
mod triggers;

pub use config::{secrets, settings};

pub use api::management::{CONTINUATION_HEADER, DEFAULT_PAGE, MAX_PAGE, MAX_WAIT_SECS};
pub use api::metrics::PROMETHEUS_CONTENT_TYPE;
pub use api::route::RouteInfo;
pub use app::log::LogFormat;
pub use app::log::{install as install_log, parse_level as parse_log_level};
pub use app::rpc::RpcListener;
pub use app::serve::{listen, shutdown_signal};
pub use app::{App, Host, SECRETS_DIR};
pub use config::{
    ConfigError, DashboardConfig, HostConfig, HostJsonReport, MetricsExportConfig, StorageProvider,
    TracingConfig,
};
pub use error::{ApiError, HostError};
pub use functions::durable_http::{DurableHttpClient, HttpManagementPayload, MANAGEMENT_BASE};
pub use functions::http_function::{
    AuthLevel, HandlerError, HandlerFuture, HttpFunction, HttpHandler, HttpTrigger,
    IntoHandlerResult,
};
pub use functions::request::{BodyError, HttpRequest, HttpResponse};
pub use keys::{KeyEntry, KeyError, KeyScope, KeyStore, list_keys};
pub use queues::{
    ActivityQueues, IntoTriggerResult, QueueFunction, QueueHandler, QueueHandlerFuture, QueueItem,
    QueueOptions, QueueOutput, QueueTrigger, Queues,
};
pub use settings::{AppSettings, HostArgs};
pub use timers::{
    ScheduleStatus, TimerFunction, TimerHandler, TimerHandlerFuture, TimerInfo, TimerTrigger,
};

/// Re-exported so apps and tests name the same HTTP types the host uses.
pub use axum::http;
