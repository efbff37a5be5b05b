//! A started function app and what it answers to.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use durafn_runtime::DurableClient;

use crate::api::route::{RouteEntry, RouteInfo};
use crate::app::router::build_router;
use crate::app::rpc::RpcListener;
use crate::app::state::HostState;
use crate::config::HostConfig;
use crate::keys::KeyStore;

/// A started function app: the runtime runs; requests are served by [`Host::router`] (in
/// tests, without a socket) or [`Host::serve`].
pub struct Host {
    pub(crate) state: HostState,
    /// Every route, as the routers are built from it.
    pub(crate) routes: Arc<[RouteEntry]>,
    pub(crate) config: HostConfig,
    /// The OTLP metrics export, when on.
    pub(crate) metrics_export: Option<crate::app::metrics_export::MetricsExport>,
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
        let router = build_router(self.state.clone(), &self.routes, false);
        #[cfg(feature = "dashboard")]
        if let Some(dashboard) = &self.dashboard {
            return router.nest(durafn_dashboard::BASE, dashboard.clone());
        }
        router
    }

    /// Every route the router serves.
    pub fn routes(&self) -> Vec<RouteInfo> {
        self.routes.iter().map(RouteEntry::info).collect()
    }

    /// The OpenAPI document of the app (what `GET /openapi.json` answers).
    pub fn openapi(&self) -> serde_json::Value {
        self.state.openapi.clone()
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
        for q in &self.state.queue_triggers {
            println!(
                "durafn host: function {} (queueTrigger, queue {})",
                q.name, q.queue
            );
        }
        for t in &self.state.timer_triggers {
            println!(
                "durafn host: function {} (timerTrigger, {})",
                t.name, t.schedule
            );
        }
        for name in crate::app::state::user_names(self.state.registry.orchestrator_names()) {
            println!("durafn host: function {name} (orchestrationTrigger)");
        }
        for name in crate::app::state::user_names(self.state.registry.activity_names()) {
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
    pub async fn shutdown(mut self) {
        self.state.stopping.store(true, Ordering::Relaxed);
        crate::triggers::stop(&self.state, self.config.runtime.drain_timeout).await;
        if let Some(export) = self.metrics_export.take() {
            export.stop().await;
        }
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
        // Last, so the spans of the turns and activities that finished while draining go too.
        self.state.telemetry.shutdown().await;
    }
}
