//! The writer thread: it owns the writing connection and applies requests in group commits.
//!
//! The thread blocks for a request, then takes every request already queued (up to the batch
//! limit) and runs them all in one `BEGIN IMMEDIATE … COMMIT` transaction; if one of them
//! fails, the batch runs again with each request in its own savepoint, so that the failing one
//! is rolled back alone. Replies are sent only after the
//! `COMMIT` succeeded; if it fails, every request of the batch gets a retryable error. Under
//! [`Durability::Fsync`](crate::Durability::Fsync) the replies of a batch that must survive a
//! power loss go to the [flusher](crate::flush) instead, which sends them once the commit is on
//! stable storage, and a batch of requests that may be answered before that which handed a turn
//! back to this host stays open for the turn's commit ([`crate::carry`]).

use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use durafn_core::InstanceId;
use durafn_store::{
    ActivityCompletion, ActivityId, ActivityWorkItem, Committed, Completed, FetchRequest,
    InstanceClaim, InstanceFilter, LockToken, NewInstance, NewMessage, OrchestrationWorkItem,
    StoreError, TurnCommit,
};
use rusqlite::Connection;

use durafn_store::kit::{self, LockTokens};

use crate::batch::{Counters, Job, Ran, Reply, job, parts_job, savepoint};
use crate::carry::{Carried, Owed, run_carried};
use crate::checkpoint;
use crate::flush::{self, Log, Unflushed};
use crate::ops;

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
    /// only the start's caller waits for that ([`Replies::AfterFlush`]). Turns that finish no
    /// instance go out at once as well: what they record is the next step of instances still
    /// running, which a power loss would have the instance take again from the step before, as
    /// after a crash of the host before the commit (its activities run again, at least once as
    /// always, and replay makes the same history). Nothing outside learns of such a turn but
    /// readers of the instance's status, and the turn that finishes the instance waits for a
    /// flush, which covers every commit before it. Their flush is still due within
    /// [`SqliteOptions::start_flush_wait`](crate::SqliteOptions::start_flush_wait), so a power
    /// loss takes at most that much of a long sequence's progress.
    fn may_skip_fsync(&self) -> bool {
        match self {
            WriteOp::CreateAndClaim(..)
            | WriteOp::FetchOrchestrations(..)
            | WriteOp::FetchActivities(..)
            | WriteOp::RenewActivityLeases { .. }
            | WriteOp::AbandonOrchestration { .. }
            | WriteOp::AbandonActivity { .. }
            | WriteOp::CompleteActivities(..) => true,
            WriteOp::CommitTurns(commits, _) => commits.iter().all(finishes_nothing),
            _ => false,
        }
    }

    /// The request as a job that can run more than once.
    fn into_job(self) -> Box<dyn Job> {
        let relaxed = self.may_skip_fsync();
        let owes_flush = matches!(self, WriteOp::CommitTurns(..));
        let mut job = self.into_request();
        if relaxed {
            job.relax();
            if owes_flush {
                job.owe_flush();
            }
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
                job.durable = Some(Box::new(durable));
                job.hands_back = Option::is_some;
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
            WriteOp::CompleteActivities(completions, r) => {
                let mut job = parts_job(r, move |c, tokens, iso| {
                    complete_activities(c, tokens, &completions, iso)
                });
                job.hands_back = |parts| {
                    parts
                        .iter()
                        .any(|part| matches!(part, Ok(Completed { turn: Some(_) })))
                };
                job
            }
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

/// Whether a turn's commit leaves its instance running (or makes no update at all).
fn finishes_nothing(commit: &TurnCommit) -> bool {
    commit
        .update
        .as_ref()
        .is_none_or(|update| !update.status.is_terminal())
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
        /// How long a transaction that handed a turn back stays open for the turn's commit
        /// ([`Carried`]); zero never carries.
        carry: Duration,
    },
}

impl Replies {
    /// Flushed replies, for a store that flushes its log before it answers.
    pub(crate) fn after_flush(
        flusher: Sender<Unflushed>,
        log: Log,
        wait: Duration,
        carry: Duration,
    ) -> Self {
        Replies::AfterFlush {
            flusher,
            log,
            deferred: Vec::new(),
            since: Instant::now(),
            wait,
            carry,
        }
    }

    /// How long a transaction may be carried: zero unless replies wait for flushes, since only
    /// then are there replies that may go out before their commit is durable.
    fn carry(&self) -> Duration {
        match self {
            Replies::AfterFlush { carry, .. } => *carry,
            Replies::AtCommit => Duration::ZERO,
        }
    }

    /// Owes what committed carried work owes of durability with the next flush (see
    /// [`run_carried`]), and tells the checkpointer of the commit.
    fn owe(&mut self, owed: Owed, checkpoints: &checkpoint::Signal) {
        let Some((words, committed)) = owed else {
            return;
        };
        checkpoints.committed();
        match self {
            Replies::AfterFlush {
                deferred, since, ..
            } => {
                if deferred.is_empty() || committed < *since {
                    *since = committed;
                }
                deferred.extend(words);
            }
            Replies::AtCommit => {
                for word in words {
                    word.answer(None);
                }
            }
        }
    }

    /// Flushes for the durability words still owed, if any (the store is closing).
    fn flush_deferred(&mut self, counters: &Counters) {
        if let Replies::AfterFlush { log, deferred, .. } = self
            && !deferred.is_empty()
        {
            flush::flush_and_answer(log, std::mem::take(deferred), &counters.flushes);
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
            ..
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

/// The writer thread's loop; returns when every sender is gone. After each commit that changed
/// something it signals the checkpointer (without waiting).
pub(crate) fn run(
    conn: Connection,
    requests: Receiver<WriteOp>,
    max_batch: usize,
    mut replies: Replies,
    counters: &Counters,
    checkpoints: checkpoint::Signal,
) {
    let tokens = LockTokens::unique();
    let max_batch = max_batch.max(1);
    let mut next = None;
    let mut open: Option<Carried> = None;
    loop {
        let first = match next.take() {
            Some(op) => op,
            None => {
                let received = match &open {
                    Some(carried) => carried.receive(&requests, replies.carry()),
                    None => replies
                        .receive(&requests, counters)
                        .ok_or(RecvTimeoutError::Disconnected),
                };
                match received {
                    Ok(op) => op,
                    Err(over) => {
                        // The carry is over (or the store closed): commit what it holds.
                        let owed = open.take().and_then(|c| c.commit(&conn, counters));
                        replies.owe(owed, &checkpoints);
                        if over == RecvTimeoutError::Disconnected {
                            replies.flush_deferred(counters);
                            break;
                        }
                        continue;
                    }
                }
            }
        };
        let mut batch = Vec::with_capacity(16);
        batch.push(first);
        while batch.len() < max_batch {
            match requests.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        counters
            .requests
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        let jobs = batch.into_iter().map(WriteOp::into_job).collect();
        let (ran, owed) = run_carried(&conn, &tokens, &mut open, jobs, replies.carry(), counters);
        replies.owe(owed, &checkpoints);
        if let Ran::Committed { changed, jobs } = ran {
            if changed {
                checkpoints.committed();
            }
            // Requests that only move leases or record activity results are answered
            // without a flush; the next flush makes them durable too.
            next = replies.send(jobs, &requests, counters);
        }
    }
    drop(conn);
}
