//! The flusher thread: under [`Durability::Fsync`](crate::Durability::Fsync) it makes committed
//! batches durable, off the writer's path, and only then sends their replies.
//!
//! The writer commits every batch without waiting for the disk (`synchronous = NORMAL`). A
//! batch whose requests must survive a power loss is then flushed (`fdatasync` of the
//! write-ahead log) before its replies go out: by the writer itself when no request is waiting
//! (a quiet host, where a hand-over to another thread would only add to the latency), or else
//! by this thread, while the writer applies the requests that are waiting. Every batch
//! committed before a flush starts is covered by it: one flush answers all the batches that
//! queued up meanwhile. So the writer thread, the bottleneck of a loaded host, no longer sits
//! idle for the length of each `fsync`.
//!
//! A reply still goes out only after its commit reached stable storage, as with
//! `synchronous = FULL`. What changes is visibility: a commit is visible to the other
//! connections (and to fetches, which take leases) from its `COMMIT`, a moment before its flush.
//! A power loss in that moment loses only work nobody was told is done; the work fetched from it
//! is at least once (a turn runs again, an activity runs again), as after a host crash.

use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Receiver;

use durafn_store::StoreError;

/// A request that owes its caller a reply.
pub(crate) trait Answer: Send {
    /// Sends the reply: the outcome of the request's last run, or `commit_error` if its batch
    /// did not commit (or, here, could not be flushed).
    fn answer(self: Box<Self>, commit_error: Option<&StoreError>);
}

/// Committed requests waiting for the flush that makes them durable.
pub(crate) type Unflushed = Vec<Box<dyn Answer>>;

/// The write-ahead log of the database at `db`, opened on first use.
pub(crate) struct Log {
    path: PathBuf,
    file: Option<File>,
}

impl Log {
    pub(crate) fn new(db: &std::path::Path) -> Self {
        let mut path = db.as_os_str().to_owned();
        path.push("-wal");
        Self {
            path: path.into(),
            file: None,
        }
    }

    /// Flushes the log to stable storage. A log that does not exist holds nothing to flush:
    /// SQLite removes it only after copying it into the database file, which it syncs.
    fn flush(&mut self) -> std::io::Result<()> {
        if self.file.is_none() {
            match File::open(&self.path) {
                Ok(file) => {
                    // The log's directory entry must be durable too, once, as SQLite itself
                    // syncs the directory after creating the log.
                    if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                        File::open(dir)?.sync_all()?;
                    }
                    self.file = Some(file);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        self.file.as_ref().map_or(Ok(()), File::sync_data)
    }
}

/// Flushes the log, counted in `flushes`, then answers the requests (with an error if the
/// flush failed: their commit may not survive a power loss).
pub(crate) fn flush_and_answer(log: &mut Log, jobs: Unflushed, flushes: &AtomicU64) {
    let failed = log.flush().err().map(|e| {
        StoreError::backend_caused_by(
            format!(
                "the SQLite commit could not be flushed to stable storage, so it may not \
                 survive a power loss: {e}"
            ),
            false,
            e,
        )
    });
    flushes.fetch_add(1, Ordering::Relaxed);
    for job in jobs {
        job.answer(failed.as_ref());
    }
}

/// The flusher's loop: one flush for all the committed batches that arrived while the last
/// one ran, then their replies; returns when the writer is gone.
pub(crate) fn run(db: PathBuf, batches: Receiver<Unflushed>, flushes: &AtomicU64) {
    let mut log = Log::new(&db);
    while let Ok(mut waiting) = batches.recv() {
        while let Ok(more) = batches.try_recv() {
            waiting.extend(more);
        }
        flush_and_answer(&mut log, waiting, flushes);
    }
}
