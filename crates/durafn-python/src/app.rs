//! Loading a script-root Python app into a durafn [`App`]: read the script root, start the
//! worker, load the app in it, and register each function it reports by its trigger.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use durafn_core::RegistryBuilder;
use durafn_host::secrets::SecretResolver;
use durafn_host::{App, AuthLevel, HostConfig, HttpTrigger};
use serde_json::Value;

use crate::activity::PythonActivity;
use crate::entity::PythonEntity;
use crate::http::PythonHttpFunction;
use crate::orchestrator::{Memo, PythonOrchestrator};
use crate::protocol::{FunctionInfo, FunctionKind};
use crate::script_root::{self, LoadError, Model, ScriptRoot};
use crate::worker::{Loaded, StartError, Worker, WorkerOptions};

/// Why a Python app could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The script root, a `function.json`, or a function the worker loaded has a problem; each
    /// names its file and field.
    #[error("the Python app could not be loaded:\n{}", list(.0))]
    Load(Vec<LoadError>),
    /// An app setting could not be resolved (a Key Vault reference without a local secret).
    #[error("{0}")]
    Setting(String),
    /// The worker could not be installed or started.
    #[error(transparent)]
    Worker(#[from] StartError),
    /// The worker's sources could not be written to the data directory.
    #[error("could not write the Python worker to {path}: {source}")]
    Install {
        /// The directory.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

fn list(errors: &[LoadError]) -> String {
    errors
        .iter()
        .map(|e| format!("  {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A loaded Python app: its worker and its functions.
pub struct PythonApp {
    worker: Worker,
    loaded: Loaded,
    model: Model,
    memo: Arc<Memo>,
}

impl fmt::Debug for PythonApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PythonApp")
            .field("model", &self.model)
            .field("functions", &self.functions().collect::<Vec<_>>())
            .field("worker", &self.worker)
            .finish()
    }
}

/// The app settings handed to the worker, Key Vault references resolved.
fn app_settings(config: &HostConfig) -> Result<BTreeMap<String, String>, AppError> {
    let resolver = SecretResolver::local(config.root.join(durafn_host::SECRETS_DIR));
    let mut out = BTreeMap::new();
    for name in config.settings.names() {
        let raw = config.settings.get(name).unwrap_or_default();
        let value = resolver
            .resolve(name, raw)
            .map_err(|e| AppError::Setting(e.to_string()))?;
        out.insert(name.to_string(), value.expose().to_string());
    }
    Ok(out)
}

/// The trigger of an HTTP function from its `httpTrigger` binding.
pub(crate) fn http_trigger(info: &FunctionInfo) -> HttpTrigger {
    let binding = info
        .bindings
        .iter()
        .find(|b| b.get("type").and_then(Value::as_str) == Some("httpTrigger"));
    let field = |name: &str| binding.and_then(|b| b.get(name));
    HttpTrigger {
        route: field("route")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| Some(info.name.clone())),
        methods: field("methods")
            .and_then(Value::as_array)
            .map(|m| {
                m.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_ascii_uppercase)
                    .collect()
            })
            .unwrap_or_default(),
        auth_level: field("authLevel")
            .and_then(Value::as_str)
            .and_then(AuthLevel::parse)
            .unwrap_or_default(),
    }
}

/// The names of a function's durable client bindings.
pub(crate) fn client_bindings(info: &FunctionInfo) -> Vec<String> {
    info.bindings
        .iter()
        .filter(|b| {
            matches!(
                b.get("type").and_then(Value::as_str),
                Some("durableClient" | "orchestrationClient")
            )
        })
        .filter_map(|b| b.get("name").and_then(Value::as_str).map(str::to_string))
        .collect()
}

impl PythonApp {
    /// Loads the app of `config.root` (host.json, local.settings.json and app settings already
    /// read into `config`), with the worker's sources written under `config.data_dir`.
    pub async fn load(config: &HostConfig) -> Result<PythonApp, AppError> {
        let script_setting = config.settings.get(script_root::SCRIPT_FILE_SETTING);
        let root = ScriptRoot::read(&config.root, script_setting).map_err(AppError::Load)?;
        let settings = app_settings(config)?;
        let python =
            script_root::interpreter(&root.root, config.settings.get(script_root::PYTHON_SETTING));
        let package_dir =
            crate::sources::install(&config.data_dir).map_err(|source| AppError::Install {
                path: config.data_dir.display().to_string(),
                source,
            })?;
        let options = WorkerOptions {
            python,
            script_root: root.root.clone(),
            app_settings: settings,
            functions: root.functions.clone(),
            package_dir,
        };
        let (worker, loaded) = Worker::start(options).await?;
        let mut errors = root.errors.clone();
        errors.extend(load_errors(&root, &loaded));
        if !errors.is_empty() {
            worker.shutdown(Duration::from_secs(1)).await;
            return Err(AppError::Load(errors));
        }
        let cache = config.runtime.instance_cache_size;
        Ok(PythonApp {
            worker,
            loaded,
            model: root.model,
            memo: Arc::new(Memo::new(cache)),
        })
    }

    /// The app's functions: (name, kind).
    pub fn functions(&self) -> impl Iterator<Item = (&str, FunctionKind)> {
        self.loaded
            .functions
            .iter()
            .filter_map(|f| f.kind.map(|k| (f.name.as_str(), k)))
    }

    /// What the worker reported when it loaded the app.
    pub fn loaded(&self) -> &Loaded {
        &self.loaded
    }

    /// The programming model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The worker.
    pub fn worker(&self) -> &Worker {
        &self.worker
    }

    fn has(&self, name: &str, kind: FunctionKind) -> bool {
        self.functions()
            .any(|(n, k)| k == kind && n.eq_ignore_ascii_case(name))
    }

    /// The orchestrator `name`, if the app has one.
    pub fn orchestrator(&self, name: &str) -> Option<PythonOrchestrator> {
        self.has(name, FunctionKind::Orchestrator)
            .then(|| PythonOrchestrator::new(name, self.worker.clone(), self.memo.clone()))
    }

    /// The activity `name`, if the app has one.
    pub fn activity(&self, name: &str) -> Option<PythonActivity> {
        self.has(name, FunctionKind::Activity)
            .then(|| PythonActivity::new(name, self.worker.clone()))
    }

    /// The entity `name`, if the app has one.
    pub fn entity(&self, name: &str) -> Option<PythonEntity> {
        self.has(name, FunctionKind::Entity)
            .then(|| PythonEntity::new(name, self.worker.clone()))
    }

    /// Registers every function with `app`: HTTP functions by their trigger, orchestrators,
    /// activities and entities under their names.
    pub fn register(&self, mut app: App) -> App {
        for info in &self.loaded.functions {
            let Some(kind) = info.kind else { continue };
            let worker = self.worker.clone();
            app = match kind {
                FunctionKind::Http => app.function(PythonHttpFunction::new(
                    info.name.clone(),
                    http_trigger(info),
                    client_bindings(info),
                    worker,
                )),
                FunctionKind::Orchestrator => app.orchestrator(PythonOrchestrator::new(
                    info.name.clone(),
                    worker,
                    self.memo.clone(),
                )),
                FunctionKind::Activity => {
                    app.activity(PythonActivity::new(info.name.clone(), worker))
                }
                FunctionKind::Entity => app.entity(PythonEntity::new(info.name.clone(), worker)),
            };
        }
        app
    }

    /// Adds the app's orchestrators, activities and entities to a registry, for a runtime
    /// without a host (HTTP functions need one: see [`PythonApp::register`]).
    pub fn add_to(&self, mut builder: RegistryBuilder) -> RegistryBuilder {
        for info in &self.loaded.functions {
            let worker = self.worker.clone();
            builder =
                match info.kind {
                    Some(FunctionKind::Orchestrator) => builder.orchestrator(
                        PythonOrchestrator::new(info.name.clone(), worker, self.memo.clone()),
                    ),
                    Some(FunctionKind::Activity) => {
                        builder.activity(PythonActivity::new(info.name.clone(), worker))
                    }
                    Some(FunctionKind::Entity) => {
                        builder.entity(PythonEntity::new(info.name.clone(), worker))
                    }
                    Some(FunctionKind::Http) | None => builder,
                };
        }
        builder
    }

    /// Stops the worker, letting invocations in flight finish within `grace`.
    pub async fn shutdown(&self, grace: Duration) {
        self.worker.shutdown(grace).await;
    }
}

/// Every problem the worker reported, as start-up errors naming file and field.
fn load_errors(root: &ScriptRoot, loaded: &Loaded) -> Vec<LoadError> {
    let default_file = match &root.model {
        Model::V1 => "function.json".to_string(),
        Model::V2 { script } => script.clone(),
    };
    let describe = |e: &crate::protocol::WorkerError| {
        let mut message = if e.error_type.is_empty() || e.error_type == "LoadError" {
            e.message.clone()
        } else {
            format!("{}: {}", e.error_type, e.message)
        };
        if let Some(line) = e
            .traceback
            .lines()
            .rev()
            .find(|l| l.trim_start().starts_with("File "))
        {
            message.push_str(&format!(" ({})", line.trim()));
        }
        message
    };
    let mut errors = Vec::new();
    if let Some(e) = &loaded.error {
        errors.push(LoadError::new(
            e.file.clone().unwrap_or_else(|| default_file.clone()),
            e.field.as_deref(),
            describe(e),
        ));
    }
    for f in &loaded.functions {
        if let Some(e) = &f.error {
            errors.push(LoadError::new(
                e.file
                    .clone()
                    .unwrap_or_else(|| format!("{}/function.json", f.name)),
                e.field.as_deref(),
                describe(e),
            ));
        }
    }
    errors
}
