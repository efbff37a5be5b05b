//! The function app's configuration, in the shape Azure Functions uses.
//!
//! `host.json` (in the app root) configures the host and its extensions. Every documented key of
//! host.json 2.0 is accepted, so the file of an Azure app loads as it is:
//!
//! ```json
//! {
//!   "version": "2.0",
//!   "functionTimeout": "00:10:00",
//!   "logging": { "logLevel": { "default": "Information" } },
//!   "extensionBundle": { "id": "Microsoft.Azure.Functions.ExtensionBundle", "version": "[4.*, 5.0.0)" },
//!   "extensions": {
//!     "http": { "routePrefix": "api", "maxRequestBodySize": 10485760 },
//!     "durableTask": {
//!       "hubName": "TestHubName",
//!       "storageProvider": { "type": "sqlite", "path": ".durafn/TestHubName.db" },
//!       "maxConcurrentActivityFunctions": 10,
//!       "maxConcurrentOrchestratorFunctions": 10,
//!       "localRpcEndpointEnabled": true,
//!       "defaultVersion": "1.0",
//!       "instanceCacheSize": 1000,
//!       "maxPayloadSize": 4194304
//!     }
//!   }
//! }
//! ```
//!
//! The keys durafn honours:
//!
//! - `functionTimeout`: the longest an activity or an HTTP-triggered function may run, as a
//!   time span (`hh:mm:ss`), or `-1` for no limit. The default is 30 minutes, Azure's default on
//!   its Premium and Dedicated plans. An activity that runs longer is stopped and fails with
//!   `FunctionTimeout` (its orchestration sees a failed task); an HTTP function that runs longer
//!   is answered with 500.
//! - `extensions.durableTask.hubName`: the task hub (letters and digits, starting with a letter,
//!   3 to 45 characters; `%SETTING%` takes it from an app setting). Default `TestHubName`.
//! - `extensions.durableTask.storageProvider`: `{"type":"sqlite","path":…,"durability":…}` (the
//!   default; `path` defaults to `<data dir>/<hub>.db`, a relative path is under the app root,
//!   `durability` is `processCrashSafe` (default) or `fsync`), `{"type":"memory"}` (nothing
//!   survives a restart), or `{"type":"postgres","connectionStringName":…}` (the app setting
//!   holding the connection string, which may be a Key Vault reference; the task hub is the
//!   schema named after the hub, lower-cased). An Azure Storage configuration (no `type`, or
//!   `"AzureStorage"`) is served from the SQLite task hub, its keys reported as not used.
//! - `maxConcurrentActivityFunctions`, `maxConcurrentOrchestratorFunctions`: as in Durable
//!   Functions.
//! - `localRpcEndpointEnabled`: the loopback listener for out-of-process clients (default
//!   `true`; see the crate docs).
//! - `defaultVersion`: the version of instances started without one, and the version of this
//!   host's code; `versionMatchStrategy` (`None`, `Strict`, `CurrentOrOlder`, the default) says
//!   which instances it runs and `versionFailureStrategy` (`Reject`, the default, or `Fail`)
//!   what becomes of the others.
//! - `instanceCacheSize`: a durafn setting: how many live orchestrations are kept in memory
//!   between turns, so a turn does not replay history (0 disables the cache).
//! - `maxPayloadSize`: a durafn setting: the largest input, output, event data or custom
//!   status in bytes of JSON (default 4 MiB). A start, event or signal over it is answered with
//!   413; an activity result over it fails the task, and an orchestration producing one fails
//!   the instance, both with `PayloadTooLarge` (DF0022). Request bodies have their own limit,
//!   `extensions.http.maxRequestBodySize`.
//! - `dashboard`: a durafn setting: `{"enabled": true, "readOnly": false}`. `enabled: false`
//!   turns the dashboard at `/dashboard` off (404); `readOnly: true` lets every key that opens
//!   it only read (write controls hidden, writes refused with 403).
//! - `extensions.queues`: the queue triggers' `maxPollingInterval` (default one minute),
//!   `visibilityTimeout` (the wait before a failed message is retried, default 0), `batchSize`
//!   (1 to 32, default 16), `newBatchThreshold` (default half the batch size),
//!   `maxDequeueCount` (tries before a message moves to `{queue}-poison`, default 5) and
//!   `messageEncoding` (`base64`, the default, or `none`), as in Azure Functions.
//! - `extensions.http.routePrefix`: the prefix of HTTP-triggered functions' routes (default
//!   `api`; empty for none). `extensions.http.maxRequestBodySize`: a durafn setting, the largest
//!   request body in bytes (default 10 MiB; larger bodies get 413).
//!
//! Every other documented key (`logging`, `extensionBundle`, `healthMonitor`, `retry`,
//! `singleton`, `extensions.durableTask.tracing`, `extendedSessionsEnabled`, the Azure Storage
//! provider's keys, other extensions' sections, …) is accepted, its value checked, and named
//! once at start-up in a warning that lists what durafn does not use. A key close to a known one
//! is refused as a typo, with the suggestion (`did you mean …`); a known key with a value of the
//! wrong shape is refused with the file, the key and the expected form. A key durafn does not
//! know and that is no typo is named in the same start-up warning and otherwise ignored, so
//! that files written for newer hosts still load. Listen addresses, ports and the data
//! directory come from flags or app settings (see [`crate::config::settings`]).

mod error;
pub(crate) mod host_json;
mod load;
mod model;
pub mod secrets;
pub mod settings;

pub use error::ConfigError;
pub(crate) use model::SHUTDOWN_GRACE;
pub use model::{
    DEFAULT_FUNCTION_TIMEOUT, DEFAULT_HUB_NAME, DEFAULT_MAX_BODY, DashboardConfig, HOST_JSON,
    HostConfig, HostJsonReport, MetricsExportConfig, StorageProvider, TracingConfig,
    validate_hub_name,
};
