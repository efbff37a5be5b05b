//! One live connection to a worker process: frames out through a writer task, frames in through
//! a reader task that hands each `result` to the invocation waiting for it and logs each `log`
//! frame with the function and instance it belongs to.
//!
//! When the connection ends (the worker exited, was killed, or broke the framing) every
//! invocation still waiting is failed at once: its waiter sees [`CallError::Crashed`]. A request
//! made after the end but before the supervisor noticed it is never sent: its caller sees
//! [`CallError::NotSent`] and waits for the next worker instead of counting a crash.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, oneshot, watch};

use crate::channel::{FrameError, read_frame, write_frame};
use crate::protocol::Incoming;

/// Who an invocation runs for, to label its log lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Label {
    /// The function's name.
    pub function: String,
    /// The orchestration or entity instance it serves, if any.
    pub instance_id: Option<String>,
}

impl Label {
    /// A label for `function`, serving `instance_id`.
    pub fn new(function: impl Into<String>, instance_id: Option<String>) -> Self {
        Self {
            function: function.into(),
            instance_id,
        }
    }
}

/// Why a request got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallError {
    /// The connection had already ended: the request never reached the worker.
    NotSent,
    /// The connection ended after the request was handed to it, before the worker answered.
    Crashed,
}

struct Waiting {
    label: Label,
    reply: oneshot::Sender<Incoming>,
}

#[derive(Default)]
struct Table {
    waiting: HashMap<String, Waiting>,
    /// Set when the connection ended; nothing may wait any more.
    dead: bool,
}

/// A connected worker.
pub(crate) struct Connection {
    pid: u32,
    out: mpsc::UnboundedSender<Vec<u8>>,
    table: Mutex<Table>,
    closed: watch::Sender<bool>,
    last_pong: Mutex<Instant>,
    shutdown_done: Mutex<Option<oneshot::Sender<()>>>,
}

impl Connection {
    /// Starts the reader and writer tasks of a connected, initialised worker. `reader` has
    /// already been used to read `hello` and `initResult`.
    pub(crate) fn spawn(
        pid: u32,
        reader: OwnedReadHalf,
        writer: OwnedWriteHalf,
    ) -> std::sync::Arc<Self> {
        let (out, rx) = mpsc::unbounded_channel();
        let (closed, _) = watch::channel(false);
        let conn = std::sync::Arc::new(Connection {
            pid,
            out,
            table: Mutex::new(Table::default()),
            closed,
            last_pong: Mutex::new(Instant::now()),
            shutdown_done: Mutex::new(None),
        });
        tokio::spawn(write_loop(std::sync::Arc::downgrade(&conn), writer, rx));
        tokio::spawn(read_loop(conn.clone(), reader));
        conn
    }

    /// Splits a stream for [`Connection::spawn`].
    pub(crate) fn split(stream: UnixStream) -> (OwnedReadHalf, OwnedWriteHalf) {
        stream.into_split()
    }

    /// The worker's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sends an encoded request and waits for the `result` with the same id.
    pub(crate) async fn call(
        &self,
        id: String,
        label: Label,
        frame: Vec<u8>,
    ) -> Result<Incoming, CallError> {
        let (reply, answer) = oneshot::channel();
        {
            let mut table = self.table();
            if table.dead {
                return Err(CallError::NotSent);
            }
            table.waiting.insert(id.clone(), Waiting { label, reply });
        }
        if self.out.send(frame).is_err() {
            self.table().waiting.remove(&id);
            return Err(CallError::NotSent);
        }
        answer.await.map_err(|_| CallError::Crashed)
    }

    /// Sends a frame that expects no `result` (`ping`, `shutdown`).
    pub(crate) fn send(&self, frame: Vec<u8>) {
        let _ = self.out.send(frame);
    }

    /// Arranges for `done` to fire when `shutdownComplete` arrives.
    pub(crate) fn on_shutdown_complete(&self, done: oneshot::Sender<()>) {
        *self
            .shutdown_done
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(done);
    }

    /// How long ago the last `pong` (or the connection itself) arrived.
    pub(crate) fn since_pong(&self) -> std::time::Duration {
        self.last_pong
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .elapsed()
    }

    /// Whether the connection has ended.
    pub(crate) fn is_closed(&self) -> bool {
        *self.closed.borrow()
    }

    /// Invocations waiting for their result.
    pub(crate) fn in_flight(&self) -> usize {
        self.table().waiting.len()
    }

    /// Completes when the connection has ended.
    pub(crate) async fn closed(&self) {
        let mut rx = self.closed.subscribe();
        let _ = rx.wait_for(|c| *c).await;
    }

    /// Ends the connection's bookkeeping: every waiting invocation fails.
    fn close(&self) {
        let waiting = {
            let mut table = self.table();
            table.dead = true;
            std::mem::take(&mut table.waiting)
        };
        if !waiting.is_empty() {
            tracing::warn!(
                pid = self.pid,
                in_flight = waiting.len(),
                "the Python worker went away with invocations in flight; they fail as crashed"
            );
        }
        // Closed first, so a waiter that retries at once does not pick this connection again.
        self.closed.send_replace(true);
        drop(waiting);
    }

    fn dispatch(&self, frame: Incoming) {
        match frame.kind.as_str() {
            "result" => {
                let waiting = frame
                    .id
                    .as_ref()
                    .and_then(|id| self.table().waiting.remove(id));
                match waiting {
                    Some(w) => {
                        let _ = w.reply.send(frame);
                    }
                    None => {
                        tracing::warn!(pid = self.pid, id = ?frame.id, "the Python worker answered a request nobody waits for")
                    }
                }
            }
            "log" => {
                let label = frame
                    .invocation_id
                    .as_ref()
                    .and_then(|id| self.table().waiting.get(id).map(|w| w.label.clone()));
                log_frame(
                    label.as_ref(),
                    frame.level.as_deref().unwrap_or("Information"),
                    frame.category.as_deref().unwrap_or(""),
                    frame.message.as_deref().unwrap_or(""),
                );
            }
            "pong" => {
                *self
                    .last_pong
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Instant::now();
            }
            "shutdownComplete" => {
                if let Some(done) = self
                    .shutdown_done
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .take()
                {
                    let _ = done.send(());
                }
            }
            "protocolError" => {
                tracing::error!(
                    pid = self.pid,
                    id = ?frame.id,
                    message = frame.message.as_deref().unwrap_or(""),
                    "the Python worker refused a frame"
                );
                // A refused request gets no result: fail it rather than wait forever.
                if let Some(w) = frame
                    .id
                    .as_ref()
                    .and_then(|id| self.table().waiting.remove(id))
                {
                    drop(w);
                }
            }
            other => tracing::debug!(
                pid = self.pid,
                frame = other,
                "ignoring a frame from the Python worker"
            ),
        }
    }
}

/// Writes frames until the channel closes or a write fails. A failed write ends the connection
/// at once (the reader may see the end of the stream only later), so no request goes on being
/// handed to a connection nobody writes to. The connection is held weakly: it owns the channel's
/// sender, and this task must not keep it alive.
async fn write_loop(
    conn: std::sync::Weak<Connection>,
    mut writer: OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Vec<u8>>,
) {
    while let Some(frame) = rx.recv().await {
        if let Err(e) = write_frame(&mut writer, &frame).await {
            tracing::debug!(error = %e, "writing to the Python worker failed");
            if let Some(conn) = conn.upgrade() {
                conn.close();
            }
            break;
        }
    }
}

async fn read_loop(conn: std::sync::Arc<Connection>, mut reader: OwnedReadHalf) {
    loop {
        match read_frame(&mut reader).await {
            Ok(frame) => conn.dispatch(frame),
            Err(FrameError::Closed) => break,
            Err(e) => {
                tracing::error!(pid = conn.pid, error = %e, "the channel to the Python worker broke");
                break;
            }
        }
    }
    conn.close();
}

/// Logs one line the app or the worker produced, as the Functions host names levels, with the
/// function and instance it belongs to.
pub(crate) fn log_frame(label: Option<&Label>, level: &str, category: &str, message: &str) {
    macro_rules! emit {
        ($level:expr) => {
            match label {
                Some(Label {
                    function,
                    instance_id: Some(instance_id),
                }) => tracing::event!(target: "durafn::python", $level, function = %function, instance_id = %instance_id, category, "{message}"),
                Some(Label { function, .. }) => {
                    tracing::event!(target: "durafn::python", $level, function = %function, category, "{message}")
                }
                None => tracing::event!(target: "durafn::python", $level, category, "{message}"),
            }
        };
    }
    match level {
        "Trace" | "Debug" => emit!(tracing::Level::DEBUG),
        "Warning" => emit!(tracing::Level::WARN),
        "Error" | "Critical" => emit!(tracing::Level::ERROR),
        _ => emit!(tracing::Level::INFO),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connected() -> (std::sync::Arc<Connection>, UnixStream) {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let (reader, writer) = Connection::split(ours);
        (Connection::spawn(1, reader, writer), theirs)
    }

    fn frame() -> Vec<u8> {
        crate::channel::encode(&serde_json::json!({"type": "invoke", "id": "r1"})).unwrap()
    }

    #[tokio::test]
    async fn a_request_in_flight_when_the_worker_goes_crashes_and_a_later_one_is_not_sent() {
        let (conn, theirs) = connected();
        let call = {
            let conn = conn.clone();
            tokio::spawn(async move { conn.call("r1".into(), Label::default(), frame()).await })
        };
        // The worker received the request: it is in flight.
        let mut theirs = theirs;
        let received = read_frame(&mut theirs).await.expect("the request arrives");
        assert_eq!(received.id.as_deref(), Some("r1"));
        drop(theirs);
        assert_eq!(call.await.unwrap().unwrap_err(), CallError::Crashed);
        conn.closed().await;
        let late = conn.call("r2".into(), Label::default(), frame()).await;
        assert_eq!(late.unwrap_err(), CallError::NotSent);
    }

    #[tokio::test]
    async fn a_failed_write_ends_the_connection_even_while_the_reader_still_waits() {
        let (conn, theirs) = connected();
        // The worker stops reading but keeps its end open: only the write side fails.
        let theirs = theirs.into_std().unwrap();
        theirs.shutdown(std::net::Shutdown::Read).unwrap();
        let call = conn.call("r1".into(), Label::default(), frame()).await;
        assert!(call.is_err(), "{call:?}");
        assert!(conn.is_closed());
        let late = conn.call("r2".into(), Label::default(), frame()).await;
        assert_eq!(late.unwrap_err(), CallError::NotSent);
        drop(theirs);
    }
}
