//! Carrying a transaction: leaving it open after a batch that handed a turn back to this
//! host, so that the turn's commit joins it.

use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use durafn_store::kit::LockTokens;
use rusqlite::Connection;

use crate::batch::{Counters, Job, Ran, aborted, exec, run_jobs};
use crate::flush::Unflushed;

/// A transaction left open after a batch that handed a turn back to this host, so that the
/// turn's commit joins it: a sequential step (an activity's result, then the turn it
/// triggers) is one commit instead of two. The two touch nearly the same pages (the result's
/// message is inserted and consumed, the activity deleted and the next one inserted, the
/// instance leased and released), so the log gets each page once instead of twice.
///
/// Only requests whose replies may go out before a flush are carried, and they are answered
/// at once, before their commit. That widens what they may lose: besides a power loss, a
/// process crash within the carry also undoes them (a result is recorded again when the
/// activity runs again, a lease is taken again), which their at-least-once contract allows.
/// Word of a carried start's durability ([`Job::take_durable`]) is still given only after the
/// commit is flushed. A request that must survive a power loss ends the carry: its batch
/// commits together with the carried work, and its reply waits for the flush, as always.
pub(crate) struct Carried {
    /// When the transaction was left open.
    since: Instant,
    /// Word of durability the carried requests still owe, once committed and flushed.
    words: Unflushed,
}

impl Carried {
    pub(crate) fn new() -> Self {
        Self {
            since: Instant::now(),
            words: Vec::new(),
        }
    }

    /// Answers requests that ran in the open transaction, keeping what they owe of durability.
    pub(crate) fn answer(&mut self, jobs: Vec<Box<dyn Job>>) {
        for mut job in jobs {
            if let Some(word) = job.take_durable() {
                self.words.push(word);
            }
            job.answer(None);
        }
    }

    /// The next request, if one comes before the carry is over.
    pub(crate) fn receive<T>(
        &self,
        requests: &Receiver<T>,
        carry: Duration,
    ) -> Result<T, RecvTimeoutError> {
        let left = (self.since + carry).saturating_duration_since(Instant::now());
        requests.recv_timeout(left)
    }

    /// Commits the carried work; returns the durability words to give after the next flush,
    /// or answers them with the error if the commit failed.
    pub(crate) fn commit(self, conn: &Connection, counters: &Counters) -> Owed {
        match exec(conn, "COMMIT") {
            Ok(()) => {
                counters.batches.fetch_add(1, Ordering::Relaxed);
                Some((self.words, self.since))
            }
            Err(e) => {
                self.fail(conn, counters, &format!("COMMIT failed: {e}"));
                None
            }
        }
    }

    /// Rolls the carried work back (if SQLite has not) and tells the starts it carried.
    fn fail(self, conn: &Connection, counters: &Counters, detail: &str) {
        if !conn.is_autocommit() {
            let _ = exec(conn, "ROLLBACK");
        }
        counters.failed_batches.fetch_add(1, Ordering::Relaxed);
        let e = aborted(detail);
        for word in self.words {
            word.answer(Some(&e));
        }
    }
}

/// Durability words of committed carried work, owed with the next flush, and when the oldest
/// of it was answered.
pub(crate) type Owed = Option<(Unflushed, Instant)>;

/// Runs a batch, inside the carried transaction if one is `open`, there in a savepoint so that
/// a request that fails rolls back only its own batch. The transaction stays open if the batch
/// may wait for a flush too and the carry (at most `carry` long) is not over; otherwise it
/// commits, the carried work with it. If the batch fails, the carried work commits alone and
/// the batch runs on its own. A batch left open is answered here ([`Ran::Open`] then holds
/// nothing). Returns what the carried work owes once it is committed, to be owed before the
/// batch's own replies are sent, so that their flush covers it.
pub(crate) fn run_carried(
    conn: &Connection,
    tokens: &LockTokens,
    open: &mut Option<Carried>,
    mut jobs: Vec<Box<dyn Job>>,
    carry: Duration,
    counters: &Counters,
) -> (Ran, Owed) {
    let carrying = !carry.is_zero();
    // A batch that runs on its own may leave a carry open, which then answers it.
    let alone = |open: &mut Option<Carried>, jobs| {
        let ran = run_jobs(conn, tokens, jobs, counters, carrying);
        match ran {
            Ran::Open(jobs) => {
                open.insert(Carried::new()).answer(jobs);
                Ran::Open(Vec::new())
            }
            committed => committed,
        }
    };
    let Some(mut carried) = open.take() else {
        return (alone(open, jobs), None);
    };
    let extended = exec(conn, "SAVEPOINT carried").is_ok()
        && jobs
            .iter_mut()
            .all(|job| !job.execute(conn, tokens, false) && !conn.is_autocommit());
    if conn.is_autocommit() {
        carried.fail(conn, counters, "the transaction was rolled back by SQLite");
        return (alone(open, jobs), None);
    }
    if !(extended && exec(conn, "RELEASE carried").is_ok()) {
        let _ = exec(conn, "ROLLBACK TO carried");
        let _ = exec(conn, "RELEASE carried");
        let owed = carried.commit(conn, counters);
        return (alone(open, jobs), owed);
    }
    if jobs.iter().all(|job| job.relaxed()) && carried.since.elapsed() < carry {
        carried.answer(jobs);
        *open = Some(carried);
        return (Ran::Open(Vec::new()), None);
    }
    match carried.commit(conn, counters) {
        Some(owed) => (
            Ran::Committed {
                changed: true,
                jobs,
            },
            Some(owed),
        ),
        None => {
            let e = aborted("the COMMIT of the batch failed");
            for job in jobs {
                job.answer(Some(&e));
            }
            (
                Ran::Committed {
                    changed: false,
                    jobs: Vec::new(),
                },
                None,
            )
        }
    }
}
