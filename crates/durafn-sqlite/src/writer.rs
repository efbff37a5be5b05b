//! The writer thread: it owns the writing connection and applies requests in group commits.
//!
//! The thread blocks for a request, then takes every request already queued (up to the batch
//! limit) and runs them all in one `BEGIN IMMEDIATE … COMMIT` transaction, each in its own
//! savepoint so that a request that fails is rolled back alone. Replies are sent only after the
//! `COMMIT` succeeded; if it fails, every request of the batch gets a retryable error.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};

use chrono::{DateTime, Utc};
use durafn_core::InstanceId;
use durafn_store::{
    ActivityCompletion, ActivityId, ActivityWorkItem, Committed, Completed, FetchRequest,
    InstanceClaim, InstanceFilter, LockToken, NewInstance, NewMessage, OrchestrationWorkItem,
    StoreError, TurnCommit,
};
use rusqlite::Connection;
use tokio::sync::oneshot;

use durafn_store::kit::{self, LockTokens};

use crate::ops;

/// Where a request's result goes.
pub(crate) type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// A request to the writer thread.
pub(crate) enum WriteOp {
    CreateInstance(NewInstance, Reply<()>),
    CreateAndClaim(
        NewInstance,
        InstanceClaim,
        Reply<Option<OrchestrationWorkItem>>,
    ),
    SendMessages(Vec<NewMessage>, Reply<()>),
    FetchOrchestrations(FetchRequest, Reply<Vec<OrchestrationWorkItem>>),
    CommitTurns(Vec<TurnCommit>, Reply<Vec<Result<Committed, StoreError>>>),
    AbandonOrchestration {
        instance_id: InstanceId,
        lock: LockToken,
        retry_at: Option<DateTime<Utc>>,
        reply: Reply<()>,
    },
    FetchActivities(FetchRequest, Reply<Vec<ActivityWorkItem>>),
    CompleteActivities(
        Vec<ActivityCompletion>,
        Reply<Vec<Result<Completed, StoreError>>>,
    ),
    AbandonActivity {
        id: ActivityId,
        lock: LockToken,
        retry_at: Option<DateTime<Utc>>,
        reply: Reply<()>,
    },
    RenewActivityLeases {
        leases: Vec<(ActivityId, LockToken)>,
        until: DateTime<Utc>,
        reply: Reply<Vec<ActivityId>>,
    },
    PurgeInstance(InstanceId, Reply<bool>),
    PurgeInstances(InstanceFilter, Reply<u64>),
}

/// Counters of the writer's work, shared with the store handle.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) batches: AtomicU64,
    pub(crate) requests: AtomicU64,
    pub(crate) failed_batches: AtomicU64,
}

/// Sends a request's reply once the outcome of its batch's commit is known.
type Finisher = Box<dyn FnOnce(Option<&StoreError>)>;

fn finish<T: Send + 'static>(reply: Reply<T>, result: Result<T, StoreError>) -> Finisher {
    Box::new(move |commit_error: Option<&StoreError>| {
        let outcome = match commit_error {
            Some(e) => Err(e.clone()),
            None => result,
        };
        // The caller may have stopped waiting; nothing to do then.
        let _ = reply.send(outcome);
    })
}

impl WriteOp {
    /// Whether losing the request's commit in a power failure is harmless, so that a batch of
    /// nothing else need not wait for an `fsync`. Leases taken, renewed or given back are simply
    /// taken again. An activity's result is the other case: activities are at-least-once, and
    /// an activity whose result is lost runs again when its lease expires, exactly as when the
    /// host dies between running it and committing. Nothing durable depends on a result until
    /// the turn that consumes it commits, and that commit's `fsync` flushes the write-ahead log
    /// up to and including the result. So a sequential step (turn, activity, turn, ...) costs
    /// one `fsync`, not two.
    fn may_skip_fsync(&self) -> bool {
        matches!(
            self,
            WriteOp::FetchOrchestrations(..)
                | WriteOp::FetchActivities(..)
                | WriteOp::RenewActivityLeases { .. }
                | WriteOp::AbandonOrchestration { .. }
                | WriteOp::AbandonActivity { .. }
                | WriteOp::CompleteActivities(..)
        )
    }

    /// Answers the request with an error without running it.
    fn fail(self, e: StoreError) {
        let fin = match self {
            WriteOp::CreateInstance(_, r) | WriteOp::SendMessages(_, r) => finish(r, Err(e)),
            WriteOp::CreateAndClaim(_, _, r) => finish(r, Err(e)),
            WriteOp::FetchOrchestrations(_, r) => finish(r, Err(e)),
            WriteOp::CommitTurns(_, r) => finish(r, Err(e)),
            WriteOp::CompleteActivities(_, r) => finish(r, Err(e)),
            WriteOp::AbandonOrchestration { reply, .. }
            | WriteOp::AbandonActivity { reply, .. } => finish(reply, Err(e)),
            WriteOp::FetchActivities(_, r) => finish(r, Err(e)),
            WriteOp::RenewActivityLeases { reply, .. } => finish(reply, Err(e)),
            WriteOp::PurgeInstance(_, r) => finish(r, Err(e)),
            WriteOp::PurgeInstances(_, r) => finish(r, Err(e)),
        };
        fin(None);
    }

    /// Runs the request inside the open transaction.
    fn run(self, conn: &Connection, tokens: &LockTokens) -> Finisher {
        match self {
            WriteOp::CreateInstance(ni, r) => finish(r, savepoint(conn, |c| ops::create(c, &ni))),
            WriteOp::CreateAndClaim(ni, claim, r) => finish(
                r,
                savepoint(conn, |c| {
                    ops::create(c, &ni)?;
                    ops::claim_instance(c, tokens, &ni.instance_id, &claim)
                }),
            ),
            WriteOp::SendMessages(m, r) => {
                finish(r, savepoint(conn, |c| ops::send_messages(c, &m)))
            }
            WriteOp::FetchOrchestrations(req, r) => finish(
                r,
                savepoint(conn, |c| ops::fetch_orchestrations(c, tokens, &req)),
            ),
            WriteOp::CommitTurns(commits, r) => {
                let results = commits
                    .iter()
                    .map(|t| savepoint(conn, |c| ops::commit_turn(c, tokens, t)))
                    .collect();
                finish(r, Ok(results))
            }
            WriteOp::AbandonOrchestration {
                instance_id,
                lock,
                retry_at,
                reply,
            } => finish(
                reply,
                savepoint(conn, |c| {
                    ops::abandon_orchestration(c, &instance_id, &lock, retry_at)
                }),
            ),
            WriteOp::FetchActivities(req, r) => finish(
                r,
                savepoint(conn, |c| ops::fetch_activities(c, tokens, &req)),
            ),
            WriteOp::CompleteActivities(completions, r) => {
                finish(r, Ok(complete_activities(conn, tokens, &completions)))
            }
            WriteOp::AbandonActivity {
                id,
                lock,
                retry_at,
                reply,
            } => finish(
                reply,
                savepoint(conn, |c| ops::abandon_activity(c, id, &lock, retry_at)),
            ),
            WriteOp::RenewActivityLeases {
                leases,
                until,
                reply,
            } => finish(
                reply,
                savepoint(conn, |c| ops::renew_activity_leases(c, &leases, until)),
            ),
            WriteOp::PurgeInstance(id, r) => {
                finish(r, savepoint(conn, |c| ops::purge_instance(c, &id)))
            }
            WriteOp::PurgeInstances(filter, r) => {
                finish(r, savepoint(conn, |c| ops::purge_instances(c, &filter)))
            }
        }
    }
}

/// Records each result in its own savepoint, then leases the instances claiming completions'
/// results went to, each given to the first completion that claimed it (a claim that fails is
/// only not made: the result is recorded either way).
fn complete_activities(
    conn: &Connection,
    tokens: &LockTokens,
    completions: &[ActivityCompletion],
) -> Vec<Result<Completed, StoreError>> {
    let mut results: Vec<Result<Completed, StoreError>> = completions
        .iter()
        .map(|a| savepoint(conn, |c| ops::complete_activity(c, a)).map(|()| Completed::default()))
        .collect();
    for (index, claim) in kit::turn_carriers(completions, |i| results[i].is_ok()) {
        let target = &completions[index].result.instance_id;
        if let Ok(turn) = savepoint(conn, |c| ops::claim_instance(c, tokens, target, claim))
            && let Ok(done) = &mut results[index]
        {
            done.turn = turn;
        }
    }
    results
}

fn exec(conn: &Connection, sql: &str) -> Result<(), rusqlite::Error> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// Runs `f` in a savepoint: released on success, rolled back on error. Runs nothing if the
/// batch's transaction is gone (SQLite rolled it back after an earlier error): a savepoint
/// outside a transaction would commit on its own.
fn savepoint<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    if conn.is_autocommit() {
        return Err(aborted("the transaction was rolled back by SQLite"));
    }
    exec(conn, "SAVEPOINT request").map_err(crate::codec::backend)?;
    let result = f(conn);
    let result = match result {
        Ok(v) => match exec(conn, "RELEASE request") {
            Ok(()) => return Ok(v),
            Err(e) => Err(crate::codec::backend(e)),
        },
        Err(e) => Err(e),
    };
    // If SQLite already rolled the whole transaction back, there is no savepoint left; the
    // batch notices that (the connection is in autocommit mode again).
    if !conn.is_autocommit() {
        let _ = exec(conn, "ROLLBACK TO request");
        let _ = exec(conn, "RELEASE request");
    }
    result
}

fn aborted(detail: &str) -> StoreError {
    StoreError::backend(
        format!("the SQLite transaction of this request was not committed: {detail}"),
        true,
    )
}

/// Runs one batch in one transaction and replies to every request after the commit. Returns
/// whether a transaction that changed the database was committed.
fn run_batch(
    conn: &Connection,
    tokens: &LockTokens,
    batch: Vec<WriteOp>,
    fsync: bool,
    counters: &Counters,
) -> bool {
    // Under `Durability::Fsync`, a batch that only moves leases or records activity results
    // commits without the fsync; the next batch that syncs makes it durable too.
    let relaxed = fsync && batch.iter().all(WriteOp::may_skip_fsync);
    if relaxed {
        let _ = exec(conn, "PRAGMA synchronous = NORMAL");
    }
    let changed = run_batch_in_transaction(conn, tokens, batch, counters);
    if relaxed {
        let _ = exec(conn, "PRAGMA synchronous = FULL");
    }
    changed
}

fn run_batch_in_transaction(
    conn: &Connection,
    tokens: &LockTokens,
    batch: Vec<WriteOp>,
    counters: &Counters,
) -> bool {
    counters
        .requests
        .fetch_add(batch.len() as u64, Ordering::Relaxed);
    let mut pending: Vec<Finisher> = Vec::with_capacity(batch.len());
    let mut in_transaction = false;
    let changes_before = conn.total_changes();
    for op in batch {
        if !in_transaction {
            if let Err(e) = exec(conn, "BEGIN IMMEDIATE") {
                let e = crate::codec::backend(e);
                op.fail(e);
                continue;
            }
            in_transaction = true;
        }
        pending.push(op.run(conn, tokens));
        if conn.is_autocommit() {
            // SQLite rolled the whole transaction back (I/O error, full disk, ...): nothing of
            // this batch so far is durable.
            let e = aborted("the transaction was rolled back by SQLite");
            for fin in pending.drain(..) {
                fin(Some(&e));
            }
            counters.failed_batches.fetch_add(1, Ordering::Relaxed);
            in_transaction = false;
        }
    }
    if !in_transaction {
        return false;
    }
    match exec(conn, "COMMIT") {
        Ok(()) => {
            counters.batches.fetch_add(1, Ordering::Relaxed);
            for fin in pending {
                fin(None);
            }
            conn.total_changes() != changes_before
        }
        Err(e) => {
            if !conn.is_autocommit() {
                let _ = exec(conn, "ROLLBACK");
            }
            counters.failed_batches.fetch_add(1, Ordering::Relaxed);
            let e = aborted(&format!("COMMIT failed: {e}"));
            for fin in pending {
                fin(Some(&e));
            }
            false
        }
    }
}

/// The writer thread's loop; returns when every sender is gone. After each commit that changed
/// something it signals the checkpointer (without waiting).
pub(crate) fn run(
    conn: Connection,
    requests: Receiver<WriteOp>,
    max_batch: usize,
    fsync: bool,
    counters: &Counters,
    checkpoints: SyncSender<()>,
) {
    let tokens = LockTokens::unique();
    let max_batch = max_batch.max(1);
    while let Ok(first) = requests.recv() {
        let mut batch = Vec::with_capacity(16);
        batch.push(first);
        while batch.len() < max_batch {
            match requests.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        if run_batch(&conn, &tokens, batch, fsync, counters) {
            let _ = checkpoints.try_send(());
        }
    }
    drop(conn);
}
