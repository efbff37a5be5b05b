//! Counters the host exposes at `/metrics`; every metric name lives here.

use std::sync::atomic::{AtomicU64, Ordering};

/// Runtime counters, updated with relaxed atomics on the hot path.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Orchestration turns committed.
    pub turns: AtomicU64,
    /// Orchestration turns whose commit failed.
    pub turns_failed: AtomicU64,
    /// Activities that returned (success or failure) and were committed.
    pub activities: AtomicU64,
    /// Activities that returned an error.
    pub activities_failed: AtomicU64,
    /// Activity or instance work dead-lettered after too many deliveries.
    pub dead_lettered: AtomicU64,
    /// Turns served by a cached executor.
    pub cache_hits: AtomicU64,
    /// Turns that had to replay history.
    pub cache_misses: AtomicU64,
    /// Total microseconds spent running turns (code, not storage).
    pub turn_micros: AtomicU64,
    /// Total microseconds spent in activity functions.
    pub activity_micros: AtomicU64,
}

impl Metrics {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// A snapshot as (name, help, value) triples, for exporters.
    pub fn snapshot(&self) -> Vec<(&'static str, &'static str, u64)> {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        vec![
            (
                "durafn_turns_total",
                "Orchestration turns committed.",
                get(&self.turns),
            ),
            (
                "durafn_turns_failed_total",
                "Orchestration turns whose commit failed.",
                get(&self.turns_failed),
            ),
            (
                "durafn_activities_total",
                "Activity executions committed.",
                get(&self.activities),
            ),
            (
                "durafn_activities_failed_total",
                "Activity executions that returned an error.",
                get(&self.activities_failed),
            ),
            (
                "durafn_dead_lettered_total",
                "Work items dead-lettered after too many deliveries.",
                get(&self.dead_lettered),
            ),
            (
                "durafn_instance_cache_hits_total",
                "Turns served by a cached orchestration.",
                get(&self.cache_hits),
            ),
            (
                "durafn_instance_cache_misses_total",
                "Turns that replayed history.",
                get(&self.cache_misses),
            ),
            (
                "durafn_turn_seconds_total",
                "Time spent running orchestration code, in microseconds.",
                get(&self.turn_micros),
            ),
            (
                "durafn_activity_seconds_total",
                "Time spent in activity functions, in microseconds.",
                get(&self.activity_micros),
            ),
        ]
    }
}
