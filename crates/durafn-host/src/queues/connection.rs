//! Storage connections by app setting name, as Functions bindings name them.
//!
//! A binding's `connection` names an app setting holding a connection string
//! (`UseDevelopmentStorage=true` for Azurite, or `DefaultEndpointsProtocol=…;AccountName=…;
//! AccountKey=…`, possibly a Key Vault reference). An empty name means `AzureWebJobsStorage`;
//! a name that is not set is also looked up as `AzureWebJobs{name}`, as the Functions host does.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use durafn_azure::queue::{MessageEncoding, Queue, QueueService};

use crate::config::secrets::SecretResolver;
use crate::config::settings::AppSettings;

/// The setting Functions uses when a binding names no connection.
pub const DEFAULT_CONNECTION: &str = "AzureWebJobsStorage";

/// Opens queue services by connection name, once per name.
pub(crate) struct Connections {
    settings: Arc<AppSettings>,
    secrets_dir: PathBuf,
    encoding: MessageEncoding,
    services: Mutex<HashMap<String, QueueService>>,
}

impl std::fmt::Debug for Connections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connections")
            .field("encoding", &self.encoding)
            .finish_non_exhaustive()
    }
}

impl Connections {
    pub(crate) fn new(
        settings: Arc<AppSettings>,
        secrets_dir: PathBuf,
        encoding: MessageEncoding,
    ) -> Self {
        Self {
            settings,
            secrets_dir,
            encoding,
            services: Mutex::new(HashMap::new()),
        }
    }

    /// The queue service of a connection name; the error names the setting and what is wrong
    /// with it (never its value).
    pub(crate) fn service(&self, connection: &str) -> Result<QueueService, String> {
        let mut services = self.services.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = services.get(connection) {
            return Ok(s.clone());
        }
        let candidates: Vec<String> = if connection.is_empty() {
            vec![DEFAULT_CONNECTION.to_string()]
        } else {
            vec![connection.to_string(), format!("AzureWebJobs{connection}")]
        };
        let (setting, raw) = candidates
            .iter()
            .find_map(|name| {
                self.settings
                    .get(name)
                    .map(|v| (name.clone(), v.to_string()))
            })
            .ok_or_else(|| {
                format!(
                    "the app setting {} (the storage connection string) is not set",
                    candidates.join(" or ")
                )
            })?;
        let secret = SecretResolver::local(self.secrets_dir.clone())
            .resolve(&setting, &raw)
            .map_err(|e| e.to_string())?;
        let service = QueueService::from_connection_string(secret.expose()).map_err(|e| {
            format!("the app setting {setting} is not a usable connection string: {e}")
        })?;
        services.insert(connection.to_string(), service.clone());
        Ok(service)
    }

    /// A queue of a connection, with the app's message encoding; `name` may be `%Setting%`.
    pub(crate) fn queue(&self, connection: &str, name: &str) -> Result<Queue, String> {
        let name = self.settings.resolve(name)?;
        let queue = self
            .service(connection)?
            .queue(&name)
            .map_err(|e| format!("queue {name:?}: {e}"))?;
        Ok(queue.with_encoding(self.encoding))
    }
}
