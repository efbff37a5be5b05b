//! The worker process of a Python app, kept alive by a supervisor.
//!
//! [`Worker::start`] starts `python -m durafn_worker`, connects, loads the app and returns what
//! the worker reported. From then on a supervisor task watches the process: when it dies (it
//! crashed, was killed, or stopped answering pings) every invocation in flight fails with
//! [`InvokeError::Crashed`], a new process is started (with back-off when workers keep dying
//! early) and initialised again, and invocations made meanwhile wait for it. The worker keeps no
//! state between processes, so a restart is always safe; callers decide whether a crashed
//! invocation runs again.

mod connection;
mod options;
mod process;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

pub use self::connection::Label;
use self::connection::{CallError, Connection};
pub use self::options::{StartError, WorkerOptions};
pub use self::process::Loaded;
use crate::channel::encode;
use crate::protocol::{Control, Invocation, InvokeFrame, Outcome};

/// How often the supervisor pings the worker.
const PING_EVERY: Duration = Duration::from_secs(5);
/// A worker that has not answered a ping for this long is killed and replaced. Pongs come from
/// the worker's event loop, so an `async def` function that blocks the loop delays them; the
/// limit is long enough for ordinary mistakes of that kind.
const HUNG_AFTER: Duration = Duration::from_secs(60);
/// A worker that dies sooner than this after it was ready is restarted only after a back-off
/// (doubling from [`FIRST_BACKOFF`] to [`MAX_EARLY_BACKOFF`]); one that ran longer is replaced
/// at once.
const EARLY_DEATH: Duration = Duration::from_secs(1);
/// The first back-off between restarts.
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
/// The longest back-off after a worker that died early (it started, so the app loads).
const MAX_EARLY_BACKOFF: Duration = Duration::from_secs(2);
/// The longest back-off between attempts to start a worker that fails to start.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Why an invocation got no result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvokeError {
    /// The worker process went away while the invocation ran (it crashed, was killed, or hung
    /// and was replaced). The invocation may or may not have run.
    #[error("the Python worker (pid {pid}) went away while the invocation ran")]
    Crashed {
        /// The process that went away.
        pid: u32,
    },
    /// The worker is stopping; no invocations are accepted.
    #[error("the Python worker is stopping")]
    Stopped,
    /// The invocation could not be encoded.
    #[error("the invocation could not be encoded: {0}")]
    Encode(String),
}

struct Shared {
    options: WorkerOptions,
    live: watch::Sender<Option<Arc<Connection>>>,
    stopping: watch::Sender<bool>,
    next_id: AtomicU64,
    pid: AtomicU32,
    restarts: AtomicU64,
    /// The grace period of a shutdown in progress, in milliseconds.
    grace_ms: AtomicU64,
}

/// The worker of one app: invoke its functions; it is restarted when it dies.
#[derive(Clone)]
pub struct Worker {
    shared: Arc<Shared>,
    supervisor: Arc<std::sync::Mutex<Option<JoinHandle<()>>>>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("pid", &self.pid())
            .field("restarts", &self.restarts())
            .finish()
    }
}

impl Worker {
    /// Starts the worker and loads the app; returns the worker and what it loaded (functions
    /// that failed to load included: the caller decides what to do with them).
    pub async fn start(options: WorkerOptions) -> Result<(Worker, Loaded), StartError> {
        let launched = process::launch(&options).await?;
        let loaded = launched.loaded.clone();
        let (live, _) = watch::channel(Some(launched.connection.clone()));
        let (stopping, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            options,
            live,
            stopping,
            next_id: AtomicU64::new(0),
            pid: AtomicU32::new(loaded.pid),
            restarts: AtomicU64::new(0),
            grace_ms: AtomicU64::new(0),
        });
        let supervisor = tokio::spawn(supervise(shared.clone(), launched));
        Ok((
            Worker {
                shared,
                supervisor: Arc::new(std::sync::Mutex::new(Some(supervisor))),
            },
            loaded,
        ))
    }

    /// The current worker process's id.
    pub fn pid(&self) -> u32 {
        self.shared.pid.load(Ordering::Relaxed)
    }

    /// How many times the worker was restarted.
    pub fn restarts(&self) -> u64 {
        self.shared.restarts.load(Ordering::Relaxed)
    }

    /// Invokes `function`, waiting for a live worker first if it is being restarted.
    pub async fn invoke(
        &self,
        function: &str,
        invocation: &Invocation,
        label: Label,
    ) -> Result<Outcome, InvokeError> {
        loop {
            let connection = self.connection().await?;
            let id = format!("r{}", self.shared.next_id.fetch_add(1, Ordering::Relaxed));
            let frame = encode(&InvokeFrame::new(&id, function, invocation))
                .map_err(|e| InvokeError::Encode(e.to_string()))?;
            match connection.call(id, label.clone(), frame).await {
                Ok(incoming) => return Ok(incoming.into_outcome(invocation.kind())),
                // The worker never saw it: wait until the dead connection is withdrawn, then
                // hand the invocation to the next worker. Counting this as a crash would let
                // one kill be counted many times by a caller that retries at once.
                Err(CallError::NotSent) => connection.closed().await,
                Err(CallError::Crashed) => {
                    return Err(InvokeError::Crashed {
                        pid: connection.pid(),
                    });
                }
            }
        }
    }

    async fn connection(&self) -> Result<Arc<Connection>, InvokeError> {
        let mut live = self.shared.live.subscribe();
        let mut stopping = self.shared.stopping.subscribe();
        loop {
            if *stopping.borrow_and_update() {
                return Err(InvokeError::Stopped);
            }
            // A connection that just ended is still published until the supervisor notices.
            if let Some(c) = live.borrow_and_update().clone().filter(|c| !c.is_closed()) {
                return Ok(c);
            }
            tokio::select! {
                changed = live.changed() => if changed.is_err() { return Err(InvokeError::Stopped) },
                _ = stopping.changed() => {}
            }
        }
    }

    /// Stops the worker: no new invocations; those in flight may finish within `grace`; then
    /// the process exits (or is killed).
    pub async fn shutdown(&self, grace: Duration) {
        let handle = self
            .supervisor
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        let connection = self.shared.live.borrow().clone();
        let grace_ms = u64::try_from(grace.as_millis()).unwrap_or(u64::MAX);
        self.shared.grace_ms.store(grace_ms, Ordering::Relaxed);
        self.shared.stopping.send_replace(true);
        if let Some(connection) = connection {
            let (done, finished) = oneshot::channel();
            connection.on_shutdown_complete(done);
            if let Ok(frame) = encode(&Control {
                kind: "shutdown",
                id: "shutdown",
                grace_ms: Some(grace_ms),
            }) {
                connection.send(frame);
            }
            let _ = tokio::time::timeout(grace + Duration::from_secs(2), async {
                tokio::select! {
                    _ = finished => {}
                    _ = connection.closed() => {}
                }
            })
            .await;
        }
        if let Some(handle) = handle {
            let _ = handle.await;
        }
    }
}

/// Watches the worker and replaces it when it dies, until the worker is stopped.
async fn supervise(shared: Arc<Shared>, first: process::Launched) {
    let mut current = Some(first);
    let mut backoff = FIRST_BACKOFF;
    let mut stopping = shared.stopping.subscribe();
    loop {
        let Some(process::Launched {
            mut child,
            connection,
            ..
        }) = current.take()
        else {
            break;
        };
        let ready_at = Instant::now();
        shared.pid.store(connection.pid(), Ordering::Relaxed);
        shared.live.send_replace(Some(connection.clone()));
        let mut ticker = tokio::time::interval(PING_EVERY);
        let mut ping = 0u64;
        let status = loop {
            tokio::select! {
                status = child.wait() => break Some(status),
                _ = connection.closed() => break None,
                _ = stopped(&mut stopping) => {
                    // Shutdown: `Worker::shutdown` has asked the worker to drain; give it the
                    // time it was promised, then make sure it is gone.
                    let grace = Duration::from_millis(shared.grace_ms.load(Ordering::Relaxed));
                    let _ = tokio::time::timeout(grace + Duration::from_secs(2), connection.closed()).await;
                    let _ = child.start_kill();
                    let _ = child.wait().await;
                    shared.live.send_replace(None);
                    return;
                }
                _ = ticker.tick() => {
                    if connection.since_pong() > HUNG_AFTER {
                        tracing::error!(
                            pid = connection.pid(),
                            in_flight = connection.in_flight(),
                            "the Python worker has not answered pings for {HUNG_AFTER:?}; killing it"
                        );
                        let _ = child.start_kill();
                    } else if let Ok(frame) = encode(&Control { kind: "ping", id: &format!("p{ping}"), grace_ms: None }) {
                        ping += 1;
                        connection.send(frame);
                    }
                }
            }
        };
        shared.live.send_replace(None);
        let _ = child.start_kill();
        let status = match status {
            Some(s) => s,
            None => child.wait().await,
        };
        connection.closed().await;
        if *stopping.borrow_and_update() {
            return;
        }
        let lived = ready_at.elapsed();
        tracing::warn!(
            target: "durafn::python",
            pid = connection.pid(),
            status = %status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string()),
            "the Python worker exited after {lived:.1?}; starting a new one"
        );
        if lived >= EARLY_DEATH {
            backoff = FIRST_BACKOFF;
        } else {
            sleep_unless_stopping(&mut stopping, backoff).await;
            backoff = (backoff * 2).min(MAX_EARLY_BACKOFF);
        }
        while current.is_none() && !is_stopping(&stopping) {
            match process::launch(&shared.options).await {
                Ok(launched) => {
                    shared.restarts.fetch_add(1, Ordering::Relaxed);
                    if let Some(e) = &launched.loaded.error {
                        tracing::error!(error = %e.message, "the restarted Python worker could not load the app");
                    }
                    current = Some(launched);
                }
                Err(e) => {
                    tracing::error!(error = %e, "restarting the Python worker failed; trying again in {backoff:?}");
                    sleep_unless_stopping(&mut stopping, backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }
}

fn is_stopping(stopping: &watch::Receiver<bool>) -> bool {
    *stopping.borrow()
}

async fn sleep_unless_stopping(stopping: &mut watch::Receiver<bool>, wait: Duration) {
    tokio::select! {
        _ = tokio::time::sleep(wait) => {}
        _ = stopped(stopping) => {}
    }
}

async fn stopped(stopping: &mut watch::Receiver<bool>) {
    let _ = stopping.wait_for(|s| *s).await;
}
