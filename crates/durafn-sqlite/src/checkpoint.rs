//! The checkpointer thread: copies the write-ahead log back into the database file off the
//! writer's path.
//!
//! SQLite normally checkpoints inside the `COMMIT` that crosses the log size threshold, which
//! stalls every request of that batch behind the copy and its `fsync`. Here the writer only
//! signals that it committed; this thread runs passive checkpoints (which never block the
//! writer or readers) at most once per interval. The writer keeps a high automatic threshold as
//! a safety net should this thread fall behind.
//!
//! The writer signals only the first commit after each checkpoint ([`Signal`]): waking this
//! thread on every commit cost the writer a futex call and the machine a context switch per
//! commit, for nothing, since one checkpoint covers every commit before it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::time::{Duration, Instant};

use rusqlite::Connection;

/// The least time between two checkpoints.
pub(crate) const INTERVAL: Duration = Duration::from_millis(100);

/// The automatic checkpoint threshold of the writer, in pages: only reached if this thread
/// falls behind.
pub(crate) const WRITER_AUTOCHECKPOINT_PAGES: u32 = 16_384;

fn checkpoint(conn: &Connection) {
    // A failed or partial passive checkpoint is retried at the next signal; the writer's
    // automatic threshold bounds the log meanwhile.
    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
}

/// The writer's end: word that the log holds commits no checkpoint has copied yet.
pub(crate) struct Signal {
    tx: SyncSender<()>,
    /// Set by the first commit after a checkpoint began, cleared by the next checkpoint.
    uncopied: Arc<AtomicBool>,
}

impl Signal {
    /// Notes a commit that changed the database; wakes the checkpointer only for the first
    /// since its last checkpoint.
    pub(crate) fn committed(&self) {
        if !self.uncopied.swap(true, Ordering::AcqRel) {
            // Full: a signal is already waiting. Disconnected: the checkpointer is gone (it
            // panicked), and the writer's automatic threshold bounds the log.
            let _ = self.tx.try_send(());
        }
    }
}

/// The checkpointer's end of a [`Signal`].
pub(crate) struct Commits {
    rx: Receiver<()>,
    uncopied: Arc<AtomicBool>,
}

/// A signal from the writer to the checkpointer.
pub(crate) fn signal() -> (Signal, Commits) {
    let (tx, rx) = sync_channel(1);
    let uncopied = Arc::new(AtomicBool::new(false));
    (
        Signal {
            tx,
            uncopied: Arc::clone(&uncopied),
        },
        Commits { rx, uncopied },
    )
}

/// The checkpointer's loop; returns when the writer (the only sender) is gone.
pub(crate) fn run(conn: Connection, commits: Commits) {
    let Commits {
        rx: commits,
        uncopied,
    } = commits;
    let mut pending = commits.recv().is_ok();
    while pending {
        // Cleared before the copy starts: a commit after this point signals again, and every
        // commit before it is in the log this checkpoint copies.
        uncopied.store(false, Ordering::Release);
        checkpoint(&conn);
        pending = false;
        let deadline = Instant::now() + INTERVAL;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match commits.recv_timeout(left) {
                Ok(()) => pending = true,
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
        if !pending {
            pending = commits.recv().is_ok();
        }
    }
}
