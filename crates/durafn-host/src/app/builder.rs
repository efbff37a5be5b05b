//! Building a function app: its functions, configuration and task hub, checked at start.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, RwLock};

use axum::Router;
use durafn_core::{Activity, AppData, Entity, Orchestrator, Registry, RegistryBuilder};
use durafn_runtime::Runtime;
use durafn_store::Store;

use crate::api::all_routes;
use crate::api::route::RouteEntry;
use crate::app::host::Host;
use crate::app::serve::{listen, shutdown_signal};
use crate::app::state::{FunctionEntry, HostState, Inner};
use crate::app::store::open_store;
use crate::config::HostConfig;
use crate::config::settings::{AppSettings, HostArgs, USAGE};
use crate::error::HostError;
use crate::functions::http_function::{
    AuthLevel, HttpHandler, RouteTemplate, parse_methods, validate_function_name,
};
use crate::keys::{InjectedKeys, KeyStore};
use crate::queues::QueueHandler;
use crate::timers::TimerHandler;
use crate::triggers::Triggers;

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
    queue_functions: Vec<Arc<dyn QueueHandler>>,
    timer_functions: Vec<Arc<dyn TimerHandler>>,
    clock: Option<Arc<dyn durafn_runtime::Clock>>,
    /// The orchestrators, activities and entities, checked when the app starts.
    registry: RegistryBuilder,
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
            .field("registry", &self.registry)
            .finish()
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

    /// Adds a queue-triggered function ([`QueueFunction`](crate::QueueFunction) or any
    /// [`QueueHandler`]).
    pub fn queue_function(mut self, function: impl QueueHandler) -> Self {
        self.queue_functions.push(Arc::new(function));
        self
    }

    /// Adds a timer-triggered function ([`TimerFunction`](crate::TimerFunction) or any
    /// [`TimerHandler`]).
    pub fn timer_function(mut self, function: impl TimerHandler) -> Self {
        self.timer_functions.push(Arc::new(function));
        self
    }

    /// Reads time from this clock instead of the system's (tests of timers and leases run
    /// against a clock they move).
    pub fn clock(mut self, clock: Arc<dyn durafn_runtime::Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Adds an orchestrator.
    pub fn orchestrator(mut self, orchestrator: impl Orchestrator) -> Self {
        self.registry = self.registry.orchestrator(orchestrator);
        self
    }

    /// Adds an activity.
    pub fn activity(mut self, activity: impl Activity) -> Self {
        self.registry = self.registry.activity(activity);
        self
    }

    /// Adds an entity.
    pub fn entity(mut self, entity: impl Entity) -> Self {
        self.registry = self.registry.entity(entity);
        self
    }

    /// Adds every orchestrator, activity and entity of a registry.
    pub fn registry(mut self, registry: &Registry) -> Self {
        self.registry = self.registry.include(registry);
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

    /// The task hub given with [`App::store`], if any.
    pub(crate) fn custom_store(&self) -> Option<Arc<dyn Store>> {
        self.store.clone()
    }

    /// The registry of the app's orchestrators, activities and entities (and the timers'
    /// built-in functions when the app has timer functions).
    pub(crate) fn build_registry(&self) -> Result<Registry, HostError> {
        let mut builder = self.registry.clone();
        if !self.timer_functions.is_empty() {
            builder = crate::timers::schedule::built_in_functions(builder);
        }
        builder
            .build()
            .map_err(|e| HostError::Functions(e.to_string()))
    }

    /// Checks the functions, opens the task hub and the keys, and starts the runtime. The
    /// returned [`Host`] serves requests through [`Host::router`] or [`Host::serve`].
    pub async fn start(self) -> Result<Host, HostError> {
        let registry = self.build_registry()?;
        let config = self.config.unwrap_or_default();
        let functions = check_functions(&self.functions, &config.route_prefix)?;
        let triggers = Triggers::check(&self.queue_functions, &self.timer_functions, &config)?;
        let trigger_names = triggers.names();
        check_unique_names(&functions, &trigger_names, &registry)?;
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
        app_data.insert(triggers.queues.clone());
        app_data.insert(crate::timers::schedule::TimerRuns::new(
            &self.timer_functions,
        ));
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
        let telemetry = crate::app::telemetry::Telemetry::start(
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
        if let Some(clock) = self.clock.clone() {
            runtime = runtime.clock(clock);
        }
        let runtime = runtime.start();
        let client = runtime.client();
        let host_id = runtime.host_id().to_string();
        let origin = format!("http://{}:{}", bracket(&config.listen_host), config.port);
        let openapi = crate::api::openapi::of_app(&routes, &config.hub_name, &registry);
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
            openapi,
            runtime: Mutex::new(Some(runtime)),
            host_id,
            started: std::time::Instant::now(),
            origin: RwLock::new(origin),
            rpc_base: RwLock::new(None),
            function_timeout: config.function_timeout,
            stopping: AtomicBool::new(false),
            storage,
            timer_triggers: triggers.timer_entries(),
            queue_triggers: triggers.queue_entries(),
            trigger_tasks: Mutex::new(None),
            telemetry,
            http_seconds: durafn_runtime::Labeled::new(durafn_runtime::LATENCY_BUCKETS),
        }));
        triggers.start(&state, self.clock, config.runtime.lease);
        let service = config
            .tracing
            .service_name
            .clone()
            .unwrap_or_else(|| config.hub_name.clone());
        let metrics_export = crate::app::metrics_export::MetricsExport::start(
            &config.metrics_export,
            &state,
            &service,
        )?;
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
            dashboard: crate::app::dashboard::router(&state, &config),
            state,
            routes: routes.into(),
            config,
            metrics_export,
        })
    }

    /// Runs the app as `main` should: reads flags (`--port`, `--host`, `--data-dir`, `--root`,
    /// `--help`), app settings and host.json, starts, listens, prints where, and serves until
    /// SIGINT or SIGTERM, then drains and stops. `APP replay-check [--hub …]` instead replays
    /// every live instance of the task hub against this build and exits non-zero if any would
    /// fail (see `docs/versioning.md`).
    pub async fn run(self) -> Result<(), HostError> {
        self.run_with_args(std::env::args().skip(1)).await
    }

    /// [`App::run`] with explicit flags (without the program name).
    pub async fn run_with_args(
        self,
        args: impl IntoIterator<Item = String>,
    ) -> Result<(), HostError> {
        let mut args: Vec<String> = args.into_iter().collect();
        if args.first().map(String::as_str) == Some(crate::replay_check::COMMAND) {
            return crate::replay_check::run(
                self.build_registry()?,
                self.custom_store(),
                args.split_off(1),
            )
            .await;
        }
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
            .and_then(|l| crate::app::log::parse_level(l).ok())
            .unwrap_or(tracing::Level::INFO);
        crate::app::log::install(level);
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
    triggers: &[String],
    registry: &Registry,
) -> Result<(), HostError> {
    let mut seen: Vec<String> = Vec::new();
    let names = functions
        .iter()
        .map(|f| f.name.clone())
        .chain(triggers.iter().cloned())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::http_function::HttpFunction;
    use crate::functions::request::HttpResponse;
    use durafn_core::OrchestrationContext;

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
