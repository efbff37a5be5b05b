//! Reading the configuration: flags, app settings and host.json, in that order of precedence.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::error::ConfigError;
use crate::config::model::{HOST_JSON, HostConfig, MetricsExportConfig, StorageProvider};
use crate::config::settings::{AppSettings, HostArgs, parse_port};

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
            config.host_json = crate::config::host_json::apply(&mut config, &settings, text)?;
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
            crate::app::log::parse_level(level).map_err(|m| settings.invalid("DURAFN_LOG", m))?;
        }
        if let Some(format) = settings.get("DURAFN_LOG_FORMAT") {
            crate::app::log::LogFormat::parse(format)
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
        if let Some(size) = settings.get("OTEL_BSP_MAX_QUEUE_SIZE") {
            let size = size.trim().parse::<usize>().ok().filter(|n| *n > 0);
            let Some(size) = size else {
                return Err(
                    settings.invalid("OTEL_BSP_MAX_QUEUE_SIZE", "expected a positive number")
                );
            };
            config.tracing.queue_size = Some(size);
        }
        config.metrics_export = metrics_export(&settings)?;
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

/// The OTLP metrics export's settings, from the standard `OTEL_*` variables.
fn metrics_export(settings: &AppSettings) -> Result<MetricsExportConfig, ConfigError> {
    let mut export = MetricsExportConfig::default();
    if let Some(exporter) = settings.get("OTEL_METRICS_EXPORTER") {
        export.enabled = match exporter.trim() {
            "otlp" => true,
            "none" | "" => false,
            _ => return Err(settings.invalid("OTEL_METRICS_EXPORTER", "expected otlp or none")),
        };
    }
    if let Some(protocol) = settings
        .get("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL")
        .or(settings.get("OTEL_EXPORTER_OTLP_PROTOCOL"))
    {
        let protocol = protocol.trim();
        if protocol != "http/protobuf" && protocol != "grpc" {
            return Err(settings.invalid(
                "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
                "expected http/protobuf or grpc",
            ));
        }
        export.protocol = Some(protocol.to_string());
    }
    let grpc = export.protocol.as_deref() == Some("grpc");
    export.endpoint = match (
        settings.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"),
        settings.get("OTEL_EXPORTER_OTLP_ENDPOINT"),
    ) {
        (Some(full), _) => Some(full.trim().to_string()),
        (None, Some(base)) if grpc => Some(base.trim().to_string()),
        (None, Some(base)) => Some(format!("{}/v1/metrics", base.trim().trim_end_matches('/'))),
        (None, None) => None,
    };
    let millis = |name: &'static str, default: Duration| -> Result<Duration, ConfigError> {
        match settings.get(name) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|ms| *ms > 0)
                .map(Duration::from_millis)
                .ok_or_else(|| {
                    settings.invalid(name, "expected a positive number of milliseconds")
                }),
        }
    };
    export.interval = millis("OTEL_METRIC_EXPORT_INTERVAL", export.interval)?;
    export.timeout = millis("OTEL_METRIC_EXPORT_TIMEOUT", export.timeout)?;
    Ok(export)
}

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
            "maxConcurrentActivityFunctions":3,"maxConcurrentOrchestratorFunctions":4,"instanceCacheSize":0,
            "maxPayloadSize":2048}}}"#,
        )
        .unwrap();
        assert_eq!(c.route_prefix, "v1");
        assert_eq!(c.hub_name, "MyHub");
        assert_eq!(c.storage, StorageProvider::Memory);
        assert_eq!(c.runtime.max_concurrent_activities, 3);
        assert_eq!(c.runtime.max_concurrent_orchestrations, 4);
        assert_eq!(c.runtime.instance_cache_size, 0);
        assert_eq!(c.runtime.max_payload_bytes, 2048);
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
