//! Reading `host.json`: every documented key is accepted, the ones durafn implements are applied,
//! the others are collected for one report at start-up.
//!
//! The file is first checked against the table in [`schema`]: a known key must have a value of
//! its documented shape (an error names the key and the expected form), a key close to a known
//! one is a typo (an error with the suggestion), and a key far from every known one is reported
//! as unknown, like the ignored ones, so that a newer host.json still loads. Then the keys durafn
//! honours are read into the configuration.

pub(crate) mod schema;

use std::path::PathBuf;
use std::time::Duration;

use durafn_sqlite::Durability;
use serde_json::{Map, Value};

use crate::config::error::ConfigError;
use crate::config::model::{
    HOST_JSON, HostConfig, HostJsonReport, StorageProvider, validate_hub_name,
};
use crate::config::settings::AppSettings;
use schema::{Key, Kind, Role};

fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::invalid(HOST_JSON, key, message)
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// Checks `map` against `keys`, recording ignored and unknown keys when `report` is on (inside
/// an ignored object only the object itself is reported).
fn check(
    keys: &[Key],
    map: &Map<String, Value>,
    path: &str,
    report: Option<&mut HostJsonReport>,
) -> Result<(), ConfigError> {
    let mut report = report;
    for (name, value) in map {
        let full = join(path, name);
        let Some(key) = schema::find(keys, name) else {
            if let Some(known) = schema::suggestion(keys, name) {
                return Err(ConfigError::Typo {
                    source_name: HOST_JSON.into(),
                    key: full,
                    suggestion: join(path, known),
                });
            }
            if let Some(r) = report.as_deref_mut() {
                r.unknown.push(full);
            }
            continue;
        };
        if value.is_null() {
            continue;
        }
        let reporting = key.role == Role::Honoured;
        if key.role == Role::Ignored
            && let Some(r) = report.as_deref_mut()
        {
            r.ignored.push(join(path, key.name));
        }
        let child = if reporting {
            report.as_deref_mut()
        } else {
            None
        };
        check_value(key.kind, value, &join(path, key.name), child)?;
    }
    Ok(())
}

fn check_value(
    kind: Kind,
    value: &Value,
    key: &str,
    report: Option<&mut HostJsonReport>,
) -> Result<(), ConfigError> {
    let found = || compact(value);
    match kind {
        Kind::Bool => boolean(value)
            .map(|_| ())
            .ok_or_else(|| invalid(key, format!("expected true or false, found {}", found()))),
        Kind::Int(min) => match integer(value) {
            Some(n) if n >= min => Ok(()),
            _ => Err(invalid(
                key,
                format!("expected an integer of at least {min}, found {}", found()),
            )),
        },
        Kind::Number => match value {
            Value::Number(_) => Ok(()),
            Value::String(s) if s.trim().parse::<f64>().is_ok() => Ok(()),
            _ => Err(invalid(key, format!("expected a number, found {}", found()))),
        },
        Kind::Str => match value {
            Value::String(_) => Ok(()),
            _ => Err(invalid(key, format!("expected a string, found {}", found()))),
        },
        Kind::TimeSpan => time_span(value).map(|_| ()).ok_or_else(|| {
            invalid(
                key,
                format!(
                    "expected a time span such as \"00:05:00\" ([d.]hh:mm:ss), found {}",
                    found()
                ),
            )
        }),
        Kind::Timeout => timeout(value).map(|_| ()).ok_or_else(|| {
            invalid(
                key,
                format!(
                    "expected a time span such as \"00:10:00\" ([d.]hh:mm:ss) or \"-1\" for no limit, found {}",
                    found()
                ),
            )
        }),
        Kind::Strings => match value {
            Value::Array(items) if items.iter().all(Value::is_string) => Ok(()),
            _ => Err(invalid(
                key,
                format!("expected an array of strings, found {}", found()),
            )),
        },
        Kind::Ints => match value {
            Value::Array(items) if items.iter().all(|i| integer(i).is_some()) => Ok(()),
            _ => Err(invalid(
                key,
                format!("expected an array of integers, found {}", found()),
            )),
        },
        Kind::Levels => match value {
            Value::Object(map) => map
                .iter()
                .try_for_each(|(category, v)| level(v, &join(key, category))),
            _ => Err(invalid(
                key,
                format!(
                    "expected an object of categories and log levels, found {}",
                    found()
                ),
            )),
        },
        Kind::Object(keys) => match value {
            Value::Object(map) => check(keys, map, key, report),
            _ => Err(invalid(key, format!("expected an object, found {}", found()))),
        },
        Kind::Any => Ok(()),
    }
}

fn level(value: &Value, key: &str) -> Result<(), ConfigError> {
    match value {
        Value::String(s) if schema::LEVELS.iter().any(|l| l.eq_ignore_ascii_case(s)) => Ok(()),
        other => Err(invalid(
            key,
            format!(
                "expected a log level ({}), found {}",
                schema::LEVELS.join(", "),
                compact(other)
            ),
        )),
    }
}

/// A value as it appears in the file, shortened for an error message.
fn compact(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(60).collect::<String>())
    } else {
        text
    }
}

fn boolean(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A .NET time span: `[-][d.]hh:mm[:ss[.fraction]]`, hours below 24, minutes and seconds
/// below 60. Negative spans are refused.
pub(crate) fn parse_time_span(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (days, clock) = match text.split_once(':') {
        Some((head, _)) if head.contains('.') => {
            let (d, rest) = text.split_once('.')?;
            (d.parse::<u64>().ok()?, rest)
        }
        Some(_) => (0, text),
        None => return None,
    };
    let mut parts = clock.split(':');
    let hours: u64 = parts.next()?.parse().ok()?;
    let minutes: u64 = parts.next()?.parse().ok()?;
    let (seconds, nanos) = match parts.next() {
        None => (0, 0),
        Some(s) => {
            let (whole, fraction) = s.split_once('.').unwrap_or((s, ""));
            let whole: u64 = whole.parse().ok()?;
            if !fraction.chars().all(|c| c.is_ascii_digit()) || fraction.len() > 9 {
                return None;
            }
            let nanos = if fraction.is_empty() {
                0
            } else {
                format!("{fraction:0<9}").parse::<u32>().ok()?
            };
            (whole, nanos)
        }
    };
    if parts.next().is_some() || hours > 23 || minutes > 59 || seconds > 59 {
        return None;
    }
    let secs = days * 86_400 + hours * 3600 + minutes * 60 + seconds;
    Some(Duration::new(secs, nanos))
}

fn time_span(value: &Value) -> Option<Duration> {
    value.as_str().and_then(parse_time_span)
}

/// `functionTimeout`: `Some(None)` for `-1` (no limit).
fn timeout(value: &Value) -> Option<Option<Duration>> {
    match value {
        Value::String(s) if s.trim() == "-1" => Some(None),
        Value::Number(n) if n.as_i64() == Some(-1) => Some(None),
        other => time_span(other).filter(|d| !d.is_zero()).map(Some),
    }
}

/// The value at `path` (keys matched ignoring ASCII case); `None` when absent or `null`.
fn lookup<'a>(root: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut at = root;
    for name in path {
        at = at
            .as_object()?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)?;
    }
    (!at.is_null()).then_some(at)
}

/// Reads host.json into `config` and returns what it accepted without using.
pub(crate) fn apply(
    config: &mut HostConfig,
    settings: &AppSettings,
    text: &str,
) -> Result<HostJsonReport, ConfigError> {
    let root: Value = serde_json::from_str(text).map_err(|e| ConfigError::Malformed {
        source_name: HOST_JSON.into(),
        message: format!("invalid JSON: {e}"),
    })?;
    let Value::Object(map) = &root else {
        return Err(ConfigError::Malformed {
            source_name: HOST_JSON.into(),
            message: "expected a JSON object".into(),
        });
    };
    let mut report = HostJsonReport::default();
    check(schema::ROOT, map, "", Some(&mut report))?;
    let str_at = |path: &[&str]| lookup(&root, path).and_then(Value::as_str);

    if let Some(version) = str_at(&["version"])
        && version != "2.0"
    {
        return Err(invalid(
            "version",
            format!("expected \"2.0\", found {version:?}"),
        ));
    }
    if let Some(v) = lookup(&root, &["functionTimeout"]) {
        config.function_timeout = timeout(v).unwrap_or(config.function_timeout);
    }

    const HTTP: [&str; 2] = ["extensions", "http"];
    if let Some(prefix) = str_at(&[HTTP[0], HTTP[1], "routePrefix"]) {
        let prefix = prefix.trim_matches('/');
        if prefix
            .chars()
            .any(|c| "{}?#\\ ".contains(c) || c.is_control())
        {
            return Err(invalid(
                "extensions.http.routePrefix",
                format!("{prefix:?} is not a valid route prefix"),
            ));
        }
        config.route_prefix = prefix.to_string();
    }
    if let Some(n) = lookup(&root, &[HTTP[0], HTTP[1], "maxRequestBodySize"]).and_then(integer) {
        config.max_request_body_bytes = to_usize(n);
    }

    let durable = |name: &str| lookup(&root, &["extensions", "durableTask", name]);
    let key = |name: &str| format!("extensions.durableTask.{name}");
    if let Some(hub) = durable("hubName").and_then(Value::as_str) {
        let hub = settings
            .resolve(hub)
            .map_err(|m| invalid(&key("hubName"), m))?;
        validate_hub_name(&hub).map_err(|m| invalid(&key("hubName"), m))?;
        config.hub_name = hub;
    }
    if let Some(n) = durable("maxConcurrentActivityFunctions").and_then(integer) {
        config.runtime.max_concurrent_activities = to_usize(n);
    }
    if let Some(n) = durable("maxConcurrentOrchestratorFunctions").and_then(integer) {
        config.runtime.max_concurrent_orchestrations = to_usize(n);
    }
    if let Some(n) = durable("instanceCacheSize").and_then(integer) {
        config.runtime.instance_cache_size = to_usize(n);
    }
    if let Some(n) = durable("maxPayloadSize").and_then(integer) {
        config.runtime.max_payload_bytes = to_usize(n);
    }
    if let Some(enabled) = durable("localRpcEndpointEnabled").and_then(boolean) {
        config.local_rpc_enabled = enabled;
    }
    if let Some(version) = durable("defaultVersion").and_then(Value::as_str) {
        config.default_version = Some(version.to_string()).filter(|v| !v.is_empty());
    }
    if let Some(text) = durable("versionMatchStrategy").and_then(Value::as_str) {
        config.runtime.version_match =
            durafn_core::VersionMatchStrategy::parse(text).ok_or_else(|| {
                invalid(
                    &key("versionMatchStrategy"),
                    format!("expected \"None\", \"Strict\" or \"CurrentOrOlder\", found {text:?}"),
                )
            })?;
    }
    if let Some(text) = durable("versionFailureStrategy").and_then(Value::as_str) {
        config.runtime.version_failure = durafn_core::VersionFailureStrategy::parse(text)
            .ok_or_else(|| {
                invalid(
                    &key("versionFailureStrategy"),
                    format!("expected \"Reject\" or \"Fail\", found {text:?}"),
                )
            })?;
    }
    let dashboard = |name: &str| lookup(&root, &["extensions", "durableTask", "dashboard", name]);
    if let Some(enabled) = dashboard("enabled").and_then(boolean) {
        config.dashboard.enabled = enabled;
    }
    if let Some(read_only) = dashboard("readOnly").and_then(boolean) {
        config.dashboard.read_only = read_only;
    }
    let tracing = |name: &str| lookup(&root, &["extensions", "durableTask", "tracing", name]);
    if let Some(enabled) = tracing("distributedTracingEnabled").and_then(boolean) {
        config.tracing.enabled = enabled;
    }
    if let Some(template) = tracing("traceUrlTemplate").and_then(Value::as_str) {
        config.tracing.trace_url_template = Some(template.to_string()).filter(|t| !t.is_empty());
    }
    if let Some(provider) = durable("storageProvider") {
        config.storage = storage_provider(provider, &mut report)?;
    }
    queues(&root, &mut config.queues)?;
    Ok(report)
}

/// `extensions.queues`: the queue triggers' polling, retries and encoding.
fn queues(root: &Value, options: &mut crate::queues::QueueOptions) -> Result<(), ConfigError> {
    let at = |name: &str| lookup(root, &["extensions", "queues", name]);
    let key = |name: &str| format!("extensions.queues.{name}");
    if let Some(d) = at("maxPollingInterval").and_then(time_span) {
        if d < crate::queues::MIN_POLLING_INTERVAL {
            return Err(invalid(
                &key("maxPollingInterval"),
                "must be at least 00:00:00.1",
            ));
        }
        options.max_polling_interval = d;
    }
    if let Some(d) = at("visibilityTimeout").and_then(time_span) {
        options.visibility_timeout = d;
    }
    let batch = at("batchSize").and_then(integer);
    if let Some(n) = batch {
        if n > 32 {
            return Err(invalid(
                &key("batchSize"),
                format!("expected 1 to 32, found {n}"),
            ));
        }
        options.batch_size = n as u32;
        options.new_batch_threshold = options.batch_size / 2;
    }
    if let Some(n) = at("newBatchThreshold").and_then(integer) {
        options.new_batch_threshold = u32::try_from(n).unwrap_or(u32::MAX);
    }
    if let Some(n) = at("maxDequeueCount").and_then(integer) {
        options.max_dequeue_count = n as u64;
    }
    if let Some(e) = at("messageEncoding").and_then(Value::as_str) {
        options.message_encoding = e.parse().map_err(|_| {
            invalid(
                &key("messageEncoding"),
                format!("expected \"base64\" or \"none\", found {e:?}"),
            )
        })?;
    }
    Ok(())
}

fn to_usize(n: i64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// `extensions.durableTask.storageProvider`. Without a `type` (or with Azure Storage's) it is
/// an Azure Storage configuration, which durafn serves from its SQLite task hub; the keys that
/// do not apply to the chosen provider are reported as not used.
fn storage_provider(
    provider: &Value,
    report: &mut HostJsonReport,
) -> Result<StorageProvider, ConfigError> {
    const AT: &str = "extensions.durableTask.storageProvider";
    let get = |name: &str| lookup(provider, &[name]).and_then(Value::as_str);
    let mut unused = |names: &[&str]| {
        for name in names {
            if let Some(k) = schema::find(schema::STORAGE_PROVIDER, name)
                && lookup(provider, &[name]).is_some()
            {
                report.ignored.push(format!("{AT}.{}", k.name));
            }
        }
    };
    let kind = get("type").unwrap_or("sqlite");
    Ok(match kind.to_ascii_lowercase().as_str() {
        "sqlite" | "azurestorage" => {
            unused(&["connectionStringName"]);
            let durability = match get("durability") {
                None => Durability::default(),
                Some(d) if d.eq_ignore_ascii_case("fsync") => Durability::Fsync,
                Some(d) if d.eq_ignore_ascii_case("processCrashSafe") => {
                    Durability::ProcessCrashSafe
                }
                Some(d) => {
                    return Err(invalid(
                        &format!("{AT}.durability"),
                        format!("expected \"processCrashSafe\" or \"fsync\", found {d:?}"),
                    ));
                }
            };
            StorageProvider::Sqlite {
                path: get("path").map(PathBuf::from),
                durability,
            }
        }
        "memory" => {
            unused(&["path", "durability", "connectionStringName"]);
            StorageProvider::Memory
        }
        "postgres" => {
            unused(&["path", "durability"]);
            let name = get("connectionStringName")
                .filter(|n| !n.is_empty())
                .ok_or_else(|| {
                    invalid(
                        &format!("{AT}.connectionStringName"),
                        "the name of the app setting holding the connection string is required",
                    )
                })?;
            StorageProvider::Postgres {
                connection_string_name: name.to_string(),
            }
        }
        other => {
            return Err(invalid(
                &format!("{AT}.type"),
                format!(
                    "unknown storage provider {other:?} (expected \"sqlite\", \"memory\" or \"postgres\"; \
                     an Azure Storage configuration, without a type, uses sqlite)"
                ),
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_spans_as_dotnet_writes_them() {
        let s = |t: &str| parse_time_span(t);
        assert_eq!(s("00:10:00"), Some(Duration::from_secs(600)));
        assert_eq!(s("01:02"), Some(Duration::from_secs(3720)));
        assert_eq!(s("1.02:00:00"), Some(Duration::from_secs(93_600)));
        assert_eq!(s("00:00:00.25"), Some(Duration::from_millis(250)));
        for bad in [
            "10",
            "24:00:00",
            "00:60:00",
            "ten",
            "00:00:00.x",
            "-00:01:00",
            "",
        ] {
            assert_eq!(s(bad), None, "{bad}");
        }
        assert_eq!(timeout(&Value::from("-1")), Some(None));
        assert_eq!(timeout(&Value::from(-1)), Some(None));
        assert_eq!(timeout(&Value::from("00:00:00")), None);
    }
}
