//! The function app: registration, start-up, serving and graceful shutdown.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::Router;
use durafn_core::{
    Activity, ActivityContext, AppData, FunctionFuture, OrchestrationContext, Orchestrator,
    Payload, Registry,
};
use durafn_runtime::{DurableClient, Runtime};
use durafn_sqlite::{SqliteOptions, SqliteStore};
use durafn_store::Store;
use durafn_store::memory::MemoryStore;

use crate::config::{HostConfig, StorageProvider};
use crate::error::HostError;
use crate::http_function::{
    AuthLevel, HttpHandler, RouteTemplate, parse_methods, validate_function_name,
};
use crate::keys::{InjectedKeys, KeyStore};
use crate::router::build_router;
use crate::routes::{RouteEntry, RouteInfo, all_routes};
use crate::rpc::RpcListener;
use crate::serve::{listen, shutdown_signal};
use crate::settings::{AppSettings, HostArgs, USAGE};
use crate::state::{FunctionEntry, HostState, Inner};

/// A function app under construction: its HTTP functions, orchestrators, activities, shared
/// data and configuration.
///
/// ```no_run
/// use durafn_host::{App, AuthLevel, HttpFunction, HttpResponse};
///
/// #[tokio::main]
/// async fn main() -> Result<(), durafn_host::HostError> {
///     App::new()
///         .function(
///             HttpFunction::new("hello")
///                 .route("hello/{name}")
///                 .methods(["GET"])
///                 .auth(AuthLevel::Anonymous)
///                 .handler(|req, _client| async move {
///                     HttpResponse::ok().text(format!("Hello {}!", req.route_param("name").unwrap_or("?")))
///                 }),
///         )
///         .run()
///         .await
/// }
/// ```
#[derive(Default)]
pub struct App {
    functions: Vec<Arc<dyn HttpHandler>>,
    orchestrators: Vec<Arc<dyn Orchestrator>>,
    activities: Vec<Arc<dyn Activity>>,
    entities: Vec<Arc<dyn durafn_core::Entity>>,
    app_data: AppData,
    config: Option<HostConfig>,
    store: Option<Arc<dyn Store>>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field(
                "functions",
                &self
                    .functions
                    .iter()
                    .map(|h| h.name().to_string())
                    .collect::<Vec<_>>(),
            )
            .field("orchestrators", &self.orchestrators.len())
            .field("activities", &self.activities.len())
            .field("entities", &self.entities.len())
            .finish()
    }
}

/// Lets functions taken out of a [`Registry`] be registered again.
struct SharedOrchestrator(Arc<dyn Orchestrator>);

impl Orchestrator for SharedOrchestrator {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn start(&self, ctx: OrchestrationContext, input: Payload) -> FunctionFuture {
        self.0.start(ctx, input)
    }

    fn prepare_turn(
        &self,
        turn: &durafn_core::TurnPreparation,
    ) -> Option<durafn_core::PrepareFuture> {
        self.0.prepare_turn(turn)
    }
}

struct SharedEntity(Arc<dyn durafn_core::Entity>);

impl durafn_core::Entity for SharedEntity {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn run(
        &self,
        ctx: &mut durafn_core::EntityContext,
    ) -> Result<Payload, durafn_core::FunctionError> {
        self.0.run(ctx)
    }

    fn prepare_batch(
        &self,
        batch: &durafn_core::BatchPreparation,
    ) -> Option<durafn_core::PrepareBatchFuture> {
        self.0.prepare_batch(batch)
    }
}

struct SharedActivity(Arc<dyn Activity>);

impl Activity for SharedActivity {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn run(&self, ctx: ActivityContext, input: Payload) -> FunctionFuture {
        self.0.run(ctx, input)
    }
}

impl App {
    /// An empty app.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an HTTP-triggered function ([`HttpFunction`](crate::HttpFunction) or any
    /// [`HttpHandler`]).
    pub fn function(mut self, function: impl HttpHandler) -> Self {
        self.functions.push(Arc::new(function));
        self
    }

    /// Adds an orchestrator.
    pub fn orchestrator(mut self, orchestrator: impl Orchestrator) -> Self {
        self.orchestrators.push(Arc::new(orchestrator));
        self
    }

    /// Adds an activity.
    pub fn activity(mut self, activity: impl Activity) -> Self {
        self.activities.push(Arc::new(activity));
        self
    }

    /// Adds an entity.
    pub fn entity(mut self, entity: impl durafn_core::Entity) -> Self {
        self.entities.push(Arc::new(entity));
        self
    }

    /// Adds every orchestrator, activity and entity of a registry.
    pub fn registry(mut self, registry: &Registry) -> Self {
        for name in registry.entity_names() {
            if let Some(e) = registry.entity(&name) {
                self.entities.push(e);
            }
        }
        for name in registry.orchestrator_names() {
            if let Some(o) = registry.orchestrator(&name) {
                self.orchestrators.push(o);
            }
        }
        for name in registry.activity_names() {
            if let Some(a) = registry.activity(&name) {
                self.activities.push(a);
            }
        }
        self
    }

    /// Adds a value activities read with `ActivityContext::data` and HTTP functions with
    /// `DurableHttpClient::data` (one per type; the app settings are added as
    /// [`AppSettings`] unless the app adds its own).
    pub fn app_data<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.app_data.insert(value);
        self
    }

    /// Uses this configuration instead of reading one ([`App::run`] reads flags, settings and
    /// host.json itself).
    pub fn config(mut self, config: HostConfig) -> Self {
        self.config = Some(config);
        self
    }

    /// Uses this task hub instead of the configured storage provider.
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// Checks the functions, opens the task hub and the keys, and starts the runtime. The
    /// returned [`Host`] serves requests through [`Host::router`] or [`Host::serve`].
    pub async fn start(self) -> Result<Host, HostError> {
        let config = self.config.unwrap_or_default();
        let functions = check_functions(&self.functions, &config.route_prefix)?;
        let mut builder = Registry::builder();
        for o in self.orchestrators {
            builder = builder.orchestrator(SharedOrchestrator(o));
        }
        for a in self.activities {
            builder = builder.activity(SharedActivity(a));
        }
        for e in self.entities {
            builder = builder.entity(SharedEntity(e));
        }
        let registry = builder
            .build()
            .map_err(|e| HostError::Functions(e.to_string()))?;
        check_unique_names(&functions, &registry)?;
        let routes = all_routes(&functions);
        check_routes(&routes)?;

        let (store, storage): (Arc<dyn Store>, &'static str) = match self.store {
            Some(store) => (store, "custom"),
            None => open_store(&config).await?,
        };
        let function_level: Vec<String> = functions
            .iter()
            .filter(|f| f.trigger.auth_level == AuthLevel::Function)
            .map(|f| f.name.clone())
            .collect();
        let injected = InjectedKeys {
            master: config.settings.get("DURAFN_MASTER_KEY").map(String::from),
            system: config.settings.get("DURAFN_SYSTEM_KEY").map(String::from),
        };
        let keys = Arc::new(KeyStore::open(
            &config.data_dir,
            &function_level,
            &injected,
        )?);

        let mut app_data = self.app_data;
        if app_data.get::<AppSettings>().is_none() {
            app_data.insert(config.settings.clone());
        }
        let registry = Arc::new(registry);
        let mut options = config.runtime.clone();
        options.activity_timeout = config.function_timeout;
        if config.default_version.is_some() {
            options.default_version = config.default_version.clone();
        }
        if options.host_id.is_empty() {
            // Named here, not by the runtime, so the span exporter can name the host too.
            options.host_id = format!("host-{}", &durafn_runtime::new_id()[..12]);
        }
        let telemetry = crate::telemetry::Telemetry::start(
            &config.tracing,
            &config.hub_name,
            &options.host_id,
        )?;
        let mut runtime = Runtime::builder(store, registry.clone())
            .options(options)
            .app_data(app_data.clone());
        if let Some(sink) = telemetry.sink() {
            runtime = runtime.span_sink(sink);
        }
        let runtime = runtime.start();
        let client = runtime.client();
        let host_id = runtime.host_id().to_string();
        let origin = format!("http://{}:{}", bracket(&config.listen_host), config.port);
        let state = HostState(Arc::new(Inner {
            hub: Arc::from(config.hub_name.as_str()),
            route_prefix: config.route_prefix.clone(),
            max_body: config.max_request_body_bytes,
            client,
            registry,
            app_data,
            settings: Arc::new(config.settings.clone()),
            keys,
            functions,
            routes,
            runtime: Mutex::new(Some(runtime)),
            host_id,
            started: std::time::Instant::now(),
            origin: RwLock::new(origin),
            rpc_base: RwLock::new(None),
            function_timeout: config.function_timeout,
            stopping: AtomicBool::new(false),
            storage,
            telemetry,
            http_seconds: durafn_runtime::Labeled::new(durafn_runtime::LATENCY_BUCKETS),
        }));
        if let Some(report) = config.host_json.message() {
            tracing::warn!("{report}");
        }
        tracing::info!(
            task_hub = %config.hub_name,
            storage,
            keys_file = %state.keys.path().display(),
            "function app started"
        );
        Ok(Host {
            #[cfg(feature = "dashboard")]
            dashboard: crate::dashboard::router(&state, &config),
            state,
            config,
        })
    }

    /// Runs the app as `main` should: reads flags (`--port`, `--host`, `--data-dir`, `--root`,
    /// `--help`), app settings and host.json, starts, listens, prints where, and serves until
    /// SIGINT or SIGTERM, then drains and stops.
    pub async fn run(self) -> Result<(), HostError> {
        self.run_with_args(std::env::args().skip(1)).await
    }

    /// [`App::run`] with explicit flags (without the program name).
    pub async fn run_with_args(
        self,
        args: impl IntoIterator<Item = String>,
    ) -> Result<(), HostError> {
        let args = HostArgs::parse(args)?;
        if args.help {
            print!("{USAGE}");
            return Ok(());
        }
        let config = HostConfig::from_process(&args)?;
        if args.list_keys {
            for k in crate::keys::list_keys(&config.data_dir)? {
                println!("{}\t{}\t{}", k.scope, k.name, k.value);
            }
            return Ok(());
        }
        let level = config
            .settings
            .get("DURAFN_LOG")
            .and_then(|l| crate::log::parse_level(l).ok())
            .unwrap_or(tracing::Level::INFO);
        crate::log::install(level);
        let host = self.config(config).start().await?;
        let (listener, addr) = listen(host.config()).await?;
        let rpc = host.listen_rpc().await?;
        host.print_banner(addr, rpc.as_ref());
        host.serve_with_rpc(listener, rpc, shutdown_signal()).await
    }
}

fn bracket(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// Where the host looks for local Key Vault secrets, under the app root.
pub const SECRETS_DIR: &str = "secrets";

async fn open_store(config: &HostConfig) -> Result<(Arc<dyn Store>, &'static str), HostError> {
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
            let resolver = crate::secrets::SecretResolver::local(config.root.join(SECRETS_DIR));
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

fn check_functions(
    handlers: &[Arc<dyn HttpHandler>],
    prefix: &str,
) -> Result<Vec<Arc<FunctionEntry>>, HostError> {
    let bad = HostError::Functions;
    let mut out = Vec::new();
    for h in handlers {
        let name = h.name().to_string();
        validate_function_name(&name).map_err(bad)?;
        h.validate().map_err(bad)?;
        let trigger = h.trigger();
        let methods = parse_methods(&name, &trigger.methods).map_err(bad)?;
        let route = trigger.route.clone().unwrap_or_else(|| name.clone());
        let template = RouteTemplate::parse(prefix, &route)
            .map_err(|e| bad(format!("function '{name}': {e}")))?;
        for path in &template.paths {
            let reserved = [
                "/admin",
                "/dashboard",
                "/runtime",
                "/metrics",
                "/healthz",
                "/openapi.json",
            ]
            .iter()
            .any(|r| path == r || path.starts_with(&format!("{r}/")));
            if reserved || path == "/" && prefix.is_empty() {
                return Err(bad(format!(
                    "function '{name}': route {path} is reserved for the host"
                )));
            }
        }
        out.push(Arc::new(FunctionEntry {
            name,
            trigger,
            methods,
            template,
            handler: h.clone(),
        }));
    }
    Ok(out)
}

/// All functions of an app share one namespace, ignoring case, as in Azure Functions.
fn check_unique_names(
    functions: &[Arc<FunctionEntry>],
    registry: &Registry,
) -> Result<(), HostError> {
    let mut seen: Vec<String> = Vec::new();
    let names = functions
        .iter()
        .map(|f| f.name.clone())
        .chain(registry.orchestrator_names())
        .chain(registry.activity_names());
    for name in names {
        let lower = name.to_lowercase();
        if seen.contains(&lower) {
            return Err(HostError::Functions(format!(
                "two functions are named '{name}' (names must be unique, ignoring case)"
            )));
        }
        seen.push(lower);
    }
    Ok(())
}

/// Refuses routes that would collide in the router (the same method and path, or paths the
/// router cannot tell apart), naming them instead of failing later.
fn check_routes(routes: &[RouteEntry]) -> Result<(), HostError> {
    let mut seen: Vec<(String, String)> = Vec::new();
    for r in routes {
        let key = (r.method.to_string(), r.path.clone());
        if seen.contains(&key) {
            return Err(HostError::Functions(format!(
                "two routes serve {} {}",
                key.0, key.1
            )));
        }
        seen.push(key);
    }
    let paths: Vec<String> = routes.iter().map(|r| r.path.clone()).collect();
    let built = std::panic::catch_unwind(move || {
        let mut router: Router<()> = Router::new();
        let mut done: Vec<&String> = Vec::new();
        for p in &paths {
            if !done.contains(&p) {
                router = router.route(p, axum::routing::any(|| async {}));
                done.push(p);
            }
        }
    });
    built.map_err(|panic| {
        let detail = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        HostError::Functions(format!("the functions' routes conflict: {detail}"))
    })
}

/// A started function app: the runtime runs; requests are served by [`Host::router`] (in
/// tests, without a socket) or [`Host::serve`].
pub struct Host {
    pub(crate) state: HostState,
    pub(crate) config: HostConfig,
    /// The dashboard's routes, made once so that its sessions and bulk jobs outlive a router.
    #[cfg(feature = "dashboard")]
    pub(crate) dashboard: Option<Router>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("task_hub", &&*self.state.hub)
            .field("host_id", &self.state.host_id)
            .finish()
    }
}

impl Host {
    /// The router serving every route of the app; the server and the tests use the same one.
    pub fn router(&self) -> Router {
        let router = build_router(self.state.clone(), &self.state.routes, false);
        #[cfg(feature = "dashboard")]
        if let Some(dashboard) = &self.dashboard {
            return router.nest(durafn_dashboard::BASE, dashboard.clone());
        }
        router
    }

    /// Every route the router serves.
    pub fn routes(&self) -> Vec<RouteInfo> {
        self.state.routes.iter().map(RouteEntry::info).collect()
    }

    /// The OpenAPI document of the app (what `GET /openapi.json` answers).
    pub fn openapi(&self) -> serde_json::Value {
        crate::openapi::of_host(&self.state)
    }

    /// A durable client of the app's task hub, attached to its runtime.
    pub fn client(&self) -> DurableClient {
        self.state.client.clone()
    }

    /// The app's keys.
    pub fn keys(&self) -> &KeyStore {
        &self.state.keys
    }

    /// The configuration it started with.
    pub fn config(&self) -> &HostConfig {
        &self.config
    }

    /// The task hub's name.
    pub fn task_hub_name(&self) -> &str {
        &self.state.hub
    }

    /// Prints where the app listens, its task hub, keys file and functions (what [`App::run`]
    /// prints once it listens).
    pub fn print_banner(&self, addr: SocketAddr, rpc: Option<&RpcListener>) {
        let origin = format!("http://{addr}");
        let storage = match self.config.sqlite_path() {
            Some(p) if self.state.storage == "sqlite" => format!("sqlite, {}", p.display()),
            _ => self.state.storage.to_string(),
        };
        println!("durafn host: task hub {} ({storage})", self.state.hub);
        println!(
            "durafn host: keys in {} (print them with --list-keys; they are never logged)",
            self.state.keys.path().display()
        );
        for f in &self.state.functions {
            let methods: Vec<&str> = f.methods.iter().map(|m| m.as_str()).collect();
            println!(
                "durafn host: function {} [{}] {origin}{} ({})",
                f.name,
                methods.join(","),
                f.template.paths[0],
                f.trigger.auth_level.as_str()
            );
        }
        for name in self.state.registry.orchestrator_names() {
            println!("durafn host: function {name} (orchestrationTrigger)");
        }
        for name in self.state.registry.activity_names() {
            println!("durafn host: function {name} (activityTrigger)");
        }
        for name in self.state.registry.entity_names() {
            println!("durafn host: function {name} (entityTrigger)");
        }
        match rpc {
            Some(rpc) => println!(
                "durafn host: local RPC endpoint {} (loopback only, no key)",
                rpc.base_url()
            ),
            None => println!("durafn host: local RPC endpoint switched off"),
        }
        #[cfg(feature = "dashboard")]
        if self.dashboard.is_some() {
            println!("durafn host: dashboard {origin}{}", durafn_dashboard::BASE);
        }
        println!("durafn host: listening on {origin}");
        tracing::info!(address = %addr, "listening");
    }

    /// Stops the runtime: no new work is fetched, turns in flight commit, running activities
    /// finish (up to the runtime's drain timeout; the whole stop is bounded by that timeout
    /// plus ten seconds).
    pub async fn shutdown(self) {
        self.state.stopping.store(true, Ordering::Relaxed);
        let runtime = self
            .state
            .runtime
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(runtime) = runtime {
            // Bounded, so a runtime that does not stop cannot keep the process alive: work it
            // still holds is leased, and the leases expire for another host to take over.
            let limit = self.config.runtime.drain_timeout + Duration::from_secs(10);
            match tokio::time::timeout(limit, runtime.shutdown()).await {
                Ok(()) => tracing::info!("runtime stopped"),
                Err(_) => tracing::warn!("the runtime did not stop in time; stopping anyway"),
            }
        }
        self.state.telemetry.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http_function::HttpFunction;
    use crate::request::HttpResponse;

    fn f(name: &str, route: &str) -> HttpFunction {
        HttpFunction::new(name)
            .route(route)
            .handler(|_req, _client| async { HttpResponse::ok() })
    }

    async fn refused(app: App, prefix: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let mut config = HostConfig::in_memory(dir.path());
        config.route_prefix = prefix.to_string();
        match app.config(config).start().await {
            Ok(_) => "started".to_string(),
            Err(e) => e.to_string(),
        }
    }

    #[tokio::test]
    async fn inconsistent_apps_are_refused() {
        let orchestrator =
            durafn_core::orchestrator_fn("Shared", |_ctx: OrchestrationContext, _: ()| async {
                Ok::<_, durafn_core::FunctionError>(())
            });
        for (app, prefix, expected) in [
            (
                App::new().function(f("a", "x")).function(f("A", "y")),
                "api",
                "two functions are named 'A'",
            ),
            (
                App::new()
                    .function(f("shared", "x"))
                    .orchestrator(orchestrator),
                "api",
                "two functions are named 'Shared'",
            ),
            (
                App::new().function(HttpFunction::new("lonely")),
                "api",
                "HTTP function 'lonely' has no handler",
            ),
            (
                App::new().function(f("a", "x")).function(f("b", "x/")),
                "api",
                "two routes serve GET /api/x",
            ),
            (
                App::new()
                    .function(f("a", "s/{id}").methods(["GET"]))
                    .function(f("b", "s/{name}").methods(["POST"])),
                "api",
                "the functions' routes conflict",
            ),
            (
                App::new().function(f("a", "admin/x")),
                "",
                "reserved for the host",
            ),
            (App::new().function(f("a", "")), "", "reserved for the host"),
            (
                App::new().function(f("a", "x").methods(["BREW"])),
                "api",
                "unsupported HTTP method",
            ),
            (
                App::new().function(f("9a", "x")),
                "api",
                "not a valid function name",
            ),
            (
                App::new().function(f("a", "x/{*r}/y")),
                "api",
                "only the last segment",
            ),
        ] {
            let e = refused(app, prefix).await;
            assert!(e.contains(expected), "expected {expected:?}, got {e:?}");
        }
    }

    #[tokio::test]
    async fn empty_prefix_and_registry_merge() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = HostConfig::in_memory(dir.path());
        config.route_prefix = String::new();
        let registry = Registry::builder()
            .orchestrator(durafn_core::orchestrator_fn(
                "o",
                |_ctx: OrchestrationContext, _: ()| async {
                    Ok::<_, durafn_core::FunctionError>(1)
                },
            ))
            .build()
            .unwrap();
        let host = App::new()
            .registry(&registry)
            .function(f("a", "hello/{x}"))
            .config(config)
            .start()
            .await
            .unwrap();
        let routes = host.routes();
        assert!(
            routes
                .iter()
                .any(|r| r.path == "/hello/{x}" && r.function.as_deref() == Some("a"))
        );
        assert!(host.client().start_new("o", None, &()).await.is_ok());
    }
}
