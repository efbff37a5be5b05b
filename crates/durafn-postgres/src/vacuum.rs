//! Vacuuming the queue tables as work flows through them.
//!
//! Every step of an orchestration inserts and deletes rows of `messages`, `activities` and
//! `instance_locks` and updates `instances`; each leaves a dead row version behind until a
//! VACUUM removes it. Autovacuum visits a table at most once per `autovacuum_naptime` (a server
//! setting, a minute by default), so under steady work the tables and their indexes swell with
//! dead rows between visits, every fetch reads past them, and a long orchestration's steps got
//! slower the longer it ran (W4: 2.3 ms per step at the start, 3.1 ms after 5,000 steps). The
//! store therefore runs `VACUUM (ANALYZE, SKIP_LOCKED)` of those tables itself, on one of its
//! connections in the background, after every [`PostgresOptions::vacuum_every`] committed turns
//! and activity results: a few milliseconds on tables that hold only live work, never in a
//! caller's way, and skipped while another host vacuums the same table.
//!
//! [`PostgresOptions::vacuum_every`]: crate::PostgresOptions::vacuum_every

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::shared::Shared;

/// The tables one step of work churns.
const STATEMENT: &str =
    "VACUUM (ANALYZE, SKIP_LOCKED) messages, activities, instance_locks, instances";

/// Counts the work committed and starts a vacuum when enough has passed.
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

    /// Notes `items` committed turns or activity results; starts a vacuum in the background
    /// when `every` have passed since the last one and none is running.
    pub(crate) fn note(shared: &Arc<Shared>, items: usize) {
        let vacuum = &shared.vacuum;
        if vacuum.every == 0 || items == 0 {
            return;
        }
        let since = vacuum.since.fetch_add(items as u64, Ordering::Relaxed) + items as u64;
        if since < vacuum.every || vacuum.running.swap(true, Ordering::AcqRel) {
            return;
        }
        vacuum.since.store(0, Ordering::Relaxed);
        let shared = shared.clone();
        tokio::spawn(async move {
            match shared.pool.get().await {
                // The connections' search path is the task hub's schema.
                Ok(conn) => {
                    if let Err(e) = conn.client().batch_execute(STATEMENT).await {
                        tracing::debug!(error = %e, "vacuuming the queue tables failed");
                    }
                }
                Err(e) => tracing::debug!(error = %e, "no connection to vacuum with"),
            }
            shared.vacuum.running.store(false, Ordering::Release);
        });
    }
}
