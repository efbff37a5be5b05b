//! Opening the task hub the configuration names: SQLite (the default), PostgreSQL (feature
//! `postgres`) or memory.

use std::sync::Arc;

use durafn_sqlite::{SqliteOptions, SqliteStore};
use durafn_store::Store;
use durafn_store::memory::MemoryStore;

use crate::config::{HostConfig, StorageProvider};
use crate::error::HostError;

/// Where the host looks for local Key Vault secrets, under the app root.
pub const SECRETS_DIR: &str = "secrets";

pub(crate) async fn open_store(
    config: &HostConfig,
) -> Result<(Arc<dyn Store>, &'static str), HostError> {
    match &config.storage {
        #[cfg(not(feature = "postgres"))]
        StorageProvider::Postgres { .. } => Err(HostError::Functions(
            "host.json asks for the PostgreSQL task hub, but this build has no PostgreSQL support (cargo feature `postgres`)".into(),
        )),
        #[cfg(feature = "postgres")]
        StorageProvider::Postgres {
            connection_string_name,
        } => {
            let raw = config.settings.get(connection_string_name).ok_or_else(|| {
                HostError::Functions(format!(
                    "the app setting {connection_string_name} (the PostgreSQL connection string named in host.json) is not set"
                ))
            })?;
            let resolver = crate::config::secrets::SecretResolver::local(config.root.join(SECRETS_DIR));
            let secret = resolver
                .resolve(connection_string_name, raw)
                .map_err(|e| HostError::Functions(e.to_string()))?;
            let options = durafn_postgres::PostgresOptions {
                schema: config.hub_name.to_lowercase(),
                ..durafn_postgres::PostgresOptions::default()
            };
            let store = durafn_postgres::PostgresStore::connect(secret.expose(), options)
                .await
                .map_err(|e| {
                    HostError::Functions(format!(
                        "could not open the PostgreSQL task hub (setting {connection_string_name}): {e}"
                    ))
                })?;
            Ok((Arc::new(store), "postgres"))
        }
        StorageProvider::Memory => Ok((Arc::new(MemoryStore::new()), "memory")),
        StorageProvider::Sqlite { durability, .. } => {
            let path = config
                .sqlite_path()
                .ok_or_else(|| HostError::Functions("no task hub path".into()))?;
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .map_err(|e| HostError::io(format!("creating {}", parent.display()), e))?;
            }
            let options = SqliteOptions {
                durability: *durability,
                ..SqliteOptions::default()
            };
            Ok((Arc::new(SqliteStore::open(&path, options)?), "sqlite"))
        }
    }
}
