//! The local RPC endpoint: the management and entity routes without keys, on loopback only.
//!
//! Out-of-process Durable Functions clients (the Python and JavaScript SDKs) send every call to
//! the binding's `rpcBaseUrl` without a key: in Azure that base is a listener of the Functions
//! host that only the app's own processes can reach. durafn serves the same: a second listener
//! bound to `127.0.0.1` and `::1` (never a wildcard address), on `--rpc-port` /
//! `DURAFN_RPC_PORT` (default 0, a free port, so several hosts on one machine never collide;
//! the port is in the binding). Because binding to loopback is the only thing that keeps the
//! keyless routes private, every accepted connection's peer address is checked as well, and a
//! connection from anything but a loopback address is closed before a byte is read: a port
//! forward, a `route_localnet` setting or a socket bound to another local address cannot open
//! the routes to the network.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

use crate::error::HostError;
use crate::functions::durable_http::MANAGEMENT_BASE;

/// How often a free port for IPv4 is tried again when the same port is taken on `::1`.
const BIND_ATTEMPTS: usize = 8;

/// The bound loopback listeners of the local RPC endpoint.
#[derive(Debug)]
pub struct RpcListener {
    v4: TcpListener,
    v6: Option<TcpListener>,
    port: u16,
}

/// Whether an address is a loopback address (an IPv4-mapped IPv6 address included).
pub(crate) fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

impl RpcListener {
    /// Binds `127.0.0.1:port` and `[::1]:port`; port 0 picks a port free on both. A machine
    /// without IPv6 gets the IPv4 listener only.
    pub async fn bind(port: u16) -> Result<Self, HostError> {
        let mut last = None;
        for _ in 0..if port == 0 { BIND_ATTEMPTS } else { 1 } {
            let v4 = TcpListener::bind((Ipv4Addr::LOCALHOST, port))
                .await
                .map_err(|e| HostError::io(format!("binding 127.0.0.1:{port}"), e))?;
            let bound = v4
                .local_addr()
                .map_err(|e| HostError::io("reading the bound address", e))?
                .port();
            match TcpListener::bind((Ipv6Addr::LOCALHOST, bound)).await {
                Ok(v6) => {
                    return Ok(Self {
                        v4,
                        v6: Some(v6),
                        port: bound,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                    last = Some(e);
                }
                Err(e) => {
                    tracing::debug!(error = %e, "no IPv6 loopback; the local RPC endpoint listens on 127.0.0.1 only");
                    return Ok(Self {
                        v4,
                        v6: None,
                        port: bound,
                    });
                }
            }
        }
        let e = last.unwrap_or_else(|| io::Error::from(io::ErrorKind::AddrInUse));
        Err(HostError::io(format!("binding [::1]:{port}"), e))
    }

    /// The port both listeners are bound to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether `::1` is served too.
    pub fn has_ipv6(&self) -> bool {
        self.v6.is_some()
    }

    /// The `rpcBaseUrl` of the client binding: the management API's base on this listener,
    /// ending in `/` (the clients append their routes to it).
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}{MANAGEMENT_BASE}/", self.port)
    }

    /// The addresses it listens on.
    pub fn addresses(&self) -> Vec<SocketAddr> {
        let mut out = vec![SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))];
        if self.v6.is_some() {
            out.push(SocketAddr::from((Ipv6Addr::LOCALHOST, self.port)));
        }
        out
    }

    /// What the server accepts from: loopback peers only.
    pub(crate) fn into_loopback_only(self) -> LoopbackOnly {
        LoopbackOnly {
            v4: self.v4,
            v6: self.v6,
        }
    }
}

/// An acceptor that hands the server only connections from loopback peers.
pub(crate) struct LoopbackOnly {
    v4: TcpListener,
    v6: Option<TcpListener>,
}

async fn accept_any(
    v4: &TcpListener,
    v6: Option<&TcpListener>,
) -> io::Result<(TcpStream, SocketAddr)> {
    match v6 {
        Some(v6) => tokio::select! {
            r = v4.accept() => r,
            r = v6.accept() => r,
        },
        None => v4.accept().await,
    }
}

impl axum::serve::Listener for LoopbackOnly {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        loop {
            match accept_any(&self.v4, self.v6.as_ref()).await {
                Ok((stream, peer)) if is_loopback(peer.ip()) => return (stream, peer),
                Ok((stream, peer)) => {
                    tracing::warn!(
                        peer = %peer,
                        "refused a connection to the local RPC endpoint: the peer is not a loopback address"
                    );
                    drop(stream);
                }
                // As axum does for its own listener: a failed connection is the client's
                // problem; anything else (out of file descriptors) is waited out.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionRefused
                            | io::ErrorKind::ConnectionAborted
                            | io::ErrorKind::ConnectionReset
                    ) => {}
                Err(e) => {
                    tracing::error!(error = %e, "accepting on the local RPC endpoint failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.v4.local_addr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_addresses() {
        for yes in ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"] {
            assert!(is_loopback(yes.parse().unwrap()), "{yes}");
        }
        for no in ["0.0.0.0", "192.0.2.2", "::", "fd00::2", "::ffff:192.0.2.2"] {
            assert!(!is_loopback(no.parse().unwrap()), "{no}");
        }
    }

    #[tokio::test]
    async fn binds_both_loopbacks_on_one_free_port() {
        let a = RpcListener::bind(0).await.unwrap();
        let b = RpcListener::bind(0).await.unwrap();
        assert_ne!(a.port(), b.port(), "two hosts never share a port");
        assert!(a.base_url().ends_with("/runtime/webhooks/durabletask/"));
        for addr in a.addresses() {
            assert!(addr.ip().is_loopback());
            assert_eq!(addr.port(), a.port());
        }
        let taken = RpcListener::bind(a.port()).await;
        assert!(taken.is_err(), "a fixed port that is taken is an error");
    }
}
