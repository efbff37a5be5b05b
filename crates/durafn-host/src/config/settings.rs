//! App settings and command-line flags: where a function app's environment comes from.
//!
//! As in Azure Functions, app settings are name/value pairs read from environment variables and,
//! for local runs, from the `Values` of an optional `local.settings.json` next to `host.json`;
//! an environment variable wins over the file. Settings named `DURAFN_*` configure the host
//! itself (see [`HOST_SETTINGS`]); every other name is the app's own (connection strings, feature
//! switches) and is handed to functions through [`AppSettings`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::config::error::ConfigError;

/// The file with local app settings, next to `host.json`.
pub const LOCAL_SETTINGS_FILE: &str = "local.settings.json";

/// The app settings the host reads, with what they do. Names are matched exactly.
pub const HOST_SETTINGS: &[(&str, &str)] = &[
    (
        "DURAFN_PORT",
        "TCP port to listen on (default 7071; 0 picks a free port)",
    ),
    ("DURAFN_HOST", "address to listen on (default 127.0.0.1)"),
    (
        "DURAFN_RPC_PORT",
        "port of the loopback listener for out-of-process clients (default 0: a free port)",
    ),
    (
        "DURAFN_DATA_DIR",
        "directory of the task hub and its keys (default .durafn under the app root)",
    ),
    (
        "DURAFN_MASTER_KEY",
        "sets the master key (_master) instead of the generated one",
    ),
    (
        "DURAFN_SYSTEM_KEY",
        "sets the durabletask_extension system key instead of the generated one",
    ),
    (
        "DURAFN_LEASE_SECONDS",
        "how long a host holds fetched work (orchestrations, activities, queue messages) before another host, or the same one restarted after a crash, may take it over (default 60)",
    ),
    (
        "DURAFN_LOG",
        "log level of App::run: error, warn, info (default), debug or trace",
    ),
];

/// Where a setting came from, so errors can point at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Environment,
    LocalSettings,
    Code,
}

impl Origin {
    fn source_name(self) -> &'static str {
        match self {
            Origin::Environment => "environment",
            Origin::LocalSettings => LOCAL_SETTINGS_FILE,
            Origin::Code => "app settings",
        }
    }

    fn key(self, name: &str) -> String {
        match self {
            Origin::LocalSettings => format!("Values.{name}"),
            _ => name.to_string(),
        }
    }
}

#[derive(Clone)]
struct Setting {
    value: String,
    origin: Origin,
}

/// The app settings of a function app: environment variables over `local.settings.json`.
///
/// Values may be secrets, so `Debug` shows names only.
#[derive(Clone, Default)]
pub struct AppSettings {
    values: BTreeMap<String, Setting>,
    local_http_port: Option<u16>,
}

impl std::fmt::Debug for AppSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.values.keys()).finish()
    }
}

impl AppSettings {
    /// No settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a setting (for tests and embedding; files and the environment are read
    /// by [`AppSettings::load`]).
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.values.insert(
            name.into(),
            Setting {
                value: value.into(),
                origin: Origin::Code,
            },
        );
        self
    }

    /// Reads `local.settings.json` in `root` (if present) and overlays the given environment.
    pub fn load(
        root: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut settings = Self::default();
        let path = root.join(LOCAL_SETTINGS_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => settings.read_local(&text)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(ConfigError::Io {
                    source_name: LOCAL_SETTINGS_FILE.into(),
                    source: e,
                });
            }
        }
        for (name, value) in env {
            settings.values.insert(
                name,
                Setting {
                    value,
                    origin: Origin::Environment,
                },
            );
        }
        Ok(settings)
    }

    /// Parses the text of a `local.settings.json` (what [`AppSettings::load`] does with the
    /// file, without the environment): for tools that have the file's text rather than an app
    /// directory, such as an editor's check of the file or the fuzz tests of the reader.
    pub fn from_local_settings(text: &str) -> Result<Self, ConfigError> {
        let mut settings = Self::default();
        settings.read_local(text)?;
        Ok(settings)
    }

    fn read_local(&mut self, text: &str) -> Result<(), ConfigError> {
        let file = LOCAL_SETTINGS_FILE;
        let root: Value = serde_json::from_str(text).map_err(|e| ConfigError::Malformed {
            source_name: file.into(),
            message: format!("invalid JSON: {e}"),
        })?;
        let Value::Object(root) = root else {
            return Err(ConfigError::Malformed {
                source_name: file.into(),
                message: "expected a JSON object".into(),
            });
        };
        for (key, value) in &root {
            match key.as_str() {
                "IsEncrypted" => match value {
                    Value::Bool(false) | Value::Null => {}
                    Value::Bool(true) => {
                        return Err(ConfigError::invalid(
                            file,
                            key,
                            "encrypted settings are not supported; set it to false and store plain values",
                        ));
                    }
                    _ => return Err(ConfigError::invalid(file, key, "expected true or false")),
                },
                "Values" => {
                    let Value::Object(values) = value else {
                        return Err(ConfigError::invalid(file, key, "expected an object"));
                    };
                    for (name, v) in values {
                        let text = match v {
                            Value::String(s) => s.clone(),
                            Value::Number(n) => n.to_string(),
                            Value::Bool(b) => b.to_string(),
                            _ => {
                                return Err(ConfigError::invalid(
                                    file,
                                    &format!("Values.{name}"),
                                    "expected a string",
                                ));
                            }
                        };
                        if name.starts_with("DURAFN_")
                            && !HOST_SETTINGS.iter().any(|(n, _)| n == name)
                        {
                            return Err(ConfigError::UnknownKey {
                                source_name: file.into(),
                                key: format!("Values.{name}"),
                            });
                        }
                        self.values.insert(
                            name.clone(),
                            Setting {
                                value: text,
                                origin: Origin::LocalSettings,
                            },
                        );
                    }
                }
                "Host" => {
                    let Value::Object(host) = value else {
                        return Err(ConfigError::invalid(file, key, "expected an object"));
                    };
                    for (name, v) in host {
                        match name.as_str() {
                            "LocalHttpPort" => {
                                let port = v
                                    .as_u64()
                                    .and_then(|p| u16::try_from(p).ok())
                                    .ok_or_else(|| {
                                        ConfigError::invalid(
                                            file,
                                            "Host.LocalHttpPort",
                                            "expected a port number (0-65535)",
                                        )
                                    })?;
                                self.local_http_port = Some(port);
                            }
                            // Tolerated for compatibility with Functions tooling; the host
                            // serves no browser front end, so CORS does not apply.
                            "CORS" | "CORSCredentials" => {}
                            _ => {
                                return Err(ConfigError::UnknownKey {
                                    source_name: file.into(),
                                    key: format!("Host.{name}"),
                                });
                            }
                        }
                    }
                }
                // Connection strings are a .NET convention; tolerated, not used.
                "ConnectionStrings" => {}
                _ => {
                    return Err(ConfigError::UnknownKey {
                        source_name: file.into(),
                        key: key.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    /// The value of a setting: the exact name first, then ignoring ASCII case (Azure app
    /// setting names are case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .or_else(|| {
                self.values
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v)
            })
            .map(|s| s.value.as_str())
    }

    /// Every setting name, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// The port from `local.settings.json`'s `Host.LocalHttpPort`, the Functions tooling's
    /// place for it.
    pub fn local_http_port(&self) -> Option<u16> {
        self.local_http_port
    }

    /// An error about a setting's value that names where it came from.
    pub(crate) fn invalid(&self, name: &str, message: impl Into<String>) -> ConfigError {
        let origin = self
            .values
            .get(name)
            .map(|s| s.origin)
            .unwrap_or(Origin::Environment);
        ConfigError::invalid(origin.source_name(), &origin.key(name), message)
    }

    /// Replaces `%NAME%` references with setting values (as Functions does in host.json).
    pub(crate) fn resolve(&self, text: &str) -> Result<String, String> {
        if !(text.len() > 2 && text.starts_with('%') && text.ends_with('%')) {
            return Ok(text.to_string());
        }
        let name = &text[1..text.len() - 1];
        self.get(name)
            .map(str::to_string)
            .ok_or_else(|| format!("refers to the app setting {name}, which is not set"))
    }
}

/// The host's command-line flags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostArgs {
    /// `--port N`: the TCP port (0 picks a free one).
    pub port: Option<u16>,
    /// `--host ADDR`: the address to listen on.
    pub host: Option<String>,
    /// `--rpc-port N`: the port of the loopback listener for out-of-process clients (0 picks a
    /// free one).
    pub rpc_port: Option<u16>,
    /// `--data-dir DIR`: where the task hub and keys live.
    pub data_dir: Option<PathBuf>,
    /// `--root DIR`: where `host.json` and `local.settings.json` are (default: the current
    /// directory).
    pub root: Option<PathBuf>,
    /// `--help` was given.
    pub help: bool,
    /// `--list-keys` was given: print the keys of the data directory and exit.
    pub list_keys: bool,
}

/// What `--help` prints.
pub const USAGE: &str = "\
Usage: APP [--port N] [--host ADDR] [--rpc-port N] [--data-dir DIR] [--root DIR] [--list-keys]

  --port N        TCP port to listen on (env DURAFN_PORT; default 7071; 0 picks a free port)
  --host ADDR     address to listen on (env DURAFN_HOST; default 127.0.0.1)
  --rpc-port N    port of the keyless loopback listener for out-of-process clients, on
                  127.0.0.1 and ::1 (env DURAFN_RPC_PORT; default 0: a free port)
  --data-dir DIR  task hub and keys directory (env DURAFN_DATA_DIR; default ROOT/.durafn)
  --root DIR      where host.json and local.settings.json are (default: current directory)
  --list-keys     print the keys of the data directory (they are secrets) and exit
  --help          print this help
";

impl HostArgs {
    /// Parses flags (without the program name). Both `--port 1` and `--port=1` work.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, ConfigError> {
        let mut out = Self::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
                _ => (arg.clone(), None),
            };
            if flag == "--help" || flag == "-h" {
                out.help = true;
                continue;
            }
            if flag == "--list-keys" {
                out.list_keys = true;
                continue;
            }
            if !matches!(
                flag.as_str(),
                "--port" | "--host" | "--rpc-port" | "--data-dir" | "--root"
            ) {
                return Err(ConfigError::Malformed {
                    source_name: "command line".into(),
                    message: format!("unknown argument {arg:?}; try --help"),
                });
            }
            let value = match inline.or_else(|| args.next()) {
                Some(v) => v,
                None => {
                    return Err(ConfigError::invalid("command line", &flag, "needs a value"));
                }
            };
            match flag.as_str() {
                "--port" => {
                    out.port = Some(
                        parse_port(&value)
                            .map_err(|m| ConfigError::invalid("command line", &flag, m))?,
                    )
                }
                "--rpc-port" => {
                    out.rpc_port = Some(
                        parse_port(&value)
                            .map_err(|m| ConfigError::invalid("command line", &flag, m))?,
                    )
                }
                "--host" => out.host = Some(value),
                "--data-dir" => out.data_dir = Some(PathBuf::from(value)),
                _ => out.root = Some(PathBuf::from(value)),
            }
        }
        Ok(out)
    }
}

pub(crate) fn parse_port(value: &str) -> Result<u16, String> {
    value
        .trim()
        .parse::<u16>()
        .map_err(|_| format!("expected a port number (0-65535), found {value:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_settings_text_reads_as_the_file_does() {
        let s = AppSettings::from_local_settings(
            r#"{"IsEncrypted":false,"Values":{"A":"x","N":5},"Host":{"LocalHttpPort":7072}}"#,
        )
        .unwrap();
        assert_eq!(s.get("A"), Some("x"));
        assert_eq!(s.get("N"), Some("5"));
        assert_eq!(s.local_http_port(), Some(7072));
        assert!(AppSettings::from_local_settings("[1]").is_err());
        assert!(AppSettings::from_local_settings(r#"{"Values":{"DURAFN_NOPE":"1"}}"#).is_err());
    }

    #[test]
    fn flags_parse_both_forms() {
        let a = HostArgs::parse(
            [
                "--port",
                "0",
                "--host=0.0.0.0",
                "--data-dir",
                "d",
                "--root=r",
            ]
            .map(String::from),
        )
        .unwrap();
        assert_eq!(a.port, Some(0));
        assert_eq!(a.host.as_deref(), Some("0.0.0.0"));
        assert_eq!(a.data_dir, Some(PathBuf::from("d")));
        assert_eq!(a.root, Some(PathBuf::from("r")));
        assert!(!a.list_keys);
        assert!(
            HostArgs::parse(["--list-keys".to_string()])
                .unwrap()
                .list_keys
        );
        let e = HostArgs::parse(["--prot".to_string()]).unwrap_err();
        assert!(e.to_string().contains("--prot"), "{e}");
        let e = HostArgs::parse(["--port".to_string(), "x".into()]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "command line: --port: expected a port number (0-65535), found \"x\""
        );
    }

    #[test]
    fn settings_lookup_and_references() {
        let s = AppSettings::new().with("HubSetting", "MyHub");
        assert_eq!(s.get("hubsetting"), Some("MyHub"));
        assert_eq!(s.resolve("%HubSetting%").unwrap(), "MyHub");
        assert_eq!(s.resolve("Plain").unwrap(), "Plain");
        assert!(s.resolve("%Missing%").is_err());
        assert!(
            !format!("{s:?}").contains("MyHub"),
            "Debug must not show values"
        );
    }

    #[test]
    fn local_settings_rules() {
        let mut s = AppSettings::new();
        s.read_local(
            r#"{"IsEncrypted":false,"Values":{"A":"1","N":2},"Host":{"LocalHttpPort":7072}}"#,
        )
        .unwrap();
        assert_eq!(s.get("A"), Some("1"));
        assert_eq!(s.get("N"), Some("2"));
        assert_eq!(s.local_http_port(), Some(7072));
        for (text, expected) in [
            (
                r#"{"Valuez":{}}"#,
                "local.settings.json: unknown key Valuez",
            ),
            (
                r#"{"Values":{"DURAFN_PROT":"1"}}"#,
                "local.settings.json: unknown key Values.DURAFN_PROT",
            ),
            (
                r#"{"Values":{"X":{}}}"#,
                "local.settings.json: Values.X: expected a string",
            ),
            (
                r#"{"IsEncrypted":true}"#,
                "local.settings.json: IsEncrypted: encrypted settings are not supported",
            ),
            (
                r#"{"Host":{"Port":1}}"#,
                "local.settings.json: unknown key Host.Port",
            ),
        ] {
            let e = AppSettings::new().read_local(text).unwrap_err().to_string();
            assert!(e.starts_with(expected), "{text}: {e}");
        }
    }
}
