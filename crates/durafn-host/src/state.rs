//! What every route of one running host shares.

use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use axum::http::{HeaderMap, Method};
use durafn_core::{AppData, Registry};
use durafn_runtime::{DurableClient, Runtime};

use crate::durable_http::{DurableHttpClient, ManagementUrls};
use crate::http_function::{HttpHandler, HttpTrigger, RouteTemplate};
use crate::keys::KeyStore;
use crate::request::{Call, request_origin};
use crate::routes::RouteEntry;
use crate::settings::AppSettings;

/// An HTTP function, checked and ready to route.
pub(crate) struct FunctionEntry {
    pub(crate) name: String,
    pub(crate) trigger: HttpTrigger,
    pub(crate) methods: Vec<Method>,
    pub(crate) template: RouteTemplate,
    pub(crate) handler: Arc<dyn HttpHandler>,
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
    /// Every route, as the router and the OpenAPI document are built from it.
    pub(crate) routes: Vec<RouteEntry>,
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
    /// The span exporter (tracing on) or nothing.
    pub(crate) telemetry: crate::telemetry::Telemetry,
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
