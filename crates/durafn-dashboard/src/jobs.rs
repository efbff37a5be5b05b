//! The bulk jobs a host runs: their counters, read by the progress page while the job runs.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// How many finished jobs are remembered.
const KEEP: usize = 50;

/// A running or finished bulk job.
pub(crate) struct Job {
    /// `terminate` or `purge`.
    pub(crate) name: &'static str,
    /// `Terminated` or `Purged`.
    pub(crate) past: &'static str,
    pub(crate) back: String,
    pub(crate) total: AtomicU64,
    pub(crate) done: AtomicU64,
    pub(crate) skipped: AtomicU64,
    pub(crate) finished: AtomicBool,
    pub(crate) error: Mutex<Option<String>>,
}

/// The jobs of this host, by number.
#[derive(Default)]
pub(crate) struct Jobs {
    next: AtomicU64,
    jobs: Mutex<BTreeMap<u64, Arc<Job>>>,
}

impl Jobs {
    pub(crate) fn add(&self, job: Arc<Job>) -> u64 {
        let n = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let mut jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        jobs.insert(n, job);
        while jobs.len() > KEEP {
            let Some(oldest) = jobs
                .iter()
                .find(|(_, j)| j.finished.load(Ordering::Relaxed))
                .map(|(k, _)| *k)
            else {
                break;
            };
            jobs.remove(&oldest);
        }
        n
    }

    pub(crate) fn get(&self, n: u64) -> Option<Arc<Job>> {
        self.jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&n)
            .cloned()
    }
}
