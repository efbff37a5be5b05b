//! The writer thread: it owns the writing connection and applies requests in group commits.
//!
//! The thread blocks for a request, then takes every request already queued (up to the batch
//! limit) and runs them all in one `BEGIN IMMEDIATE … COMMIT` transaction; if one of them
//! fails, the batch runs again with each request in its own savepoint, so that the failing one
//! is rolled back alone. Replies are sent only after the
//! `COMMIT` succeeded; if it fails, every request of the batch gets a retryable error. Under
//! [`Durability::Fsync`](crate::Durability::Fsync) the replies of a batch that must survive a
//! power loss go to the [flusher](crate::flush) instead, which sends them once the commit is on
//! stable storage.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, SyncSender};
use std::time::{Duration, Instant};

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

use crate::flush::{self, Answer, Log, Unflushed};
use crate::ops;

/// Where a request's result goes.
pub(crate) type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// A request to the writer thread.
pub(crate) enum WriteOp {
    CreateInstance(NewInstance, Reply<()>),
    /// A claiming start: the first turn is answered at its commit, the second reply once the
    /// creation is durable.
    CreateAndClaim(
        NewInstance,
        InstanceClaim,
        Reply<Option<OrchestrationWorkItem>>,
        Reply<()>,
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
    pub(crate) flushes: AtomicU64,
}

/// A request made ready to run, perhaps twice: a batch first runs without savepoints and, if
/// one of its requests fails, is rolled back and run again with each request in its own.
/// Its reply is sent through [`Answer`], which the flusher also uses.
trait Job: Answer {
    /// Runs the request inside the open transaction, each write in a savepoint if `isolate`;
    /// returns whether it (or a part of it, for requests of several turns or results) failed.
    fn execute(&mut self, conn: &Connection, tokens: &LockTokens, isolate: bool) -> bool;

    /// Whether the reply may go out before the commit is flushed ([`WriteOp::may_skip_fsync`]).
    fn relaxed(&self) -> bool;

    /// Marks the reply as one that may go out before the flush.
    fn relax(&mut self);

    /// The second reply of a request answered before its flush that still owes its caller word
    /// of the flush (a claiming start's creation), taken once the request committed.
    fn take_durable(&mut self) -> Option<Box<dyn Answer>>;
}

struct Request<T, F> {
    run: F,
    /// Whether a successful outcome still holds failed parts.
    partly_failed: fn(&T) -> bool,
    outcome: Option<Result<T, StoreError>>,
    reply: Reply<T>,
    relaxed: bool,
    durable: Option<Reply<()>>,
}

impl<T, F> Job for Request<T, F>
where
    T: Send + 'static,
    F: FnMut(&Connection, &LockTokens, bool) -> Result<T, StoreError> + Send,
{
    fn execute(&mut self, conn: &Connection, tokens: &LockTokens, isolate: bool) -> bool {
        let outcome = (self.run)(conn, tokens, isolate);
        let failed = outcome.as_ref().map_or(true, self.partly_failed);
        self.outcome = Some(outcome);
        failed
    }

    fn relaxed(&self) -> bool {
        self.relaxed
    }

    fn relax(&mut self) {
        self.relaxed = true;
    }

    fn take_durable(&mut self) -> Option<Box<dyn Answer>> {
        self.durable
            .take()
            .map(|ack| Box::new(ack) as Box<dyn Answer>)
    }
}

impl<T, F> Answer for Request<T, F>
where
    T: Send + 'static,
    F: FnMut(&Connection, &LockTokens, bool) -> Result<T, StoreError> + Send,
{
    fn answer(self: Box<Self>, commit_error: Option<&StoreError>) {
        let outcome = match (commit_error, self.outcome) {
            (Some(e), _) => Err(e.clone()),
            (None, Some(outcome)) => outcome,
            (None, None) => Err(aborted("the request was not run")),
        };
        // The caller may have stopped waiting; nothing to do then.
        let _ = self.reply.send(outcome);
        if let Some(durable) = self.durable {
            Box::new(durable).answer(commit_error);
        }
    }
}

/// Word that a commit is durable (or why it may not be).
impl Answer for Reply<()> {
    fn answer(self: Box<Self>, commit_error: Option<&StoreError>) {
        let _ = self.send(commit_error.map_or(Ok(()), |e| Err(e.clone())));
    }
}

fn job<T, F>(reply: Reply<T>, run: F) -> Box<Request<T, F>>
where
    T: Send + 'static,
    F: FnMut(&Connection, &LockTokens, bool) -> Result<T, StoreError> + Send + 'static,
{
    Box::new(Request {
        run,
        partly_failed: |_| false,
        outcome: None,
        reply,
        relaxed: false,
        durable: None,
    })
}

/// A job whose outcome is one result per part (turns, activity results).
fn parts_job<T, F>(reply: Reply<Vec<Result<T, StoreError>>>, run: F) -> Box<dyn Job>
where
    T: Send + 'static,
    F: FnMut(&Connection, &LockTokens, bool) -> Result<Vec<Result<T, StoreError>>, StoreError>
        + Send
        + 'static,
{
    Box::new(Request {
        run,
        partly_failed: |parts: &Vec<Result<T, StoreError>>| parts.iter().any(Result::is_err),
        outcome: None,
        reply,
        relaxed: false,
        durable: None,
    })
}

impl WriteOp {
    /// Whether losing the request's commit in a power failure is harmless, so that a batch of
    /// nothing else need not wait for a flush. Leases taken, renewed or given back are simply
    /// taken again. An activity's result is the other case: activities are at-least-once, and
    /// an activity whose result is lost runs again when its lease expires, exactly as when the
    /// host dies between running it and committing. Nothing durable depends on a result until
    /// the turn that consumes it commits, and that commit's `fsync` flushes the write-ahead log
    /// up to and including the result. So a sequential step (turn, activity, turn, ...) costs
    /// one `fsync`, not two. A claiming start's first turn goes out at once too: the turn's
    /// commit comes after the creation in the log, so the turn's flush makes both durable, and
    /// only the start's caller waits for that ([`Replies::AfterFlush`]).
    fn may_skip_fsync(&self) -> bool {
        matches!(
            self,
            WriteOp::CreateAndClaim(..)
                | WriteOp::FetchOrchestrations(..)
                | WriteOp::FetchActivities(..)
                | WriteOp::RenewActivityLeases { .. }
                | WriteOp::AbandonOrchestration { .. }
                | WriteOp::AbandonActivity { .. }
                | WriteOp::CompleteActivities(..)
        )
    }

    /// The request as a job that can run more than once.
    fn into_job(self) -> Box<dyn Job> {
        let relaxed = self.may_skip_fsync();
        let mut job = self.into_request();
        if relaxed {
            job.relax();
        }
        job
    }

    fn into_request(self) -> Box<dyn Job> {
        match self {
            WriteOp::CreateInstance(ni, r) => job(r, move |c, _, iso| {
                savepoint(c, iso, |c| ops::create(c, &ni))
            }),
            WriteOp::CreateAndClaim(ni, claim, r, durable) => {
                let mut job = job(r, move |c, tokens, iso| {
                    savepoint(c, iso, |c| {
                        ops::create(c, &ni)?;
                        ops::claim_instance(c, tokens, &ni.instance_id, &claim)
                    })
                });
                job.durable = Some(durable);
                job
            }
            WriteOp::SendMessages(m, r) => job(r, move |c, _, iso| {
                savepoint(c, iso, |c| ops::send_messages(c, &m))
            }),
            WriteOp::FetchOrchestrations(req, r) => job(r, move |c, tokens, iso| {
                savepoint(c, iso, |c| ops::fetch_orchestrations(c, tokens, &req))
            }),
            WriteOp::CommitTurns(commits, r) => parts_job(r, move |c, tokens, iso| {
                Ok(commits
                    .iter()
                    .map(|t| savepoint(c, iso, |c| ops::commit_turn(c, tokens, t)))
                    .collect())
            }),
            WriteOp::AbandonOrchestration {
                instance_id,
                lock,
                retry_at,
                reply,
            } => job(reply, move |c, _, iso| {
                savepoint(c, iso, |c| {
                    ops::abandon_orchestration(c, &instance_id, &lock, retry_at)
                })
            }),
            WriteOp::FetchActivities(req, r) => job(r, move |c, tokens, iso| {
                savepoint(c, iso, |c| ops::fetch_activities(c, tokens, &req))
            }),
            WriteOp::CompleteActivities(completions, r) => parts_job(r, move |c, tokens, iso| {
                complete_activities(c, tokens, &completions, iso)
            }),
            WriteOp::AbandonActivity {
                id,
                lock,
                retry_at,
                reply,
            } => job(reply, move |c, _, iso| {
                savepoint(c, iso, |c| ops::abandon_activity(c, id, &lock, retry_at))
            }),
            WriteOp::RenewActivityLeases {
                leases,
                until,
                reply,
            } => job(reply, move |c, _, iso| {
                savepoint(c, iso, |c| ops::renew_activity_leases(c, &leases, until))
            }),
            WriteOp::PurgeInstance(id, r) => job(r, move |c, _, iso| {
                savepoint(c, iso, |c| ops::purge_instance(c, &id))
            }),
            WriteOp::PurgeInstances(filter, r) => job(r, move |c, _, iso| {
                savepoint(c, iso, |c| ops::purge_instances(c, &filter))
            }),
        }
    }
}

/// Records each result in its own savepoint, then leases the instances claiming completions'
/// results went to, each given to the first completion that claimed it (a claim that fails is
/// only not made: the result is recorded either way). Without savepoints a failed claim may
/// have left writes behind, so it fails the whole request, which then runs again isolated.
fn complete_activities(
    conn: &Connection,
    tokens: &LockTokens,
    completions: &[ActivityCompletion],
    isolate: bool,
) -> Result<Vec<Result<Completed, StoreError>>, StoreError> {
    let mut results: Vec<Result<Completed, StoreError>> = completions
        .iter()
        .map(|a| {
            savepoint(conn, isolate, |c| ops::complete_activity(c, a))
                .map(|()| Completed::default())
        })
        .collect();
    for (index, claim) in kit::turn_carriers(completions, |i| results[i].is_ok()) {
        let target = &completions[index].result.instance_id;
        match savepoint(conn, isolate, |c| {
            ops::claim_instance(c, tokens, target, claim)
        }) {
            Ok(turn) => {
                if let Ok(done) = &mut results[index] {
                    done.turn = turn;
                }
            }
            Err(e) if !isolate => return Err(e),
            Err(_) => {}
        }
    }
    Ok(results)
}

fn exec(conn: &Connection, sql: &str) -> Result<(), rusqlite::Error> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// Runs `f`, in a savepoint if `isolate`: released on success, rolled back on error. Runs
/// nothing if the batch's transaction is gone (SQLite rolled it back after an earlier error):
/// a statement outside a transaction would commit on its own.
fn savepoint<T>(
    conn: &Connection,
    isolate: bool,
    f: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    if conn.is_autocommit() {
        return Err(aborted("the transaction was rolled back by SQLite"));
    }
    if !isolate {
        return f(conn);
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

/// How the writer answers a committed batch.
pub(crate) enum Replies {
    /// At once: every commit is as durable as the store promises once it is written.
    AtCommit,
    /// After a flush of the log, for requests that must survive a power loss
    /// ([`Durability::Fsync`](crate::Durability::Fsync)): the writer's own flush of `log` when
    /// no request waits, else the flusher's (see [`crate::flush`]). The replies that may go
    /// out before the flush do so at once; the durability word they still owe (`deferred`,
    /// oldest committed at `since`) goes out with the next flush, at the latest `wait` after
    /// `since` ([`SqliteOptions::start_flush_wait`](crate::SqliteOptions::start_flush_wait)).
    AfterFlush {
        flusher: Sender<Unflushed>,
        log: Log,
        deferred: Unflushed,
        since: Instant,
        wait: Duration,
    },
}

impl Replies {
    /// Flushed replies, for a store that flushes its log before it answers.
    pub(crate) fn after_flush(flusher: Sender<Unflushed>, log: Log, wait: Duration) -> Self {
        Replies::AfterFlush {
            flusher,
            log,
            deferred: Vec::new(),
            since: Instant::now(),
            wait,
        }
    }

    /// Answers a committed batch's requests: those a power loss may take at once, the others
    /// after a flush (with every deferred word of durability). Returns the request it took off
    /// the queue to see whether one was waiting: the first of the next batch.
    fn send(
        &mut self,
        jobs: Vec<Box<dyn Job>>,
        requests: &Receiver<WriteOp>,
        counters: &Counters,
    ) -> Option<WriteOp> {
        let Replies::AfterFlush {
            flusher,
            log,
            deferred,
            since,
            wait,
        } = self
        else {
            for job in jobs {
                job.answer(None);
            }
            return None;
        };
        let mut durable: Unflushed = Vec::new();
        for mut job in jobs {
            if !job.relaxed() {
                durable.push(job);
                continue;
            }
            if let Some(word) = job.take_durable() {
                if deferred.is_empty() {
                    *since = Instant::now();
                }
                deferred.push(word);
            }
            job.answer(None);
        }
        if durable.is_empty() && (deferred.is_empty() || since.elapsed() < *wait) {
            return None;
        }
        durable.append(deferred);
        let Ok(waiting) = requests.try_recv() else {
            flush::flush_and_answer(log, durable, &counters.flushes);
            return None;
        };
        if let Err(unsent) = flusher.send(durable) {
            // The flusher is gone only if it panicked: the writer flushes itself.
            flush::flush_and_answer(log, unsent.0, &counters.flushes);
        }
        Some(waiting)
    }

    /// The next request, waiting at most until deferred durability word is due, and flushing
    /// for it then; `None` once every sender is gone (after answering what is deferred).
    fn receive(&mut self, requests: &Receiver<WriteOp>, counters: &Counters) -> Option<WriteOp> {
        loop {
            let (log, deferred, due) = match self {
                Replies::AfterFlush {
                    log,
                    deferred,
                    since,
                    wait,
                    ..
                } if !deferred.is_empty() => (log, deferred, since.checked_add(*wait)),
                _ => return requests.recv().ok(),
            };
            // A wait too long to be an instant waits for a flush to share, however long.
            let Some(due) = due else {
                return requests.recv().ok();
            };
            match requests.recv_timeout(due.saturating_duration_since(Instant::now())) {
                Ok(op) => return Some(op),
                Err(RecvTimeoutError::Timeout) => {
                    flush::flush_and_answer(log, std::mem::take(deferred), &counters.flushes);
                }
                Err(RecvTimeoutError::Disconnected) => {
                    flush::flush_and_answer(log, std::mem::take(deferred), &counters.flushes);
                    return None;
                }
            }
        }
    }
}

/// Runs one batch in one transaction; returns whether a transaction that changed the database
/// was committed, and the committed requests, to be answered (the others are answered).
fn run_batch(
    conn: &Connection,
    tokens: &LockTokens,
    batch: Vec<WriteOp>,
    counters: &Counters,
) -> (bool, Vec<Box<dyn Job>>) {
    counters
        .requests
        .fetch_add(batch.len() as u64, Ordering::Relaxed);
    let mut jobs: Vec<Box<dyn Job>> = batch.into_iter().map(WriteOp::into_job).collect();
    match run_together(conn, tokens, &mut jobs, counters) {
        Some(changed) => (changed, jobs),
        None => run_isolated(conn, tokens, jobs, counters),
    }
}

/// Runs the whole batch without savepoints and commits it if no request failed: a savepoint
/// copies every page a request touches into the statement journal, which was a fifth of the
/// writer's time. Returns whether the committed transaction changed the database, or `None`
/// (everything rolled back) when a request failed or the transaction could not be opened or
/// committed, for [`run_isolated`] to sort out.
fn run_together(
    conn: &Connection,
    tokens: &LockTokens,
    jobs: &mut [Box<dyn Job>],
    counters: &Counters,
) -> Option<bool> {
    exec(conn, "BEGIN IMMEDIATE").ok()?;
    let changes_before = conn.total_changes();
    let all_ran = jobs
        .iter_mut()
        .all(|job| !job.execute(conn, tokens, false) && !conn.is_autocommit());
    if all_ran && exec(conn, "COMMIT").is_ok() {
        counters.batches.fetch_add(1, Ordering::Relaxed);
        return Some(conn.total_changes() != changes_before);
    }
    if !conn.is_autocommit() {
        let _ = exec(conn, "ROLLBACK");
    }
    None
}

/// Runs the batch with each request in its own savepoint, so that a request that fails is
/// rolled back alone. Answers the requests whose transaction failed; returns whether the
/// committed transaction changed the database, and its requests, still to be answered.
fn run_isolated(
    conn: &Connection,
    tokens: &LockTokens,
    jobs: Vec<Box<dyn Job>>,
    counters: &Counters,
) -> (bool, Vec<Box<dyn Job>>) {
    let mut pending: Vec<Box<dyn Job>> = Vec::with_capacity(jobs.len());
    let mut in_transaction = false;
    let changes_before = conn.total_changes();
    for mut job in jobs {
        if !in_transaction {
            if let Err(e) = exec(conn, "BEGIN IMMEDIATE") {
                job.answer(Some(&crate::codec::backend(e)));
                continue;
            }
            in_transaction = true;
        }
        job.execute(conn, tokens, true);
        pending.push(job);
        if conn.is_autocommit() {
            // SQLite rolled the whole transaction back (I/O error, full disk, ...): nothing of
            // this batch so far is durable.
            let e = aborted("the transaction was rolled back by SQLite");
            for job in pending.drain(..) {
                job.answer(Some(&e));
            }
            counters.failed_batches.fetch_add(1, Ordering::Relaxed);
            in_transaction = false;
        }
    }
    if !in_transaction {
        return (false, Vec::new());
    }
    match exec(conn, "COMMIT") {
        Ok(()) => {
            counters.batches.fetch_add(1, Ordering::Relaxed);
            (conn.total_changes() != changes_before, pending)
        }
        Err(e) => {
            if !conn.is_autocommit() {
                let _ = exec(conn, "ROLLBACK");
            }
            counters.failed_batches.fetch_add(1, Ordering::Relaxed);
            let e = aborted(&format!("COMMIT failed: {e}"));
            for job in pending {
                job.answer(Some(&e));
            }
            (false, Vec::new())
        }
    }
}

/// The writer thread's loop; returns when every sender is gone. After each commit that changed
/// something it signals the checkpointer (without waiting).
pub(crate) fn run(
    conn: Connection,
    requests: Receiver<WriteOp>,
    max_batch: usize,
    mut replies: Replies,
    counters: &Counters,
    checkpoints: SyncSender<()>,
) {
    let tokens = LockTokens::unique();
    let max_batch = max_batch.max(1);
    let mut next = None;
    loop {
        let first = match next.take() {
            Some(op) => op,
            None => match replies.receive(&requests, counters) {
                Some(op) => op,
                None => break,
            },
        };
        let mut batch = Vec::with_capacity(16);
        batch.push(first);
        while batch.len() < max_batch {
            match requests.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        let (changed, committed) = run_batch(&conn, &tokens, batch, counters);
        if changed {
            let _ = checkpoints.try_send(());
        }
        // Requests that only move leases or record activity results are answered without a
        // flush; the next flush makes them durable too.
        next = replies.send(committed, &requests, counters);
    }
    drop(conn);
}
