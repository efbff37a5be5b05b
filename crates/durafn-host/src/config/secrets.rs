//! Secrets and Key Vault references in app settings.
//!
//! The article keeps the table's connection string out of the app: an app
//! setting holds a *reference* to a secret in Azure Key Vault, and the
//! platform swaps in the secret's value. The host (and its apps) accept the same two
//! reference forms:
//!
//! ```text
//! @Microsoft.KeyVault(SecretUri=https://{vault}.vault.azure.net/secrets/{name}/{version})
//! @Microsoft.KeyVault(SecretUri=https://{vault}.vault.azure.net/secrets/{name})
//! @Microsoft.KeyVault(VaultName={vault};SecretName={name})
//! @Microsoft.KeyVault(VaultName={vault};SecretName={name};SecretVersion={version})
//! ```
//!
//! and resolves them with local [`SecretProvider`]s, tried in order:
//!
//! 1. [`EnvSecrets`]: the environment variable
//!    `DURAFN_SECRET_{VAULT}_{NAME}`, upper-cased, every character other
//!    than a letter or digit replaced by `_` (vault `audit-kv`, secret
//!    `table-conn` → `DURAFN_SECRET_AUDIT_KV_TABLE_CONN`);
//! 2. [`DirSecrets`]: the file `secrets/{vault}/{name}` under the app root
//!    (its content, without trailing line breaks).
//!
//! Local providers keep one value per secret, so a version in the reference
//! is accepted and not used.
//!
//! A value that is not a reference is used as it is. Either way the value
//! becomes a [`Secret`], whose `Debug` shows no content and which has no
//! `Display`, so it cannot end up in a log line or a response by accident;
//! errors name the setting, the vault and the secret, never a value.

use std::fmt;
use std::path::{Path, PathBuf};

/// A secret value. Only [`Secret::expose`] shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value, for the one place that needs it (opening the store).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A parsed Key Vault reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyVaultReference {
    /// The vault's name (the first label of its host name).
    pub vault: String,
    /// The secret's name.
    pub name: String,
    /// The version, if the reference pins one.
    pub version: Option<String>,
}

/// Why a value that looks like a Key Vault reference is not a valid one.
/// The message describes the expected shape; it never repeats the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ReferenceError(&'static str);

const PREFIX: &str = "@Microsoft.KeyVault(";

impl KeyVaultReference {
    /// `None` when `value` is not a reference at all (a plain value);
    /// otherwise the reference, or why it is malformed.
    pub fn parse(value: &str) -> Option<Result<KeyVaultReference, ReferenceError>> {
        let value = value.trim();
        let head = value.get(..PREFIX.len())?;
        if !head.eq_ignore_ascii_case(PREFIX) {
            return None;
        }
        Some(Self::parse_inner(value.get(PREFIX.len()..).unwrap_or("")))
    }

    fn parse_inner(rest: &str) -> Result<KeyVaultReference, ReferenceError> {
        let inner = rest
            .strip_suffix(')')
            .ok_or(ReferenceError("a Key Vault reference must end with `)`"))?;
        let mut uri = None;
        let mut vault = None;
        let mut name = None;
        let mut version = None;
        for part in inner.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part.split_once('=').ok_or(ReferenceError(
                "a Key Vault reference holds `Key=Value` pairs separated by `;`",
            ))?;
            let slot = match key.trim().to_ascii_lowercase().as_str() {
                "secreturi" => &mut uri,
                "vaultname" => &mut vault,
                "secretname" => &mut name,
                "secretversion" => &mut version,
                _ => {
                    return Err(ReferenceError(
                        "a Key Vault reference takes SecretUri, or VaultName, SecretName and optionally SecretVersion",
                    ));
                }
            };
            *slot = Some(value.trim().to_owned());
        }
        let reference = match (uri, vault, name) {
            (Some(uri), None, None) if version.is_none() => Self::from_uri(&uri)?,
            (None, Some(vault), Some(name)) => KeyVaultReference {
                vault,
                name,
                version: version.filter(|v| !v.is_empty()),
            },
            _ => {
                return Err(ReferenceError(
                    "a Key Vault reference takes either SecretUri, or VaultName and SecretName",
                ));
            }
        };
        reference.check_names()?;
        Ok(reference)
    }

    /// `https://{vault}.vault.azure.net/secrets/{name}[/{version}][/]`
    /// (any Key Vault cloud: the host's second label must be `vault`).
    fn from_uri(uri: &str) -> Result<KeyVaultReference, ReferenceError> {
        const SHAPE: ReferenceError = ReferenceError(
            "SecretUri must look like https://{vault}.vault.azure.net/secrets/{name}[/{version}]",
        );
        let rest = uri
            .get(..8)
            .filter(|s| s.eq_ignore_ascii_case("https://"))
            .and_then(|_| uri.get(8..))
            .ok_or(SHAPE)?;
        let (host, path) = rest.split_once('/').ok_or(SHAPE)?;
        let mut labels = host.split('.');
        let vault = labels.next().unwrap_or_default();
        if !labels
            .next()
            .is_some_and(|l| l.eq_ignore_ascii_case("vault"))
        {
            return Err(SHAPE);
        }
        let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        let (name, version) = match segments.as_slice() {
            ["secrets", name] => (*name, None),
            ["secrets", name, version] => (*name, Some((*version).to_owned())),
            _ => return Err(SHAPE),
        };
        Ok(KeyVaultReference {
            vault: vault.to_ascii_lowercase(),
            name: name.to_owned(),
            version,
        })
    }

    /// Vault names are 3–24 letters, digits and hyphens; secret names 1–127
    /// letters, digits and hyphens. Checking them also keeps the names safe
    /// to use as file names.
    fn check_names(&self) -> Result<(), ReferenceError> {
        let ok = |s: &str, max: usize| {
            !s.is_empty()
                && s.len() <= max
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        if !(ok(&self.vault, 24) && self.vault.len() >= 3) {
            return Err(ReferenceError(
                "a vault name is 3 to 24 letters, digits and hyphens",
            ));
        }
        if !ok(&self.name, 127) {
            return Err(ReferenceError(
                "a secret name is 1 to 127 letters, digits and hyphens",
            ));
        }
        if self.version.as_deref().is_some_and(|v| !ok(v, 64)) {
            return Err(ReferenceError("a secret version is letters and digits"));
        }
        Ok(())
    }
}

/// Why a provider could not answer (as opposed to not having the secret).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ProviderError(String);

/// A place secrets are looked up.
pub trait SecretProvider: Send + Sync + fmt::Debug {
    /// The secret, `Ok(None)` if this provider does not have it.
    fn get(&self, reference: &KeyVaultReference) -> Result<Option<Secret>, ProviderError>;

    /// Where this provider looked for the secret, for error messages.
    fn location(&self, reference: &KeyVaultReference) -> String;
}

/// Reads one variable by name.
type Lookup = std::sync::Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Secrets in environment variables `DURAFN_SECRET_{VAULT}_{NAME}`.
#[derive(Clone)]
pub struct EnvSecrets {
    lookup: Lookup,
}

impl fmt::Debug for EnvSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EnvSecrets")
    }
}

impl EnvSecrets {
    /// Reads the process environment.
    pub fn from_process() -> EnvSecrets {
        EnvSecrets::with_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `lookup` (for tests, or app settings).
    pub fn with_lookup(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        EnvSecrets {
            lookup: std::sync::Arc::new(lookup),
        }
    }

    /// The variable that holds a secret.
    pub fn variable(reference: &KeyVaultReference) -> String {
        let raw = format!("DURAFN_SECRET_{}_{}", reference.vault, reference.name);
        raw.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect()
    }
}

impl SecretProvider for EnvSecrets {
    fn get(&self, reference: &KeyVaultReference) -> Result<Option<Secret>, ProviderError> {
        Ok((self.lookup)(&Self::variable(reference)).map(Secret))
    }

    fn location(&self, reference: &KeyVaultReference) -> String {
        format!("environment variable {}", Self::variable(reference))
    }
}

/// Secrets as files: `{root}/{vault}/{name}`.
#[derive(Debug, Clone)]
pub struct DirSecrets {
    root: PathBuf,
}

impl DirSecrets {
    /// Secrets under `root` (normally `secrets/` in the app root).
    pub fn new(root: impl Into<PathBuf>) -> DirSecrets {
        DirSecrets { root: root.into() }
    }

    /// The directory the secrets are in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, reference: &KeyVaultReference) -> PathBuf {
        self.root.join(&reference.vault).join(&reference.name)
    }
}

impl SecretProvider for DirSecrets {
    fn get(&self, reference: &KeyVaultReference) -> Result<Option<Secret>, ProviderError> {
        // References built by hand skipped the parser's checks; the names
        // become path components, so check them again.
        reference
            .check_names()
            .map_err(|e| ProviderError(e.to_string()))?;
        let path = self.path(reference);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(Secret(text.trim_end_matches(['\r', '\n']).to_owned()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ProviderError(format!(
                "cannot read {}: {e}",
                path.display()
            ))),
        }
    }

    fn location(&self, reference: &KeyVaultReference) -> String {
        format!("file {}", self.path(reference).display())
    }
}

/// Why an app setting could not be turned into a value. Names the setting
/// (and, for a reference, the vault and secret), never a value.
#[derive(Debug, thiserror::Error)]
pub enum SettingError {
    /// The setting looks like a reference but is not a valid one.
    #[error("app setting {setting} is not a valid Key Vault reference: {reason}")]
    MalformedReference {
        /// The setting's name.
        setting: String,
        /// What is wrong.
        reason: ReferenceError,
    },
    /// No provider has the referenced secret.
    #[error(
        "app setting {setting} refers to secret {name:?} in Key Vault {vault:?}, which could not be found (looked in: {looked})"
    )]
    SecretNotFound {
        /// The setting's name.
        setting: String,
        /// The vault.
        vault: String,
        /// The secret.
        name: String,
        /// Where the providers looked.
        looked: String,
    },
    /// A provider failed.
    #[error("app setting {setting}: cannot resolve its Key Vault reference: {source}")]
    Provider {
        /// The setting's name.
        setting: String,
        /// What failed.
        source: ProviderError,
    },
}

/// Resolves setting values with a list of providers.
#[derive(Debug, Default)]
pub struct SecretResolver {
    providers: Vec<Box<dyn SecretProvider>>,
}

impl SecretResolver {
    /// The app's resolver: the environment first, then `secrets_dir`.
    pub fn local(secrets_dir: impl Into<PathBuf>) -> SecretResolver {
        SecretResolver::default()
            .with(EnvSecrets::from_process())
            .with(DirSecrets::new(secrets_dir))
    }

    /// Adds a provider, tried after the ones before it.
    #[must_use]
    pub fn with(mut self, provider: impl SecretProvider + 'static) -> SecretResolver {
        self.providers.push(Box::new(provider));
        self
    }

    /// The value of setting `setting` whose raw value is `raw`: the
    /// referenced secret, or the value itself if it is not a reference.
    pub fn resolve(&self, setting: &str, raw: &str) -> Result<Secret, SettingError> {
        let reference = match KeyVaultReference::parse(raw) {
            None => return Ok(Secret(raw.to_owned())),
            Some(Err(reason)) => {
                return Err(SettingError::MalformedReference {
                    setting: setting.to_owned(),
                    reason,
                });
            }
            Some(Ok(reference)) => reference,
        };
        for provider in &self.providers {
            let found = provider
                .get(&reference)
                .map_err(|source| SettingError::Provider {
                    setting: setting.to_owned(),
                    source,
                })?;
            if let Some(secret) = found {
                return Ok(secret);
            }
        }
        Err(SettingError::SecretNotFound {
            setting: setting.to_owned(),
            vault: reference.vault.clone(),
            name: reference.name.clone(),
            looked: self
                .providers
                .iter()
                .map(|p| p.location(&reference))
                .collect::<Vec<_>>()
                .join(", "),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn reference(vault: &str, name: &str, version: Option<&str>) -> KeyVaultReference {
        KeyVaultReference {
            vault: vault.into(),
            name: name.into(),
            version: version.map(Into::into),
        }
    }

    #[test]
    fn parses_both_reference_forms() {
        for (text, expected) in [
            (
                "@Microsoft.KeyVault(SecretUri=https://audit-kv.vault.azure.net/secrets/table-conn/)",
                reference("audit-kv", "table-conn", None),
            ),
            (
                "@Microsoft.KeyVault(SecretUri=https://audit-kv.vault.azure.net/secrets/table-conn/ec96f02080254f109c51a1f14cdb1931)",
                reference(
                    "audit-kv",
                    "table-conn",
                    Some("ec96f02080254f109c51a1f14cdb1931"),
                ),
            ),
            (
                "@Microsoft.KeyVault(VaultName=audit-kv;SecretName=table-conn)",
                reference("audit-kv", "table-conn", None),
            ),
            (
                " @microsoft.keyvault( VaultName=audit-kv; SecretName=table-conn; SecretVersion=abc123 ) ",
                reference("audit-kv", "table-conn", Some("abc123")),
            ),
        ] {
            assert_eq!(KeyVaultReference::parse(text), Some(Ok(expected)), "{text}");
        }
    }

    #[test]
    fn plain_values_are_not_references() {
        for text in [
            "UseDevelopmentStorage=true",
            "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k==",
            "",
            "@Microsoft",
        ] {
            assert_eq!(KeyVaultReference::parse(text), None, "{text}");
        }
    }

    #[test]
    fn malformed_references_say_why_without_echoing() {
        for text in [
            "@Microsoft.KeyVault(SecretUri=https://audit-kv.vault.azure.net/secrets/table-conn",
            "@Microsoft.KeyVault(SecretUri=http://audit-kv.vault.azure.net/secrets/x)",
            "@Microsoft.KeyVault(SecretUri=https://audit-kv.example.com/secrets/x)",
            "@Microsoft.KeyVault(SecretUri=https://audit-kv.vault.azure.net/keys/x)",
            "@Microsoft.KeyVault(VaultName=audit-kv)",
            "@Microsoft.KeyVault(VaultName=../../etc;SecretName=passwd)",
            "@Microsoft.KeyVault(VaultName=audit-kv;SecretName=a/b)",
            "@Microsoft.KeyVault(Secret=hunter2)",
        ] {
            let err = KeyVaultReference::parse(text)
                .expect("looks like a reference")
                .expect_err(text);
            assert!(!err.to_string().contains("hunter2"));
        }
    }

    #[test]
    fn environment_variable_names() {
        assert_eq!(
            EnvSecrets::variable(&reference("audit-kv", "table-conn", None)),
            "DURAFN_SECRET_AUDIT_KV_TABLE_CONN"
        );
    }

    #[test]
    fn resolves_from_env_then_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("audit-kv")).expect("mkdir");
        std::fs::write(dir.path().join("audit-kv/table-conn"), "from-file\r\n").expect("write");
        std::fs::write(dir.path().join("audit-kv/both"), "file-loses\n").expect("write");
        let env: HashMap<&str, &str> = [("DURAFN_SECRET_AUDIT_KV_BOTH", "env-wins")].into();
        let resolver = SecretResolver::default()
            .with(EnvSecrets::with_lookup(move |n| {
                env.get(n).map(|v| (*v).to_owned())
            }))
            .with(DirSecrets::new(dir.path()));
        let get = |raw: &str| resolver.resolve("AuditTableConnection", raw);
        assert_eq!(
            get("@Microsoft.KeyVault(VaultName=audit-kv;SecretName=table-conn)")
                .expect("found")
                .expose(),
            "from-file"
        );
        assert_eq!(
            get("@Microsoft.KeyVault(SecretUri=https://audit-kv.vault.azure.net/secrets/both/v1)")
                .expect("found")
                .expose(),
            "env-wins"
        );
        assert_eq!(get("plain").expect("plain").expose(), "plain");

        let missing =
            get("@Microsoft.KeyVault(VaultName=audit-kv;SecretName=nope)").expect_err("missing");
        let message = missing.to_string();
        assert!(message.contains("AuditTableConnection"), "{message}");
        assert!(message.contains("DURAFN_SECRET_AUDIT_KV_NOPE"), "{message}");
        assert!(message.contains("nope"), "{message}");
        let malformed = get("@Microsoft.KeyVault(Secret=hunter2)").expect_err("malformed");
        assert!(malformed.to_string().contains("AuditTableConnection"));
        assert!(!malformed.to_string().contains("hunter2"));
    }

    #[test]
    fn secrets_do_not_print() {
        let secret = Secret::new("AccountKey=hunter2");
        assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
        assert_eq!(format!("{:?}", Some(&secret)), "Some(Secret(<redacted>))");
    }
}
