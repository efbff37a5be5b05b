//! Access keys, as in Azure Functions.
//!
//! - the **master key** (`_master`) opens everything: admin routes, every function, and the
//!   management API;
//! - **host keys** (`default` is created) open every function-level and anonymous function;
//! - **function keys** open one function (`default` is created for each function whose auth
//!   level is `function`);
//! - **system keys** open an extension's webhooks: `durabletask_extension` opens the Durable
//!   Functions management API under `/runtime/webhooks/durabletask`; `dashboard` opens the
//!   dashboard to read and write, `dashboard_readonly` to read only (neither is created by
//!   default: an operator creates them, `durafn keys create`, to hand the dashboard out
//!   without the master key).
//!
//! Keys are created on first start (32 random bytes from the operating system, URL-safe base64
//! without padding) and kept in `keys.json` in the data directory, next to the task hub. The file
//! is written atomically (a temporary file renamed over it) and readable by its owner only.
//! An operator can set the master and system keys with the `DURAFN_MASTER_KEY` and
//! `DURAFN_SYSTEM_KEY` app settings; the file is updated to match at start-up.
//!
//! Presented keys are compared in constant time against every candidate, so response timing
//! tells nothing about how much of a key was right.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::Engine;
use serde::{Deserialize, Serialize};

/// The name of the master key.
pub const MASTER_KEY_NAME: &str = "_master";
/// The system key of the Durable Functions management API.
pub const DURABLE_SYSTEM_KEY: &str = "durabletask_extension";
/// The system key that opens the dashboard to read and write.
pub const DASHBOARD_KEY: &str = "dashboard";
/// The system key that opens the dashboard to read only.
pub const DASHBOARD_READONLY_KEY: &str = "dashboard_readonly";
/// The name of the keys created by default.
pub const DEFAULT_KEY_NAME: &str = "default";
/// The keys file in the data directory.
pub const KEYS_FILE: &str = "keys.json";

/// Why keys could not be read, written or made.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The keys file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The keys file is not a keys file.
    #[error("{path}: not a valid keys file: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// There is no keys file (the host has never started with this data directory).
    #[error("{0}: no keys file (has a host been started with this data directory?)")]
    Missing(PathBuf),
    /// The operating system gave no random bytes.
    #[error("could not get random bytes for a key: {0}")]
    Random(String),
}

/// Which kind of key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyScope {
    /// The master key.
    Master,
    /// A host key (every function).
    Host,
    /// A system key (an extension's webhooks).
    System,
    /// A key of one function.
    Function(String),
}

impl std::fmt::Display for KeyScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyScope::Master => f.write_str("master"),
            KeyScope::Host => f.write_str("host"),
            KeyScope::System => f.write_str("system"),
            KeyScope::Function(name) => write!(f, "function {name}"),
        }
    }
}

/// One key, as listed by [`list_keys`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyEntry {
    /// What it opens.
    pub scope: KeyScope,
    /// Its name.
    pub name: String,
    /// The secret.
    pub value: String,
}

/// What a route requires of the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Access {
    /// Nothing.
    Anonymous,
    /// A key of this function, a host key or the master key.
    Function(String),
    /// The master key.
    Admin,
    /// The durabletask system key or the master key.
    System,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct KeysFile {
    version: u32,
    master_key: String,
    #[serde(default)]
    host_keys: BTreeMap<String, String>,
    #[serde(default)]
    system_keys: BTreeMap<String, String>,
    #[serde(default)]
    function_keys: BTreeMap<String, BTreeMap<String, String>>,
}

impl KeysFile {
    fn entries(&self) -> Vec<KeyEntry> {
        let mut out = vec![KeyEntry {
            scope: KeyScope::Master,
            name: MASTER_KEY_NAME.into(),
            value: self.master_key.clone(),
        }];
        let mut add = |scope: KeyScope, keys: &BTreeMap<String, String>| {
            for (name, value) in keys {
                out.push(KeyEntry {
                    scope: scope.clone(),
                    name: name.clone(),
                    value: value.clone(),
                });
            }
        };
        add(KeyScope::Host, &self.host_keys);
        add(KeyScope::System, &self.system_keys);
        for (function, keys) in &self.function_keys {
            add(KeyScope::Function(function.clone()), keys);
        }
        out
    }
}

/// The keys of a function app, backed by its keys file.
#[derive(Debug)]
pub struct KeyStore {
    path: PathBuf,
    keys: Mutex<KeysFile>,
}

/// Keys an operator set through app settings.
#[derive(Debug, Clone, Default)]
pub(crate) struct InjectedKeys {
    pub(crate) master: Option<String>,
    pub(crate) system: Option<String>,
}

impl KeyStore {
    /// Opens the keys file in `data_dir`, creating it (and the directory) on first start, and
    /// makes sure the default keys exist: the master key, the `default` host key, the
    /// durabletask system key and a `default` key for each of `function_level` functions.
    pub(crate) fn open(
        data_dir: &Path,
        function_level: &[String],
        injected: &InjectedKeys,
    ) -> Result<Self, KeyError> {
        let path = data_dir.join(KEYS_FILE);
        let existing = read_file(&path)?;
        let mut keys = existing.clone().unwrap_or_else(|| KeysFile {
            version: 1,
            ..KeysFile::default()
        });
        if let Some(master) = &injected.master {
            keys.master_key = master.clone();
        } else if keys.master_key.is_empty() {
            keys.master_key = generate_key()?;
        }
        if !keys.host_keys.contains_key(DEFAULT_KEY_NAME) {
            keys.host_keys
                .insert(DEFAULT_KEY_NAME.into(), generate_key()?);
        }
        match &injected.system {
            Some(system) => {
                keys.system_keys
                    .insert(DURABLE_SYSTEM_KEY.into(), system.clone());
            }
            None => {
                if !keys.system_keys.contains_key(DURABLE_SYSTEM_KEY) {
                    keys.system_keys
                        .insert(DURABLE_SYSTEM_KEY.into(), generate_key()?);
                }
            }
        }
        for function in function_level {
            let fk = keys.function_keys.entry(function.clone()).or_default();
            if fk.is_empty() {
                fk.insert(DEFAULT_KEY_NAME.into(), generate_key()?);
            }
        }
        if existing.as_ref() != Some(&keys) {
            std::fs::create_dir_all(data_dir).map_err(|source| KeyError::Io {
                path: data_dir.to_path_buf(),
                source,
            })?;
            write_file(&path, &keys)?;
        }
        Ok(Self {
            path,
            keys: Mutex::new(keys),
        })
    }

    fn with<R>(&self, f: impl FnOnce(&mut KeysFile) -> R) -> R {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut keys)
    }

    /// The keys file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The master key.
    pub fn master_key(&self) -> String {
        self.with(|k| k.master_key.clone())
    }

    /// The durabletask system key, which opens the management API.
    pub fn system_key(&self) -> String {
        self.with(|k| {
            k.system_keys
                .get(DURABLE_SYSTEM_KEY)
                .cloned()
                .unwrap_or_default()
        })
    }

    /// A key by scope and name (`_master` under [`KeyScope::Host`] or [`KeyScope::Master`] is
    /// the master key).
    pub fn get(&self, scope: &KeyScope, name: &str) -> Option<String> {
        self.with(|k| match scope {
            KeyScope::Master => Some(k.master_key.clone()),
            KeyScope::Host if name == MASTER_KEY_NAME => Some(k.master_key.clone()),
            KeyScope::Host => k.host_keys.get(name).cloned(),
            KeyScope::System => k.system_keys.get(name).cloned(),
            KeyScope::Function(f) => k.function_keys.get(f).and_then(|m| m.get(name)).cloned(),
        })
    }

    /// Every key of a scope, by name (the master key is not among the host keys).
    pub fn list(&self, scope: &KeyScope) -> Vec<(String, String)> {
        self.with(|k| {
            let map = match scope {
                KeyScope::Master => {
                    return vec![(MASTER_KEY_NAME.to_string(), k.master_key.clone())];
                }
                KeyScope::Host => &k.host_keys,
                KeyScope::System => &k.system_keys,
                KeyScope::Function(f) => match k.function_keys.get(f) {
                    Some(m) => m,
                    None => return Vec::new(),
                },
            };
            map.iter().map(|(n, v)| (n.clone(), v.clone())).collect()
        })
    }

    /// Sets a key to `value`, or to a new random value when `value` is `None`. Returns the value
    /// and whether the key is new. The file is rewritten before this returns.
    pub fn set(
        &self,
        scope: &KeyScope,
        name: &str,
        value: Option<String>,
    ) -> Result<(String, bool), KeyError> {
        let value = match value {
            Some(v) => v,
            None => generate_key()?,
        };
        self.with(|k| {
            let mut next = k.clone();
            let created = match scope {
                KeyScope::Master => {
                    next.master_key = value.clone();
                    false
                }
                KeyScope::Host if name == MASTER_KEY_NAME => {
                    next.master_key = value.clone();
                    false
                }
                KeyScope::Host => next.host_keys.insert(name.into(), value.clone()).is_none(),
                KeyScope::System => next
                    .system_keys
                    .insert(name.into(), value.clone())
                    .is_none(),
                KeyScope::Function(f) => next
                    .function_keys
                    .entry(f.clone())
                    .or_default()
                    .insert(name.into(), value.clone())
                    .is_none(),
            };
            write_file(&self.path, &next)?;
            *k = next;
            Ok((value, created))
        })
    }

    /// Deletes a key; `Ok(false)` if there was none. The master key cannot be deleted (the
    /// caller refuses that before asking).
    pub fn delete(&self, scope: &KeyScope, name: &str) -> Result<bool, KeyError> {
        self.with(|k| {
            let mut next = k.clone();
            let removed = match scope {
                KeyScope::Master => false,
                KeyScope::Host => next.host_keys.remove(name).is_some(),
                KeyScope::System => next.system_keys.remove(name).is_some(),
                KeyScope::Function(f) => next
                    .function_keys
                    .get_mut(f)
                    .is_some_and(|m| m.remove(name).is_some()),
            };
            if removed {
                write_file(&self.path, &next)?;
                *k = next;
            }
            Ok(removed)
        })
    }

    /// Whether `presented` satisfies `access`. Every candidate key is compared, in constant
    /// time, whatever matched first.
    pub(crate) fn authorize(&self, presented: Option<&str>, access: &Access) -> bool {
        if *access == Access::Anonymous {
            return true;
        }
        let Some(presented) = presented else {
            return false;
        };
        let presented = presented.as_bytes();
        self.with(|k| {
            let mut ok = constant_time_eq(presented, k.master_key.as_bytes());
            match access {
                Access::Anonymous | Access::Admin => {}
                Access::System => {
                    if let Some(s) = k.system_keys.get(DURABLE_SYSTEM_KEY) {
                        ok |= constant_time_eq(presented, s.as_bytes());
                    }
                }
                Access::Function(function) => {
                    for v in k.host_keys.values() {
                        ok |= constant_time_eq(presented, v.as_bytes());
                    }
                    if let Some(fk) = k.function_keys.get(function) {
                        for v in fk.values() {
                            ok |= constant_time_eq(presented, v.as_bytes());
                        }
                    }
                }
            }
            ok
        })
    }
}

/// Lists the keys of the function app whose data directory is `data_dir` (for a command-line
/// tool; it changes nothing and creates nothing).
pub fn list_keys(data_dir: &Path) -> Result<Vec<KeyEntry>, KeyError> {
    let path = data_dir.join(KEYS_FILE);
    match read_file(&path)? {
        Some(keys) => Ok(keys.entries()),
        None => Err(KeyError::Missing(path)),
    }
}

/// A new key: 32 random bytes from the operating system as URL-safe base64 without padding
/// (safe in `?code=` without escaping).
pub fn generate_key() -> Result<String, KeyError> {
    // A key is typed after `--key` on command lines, where a leading `-` reads as a flag:
    // draw again until it starts with a letter or digit (one try in 32 is redrawn).
    loop {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| KeyError::Random(e.to_string()))?;
        let key = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        if key.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Ok(key);
        }
    }
}

/// The rule for key values set by an operator: 16 to 256 characters from the URL-safe base64
/// alphabet and `+/=` (the characters of Azure-generated keys).
pub(crate) fn validate_value(value: &str) -> Result<(), String> {
    let len = value.chars().count();
    if !(16..=256).contains(&len) {
        return Err(format!(
            "a key must be 16 to 256 characters long, not {len}"
        ));
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-_+/=".contains(*c)))
    {
        return Err(format!(
            "a key may contain only letters, digits and - _ + / =, not {c:?}"
        ));
    }
    Ok(())
}

/// The rule for key names: 1 to 128 letters, digits, `-`, `_` and `.`.
pub(crate) fn validate_name(name: &str) -> Result<(), String> {
    let ok = (1..=128).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a valid key name (1 to 128 letters, digits, '-', '_' or '.')"
        ))
    }
}

/// Compares two byte strings in time that depends only on their lengths.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

fn read_file(path: &Path) -> Result<Option<KeysFile>, KeyError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(KeyError::Io {
                path: path.into(),
                source,
            });
        }
    };
    let keys: KeysFile = serde_json::from_str(&text).map_err(|e| KeyError::Corrupt {
        path: path.into(),
        message: e.to_string(),
    })?;
    if keys.version != 1 {
        return Err(KeyError::Corrupt {
            path: path.into(),
            message: format!("unsupported version {}", keys.version),
        });
    }
    Ok(Some(keys))
}

/// Writes the file atomically: a private temporary file in the same directory, flushed, then
/// renamed over the old one, so a crash leaves either the old keys or the new ones.
fn write_file(path: &Path, keys: &KeysFile) -> Result<(), KeyError> {
    use std::io::Write;
    let io = |source| KeyError::Io {
        path: path.into(),
        source,
    };
    let text = serde_json::to_vec_pretty(keys).map_err(|e| KeyError::Corrupt {
        path: path.into(),
        message: e.to_string(),
    })?;
    let tmp = path.with_extension(format!("json.tmp{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let result = (|| {
        let mut file = options.open(&tmp)?;
        file.write_all(&text)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn generated_keys_are_url_safe_and_distinct() {
        let a = generate_key().unwrap();
        let b = generate_key().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(validate_value(&a).is_ok());
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        for _ in 0..200 {
            let k = generate_key().unwrap();
            assert!(k.starts_with(|c: char| c.is_ascii_alphanumeric()), "{k}");
        }
    }

    #[test]
    fn created_once_then_reused_with_private_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let store = KeyStore::open(&data, &["f".into()], &InjectedKeys::default()).unwrap();
        let master = store.master_key();
        assert!(
            store
                .get(&KeyScope::Function("f".into()), "default")
                .is_some()
        );
        let again = KeyStore::open(&data, &["f".into()], &InjectedKeys::default()).unwrap();
        assert_eq!(again.master_key(), master);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(data.join(KEYS_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let listed = list_keys(&data).unwrap();
        assert!(
            listed
                .iter()
                .any(|k| k.scope == KeyScope::Master && k.value == master)
        );
        assert!(
            listed
                .iter()
                .any(|k| k.scope == KeyScope::System && k.name == DURABLE_SYSTEM_KEY)
        );
        assert!(matches!(list_keys(dir.path()), Err(KeyError::Missing(_))));
    }

    #[test]
    fn injected_keys_win_and_access_rules_hold() {
        let dir = tempfile::tempdir().unwrap();
        let injected = InjectedKeys {
            master: Some("m".repeat(20)),
            system: Some("s".repeat(20)),
        };
        let store = KeyStore::open(dir.path(), &["f".into(), "g".into()], &injected).unwrap();
        let m = "m".repeat(20);
        let s = "s".repeat(20);
        assert_eq!(store.master_key(), m);
        assert_eq!(store.system_key(), s);
        let host = store.get(&KeyScope::Host, "default").unwrap();
        let f = store
            .get(&KeyScope::Function("f".into()), "default")
            .unwrap();
        let g = store
            .get(&KeyScope::Function("g".into()), "default")
            .unwrap();
        let fa = Access::Function("f".into());
        assert!(store.authorize(Some(&f), &fa));
        assert!(store.authorize(Some(&host), &fa));
        assert!(store.authorize(Some(&m), &fa));
        assert!(!store.authorize(Some(&g), &fa));
        assert!(!store.authorize(Some(&s), &fa));
        assert!(!store.authorize(None, &fa));
        assert!(store.authorize(Some(&s), &Access::System));
        assert!(store.authorize(Some(&m), &Access::System));
        assert!(!store.authorize(Some(&host), &Access::System));
        assert!(store.authorize(Some(&m), &Access::Admin));
        assert!(!store.authorize(Some(&s), &Access::Admin));
        assert!(store.authorize(None, &Access::Anonymous));
    }

    #[test]
    fn set_and_delete_persist() {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::open(dir.path(), &[], &InjectedKeys::default()).unwrap();
        let (v, created) = store.set(&KeyScope::Host, "ci", None).unwrap();
        assert!(created);
        let (_, created) = store
            .set(&KeyScope::Host, "ci", Some("x".repeat(16)))
            .unwrap();
        assert!(!created);
        assert_ne!(v, "x".repeat(16));
        let reopened = KeyStore::open(dir.path(), &[], &InjectedKeys::default()).unwrap();
        assert_eq!(reopened.get(&KeyScope::Host, "ci"), Some("x".repeat(16)));
        assert!(store.delete(&KeyScope::Host, "ci").unwrap());
        assert!(!store.delete(&KeyScope::Host, "ci").unwrap());
        let entries = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(entries, 1, "no temporary files are left behind");
    }
}
