//! The app's own settings, read from the function app's app settings
//! (environment variables over `local.settings.json`'s `Values`).
//!
//! | setting | default | meaning |
//! | --- | --- | --- |
//! | `AuditTableConnection` | `embedded` | where the audit table is: `embedded` (a SQLite file in the data directory), `embedded:PATH`, `UseDevelopmentStorage=true` (the local emulator), or a full `DefaultEndpointsProtocol=…;AccountName=…;AccountKey=…[;TableEndpoint=…]` connection string. May be a Key Vault reference (see [`crate::secrets`]). |
//! | `AuditTableName` | `audit` | the table the query reads |
//! | `AuditQueryDelayMs` | `0` | milliseconds the activity waits before querying, to show a long-running job |
//! | `AuditDemoData` | `true` | whether to fill an empty *embedded* table with demo rows at start-up |

use std::time::Duration;

use crate::secrets::{Secret, SecretResolver, SettingError};

/// The connection string of the audit table.
pub const CONNECTION_SETTING: &str = "AuditTableConnection";
/// The audit table's name.
pub const TABLE_SETTING: &str = "AuditTableName";
/// The activity's artificial delay, in milliseconds.
pub const DELAY_SETTING: &str = "AuditQueryDelayMs";
/// Whether an empty embedded table gets demo rows at start-up.
pub const DEMO_DATA_SETTING: &str = "AuditDemoData";

/// The table the article queries.
pub const DEFAULT_TABLE: &str = "audit";
/// The connection used when none is configured.
pub const DEFAULT_CONNECTION: &str = "embedded";

/// Why the settings are not usable. Names settings, never their values.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The connection setting could not be resolved.
    #[error(transparent)]
    Secret(#[from] SettingError),
    /// A setting has a value of the wrong kind.
    #[error("app setting {setting} must be {expected}")]
    Invalid {
        /// The setting.
        setting: &'static str,
        /// What it must be.
        expected: &'static str,
    },
}

/// The app's settings, resolved.
#[derive(Debug, Clone)]
pub struct AuditSettings {
    /// The table's connection string (a secret: it may hold an account key).
    pub connection: Secret,
    /// The table's name.
    pub table: String,
    /// How long the activity waits before querying.
    pub delay: Duration,
    /// Whether to fill an empty embedded table with demo rows.
    pub demo_data: bool,
}

impl AuditSettings {
    /// Reads the settings through `get` (a setting's raw value by name),
    /// resolving a Key Vault reference in the connection setting.
    pub fn read(
        get: impl Fn(&str) -> Option<String>,
        resolver: &SecretResolver,
    ) -> Result<AuditSettings, SettingsError> {
        let value = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let connection = match value(CONNECTION_SETTING) {
            Some(raw) => resolver.resolve(CONNECTION_SETTING, &raw)?,
            None => Secret::new(DEFAULT_CONNECTION),
        };
        let table = value(TABLE_SETTING)
            .map(|t| t.trim().to_owned())
            .unwrap_or_else(|| DEFAULT_TABLE.to_owned());
        let delay = match value(DELAY_SETTING) {
            None => Duration::ZERO,
            Some(ms) => {
                Duration::from_millis(ms.trim().parse().map_err(|_| SettingsError::Invalid {
                    setting: DELAY_SETTING,
                    expected: "a whole number of milliseconds",
                })?)
            }
        };
        let demo_data = match value(DEMO_DATA_SETTING) {
            None => true,
            Some(flag) => match flag.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" => false,
                _ => {
                    return Err(SettingsError::Invalid {
                        setting: DEMO_DATA_SETTING,
                        expected: "true or false",
                    });
                }
            },
        };
        Ok(AuditSettings {
            connection,
            table,
            delay,
            demo_data,
        })
    }

    /// Whether the connection names the embedded store (the only one that
    /// gets demo rows automatically).
    pub fn is_embedded(&self) -> bool {
        let c = self.connection.expose().trim();
        c.is_empty()
            || c.eq_ignore_ascii_case("embedded")
            || c.get(..9)
                .is_some_and(|p| p.eq_ignore_ascii_case("embedded:"))
    }

    /// A description of the store safe to log: the kind, never the string.
    pub fn store_kind(&self) -> &'static str {
        let c = self.connection.expose().trim();
        if self.is_embedded() {
            "embedded store"
        } else if c
            .to_ascii_lowercase()
            .contains("usedevelopmentstorage=true")
        {
            "local storage emulator"
        } else {
            "Azure Table Storage"
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::secrets::EnvSecrets;

    fn read(pairs: &[(&str, &str)]) -> Result<AuditSettings, SettingsError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let secrets: HashMap<String, String> = [(
            "DURAFN_SECRET_KV1_CONN".to_owned(),
            "UseDevelopmentStorage=true".to_owned(),
        )]
        .into();
        let resolver = SecretResolver::default()
            .with(EnvSecrets::with_lookup(move |n| secrets.get(n).cloned()));
        AuditSettings::read(|n| map.get(n).cloned(), &resolver)
    }

    #[test]
    fn defaults() {
        let s = read(&[]).expect("defaults");
        assert_eq!(s.connection.expose(), "embedded");
        assert_eq!(s.table, "audit");
        assert_eq!(s.delay, Duration::ZERO);
        assert!(s.demo_data);
        assert!(s.is_embedded());
        assert_eq!(s.store_kind(), "embedded store");
    }

    #[test]
    fn values_and_references() {
        let s = read(&[
            (
                CONNECTION_SETTING,
                "@Microsoft.KeyVault(VaultName=kv1;SecretName=conn)",
            ),
            (TABLE_SETTING, "audit2024"),
            (DELAY_SETTING, "2500"),
            (DEMO_DATA_SETTING, "false"),
        ])
        .expect("valid");
        assert_eq!(s.connection.expose(), "UseDevelopmentStorage=true");
        assert_eq!(s.store_kind(), "local storage emulator");
        assert_eq!(s.table, "audit2024");
        assert_eq!(s.delay, Duration::from_millis(2500));
        assert!(!s.demo_data);
        let azure = read(&[(
            CONNECTION_SETTING,
            "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=hunter2",
        )])
        .expect("valid");
        assert_eq!(azure.store_kind(), "Azure Table Storage");
        assert!(!format!("{azure:?}").contains("hunter2"));
    }

    #[test]
    fn errors_name_the_setting() {
        let err = read(&[(
            CONNECTION_SETTING,
            "@Microsoft.KeyVault(VaultName=kv1;SecretName=missing)",
        )])
        .expect_err("unresolved");
        assert!(err.to_string().contains(CONNECTION_SETTING), "{err}");
        let err = read(&[(DELAY_SETTING, "soon")]).expect_err("not a number");
        assert_eq!(
            err.to_string(),
            "app setting AuditQueryDelayMs must be a whole number of milliseconds"
        );
    }
}
