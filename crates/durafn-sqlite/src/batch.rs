//! Running a batch of requests in one transaction: the requests as jobs that can run more
//! than once, the transaction without savepoints, and again with one per request when one of
//! them failed.

use std::sync::atomic::{AtomicU64, Ordering};

use durafn_store::StoreError;
use durafn_store::kit::LockTokens;
use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::flush::Answer;

/// Where a request's result goes.
pub(crate) type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

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
pub(crate) trait Job: Answer {
    /// Runs the request inside the open transaction, each write in a savepoint if `isolate`;
    /// returns whether it (or a part of it, for requests of several turns or results) failed.
    fn execute(&mut self, conn: &Connection, tokens: &LockTokens, isolate: bool) -> bool;

    /// Whether the reply may go out before the commit is flushed
    /// ([`WriteOp::may_skip_fsync`](crate::writer::WriteOp::may_skip_fsync)).
    fn relaxed(&self) -> bool;

    /// Marks the reply as one that may go out before the flush.
    fn relax(&mut self);

    /// Makes a relaxed request owe a flush within the wait for deferred durability though no
    /// caller waits for it ([`FlushDue`]).
    fn owe_flush(&mut self);

    /// The second reply of a request answered before its flush that still owes its caller word
    /// of the flush (a claiming start's creation), taken once the request committed.
    fn take_durable(&mut self) -> Option<Box<dyn Answer>>;

    /// Whether the request ran and handed a turn back to this host (a claimed start's first
    /// turn, a claimed result's turn), whose commit will soon follow.
    fn hands_back_turn(&self) -> bool;
}

/// A request as a [`Job`]: what it runs, and how its outcome is judged and answered.
pub(crate) struct Request<T, F> {
    run: F,
    /// Whether a successful outcome still holds failed parts.
    partly_failed: fn(&T) -> bool,
    /// Whether a successful outcome hands a turn back to this host.
    pub(crate) hands_back: fn(&T) -> bool,
    outcome: Option<Result<T, StoreError>>,
    reply: Reply<T>,
    relaxed: bool,
    pub(crate) durable: Option<Box<dyn Answer>>,
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

    fn owe_flush(&mut self) {
        self.durable.get_or_insert_with(|| Box::new(FlushDue));
    }

    fn take_durable(&mut self) -> Option<Box<dyn Answer>> {
        self.durable.take()
    }

    fn hands_back_turn(&self) -> bool {
        matches!(&self.outcome, Some(Ok(outcome)) if (self.hands_back)(outcome))
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
            durable.answer(commit_error);
        }
    }
}

/// Word that a commit is durable (or why it may not be).
impl Answer for Reply<()> {
    fn answer(self: Box<Self>, commit_error: Option<&StoreError>) {
        let _ = self.send(commit_error.map_or(Ok(()), |e| Err(e.clone())));
    }
}

/// What a turn commit answered before its flush owes: that flush, within the wait for
/// deferred durability ([`SqliteOptions::start_flush_wait`](crate::SqliteOptions)), though no
/// caller waits for word of it. It bounds what a power loss can take of a sequence of such
/// turns to that wait's worth of steps.
pub(crate) struct FlushDue;

impl Answer for FlushDue {
    fn answer(self: Box<Self>, _commit_error: Option<&StoreError>) {}
}

pub(crate) fn job<T, F>(reply: Reply<T>, run: F) -> Box<Request<T, F>>
where
    T: Send + 'static,
    F: FnMut(&Connection, &LockTokens, bool) -> Result<T, StoreError> + Send + 'static,
{
    Box::new(Request {
        run,
        partly_failed: |_| false,
        hands_back: |_| false,
        outcome: None,
        reply,
        relaxed: false,
        durable: None,
    })
}

/// A job whose outcome is one result per part (turns, activity results).
pub(crate) fn parts_job<T, F>(
    reply: Reply<Vec<Result<T, StoreError>>>,
    run: F,
) -> Box<Request<Vec<Result<T, StoreError>>, F>>
where
    T: Send + 'static,
    F: FnMut(&Connection, &LockTokens, bool) -> Result<Vec<Result<T, StoreError>>, StoreError>
        + Send
        + 'static,
{
    Box::new(Request {
        run,
        partly_failed: |parts: &Vec<Result<T, StoreError>>| parts.iter().any(Result::is_err),
        hands_back: |_| false,
        outcome: None,
        reply,
        relaxed: false,
        durable: None,
    })
}

pub(crate) fn exec(conn: &Connection, sql: &str) -> Result<(), rusqlite::Error> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// Runs `f`, in a savepoint if `isolate`: released on success, rolled back on error. Runs
/// nothing if the batch's transaction is gone (SQLite rolled it back after an earlier error):
/// a statement outside a transaction would commit on its own.
pub(crate) fn savepoint<T>(
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

pub(crate) fn aborted(detail: &str) -> StoreError {
    StoreError::backend(
        format!("the SQLite transaction of this request was not committed: {detail}"),
        true,
    )
}

/// What running a batch came to.
pub(crate) enum Ran {
    /// Committed, or failed (those requests were answered); `jobs` are still to be answered,
    /// and `changed` says whether the commit changed the database.
    Committed {
        changed: bool,
        jobs: Vec<Box<dyn Job>>,
    },
    /// Ran in a transaction that stays open ([`Carried`](crate::carry::Carried)); `jobs` may be answered before the
    /// commit.
    Open(Vec<Box<dyn Job>>),
}

/// Runs a batch in one transaction, which stays open if `carry` and the batch may be carried
/// ([`may_carry`]).
pub(crate) fn run_jobs(
    conn: &Connection,
    tokens: &LockTokens,
    jobs: Vec<Box<dyn Job>>,
    counters: &Counters,
    carry: bool,
) -> Ran {
    match run_together(conn, tokens, jobs, counters, carry) {
        Ok(ran) => ran,
        Err(jobs) => {
            let (changed, jobs) = run_isolated(conn, tokens, jobs, counters);
            Ran::Committed { changed, jobs }
        }
    }
}

/// Runs the whole batch without savepoints and commits it if no request failed: a savepoint
/// copies every page a request touches into the statement journal, which was a fifth of the
/// writer's time. Gives the jobs back, everything rolled back, when a request failed or the
/// transaction could not be opened or committed, for [`run_isolated`] to sort out.
fn run_together(
    conn: &Connection,
    tokens: &LockTokens,
    mut jobs: Vec<Box<dyn Job>>,
    counters: &Counters,
    carry: bool,
) -> Result<Ran, Vec<Box<dyn Job>>> {
    if exec(conn, "BEGIN IMMEDIATE").is_err() {
        return Err(jobs);
    }
    let changes_before = conn.total_changes();
    let all_ran = jobs
        .iter_mut()
        .all(|job| !job.execute(conn, tokens, false) && !conn.is_autocommit());
    if all_ran && carry && may_carry(&jobs) {
        return Ok(Ran::Open(jobs));
    }
    if all_ran && exec(conn, "COMMIT").is_ok() {
        counters.batches.fetch_add(1, Ordering::Relaxed);
        let changed = conn.total_changes() != changes_before;
        return Ok(Ran::Committed { changed, jobs });
    }
    if !conn.is_autocommit() {
        let _ = exec(conn, "ROLLBACK");
    }
    Err(jobs)
}

/// Whether a batch that ran may stay uncommitted for the next: every reply may go out before
/// a flush, and one of them handed a turn back to this host.
fn may_carry(jobs: &[Box<dyn Job>]) -> bool {
    jobs.iter().all(|job| job.relaxed()) && jobs.iter().any(|job| job.hands_back_turn())
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
