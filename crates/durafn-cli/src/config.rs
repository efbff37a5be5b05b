//! Named connection profiles in `$XDG_CONFIG_HOME/durafn/config.toml` (by default
//! `~/.config/durafn/config.toml`), and how a command picks its connection.
//!
//! ```toml
//! current = "local"
//!
//! [profiles.local]
//! url = "http://localhost:7071"
//! key = "…"
//!
//! [profiles.prod]
//! url = "https://orders.azurewebsites.net"
//! key = "…"
//! task_hub = "Orders"
//! ```
//!
//! The file holds keys, so it is written with permissions 0600.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{CliError, CliResult};

/// Where a host is and how to talk to it.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Profile {
    /// The host's origin, such as `http://localhost:7071`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) url: Option<String>,
    /// The master key or the `durabletask_extension` system key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) key: Option<String>,
    /// The task hub, for hosts that serve several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) task_hub: Option<String>,
}

impl std::fmt::Debug for Profile {
    /// Never shows the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("url", &self.url)
            .field("key", &self.key.as_ref().map(|_| "***"))
            .field("task_hub", &self.task_hub)
            .finish()
    }
}

/// The configuration file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Config {
    /// The profile used when none is named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) current: Option<String>,
    /// Profiles by name.
    #[serde(default)]
    pub(crate) profiles: BTreeMap<String, Profile>,
}

/// The configuration file's path: `$XDG_CONFIG_HOME/durafn/config.toml`, or
/// `$HOME/.config/durafn/config.toml`.
pub(crate) fn path() -> CliResult<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
            Some(home) => PathBuf::from(home).join(".config"),
            None => {
                return Err(CliError::Config(
                    "neither XDG_CONFIG_HOME nor HOME is set, so there is no configuration file"
                        .into(),
                ));
            }
        },
    };
    Ok(base.join("durafn").join("config.toml"))
}

impl Config {
    /// Reads the file; a missing file is an empty configuration.
    pub(crate) fn load(path: &Path) -> CliResult<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text)
                .map_err(|e| CliError::Config(format!("{} is not valid: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(CliError::io(format!("reading {}", path.display()), e)),
        }
    }

    /// Writes the file (creating its directory), readable by its owner only.
    pub(crate) fn save(&self, path: &Path) -> CliResult<()> {
        let text = toml::to_string(self)
            .map_err(|e| CliError::Config(format!("could not write the configuration: {e}")))?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| CliError::io(format!("creating {}", dir.display()), e))?;
        }
        let tmp = path.with_extension("toml.tmp");
        write_private(&tmp, text.as_bytes())
            .map_err(|e| CliError::io(format!("writing {}", tmp.display()), e))?;
        std::fs::rename(&tmp, path)
            .map_err(|e| CliError::io(format!("writing {}", path.display()), e))
    }

    /// The profile named `name`.
    pub(crate) fn profile(&self, name: &str) -> CliResult<&Profile> {
        self.profiles.get(name).ok_or_else(|| {
            CliError::NotFound(format!(
                "there is no profile named {name:?} (durafn profile list shows them)"
            ))
        })
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// The host's origin when nothing else names one.
pub(crate) const DEFAULT_URL: &str = "http://localhost:7071";

/// The connection a command uses, resolved from flags, environment and profiles.
#[derive(Clone)]
pub(crate) struct Connection {
    /// The host's origin, without a trailing slash.
    pub(crate) url: String,
    /// The key, if any.
    pub(crate) key: Option<String>,
    /// The task hub, if one was named.
    pub(crate) task_hub: Option<String>,
}

impl std::fmt::Debug for Connection {
    /// Never shows the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("url", &self.url)
            .field("key", &self.key.as_ref().map(|_| "***"))
            .field("task_hub", &self.task_hub)
            .finish()
    }
}

/// What the command line and the environment say about the connection.
#[derive(Debug, Default, Clone)]
pub(crate) struct Sources {
    /// `--url`, `--key`, `--task-hub`.
    pub(crate) flags: Profile,
    /// `--profile` or `DURAFN_PROFILE`.
    pub(crate) profile: Option<String>,
    /// `DURAFN_URL`, `DURAFN_KEY`, `DURAFN_TASK_HUB`.
    pub(crate) env: Profile,
}

impl Sources {
    /// The environment part, read from the process.
    pub(crate) fn env_from_process() -> Profile {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Profile {
            url: var("DURAFN_URL"),
            key: var("DURAFN_KEY"),
            task_hub: var("DURAFN_TASK_HUB"),
        }
    }
}

/// Resolves each part of the connection, first found wins: the flag; the profile named with
/// `--profile` (or `DURAFN_PROFILE`); the environment; the current profile; the default URL.
/// A named profile beats the environment because naming it is the more specific choice.
pub(crate) fn resolve(sources: &Sources, config: &Config) -> CliResult<Connection> {
    let named = match &sources.profile {
        Some(name) => Some(config.profile(name)?.clone()),
        None => None,
    };
    let current = match (&sources.profile, &config.current) {
        (None, Some(name)) => config.profiles.get(name).cloned(),
        _ => None,
    };
    let layers: Vec<&Profile> = [Some(&sources.flags), named.as_ref(), Some(&sources.env)]
        .into_iter()
        .flatten()
        .chain(current.as_ref())
        .collect();
    let pick = |get: fn(&Profile) -> &Option<String>| layers.iter().find_map(|p| get(p).clone());
    let url = pick(|p| &p.url).unwrap_or_else(|| DEFAULT_URL.to_string());
    let url = url.trim_end_matches('/').to_string();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(CliError::Usage(format!(
            "the host URL must start with http:// or https://: {url:?}"
        )));
    }
    Ok(Connection {
        url,
        key: pick(|p| &p.key),
        task_hub: pick(|p| &p.task_hub),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(url: Option<&str>, key: Option<&str>) -> Profile {
        Profile {
            url: url.map(String::from),
            key: key.map(String::from),
            task_hub: None,
        }
    }

    #[test]
    fn flags_then_named_profile_then_env_then_current() {
        let mut config = Config {
            current: Some("cur".into()),
            ..Config::default()
        };
        config
            .profiles
            .insert("cur".into(), p(Some("http://current"), Some("kc")));
        config
            .profiles
            .insert("named".into(), p(Some("http://named"), None));
        let mut s = Sources {
            env: p(Some("http://env"), Some("ke")),
            ..Sources::default()
        };
        let c = resolve(&s, &config).unwrap();
        assert_eq!(
            (c.url.as_str(), c.key.as_deref()),
            ("http://env", Some("ke"))
        );
        s.profile = Some("named".into());
        let c = resolve(&s, &config).unwrap();
        assert_eq!(
            (c.url.as_str(), c.key.as_deref()),
            ("http://named", Some("ke"))
        );
        s.flags = p(Some("http://flag/"), None);
        assert_eq!(resolve(&s, &config).unwrap().url, "http://flag");
        let c = resolve(&Sources::default(), &config).unwrap();
        assert_eq!(
            (c.url.as_str(), c.key.as_deref()),
            ("http://current", Some("kc"))
        );
        let c = resolve(&Sources::default(), &Config::default()).unwrap();
        assert_eq!((c.url.as_str(), c.key), (DEFAULT_URL, None));
        s.profile = Some("missing".into());
        assert!(matches!(resolve(&s, &config), Err(CliError::NotFound(_))));
        assert!(!format!("{:?}", c_with_key()).contains("secret"));
    }

    fn c_with_key() -> Connection {
        Connection {
            url: "http://x".into(),
            key: Some("secret".into()),
            task_hub: None,
        }
    }
}
