//! The checkpointer thread: copies the write-ahead log back into the database file off the
//! writer's path.
//!
//! SQLite normally checkpoints inside the `COMMIT` that crosses the log size threshold, which
//! stalls every request of that batch behind the copy and its `fsync`. Here the writer only
//! signals that it committed; this thread runs passive checkpoints (which never block the
//! writer or readers) at most once per interval. The writer keeps a high automatic threshold as
//! a safety net should this thread fall behind.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
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

/// The checkpointer's loop; returns when the writer (the only sender) is gone.
pub(crate) fn run(conn: Connection, commits: Receiver<()>) {
    let mut pending = commits.recv().is_ok();
    while pending {
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
