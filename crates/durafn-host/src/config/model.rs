//! What the host is configured to do, with the defaults of Azure Functions.

use std::path::PathBuf;
use std::time::Duration;

use durafn_runtime::RuntimeOptions;
use durafn_sqlite::Durability;

use crate::config::settings::AppSettings;

/// The host configuration file, in the app root.
pub const HOST_JSON: &str = "host.json";

/// The default task hub name (the one Functions tooling uses locally).
pub const DEFAULT_HUB_NAME: &str = "TestHubName";

/// The default largest request body: 10 MiB.
pub const DEFAULT_MAX_BODY: usize = 10 * 1024 * 1024;

/// The default `functionTimeout`: 30 minutes, as on Azure's Premium and Dedicated plans.
pub const DEFAULT_FUNCTION_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Where the task hub is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageProvider {
    /// An embedded SQLite file (the default).
    Sqlite {
        /// The database file; `None` means `<data dir>/<hub>.db`.
        path: Option<PathBuf>,
        /// How far commits survive crashes.
        durability: Durability,
    },
    /// In memory: everything is lost when the process exits (tests, demos).
    Memory,
    /// A PostgreSQL task hub shared by many hosts (one schema per task hub, named after it).
    Postgres {
        /// The app setting that holds the connection string (it may be a Key Vault reference).
        connection_string_name: String,
    },
}

/// Everything the host needs to start, from `host.json`, app settings and flags.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// The app root (where `host.json` is).
    pub root: PathBuf,
    /// Where the task hub and `keys.json` are kept.
    pub data_dir: PathBuf,
    /// The address to listen on.
    pub listen_host: String,
    /// The port to listen on; 0 picks a free one.
    pub port: u16,
    /// Whether the loopback listener for out-of-process clients runs
    /// (`extensions.durableTask.localRpcEndpointEnabled`).
    pub local_rpc_enabled: bool,
    /// Its port (`--rpc-port`, `DURAFN_RPC_PORT`); 0 picks a free one.
    pub rpc_port: u16,
    /// The task hub name.
    pub hub_name: String,
    /// The task hub backend.
    pub storage: StorageProvider,
    /// The prefix of HTTP-triggered functions' routes, without slashes (may be empty).
    pub route_prefix: String,
    /// The largest request body accepted, in bytes.
    pub max_request_body_bytes: usize,
    /// The runtime's scheduling options (its `activity_timeout` is set from
    /// `function_timeout` when the app starts).
    pub runtime: RuntimeOptions,
    /// The longest an activity or an HTTP-triggered function may run (`functionTimeout`);
    /// `None` for no limit.
    pub function_timeout: Option<Duration>,
    /// The version of instances started without one (`extensions.durableTask.defaultVersion`).
    pub default_version: Option<String>,
    /// The app settings.
    pub settings: AppSettings,
    /// What host.json held that durafn accepted without using (logged once at start-up).
    pub host_json: HostJsonReport,
    /// The dashboard's switches (`extensions.durableTask.dashboard`).
    pub dashboard: DashboardConfig,
    /// The queue triggers' settings (`extensions.queues`).
    pub queues: crate::queues::QueueOptions,
    /// Distributed tracing (`extensions.durableTask.tracing`).
    pub tracing: TracingConfig,
    /// OTLP metrics export beside `/metrics` (`OTEL_METRICS_EXPORTER=otlp`).
    pub metrics_export: MetricsExportConfig,
}

/// Whether the host also pushes its metrics (the ones of `/metrics`) to an OTLP collector, and
/// where and how often; set by the standard `OTEL_*` variables as app settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsExportConfig {
    /// `OTEL_METRICS_EXPORTER=otlp` turns it on; off by default (`none`), as `/metrics` is
    /// always there to be scraped.
    pub enabled: bool,
    /// Where to send: `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` as given, else
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` (with `/v1/metrics` appended for HTTP), else
    /// `http://localhost:4318/v1/metrics` (`http://localhost:4317` for gRPC).
    pub endpoint: Option<String>,
    /// `OTEL_EXPORTER_OTLP_METRICS_PROTOCOL` or `OTEL_EXPORTER_OTLP_PROTOCOL`: `http/protobuf`
    /// (the default) or `grpc`.
    pub protocol: Option<String>,
    /// `OTEL_METRIC_EXPORT_INTERVAL` (milliseconds): time between exports, 60 s by default.
    pub interval: Duration,
    /// `OTEL_METRIC_EXPORT_TIMEOUT` (milliseconds): how long one export may take, 30 s by
    /// default; a slower collector loses that export (counted), never the app's time.
    pub timeout: Duration,
}

impl Default for MetricsExportConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            endpoint: None,
            protocol: None,
            interval: Duration::from_secs(60),
            timeout: Duration::from_secs(30),
        }
    }
}

/// Whether spans are exported, and where operators look traces up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TracingConfig {
    /// Export spans over OTLP (`extensions.durableTask.tracing.distributedTracingEnabled`, or
    /// the `DURAFN_TRACING` setting); off by default, and nothing is collected when off. The
    /// exporter follows the standard `OTEL_*` variables (endpoint, protocol, service name,
    /// resource attributes, sampler).
    pub enabled: bool,
    /// The address of a trace in the operator's trace viewer, with `{traceId}` where the trace
    /// id goes (`extensions.durableTask.tracing.traceUrlTemplate`, or the
    /// `DURAFN_TRACE_URL_TEMPLATE` setting), e.g. `http://localhost:16686/trace/{traceId}`;
    /// the dashboard links each instance's trace with it.
    pub trace_url_template: Option<String>,
    /// The collector's base address (`OTEL_EXPORTER_OTLP_ENDPOINT`; `/v1/traces` is appended
    /// for HTTP); `None` for the default, `http://localhost:4318` (`:4317` for gRPC).
    pub endpoint: Option<String>,
    /// The full address for spans (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), before `endpoint`.
    pub traces_endpoint: Option<String>,
    /// `OTEL_EXPORTER_OTLP_PROTOCOL`: `http/protobuf` (the default) or `grpc`.
    pub protocol: Option<String>,
    /// `OTEL_SERVICE_NAME`; the task hub's name when unset.
    pub service_name: Option<String>,
    /// `OTEL_BSP_MAX_QUEUE_SIZE`: how many finished spans may wait for the exporter; more are
    /// dropped and counted. `None`: the SDK's default, 2048.
    pub queue_size: Option<usize>,
}

/// Whether the host serves the dashboard, and whether it may change anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DashboardConfig {
    /// Served at `/dashboard` (default true; needs the `dashboard` cargo feature).
    pub enabled: bool,
    /// Every key only reads (default false).
    pub read_only: bool,
}

impl Default for DashboardConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            read_only: false,
        }
    }
}

impl Default for HostConfig {
    fn default() -> Self {
        Self {
            root: PathBuf::from("."),
            data_dir: PathBuf::from(".durafn"),
            listen_host: "127.0.0.1".into(),
            port: 7071,
            local_rpc_enabled: true,
            rpc_port: 0,
            hub_name: DEFAULT_HUB_NAME.into(),
            storage: StorageProvider::Sqlite {
                path: None,
                durability: Durability::default(),
            },
            route_prefix: "api".into(),
            max_request_body_bytes: DEFAULT_MAX_BODY,
            runtime: RuntimeOptions::default(),
            function_timeout: Some(DEFAULT_FUNCTION_TIMEOUT),
            default_version: None,
            settings: AppSettings::default(),
            host_json: HostJsonReport::default(),
            dashboard: DashboardConfig::default(),
            queues: crate::queues::QueueOptions::default(),
            tracing: TracingConfig::default(),
            metrics_export: MetricsExportConfig::default(),
        }
    }
}

/// The task hub naming rule of Durable Functions: 3 to 45 ASCII letters and digits, starting
/// with a letter (hub names become table and file names).
pub fn validate_hub_name(name: &str) -> Result<(), String> {
    let ok = (3..=45).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a valid task hub name (3 to 45 letters and digits, starting with a letter)"
        ))
    }
}

/// How long `App::run` waits for in-flight requests after a shutdown signal before it stops
/// the runtime regardless.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The keys of a host.json that durafn accepted without using them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostJsonReport {
    /// Documented keys durafn does not implement, by their full path.
    pub ignored: Vec<String>,
    /// Keys durafn does not know at all (and that are no typo of one it knows).
    pub unknown: Vec<String>,
}

impl HostJsonReport {
    /// Whether there is nothing to report.
    pub fn is_empty(&self) -> bool {
        self.ignored.is_empty() && self.unknown.is_empty()
    }

    /// The one line the host logs at start-up, or `None` when there is nothing to say.
    pub fn message(&self) -> Option<String> {
        if self.is_empty() {
            return None;
        }
        let mut parts = Vec::new();
        if !self.ignored.is_empty() {
            parts.push(format!(
                "accepted but not used by durafn: {}",
                self.ignored.join(", ")
            ));
        }
        if !self.unknown.is_empty() {
            parts.push(format!(
                "not known to durafn, ignored: {}",
                self.unknown.join(", ")
            ));
        }
        Some(format!("{HOST_JSON}: {}", parts.join("; ")))
    }
}
