//! The runtime's metrics, which the host exports at `/metrics`; every metric name the runtime
//! reports lives here.
//!
//! Counters and histograms are updated with relaxed atomics on the hot path. Histograms have
//! fixed buckets (Prometheus' cumulative `le` buckets are derived when exporting), so an
//! observation is one bucket search and three atomic adds. Labels are bounded: the only label
//! values are the names of registered functions, and work for a name the app does not register
//! is counted under `other`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Bucket bounds for latencies, in seconds: 1 ms to 5 minutes.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// Bucket bounds for long-running work, in seconds: 10 ms to a day.
pub const LONG_BUCKETS: &[f64] = &[
    0.01, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 14400.0, 86400.0,
];

/// Bucket bounds for batch sizes.
pub const SIZE_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// A distribution of observations over fixed buckets.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    /// Per bucket (not cumulative); one more than `bounds` for `+Inf`.
    counts: Vec<AtomicU64>,
    /// The sum in millionths of the unit, so it can be an atomic integer.
    sum_micros: AtomicU64,
}

impl Histogram {
    /// An empty histogram over `bounds` (ascending).
    pub fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_micros: AtomicU64::new(0),
        }
    }

    /// Records one observation.
    pub fn observe(&self, value: f64) {
        let i = self.bounds.partition_point(|b| *b < value);
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add((value.max(0.0) * 1e6) as u64, Ordering::Relaxed);
    }

    /// Records a duration, in seconds.
    pub fn observe_duration(&self, d: Duration) {
        self.observe(d.as_secs_f64());
    }

    /// The cumulative buckets (`le` bound, count at or below it), ending with `+Inf`, the sum
    /// and the count, as Prometheus exposes a histogram.
    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut total = 0;
        let mut buckets = Vec::with_capacity(self.counts.len());
        for (i, c) in self.counts.iter().enumerate() {
            total += c.load(Ordering::Relaxed);
            buckets.push((self.bounds.get(i).copied().unwrap_or(f64::INFINITY), total));
        }
        HistogramSnapshot {
            buckets,
            sum: self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
            count: total,
        }
    }
}

/// A histogram as read at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    /// `(le, cumulative count)`, the last one `+Inf`.
    pub buckets: Vec<(f64, u64)>,
    /// The sum of the observations.
    pub sum: f64,
    /// How many there were.
    pub count: u64,
}

/// A labeled histogram family as read at one moment: its name, help, label name and the
/// histogram of each label value.
pub type LabeledSnapshot = (
    &'static str,
    &'static str,
    &'static str,
    Vec<(String, HistogramSnapshot)>,
);

/// Histograms by a bounded label value (a function name).
#[derive(Debug)]
pub struct Labeled {
    bounds: &'static [f64],
    by: Mutex<HashMap<String, Histogram>>,
}

impl Labeled {
    /// No histograms yet; each label's is made with `bounds` on its first observation.
    pub fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            by: Mutex::default(),
        }
    }

    /// Records `value` under `label`.
    pub fn observe(&self, label: &str, value: f64) {
        let mut by = self.by.lock().unwrap_or_else(PoisonError::into_inner);
        match by.get(label) {
            Some(h) => h.observe(value),
            None => {
                let h = Histogram::new(self.bounds);
                h.observe(value);
                by.insert(label.to_string(), h);
            }
        }
    }

    /// Every label's histogram, ordered by label.
    pub fn snapshot(&self) -> Vec<(String, HistogramSnapshot)> {
        let by = self.by.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out: Vec<_> = by.iter().map(|(k, h)| (k.clone(), h.snapshot())).collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

/// The label value for work of a function the app does not register.
pub const OTHER: &str = "other";

/// Runtime counters and histograms.
#[derive(Debug)]
pub struct Metrics {
    /// Orchestration turns committed.
    pub turns: AtomicU64,
    /// Orchestration turns whose commit failed.
    pub turns_failed: AtomicU64,
    /// Activities that returned (success or failure) and were committed.
    pub activities: AtomicU64,
    /// Activities that returned an error.
    pub activities_failed: AtomicU64,
    /// Activity attempts beyond the first delivery (a host crashed or gave the work back).
    pub activity_redeliveries: AtomicU64,
    /// Activities a turn's commit leased straight to this host, run without a fetch.
    pub activities_handed_off: AtomicU64,
    /// Turns an activity's recorded result leased straight to this host, run without a fetch.
    pub turns_handed_off: AtomicU64,
    /// Retries scheduled by retry policies (`call_activity_with_retry`,
    /// `call_sub_orchestrator_with_retry`) after a failed attempt.
    pub retries: AtomicU64,
    /// Activity or instance work dead-lettered after too many deliveries.
    pub dead_lettered: AtomicU64,
    /// Executions failed because the code did not match its history.
    pub nondeterminism: AtomicU64,
    /// Turns served by a cached executor.
    pub cache_hits: AtomicU64,
    /// Turns that had to replay history (each a replay).
    pub cache_misses: AtomicU64,
    /// Total microseconds spent running turns (code, not storage).
    pub turn_micros: AtomicU64,
    /// Total microseconds spent in activity functions.
    pub activity_micros: AtomicU64,
    /// Time to plan one turn (running the orchestrator's code), in seconds.
    pub turn_seconds: Histogram,
    /// Time of one group commit of a batch of turns, in seconds.
    pub commit_seconds: Histogram,
    /// Turns per group commit.
    pub commit_batch_size: Histogram,
    /// Time in activity functions per attempt, by activity name.
    pub activity_seconds: Labeled,
    /// From creation to the end of an orchestration, by orchestrator name.
    pub orchestration_seconds: Labeled,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            turns: AtomicU64::new(0),
            turns_failed: AtomicU64::new(0),
            activities: AtomicU64::new(0),
            activities_failed: AtomicU64::new(0),
            activity_redeliveries: AtomicU64::new(0),
            activities_handed_off: AtomicU64::new(0),
            turns_handed_off: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            dead_lettered: AtomicU64::new(0),
            nondeterminism: AtomicU64::new(0),
            cache_hits: AtomicU64::new(0),
            cache_misses: AtomicU64::new(0),
            turn_micros: AtomicU64::new(0),
            activity_micros: AtomicU64::new(0),
            turn_seconds: Histogram::new(LATENCY_BUCKETS),
            commit_seconds: Histogram::new(LATENCY_BUCKETS),
            commit_batch_size: Histogram::new(SIZE_BUCKETS),
            activity_seconds: Labeled::new(LATENCY_BUCKETS),
            orchestration_seconds: Labeled::new(LONG_BUCKETS),
        }
    }
}

impl Metrics {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// The counters as (name, help, value) triples, for exporters.
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
                "durafn_activity_redeliveries_total",
                "Activity attempts beyond the first delivery (after a crash or a lost lease).",
                get(&self.activity_redeliveries),
            ),
            (
                "durafn_activities_handed_off_total",
                "Activities a turn's commit leased straight to this host, run without a fetch.",
                get(&self.activities_handed_off),
            ),
            (
                "durafn_turns_handed_off_total",
                "Turns an activity's recorded result leased straight to this host, run without a fetch.",
                get(&self.turns_handed_off),
            ),
            (
                "durafn_retries_total",
                "Retries scheduled by retry policies after a failed activity or sub-orchestration.",
                get(&self.retries),
            ),
            (
                "durafn_dead_lettered_total",
                "Work items dead-lettered after too many deliveries.",
                get(&self.dead_lettered),
            ),
            (
                "durafn_nondeterminism_failures_total",
                "Executions failed because the code did not match its history.",
                get(&self.nondeterminism),
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
                "durafn_replays_total",
                "Histories replayed to rebuild an orchestration (cache misses).",
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

    /// The unlabeled histograms as (name, help, snapshot).
    pub fn histograms(&self) -> Vec<(&'static str, &'static str, HistogramSnapshot)> {
        vec![
            (
                "durafn_turn_duration_seconds",
                "Time to run one orchestration turn's code.",
                self.turn_seconds.snapshot(),
            ),
            (
                "durafn_commit_duration_seconds",
                "Time of one group commit of a batch of turns.",
                self.commit_seconds.snapshot(),
            ),
            (
                "durafn_commit_batch_size",
                "Turns per group commit.",
                self.commit_batch_size.snapshot(),
            ),
        ]
    }

    /// The labeled histograms as (name, help, label name, snapshots by label value).
    pub fn labeled_histograms(&self) -> Vec<LabeledSnapshot> {
        vec![
            (
                "durafn_activity_duration_seconds",
                "Time in an activity function per attempt.",
                "activity",
                self.activity_seconds.snapshot(),
            ),
            (
                "durafn_orchestration_duration_seconds",
                "From an orchestration's creation to its end.",
                "orchestration",
                self.orchestration_seconds.snapshot(),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_end_with_infinity() {
        let h = Histogram::new(&[1.0, 2.0]);
        for v in [0.5, 1.0, 1.5, 3.0] {
            h.observe(v);
        }
        let s = h.snapshot();
        assert_eq!(s.buckets, vec![(1.0, 2), (2.0, 3), (f64::INFINITY, 4)]);
        assert_eq!((s.count, s.sum), (4, 6.0));
    }
}
