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
//!       "instanceCacheSize": 1000
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
//! - `defaultVersion`: the version of instances started without one.
//! - `instanceCacheSize`: a durafn setting: how many live orchestrations are kept in memory
//!   between turns, so a turn does not replay history (0 disables the cache).
//! - `dashboard`: a durafn setting: `{"enabled": true, "readOnly": false}`. `enabled: false`
//!   turns the dashboard at `/dashboard` off (404); `readOnly: true` lets every key that opens
//!   it only read (write controls hidden, writes refused with 403).
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
//! directory come from flags or app settings (see [`crate::settings`]).

use std::path::PathBuf;
use std::time::Duration;

use durafn_runtime::RuntimeOptions;
use durafn_sqlite::Durability;

pub use crate::host_json::HostJsonReport;
use crate::settings::{AppSettings, HostArgs, parse_port};

/// The host configuration file, in the app root.
pub const HOST_JSON: &str = "host.json";

/// The default task hub name (the one Functions tooling uses locally).
pub const DEFAULT_HUB_NAME: &str = "TestHubName";

/// The default largest request body: 10 MiB.
pub const DEFAULT_MAX_BODY: usize = 10 * 1024 * 1024;

/// The default `functionTimeout`: 30 minutes, as on Azure's Premium and Dedicated plans.
pub const DEFAULT_FUNCTION_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Why the configuration was refused. Every message starts with the file (or `environment`,
/// `command line`) and names the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A key the host does not know (usually a typo).
    #[error("{source_name}: unknown key {key}")]
    UnknownKey {
        /// The file or source.
        source_name: String,
        /// The full key path, such as `extensions.durableTask.hubName`.
        key: String,
    },
    /// A key close to a known one: almost certainly a typo.
    #[error("{source_name}: unknown key {key}; did you mean {suggestion}?")]
    Typo {
        /// The file.
        source_name: String,
        /// The full key path as written.
        key: String,
        /// The known key it is closest to, as a full path.
        suggestion: String,
    },
    /// A key with a value of the wrong shape.
    #[error("{source_name}: {key}: {message}")]
    Invalid {
        /// The file or source.
        source_name: String,
        /// The full key path.
        key: String,
        /// What was wrong.
        message: String,
    },
    /// The source as a whole could not be read (invalid JSON, not an object, unknown flag).
    #[error("{source_name}: {message}")]
    Malformed {
        /// The file or source.
        source_name: String,
        /// What was wrong.
        message: String,
    },
    /// The file exists but could not be read.
    #[error("{source_name}: could not be read: {source}")]
    Io {
        /// The file.
        source_name: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl ConfigError {
    pub(crate) fn invalid(source_name: &str, key: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            source_name: source_name.into(),
            key: key.into(),
            message: message.into(),
        }
    }
}

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
    /// Distributed tracing (`extensions.durableTask.tracing`).
    pub tracing: TracingConfig,
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
            tracing: TracingConfig::default(),
        }
    }
}

impl HostConfig {
    /// A configuration for tests and embedding: defaults, the given data directory, an
    /// in-memory task hub and port 0.
    pub fn in_memory(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            port: 0,
            storage: StorageProvider::Memory,
            ..Self::default()
        }
    }

    /// Reads the configuration as `App::run` does: flags, then the process environment and
    /// `local.settings.json`, then `host.json`.
    pub fn from_process(args: &HostArgs) -> Result<Self, ConfigError> {
        Self::load(args, std::env::vars())
    }

    /// Reads the configuration from the given flags and environment.
    pub fn load(
        args: &HostArgs,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let root = args.root.clone().unwrap_or_else(|| PathBuf::from("."));
        let settings = AppSettings::load(&root, env)?;
        let host_json = match std::fs::read_to_string(root.join(HOST_JSON)) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(ConfigError::Io {
                    source_name: HOST_JSON.into(),
                    source: e,
                });
            }
        };
        Self::from_parts(root, args, settings, host_json.as_deref())
    }

    /// Builds the configuration from already-read parts (`host_json` is the file's text, if
    /// there is one).
    pub fn from_parts(
        root: PathBuf,
        args: &HostArgs,
        settings: AppSettings,
        host_json: Option<&str>,
    ) -> Result<Self, ConfigError> {
        let mut config = HostConfig {
            root: root.clone(),
            data_dir: root.join(".durafn"),
            ..HostConfig::default()
        };
        if let Some(text) = host_json {
            config.host_json = crate::host_json::apply(&mut config, &settings, text)?;
        }
        config.port = match (args.port, settings.get("DURAFN_PORT")) {
            (Some(p), _) => p,
            (None, Some(v)) => parse_port(v).map_err(|m| settings.invalid("DURAFN_PORT", m))?,
            (None, None) => settings.local_http_port().unwrap_or(7071),
        };
        config.rpc_port = match (args.rpc_port, settings.get("DURAFN_RPC_PORT")) {
            (Some(p), _) => p,
            (None, Some(v)) => parse_port(v).map_err(|m| settings.invalid("DURAFN_RPC_PORT", m))?,
            (None, None) => 0,
        };
        if let Some(h) = args
            .host
            .clone()
            .or(settings.get("DURAFN_HOST").map(String::from))
        {
            if h.trim().is_empty() {
                return Err(settings.invalid("DURAFN_HOST", "must not be empty"));
            }
            config.listen_host = h;
        }
        if let Some(d) = &args.data_dir {
            config.data_dir = d.clone();
        } else if let Some(d) = settings.get("DURAFN_DATA_DIR") {
            if d.trim().is_empty() {
                return Err(settings.invalid("DURAFN_DATA_DIR", "must not be empty"));
            }
            config.data_dir = root.join(d);
        }
        for name in ["DURAFN_MASTER_KEY", "DURAFN_SYSTEM_KEY"] {
            if let Some(key) = settings.get(name) {
                crate::keys::validate_value(key).map_err(|m| settings.invalid(name, m))?;
            }
        }
        if let Some(level) = settings.get("DURAFN_LOG") {
            crate::log::parse_level(level).map_err(|m| settings.invalid("DURAFN_LOG", m))?;
        }
        if let Some(format) = settings.get("DURAFN_LOG_FORMAT") {
            crate::log::LogFormat::parse(format)
                .map_err(|m| settings.invalid("DURAFN_LOG_FORMAT", m))?;
        }
        if let Some(secs) = settings.get("DURAFN_LEASE_SECONDS") {
            let secs = secs
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|s| (1..=3600).contains(s))
                .ok_or_else(|| {
                    settings.invalid(
                        "DURAFN_LEASE_SECONDS",
                        "expected a number of seconds from 1 to 3600",
                    )
                })?;
            config.runtime.lease = Duration::from_secs(secs);
        }
        if let Some(on) = settings.get("DURAFN_TRACING") {
            config.tracing.enabled = match on.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "on" => true,
                "0" | "false" | "off" => false,
                _ => return Err(settings.invalid("DURAFN_TRACING", "expected true or false")),
            };
        }
        if let Some(endpoint) = settings.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            config.tracing.traces_endpoint = Some(endpoint.to_string());
        }
        if let Some(base) = settings.get("OTEL_EXPORTER_OTLP_ENDPOINT") {
            config.tracing.endpoint = Some(base.trim_end_matches('/').to_string());
        }
        if let Some(protocol) = settings
            .get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
            .or(settings.get("OTEL_EXPORTER_OTLP_PROTOCOL"))
        {
            let protocol = protocol.trim();
            if protocol != "http/protobuf" && protocol != "grpc" {
                return Err(settings.invalid(
                    "OTEL_EXPORTER_OTLP_PROTOCOL",
                    "expected http/protobuf or grpc",
                ));
            }
            config.tracing.protocol = Some(protocol.to_string());
        }
        if let Some(name) = settings.get("OTEL_SERVICE_NAME") {
            config.tracing.service_name = Some(name.to_string()).filter(|n| !n.is_empty());
        }
        if let Some(template) = settings.get("DURAFN_TRACE_URL_TEMPLATE") {
            config.tracing.trace_url_template =
                Some(template.to_string()).filter(|t| !t.is_empty());
        }
        config.settings = settings;
        Ok(config)
    }

    /// The SQLite file of the task hub, if it is kept in one.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        match &self.storage {
            StorageProvider::Sqlite { path: Some(p), .. } => Some(self.root.join(p)),
            StorageProvider::Sqlite { path: None, .. } => {
                Some(self.data_dir.join(format!("{}.db", self.hub_name)))
            }
            StorageProvider::Memory | StorageProvider::Postgres { .. } => None,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<HostConfig, ConfigError> {
        HostConfig::from_parts(
            PathBuf::from("app"),
            &HostArgs::default(),
            AppSettings::new(),
            Some(json),
        )
    }

    #[test]
    fn full_host_json() {
        let c = parse(
            r#"{"version":"2.0","logging":{"x":1},"extensions":{"http":{"routePrefix":"/v1/"},
            "durableTask":{"hubName":"MyHub","storageProvider":{"type":"memory"},
            "maxConcurrentActivityFunctions":3,"maxConcurrentOrchestratorFunctions":4,"instanceCacheSize":0}}}"#,
        )
        .unwrap();
        assert_eq!(c.route_prefix, "v1");
        assert_eq!(c.hub_name, "MyHub");
        assert_eq!(c.storage, StorageProvider::Memory);
        assert_eq!(c.runtime.max_concurrent_activities, 3);
        assert_eq!(c.runtime.max_concurrent_orchestrations, 4);
        assert_eq!(c.runtime.instance_cache_size, 0);
        assert_eq!(c.data_dir, PathBuf::from("app/.durafn"));
        assert_eq!(c.port, 7071);
        let d = parse("{}").unwrap();
        assert_eq!(
            d.sqlite_path(),
            Some(PathBuf::from("app/.durafn/TestHubName.db"))
        );
    }

    #[test]
    fn errors_name_file_and_key() {
        for (json, expected) in [
            (
                r#"{"extensions":{"durableTask":{"maxConcurrentActivityFunctionz":1}}}"#,
                "host.json: unknown key extensions.durableTask.maxConcurrentActivityFunctionz",
            ),
            (
                r#"{"extensions":{"durableTask":{"maxConcurrentActivityFunctions":"ten"}}}"#,
                "host.json: extensions.durableTask.maxConcurrentActivityFunctions: expected an integer of at least 1, found \"ten\"",
            ),
            (
                r#"{"extensions":{"durableTask":{"storageProvider":{"type":"postgres"}}}}"#,
                "host.json: extensions.durableTask.storageProvider.connectionStringName: the name of the app setting holding the connection string is required",
            ),
            (
                r#"{"extensions":{"durableTask":{"hubName":"a-b"}}}"#,
                "host.json: extensions.durableTask.hubName: \"a-b\" is not a valid task hub name",
            ),
            (
                r#"{"version":"1.0"}"#,
                "host.json: version: expected \"2.0\"",
            ),
            (r#"{"extensionz":{}}"#, "host.json: unknown key extensionz"),
            ("{", "host.json: invalid JSON"),
            ("[]", "host.json: expected a JSON object"),
        ] {
            let e = parse(json).unwrap_err().to_string();
            assert!(e.starts_with(expected), "{json}: {e}");
        }
    }

    #[test]
    fn flags_beat_settings_and_settings_are_checked() {
        let args = HostArgs {
            port: Some(9000),
            ..HostArgs::default()
        };
        let settings = AppSettings::new()
            .with("DURAFN_PORT", "9001")
            .with("DURAFN_HOST", "0.0.0.0")
            .with("DURAFN_DATA_DIR", "data")
            .with("Hub", "FromSetting");
        let c = HostConfig::from_parts(
            PathBuf::from("r"),
            &args,
            settings.clone(),
            Some(r#"{"extensions":{"durableTask":{"hubName":"%Hub%"}}}"#),
        )
        .unwrap();
        assert_eq!(c.port, 9000);
        assert_eq!(c.listen_host, "0.0.0.0");
        assert_eq!(c.data_dir, PathBuf::from("r/data"));
        assert_eq!(c.hub_name, "FromSetting");
        let c = HostConfig::from_parts(PathBuf::from("r"), &HostArgs::default(), settings, None)
            .unwrap();
        assert_eq!(c.port, 9001);
        let bad = AppSettings::new().with("DURAFN_PORT", "http");
        let e = HostConfig::from_parts(PathBuf::from("r"), &HostArgs::default(), bad, None)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "app settings: DURAFN_PORT: expected a port number (0-65535), found \"http\""
        );
    }

    #[test]
    fn the_lease_comes_from_a_setting() {
        let load = |value: &str| {
            let settings = AppSettings::new().with("DURAFN_LEASE_SECONDS", value);
            HostConfig::from_parts(PathBuf::from("r"), &HostArgs::default(), settings, None)
        };
        assert_eq!(load("2").unwrap().runtime.lease, Duration::from_secs(2));
        assert_eq!(
            load("0").unwrap_err().to_string(),
            "app settings: DURAFN_LEASE_SECONDS: expected a number of seconds from 1 to 3600"
        );
        let default = HostConfig::from_parts(
            PathBuf::from("r"),
            &HostArgs::default(),
            AppSettings::new(),
            None,
        );
        assert_eq!(default.unwrap().runtime.lease, Duration::from_secs(60));
    }
}
