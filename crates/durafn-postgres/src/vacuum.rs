//! Vacuuming the queue tables as work flows through them.
//!
//! Every step of an orchestration inserts and deletes rows of `messages`, `activities` and
//! `instance_locks` and updates `instances`; each leaves a dead row version behind until a
//! VACUUM removes it. Autovacuum visits a table at most once per `autovacuum_naptime` (a server
//! setting, a minute by default), so under steady work the tables and their indexes swell with
//! dead rows between visits, every fetch reads past them, and a long orchestration's steps got
//! slower the longer it ran (W4: 2.3 ms per step at the start, 3.1 ms after 5,000 steps). The
//! store therefore runs `VACUUM (ANALYZE, SKIP_LOCKED)` of those tables itself, on one of its
//! connections in the background (`vacuum_if_due` in the crate root), after every
//! [`PostgresOptions::vacuum_every`] committed turns and activity results: a few milliseconds
//! on tables that hold only live work, never in a caller's way, and skipped while another host
//! vacuums the same table.
//!
//! It never truncates (`TRUNCATE false`): the queue tables' trailing pages empty and fill again
//! all the time, and truncating them takes an `ACCESS EXCLUSIVE` lock, which a vacuum under
//! steady work waited for, retrying for up to seconds, while every fetch and commit that came
//! after it queued behind its lock request (W1: 0.8 s per vacuum, 60 ms without).
//!
//! [`PostgresOptions::vacuum_every`]: crate::PostgresOptions::vacuum_every

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The statement: the tables one step of work churns (the connections' search path is the
/// task hub's schema).
pub(crate) const STATEMENT: &str =
    "VACUUM (ANALYZE, SKIP_LOCKED, TRUNCATE false) messages, activities, instance_locks, instances";

/// Counts the work committed and says when a vacuum is due.
#[derive(Debug)]
pub(crate) struct Vacuum {
    every: u64,
    since: AtomicU64,
    running: AtomicBool,
}

impl Vacuum {
    /// Vacuums after every `every` committed items; 0 never.
    pub(crate) fn new(every: u64) -> Self {
        Self {
            every,
            since: AtomicU64::new(0),
            running: AtomicBool::new(false),
        }
    }

    /// Notes `items` committed turns or activity results; `true` when `every` have passed
    /// since the last vacuum and none is running, in which case the caller runs one and then
    /// calls [`Vacuum::finished`].
    pub(crate) fn due(&self, items: usize) -> bool {
        if self.every == 0 || items == 0 {
            return false;
        }
        let since = self.since.fetch_add(items as u64, Ordering::Relaxed) + items as u64;
        if since < self.every || self.running.swap(true, Ordering::AcqRel) {
            return false;
        }
        self.since.store(0, Ordering::Relaxed);
        true
    }

    /// The vacuum [`Vacuum::due`] asked for ended (or failed).
    pub(crate) fn finished(&self) {
        self.running.store(false, Ordering::Release);
    }
}
