//! The embedded SQLite task hub of durafn: one file, nothing to set up, group commit.
//!
//! [`SqliteStore`] implements the whole storage contract of [`durafn_store`] (it is a
//! [`Store`](durafn_store::Store)) on a single SQLite database file in write-ahead-log (WAL)
//! mode, and behaves exactly like the in-memory reference task hub
//! ([`MemoryStore`](durafn_store::memory::MemoryStore)); both pass the same conformance suite.
//!
//! ```no_run
//! use std::sync::Arc;
//! use durafn_sqlite::{Durability, SqliteOptions, SqliteStore};
//! use durafn_store::Store;
//!
//! let options = SqliteOptions { durability: Durability::Fsync, ..SqliteOptions::default() };
//! let store: Arc<dyn Store> = Arc::new(SqliteStore::open("data/taskhub.db", options)?);
//! # Ok::<(), durafn_store::StoreError>(())
//! ```
//!
//! # Durability
//!
//! A call that returned `Ok` has been committed. How far that commit survives depends on
//! [`Durability`]:
//!
//! - [`Durability::Fsync`]: the write-ahead log is flushed to stable storage (`fdatasync`)
//!   after every commit, before any reply of that commit is sent. Committed work survives a crash
//!   of the process, of the operating system, and a power loss, as far as the storage device
//!   honours `fsync`. When requests are waiting, the flush runs on a thread of its own while the
//!   writer applies them, and one flush answers every batch committed before it started, so it
//!   costs at most one `fsync` per group commit (not per request), and fewer under load. A
//!   commit is visible to reads and fetches from its `COMMIT`, a moment before its flush: a
//!   power loss in that moment takes only work no caller was told is done. Four kinds of
//!   request are answered without waiting for the flush, because losing them costs no
//!   correctness: fetches and lease changes (the work is fetched again), activity results
//!   (`complete_activities`: the activity runs again, as after a host crash before its result
//!   was recorded), the first turn of a claiming start (`create_and_claim`: the turn's own
//!   commit comes later in the log, so no power loss keeps it and loses the creation; the
//!   start's caller is told the creation is durable by the turn's flush, or by one of its own a
//!   millisecond later), and turns that finish no instance (`commit_turns`: the instance takes
//!   that step again, its activities running again as after a host crash before the commit;
//!   their flush follows within [`SqliteOptions::start_flush_wait`], so a power loss takes at
//!   most that much of an instance's progress). The next flush makes them durable too, and
//!   the turn that finishes an instance waits for such a flush. A transaction of such requests that handed a turn back to
//!   this host (a claimed start, a claimed result) is left open for that turn's commit, at most
//!   [`SqliteOptions::claimed_turn_wait`], and its replies go out at once: an activity's
//!   result and the turn it triggers are one commit. Within that moment a process crash, too,
//!   can take such a request; losing it still costs no correctness.
//! - [`Durability::ProcessCrashSafe`] (`PRAGMA synchronous = NORMAL`, the default): every commit
//!   is written to the write-ahead log (that is, handed to the operating system) before its
//!   replies are sent, but the log is flushed to stable storage only at checkpoints. Committed
//!   work survives the process being killed at any point (`kill -9`, a panic, an out-of-memory
//!   kill). An operating-system crash or a power loss may lose the most recent commits; the
//!   database is still consistent afterwards (it is as of an earlier commit, never torn).
//!
//! In both modes the journal mode is always WAL, so readers never block the writer and the
//! writer never blocks readers.
//!
//! # How writes are applied: group commit
//!
//! One dedicated thread owns the writing connection. Every write (and every fetch, since
//! fetching takes leases) is a request sent to it. The thread waits for a request, then takes
//! every request already queued, up to [`SqliteOptions::max_batch`], and applies them all in one
//! transaction (`BEGIN IMMEDIATE` … `COMMIT`). A request that fails, for instance a commit whose
//! lease was lost, is rolled back alone and the others still commit: the batch is then rolled back
//! and run again with each request in its own savepoint (savepoints cost a copy of every page a
//! request touches, so the batch first runs without them).
//! Replies are sent only after the `COMMIT` succeeded; if the `COMMIT` fails, every request of
//! the batch fails with a retryable [`StoreError::Backend`].
//! Under load, requests that arrive while a batch commits form the next batch, so many
//! concurrent turns share one transaction and (with [`Durability::Fsync`]) one `fsync`.
//! [`SqliteStore::stats`] tells how many requests and batches there were (a batch is one
//! committed transaction, which may hold carried batches, see the durability section).
//!
//! Reads that take no lease (`get_instance`, `get_history`, `list_instances`,
//! `count_by_status`, `next_visible_at`) run on a second thread with its own connection,
//! concurrently with the writer. A third thread copies the write-ahead log back into the
//! database file (passive checkpoints, at most every 100 ms after a change), so that the writer
//! does not stall on checkpoints; the writer still checkpoints by itself should the log grow
//! past 64 MiB. Under [`Durability::Fsync`] a fourth thread flushes the log while the writer
//! goes on with the next batch (see the durability section above).
//!
//! # Storage details
//!
//! Times are stored as microseconds since the Unix epoch, so they come back with microsecond
//! precision. Payloads are stored as the JSON text they carry, and history events and messages
//! as their JSON form, the events one commit appended in one row. Lock tokens name the owner,
//! the process and the time the store was opened, so they are unique even across processes
//! that open the same file one after another.
//! The schema carries a version (`PRAGMA user_version`) and is migrated step by step on open;
//! a file written by a newer schema version is refused.
//!
//! Several processes may open the same file (SQLite serialises their transactions, waiting up
//! to [`SqliteOptions::busy_timeout`]), but the task hub is designed for one process at a time.

mod batch;
mod carry;
mod checkpoint;
mod codec;
mod flush;
pub mod inspect;
mod ops;
mod reader;
mod schema;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Sender, channel};
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::{DateTime, Utc};
use durafn_core::{HistoryEvent, InstanceId, RuntimeStatus};
use durafn_store::{
    ActivityCompletion, ActivityId, ActivityQueue, ActivityWorkItem, AdminStore, ClaimedStart,
    Committed, Completed, Durable, FetchRequest, InstanceClaim, InstanceFilter, InstancePage,
    InstanceRecord, InstanceStore, LockToken, NewInstance, NewMessage, OrchestrationQueue,
    OrchestrationWorkItem, StoreError, StoreFuture, TurnCommit, decode_continuation,
};
use rusqlite::{Connection, OpenFlags};
use tokio::sync::oneshot;

use crate::batch::{Counters, Reply};
use crate::codec::{backend, closed};
use crate::reader::ReadOp;
use crate::writer::WriteOp;

/// How far a successful call survives a crash (see the [crate docs](crate#durability)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Durability {
    /// Every commit is flushed to stable storage before its replies: survives process crashes,
    /// operating-system crashes and power loss.
    Fsync,
    /// Every commit is written to the write-ahead log before replying (`synchronous = NORMAL`):
    /// survives the process being killed; an operating-system crash or power loss may lose the
    /// last commits, leaving the database consistent as of an earlier one.
    #[default]
    ProcessCrashSafe,
}

/// The writer connection's page cache, in KiB. Small on purpose: at the end of every write
/// transaction SQLite walks the cache's hash table, so a 32 MiB cache cost the writer about 6%
/// of its time in W1 for nothing; what it writes is mostly the right edge of each index, which
/// stays in even a small cache, and the operating system caches the rest of the file.
const WRITER_CACHE_KIB: u32 = 2 * 1024;

/// How a [`SqliteStore`] is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteOptions {
    /// How far a successful call survives a crash. Default: [`Durability::ProcessCrashSafe`].
    pub durability: Durability,
    /// How long a connection waits for another process that holds the database lock before
    /// failing with a retryable error. Default: 5 seconds.
    pub busy_timeout: Duration,
    /// The most requests applied in one transaction (group commit). Default: 512; 0 counts as 1.
    pub max_batch: usize,
    /// Under [`Durability::Fsync`], how long work answered before its flush that still owes
    /// one may wait for a flush to share before the writer flushes for it alone: word that a
    /// claiming start's creation is durable (normally given by its first turn's flush, a
    /// fraction of this later), and turns that finish no instance (the most of a running
    /// instance's progress a power loss can take). Default: 1 millisecond.
    pub start_flush_wait: Duration,
    /// How long the writer keeps a transaction open, uncommitted, after one that handed a turn
    /// back to this host (a claimed start's first turn, the turn an activity's result claimed),
    /// so that the turn's commit joins it: one commit per sequential step instead of two. Only
    /// under [`Durability::Fsync`], and only for work that may be answered before it is flushed
    /// (results, leases, turns that finish no instance), which is answered at once. Zero
    /// commits every batch on its own. Default: 1 millisecond.
    pub claimed_turn_wait: Duration,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            durability: Durability::default(),
            busy_timeout: Duration::from_secs(5),
            max_batch: 512,
            start_flush_wait: Duration::from_millis(1),
            claimed_turn_wait: Duration::from_millis(1),
        }
    }
}

/// Counters of the writer thread since the store was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Write requests received (each call of a writing or fetching method is one request).
    pub requests: u64,
    /// Transactions committed; `requests / batches` is the average group-commit size.
    pub batches: u64,
    /// Transactions that failed as a whole (their requests got retryable errors).
    pub failed_batches: u64,
    /// Flushes of the write-ahead log to stable storage ([`Durability::Fsync`] only): each
    /// makes every batch committed before it durable, so under load there are fewer than
    /// batches.
    pub flushes: u64,
}

/// A task hub in one SQLite database file (see the [crate docs](crate)).
///
/// Dropping it serves the requests already queued, stops its threads and closes the file.
pub struct SqliteStore {
    writer: Option<Sender<WriteOp>>,
    reader: Option<Sender<ReadOp>>,
    threads: Vec<JoinHandle<()>>,
    counters: Arc<Counters>,
    path: PathBuf,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("stats", &self.stats())
            .finish()
    }
}

fn thread_error(e: std::io::Error) -> StoreError {
    StoreError::backend_caused_by(
        format!("could not start a SQLite task hub thread: {e}"),
        false,
        e,
    )
}

impl SqliteStore {
    /// Opens (or creates) the task hub in the database file at `path`, creating its parent
    /// directories and the schema if needed, and starts its writer and reader threads.
    pub fn open(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                StoreError::backend_caused_by(
                    format!("could not create {}: {e}", parent.display()),
                    false,
                    e,
                )
            })?;
        }
        let mut write_conn = Connection::open(&path).map_err(backend)?;
        schema::configure(&write_conn, options.busy_timeout, WRITER_CACHE_KIB)?;
        schema::configure_writer(&write_conn)?;
        schema::migrate(&mut write_conn)?;

        let read_conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(backend)?;
        schema::configure(&read_conn, options.busy_timeout, 16 * 1024)?;
        read_conn
            .execute_batch("PRAGMA query_only = ON;")
            .map_err(backend)?;
        let checkpoint_conn = Connection::open(&path).map_err(backend)?;
        schema::configure(&checkpoint_conn, options.busy_timeout, 2 * 1024)?;

        let counters = Arc::new(Counters::default());
        let (write_tx, write_rx) = channel();
        let (read_tx, read_rx) = channel();
        let (commit_tx, commit_rx) = checkpoint::signal();
        let checkpoint_thread = std::thread::Builder::new()
            .name("durafn-sqlite-checkpointer".into())
            .spawn(move || checkpoint::run(checkpoint_conn, commit_rx))
            .map_err(thread_error)?;
        // From here on, `store` owns the threads: if a spawn fails, dropping it stops the others.
        let mut store = Self {
            writer: None,
            reader: None,
            threads: vec![checkpoint_thread],
            counters: Arc::clone(&counters),
            path,
        };
        let replies = match options.durability {
            Durability::Fsync => {
                let (flush_tx, flush_rx) = channel();
                let db = store.path.clone();
                let counters = Arc::clone(&counters);
                let flusher = std::thread::Builder::new()
                    .name("durafn-sqlite-flusher".into())
                    .spawn(move || flush::run(db, flush_rx, &counters.flushes))
                    .map_err(thread_error)?;
                store.threads.push(flusher);
                writer::Replies::after_flush(
                    flush_tx,
                    flush::Log::new(&store.path),
                    options.start_flush_wait,
                    options.claimed_turn_wait,
                )
            }
            Durability::ProcessCrashSafe => writer::Replies::AtCommit,
        };
        let max_batch = options.max_batch;
        let writer_thread = std::thread::Builder::new()
            .name("durafn-sqlite-writer".into())
            .spawn(move || {
                writer::run(
                    write_conn, write_rx, max_batch, replies, &counters, commit_tx,
                )
            })
            .map_err(thread_error)?;
        store.writer = Some(write_tx);
        store.threads.push(writer_thread);
        let reader_thread = std::thread::Builder::new()
            .name("durafn-sqlite-reader".into())
            .spawn(move || reader::run(read_conn, read_rx))
            .map_err(thread_error)?;
        store.reader = Some(read_tx);
        store.threads.push(reader_thread);
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Counters of the writer thread (requests and group commits) since the store was opened.
    pub fn stats(&self) -> StoreStats {
        StoreStats {
            requests: self.counters.requests.load(Ordering::Relaxed),
            batches: self.counters.batches.load(Ordering::Relaxed),
            failed_batches: self.counters.failed_batches.load(Ordering::Relaxed),
            flushes: self.counters.flushes.load(Ordering::Relaxed),
        }
    }

    fn write<'a, T: Send + 'static>(
        &'a self,
        make: impl FnOnce(Reply<T>) -> WriteOp + Send + 'a,
    ) -> StoreFuture<'a, T> {
        Box::pin(async move {
            let (tx, rx) = oneshot::channel();
            let sender = self.writer.as_ref().ok_or_else(closed)?;
            sender.send(make(tx)).map_err(|_| closed())?;
            rx.await.map_err(|_| closed())?
        })
    }

    fn read<'a, T: Send + 'static>(
        &'a self,
        make: impl FnOnce(Reply<T>) -> ReadOp + Send + 'a,
    ) -> StoreFuture<'a, T> {
        Box::pin(async move {
            let (tx, rx) = oneshot::channel();
            let sender = self.reader.as_ref().ok_or_else(closed)?;
            sender.send(make(tx)).map_err(|_| closed())?;
            rx.await.map_err(|_| closed())?
        })
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        // Closing the channels ends the threads once they have served what is queued.
        self.writer.take();
        self.reader.take();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl InstanceStore for SqliteStore {
    fn create_instance(&self, instance: NewInstance) -> StoreFuture<'_, ()> {
        self.write(|r| WriteOp::CreateInstance(instance, r))
    }

    fn create_and_claim(
        &self,
        instance: NewInstance,
        claim: InstanceClaim,
    ) -> StoreFuture<'_, ClaimedStart> {
        let (word, flushed) = oneshot::channel();
        let turn = self.write(|r| WriteOp::CreateAndClaim(instance, claim, r, word));
        Box::pin(async move {
            Ok(ClaimedStart {
                turn: turn.await?,
                durable: Durable::after(async move { flushed.await.map_err(|_| closed())? }),
            })
        })
    }

    fn get_instance<'a>(&'a self, id: &'a InstanceId) -> StoreFuture<'a, Option<InstanceRecord>> {
        self.read(|r| ReadOp::GetInstance(id.clone(), r))
    }

    fn get_history<'a>(&'a self, id: &'a InstanceId) -> StoreFuture<'a, Vec<HistoryEvent>> {
        self.read(|r| ReadOp::GetHistory(id.clone(), r))
    }

    /// One request to the reader thread for every history.
    fn get_histories<'a>(
        &'a self,
        ids: &'a [InstanceId],
    ) -> StoreFuture<'a, Vec<Vec<HistoryEvent>>> {
        self.read(|r| ReadOp::GetHistories(ids.to_vec(), r))
    }

    fn send_messages(&self, messages: Vec<NewMessage>) -> StoreFuture<'_, ()> {
        self.write(|r| WriteOp::SendMessages(messages, r))
    }
}

impl OrchestrationQueue for SqliteStore {
    fn fetch_orchestration_work(
        &self,
        request: FetchRequest,
    ) -> StoreFuture<'_, Vec<OrchestrationWorkItem>> {
        self.write(|r| WriteOp::FetchOrchestrations(request, r))
    }

    fn commit_turns(
        &self,
        commits: Vec<TurnCommit>,
    ) -> StoreFuture<'_, Vec<Result<Committed, StoreError>>> {
        self.write(|r| WriteOp::CommitTurns(commits, r))
    }

    fn abandon_orchestration<'a>(
        &'a self,
        instance_id: &'a InstanceId,
        lock: &'a LockToken,
        retry_at: Option<DateTime<Utc>>,
    ) -> StoreFuture<'a, ()> {
        self.write(move |reply| WriteOp::AbandonOrchestration {
            instance_id: instance_id.clone(),
            lock: lock.clone(),
            retry_at,
            reply,
        })
    }
}

impl ActivityQueue for SqliteStore {
    fn fetch_activity_work(&self, request: FetchRequest) -> StoreFuture<'_, Vec<ActivityWorkItem>> {
        self.write(|r| WriteOp::FetchActivities(request, r))
    }

    fn complete_activities(
        &self,
        completions: Vec<ActivityCompletion>,
    ) -> StoreFuture<'_, Vec<Result<Completed, StoreError>>> {
        self.write(|r| WriteOp::CompleteActivities(completions, r))
    }

    fn abandon_activity<'a>(
        &'a self,
        id: ActivityId,
        lock: &'a LockToken,
        retry_at: Option<DateTime<Utc>>,
    ) -> StoreFuture<'a, ()> {
        self.write(move |reply| WriteOp::AbandonActivity {
            id,
            lock: lock.clone(),
            retry_at,
            reply,
        })
    }

    fn renew_activity_leases(
        &self,
        leases: Vec<(ActivityId, LockToken)>,
        until: DateTime<Utc>,
    ) -> StoreFuture<'_, Vec<ActivityId>> {
        self.write(move |reply| WriteOp::RenewActivityLeases {
            leases,
            until,
            reply,
        })
    }
}

impl AdminStore for SqliteStore {
    fn list_instances<'a>(
        &'a self,
        filter: &'a InstanceFilter,
        page_size: usize,
        continuation: Option<&'a str>,
    ) -> StoreFuture<'a, InstancePage> {
        let after = match continuation.map(decode_continuation).transpose() {
            Ok(after) => after,
            Err(e) => return Box::pin(std::future::ready(Err(e))),
        };
        self.read(move |reply| ReadOp::ListInstances {
            filter: filter.clone(),
            page_size,
            after,
            reply,
        })
    }

    fn purge_instance<'a>(&'a self, id: &'a InstanceId) -> StoreFuture<'a, bool> {
        self.write(|r| WriteOp::PurgeInstance(id.clone(), r))
    }

    fn purge_instances<'a>(&'a self, filter: &'a InstanceFilter) -> StoreFuture<'a, u64> {
        self.write(|r| WriteOp::PurgeInstances(filter.clone(), r))
    }

    fn next_visible_at(&self, now: DateTime<Utc>) -> StoreFuture<'_, Option<DateTime<Utc>>> {
        self.read(move |r| ReadOp::NextVisibleAt(now, r))
    }

    fn count_by_status(&self) -> StoreFuture<'_, Vec<(RuntimeStatus, u64)>> {
        self.read(ReadOp::CountByStatus)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn calls_after_the_threads_stopped_fail_clearly() {
        let dir = tempfile::tempdir().expect("dir");
        let mut store =
            SqliteStore::open(dir.path().join("hub.db"), SqliteOptions::default()).expect("open");
        store.writer.take();
        store.reader.take();
        let id = InstanceId::from_trusted("x");
        for result in [
            store.get_instance(&id).await.map(|_| ()),
            store.purge_instance(&id).await.map(|_| ()),
        ] {
            match result {
                Err(e @ StoreError::Backend { .. }) => {
                    assert!(!e.is_retryable());
                    assert!(e.to_string().contains("closed"), "{e}");
                }
                other => panic!("expected a closed error, got {other:?}"),
            }
        }
    }
}
