//! What every route of one running host shares.

use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use axum::http::{HeaderMap, Method};
use durafn_core::{AppData, Registry};
use durafn_runtime::{DurableClient, Runtime};

use crate::config::settings::AppSettings;
use crate::functions::durable_http::{DurableHttpClient, ManagementUrls};
use crate::functions::http_function::{HttpHandler, HttpTrigger, RouteTemplate};
use crate::functions::request::{Call, request_origin};
use crate::keys::KeyStore;

/// An HTTP function, checked and ready to route.
pub(crate) struct FunctionEntry {
    pub(crate) name: String,
    pub(crate) trigger: HttpTrigger,
    pub(crate) methods: Vec<Method>,
    pub(crate) template: RouteTemplate,
    pub(crate) handler: Arc<dyn HttpHandler>,
}

/// A timer function as the admin API and the banner show it.
#[derive(Debug, Clone)]
pub(crate) struct TimerEntry {
    pub(crate) name: String,
    /// The schedule with its settings resolved.
    pub(crate) schedule: String,
    /// The IANA zone it runs in.
    pub(crate) zone: String,
    pub(crate) run_on_startup: bool,
    pub(crate) use_monitor: bool,
}

/// A queue function as the admin API and the banner show it.
#[derive(Debug, Clone)]
pub(crate) struct QueueEntry {
    pub(crate) name: String,
    /// The queue's name, settings resolved.
    pub(crate) queue: String,
    /// The connection setting's name (empty: `AzureWebJobsStorage`).
    pub(crate) connection: String,
}

/// The orchestrator and activity names the app registered (without the host's own).
pub(crate) fn user_names(names: Vec<String>) -> Vec<String> {
    names
        .into_iter()
        .filter(|n| !n.starts_with(crate::timers::schedule::BUILT_IN_PREFIX))
        .collect()
}

pub(crate) struct Inner {
    pub(crate) hub: Arc<str>,
    pub(crate) route_prefix: String,
    pub(crate) max_body: usize,
    pub(crate) client: DurableClient,
    pub(crate) registry: Arc<Registry>,
    pub(crate) app_data: AppData,
    pub(crate) settings: Arc<AppSettings>,
    pub(crate) keys: Arc<KeyStore>,
    pub(crate) functions: Vec<Arc<FunctionEntry>>,
    /// The OpenAPI document of the app (`GET /openapi.json`), made once at start from its routes.
    pub(crate) openapi: serde_json::Value,
    /// The runtime, until shutdown takes it (metrics read it meanwhile).
    pub(crate) runtime: Mutex<Option<Runtime>>,
    pub(crate) host_id: String,
    pub(crate) started: std::time::Instant,
    /// Where links point when a request names no host: the bound address once serving.
    pub(crate) origin: RwLock<String>,
    /// The `rpcBaseUrl` of the client binding, once the local RPC endpoint is bound.
    pub(crate) rpc_base: RwLock<Option<String>>,
    /// The longest an HTTP-triggered function may run (`functionTimeout`).
    pub(crate) function_timeout: Option<std::time::Duration>,
    pub(crate) stopping: AtomicBool,
    /// The task hub backend, for status pages ("sqlite", "memory", "custom").
    pub(crate) storage: &'static str,
    /// The timer-triggered functions.
    pub(crate) timer_triggers: Vec<TimerEntry>,
    /// The queue-triggered functions.
    pub(crate) queue_triggers: Vec<QueueEntry>,
    /// The queue listeners and schedule starters, until shutdown stops them.
    pub(crate) trigger_tasks: Mutex<Option<TriggerTasks>>,
    /// The span exporter (tracing on) or nothing.
    pub(crate) telemetry: crate::app::telemetry::Telemetry,
    /// Request latency by route (`{method} {route template}`: bounded).
    pub(crate) http_seconds: durafn_runtime::Labeled,
}

/// A cheap handle on the shared state.
#[derive(Clone)]
pub(crate) struct HostState(pub(crate) Arc<Inner>);

impl Deref for HostState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl HostState {
    pub(crate) fn fallback_origin(&self) -> String {
        self.origin
            .read()
            .map(|o| o.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    pub(crate) fn set_origin(&self, origin: String) {
        match self.origin.write() {
            Ok(mut o) => *o = origin,
            Err(p) => *p.into_inner() = origin,
        }
    }

    pub(crate) fn set_rpc_base(&self, base: Option<String>) {
        match self.rpc_base.write() {
            Ok(mut b) => *b = base,
            Err(p) => *p.into_inner() = base,
        }
    }

    pub(crate) fn rpc_base(&self) -> Option<String> {
        self.rpc_base
            .read()
            .map(|b| b.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// The origin a request was addressed to.
    pub(crate) fn origin_of(&self, headers: &HeaderMap) -> String {
        request_origin(headers, &self.fallback_origin())
    }

    /// The origin of management links answered to a call: the one it was addressed to, except
    /// on the local RPC endpoint, whose callers get links to the public listener (as the
    /// Functions host answers its local RPC calls with its public webhook URLs).
    pub(crate) fn links_origin(&self, call: &Call) -> String {
        if call.rpc {
            self.fallback_origin()
        } else {
            self.origin_of(&call.headers)
        }
    }

    /// Management links for an origin, carrying the system key.
    pub(crate) fn urls(&self, origin: String) -> ManagementUrls {
        ManagementUrls {
            origin,
            hub: self.hub.to_string(),
            key: self.keys.system_key(),
        }
    }

    /// The client handed to an HTTP function serving a request from `origin`.
    pub(crate) fn http_client(&self, origin: String) -> DurableHttpClient {
        DurableHttpClient::new(
            self.client.clone(),
            self.hub.clone(),
            origin,
            self.keys.clone(),
            self.app_data.clone(),
            self.settings.clone(),
            self.rpc_base(),
        )
    }

    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }
}

/// What stops the triggers' tasks at shutdown (kept in the state, started and stopped by the
/// triggers module).
pub(crate) struct TriggerTasks {
    pub(crate) stop: tokio::sync::watch::Sender<bool>,
    pub(crate) tasks: Vec<tokio::task::JoinHandle<()>>,
}
