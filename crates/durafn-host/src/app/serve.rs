//! Serving a started app: binding its listeners (the public one and the loopback RPC endpoint),
//! serving both until a shutdown signal, and draining.

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use axum::Router;
use tokio::net::TcpListener;

use crate::api::route::RouteEntry;
use crate::app::Host;
use crate::app::router::build_router;
use crate::app::rpc::RpcListener;
use crate::config::{HostConfig, SHUTDOWN_GRACE};
use crate::error::HostError;

/// Binds the configured address and port (port 0 picks a free one); returns the listener and
/// the address it is bound to.
pub async fn listen(config: &HostConfig) -> Result<(TcpListener, SocketAddr), HostError> {
    let host = config
        .listen_host
        .trim_start_matches('[')
        .trim_end_matches(']');
    let listener = TcpListener::bind((host, config.port))
        .await
        .map_err(|e| HostError::io(format!("binding {}:{}", host, config.port), e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| HostError::io("reading the bound address", e))?;
    Ok((listener, addr))
}

/// Completes on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

impl Host {
    /// The router of the local RPC endpoint: the management and entity routes, without keys.
    /// [`Host::serve`] serves it on loopback only.
    pub fn rpc_router(&self) -> Router {
        let routes: Vec<RouteEntry> = self
            .routes
            .iter()
            .filter(|r| {
                r.path
                    .starts_with(crate::functions::durable_http::MANAGEMENT_BASE)
            })
            .cloned()
            .map(|mut r| {
                r.access = crate::keys::Access::Anonymous;
                r
            })
            .collect();
        build_router(self.state.clone(), &routes, true)
    }

    /// Binds the local RPC endpoint as configured (`None` when it is switched off).
    pub async fn listen_rpc(&self) -> Result<Option<RpcListener>, HostError> {
        if !self.config.local_rpc_enabled {
            return Ok(None);
        }
        RpcListener::bind(self.config.rpc_port).await.map(Some)
    }

    /// Serves on `listener` until `shutdown` completes, then stops accepting, lets in-flight
    /// requests finish (for up to 30 seconds), and drains the runtime. Links in responses to
    /// requests without a `Host` header point at the listener's address. The local RPC endpoint
    /// is bound and served too, unless it is switched off.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), HostError> {
        let rpc = self.listen_rpc().await?;
        self.serve_with_rpc(listener, rpc, shutdown).await
    }

    /// [`Host::serve`] with the local RPC endpoint already bound (or `None` for none); the
    /// client binding's `rpcBaseUrl` points at it.
    pub async fn serve_with_rpc(
        self,
        listener: TcpListener,
        rpc: Option<RpcListener>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), HostError> {
        if let Ok(addr) = listener.local_addr() {
            self.state.set_origin(format!("http://{addr}"));
        }
        self.state
            .set_rpc_base(rpc.as_ref().map(RpcListener::base_url));
        let router = self.router();
        let rpc_router = self.rpc_router();
        let state = self.state.clone();
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            state.stopping.store(true, Ordering::Relaxed);
            tracing::info!("shutting down: no new connections; finishing requests in flight");
            let _ = stop_tx.send(true);
        });
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let main = axum::serve(listener, router)
            .with_graceful_shutdown(stopped(stop_rx.clone()))
            .into_future();
        let local = async {
            match rpc {
                Some(rpc) => {
                    axum::serve(rpc.into_loopback_only(), rpc_router)
                        .with_graceful_shutdown(stopped(stop_rx.clone()))
                        .await
                }
                None => Ok(()),
            }
        };
        let mut grace_rx = stop_rx.clone();
        let grace = async move {
            if grace_rx.wait_for(|s| *s).await.is_err() {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        };
        let result = tokio::select! {
            r = async { tokio::try_join!(main, local) } => r.map(|_| ()).map_err(|e| HostError::io("serving", e)),
            _ = grace => {
                tracing::warn!("requests still in flight after the grace period were dropped");
                Ok(())
            }
        };
        self.shutdown().await;
        result
    }
}
