//! The results of a run: medians over the runs, partial and failed measurements, ratios to
//! durafn, written as a Markdown table, a CSV file and an SVG chart.

mod csv;
mod markdown;
mod svg;

use std::collections::BTreeMap;

use crate::format::{fmt_int, median};
use crate::plan::{Plan, WORKLOADS};
use crate::systems::System;

/// One measurement: one run of one workload on one system.
pub(crate) struct Record {
    pub(crate) run: usize,
    pub(crate) system: &'static System,
    pub(crate) workload: &'static str,
    pub(crate) size: usize,
    pub(crate) outcome: Result<BTreeMap<String, f64>, String>,
}

/// A reported number.
pub(crate) struct Metric {
    pub(crate) workload: &'static str,
    pub(crate) key: &'static str,
    pub(crate) header: &'static str,
    pub(crate) higher_is_better: bool,
}

const fn metric(
    workload: &'static str,
    key: &'static str,
    header: &'static str,
    higher_is_better: bool,
) -> Metric {
    Metric {
        workload,
        key,
        header,
        higher_is_better,
    }
}

pub(crate) const METRICS: &[Metric] = &[
    metric("w1", "per_sec", "W1 orch/s", true),
    metric("w2", "ms", "W2 ms", false),
    metric("w3", "p50_ms", "W3 p50 ms", false),
    metric("w3", "p99_ms", "W3 p99 ms", false),
    metric("w4", "first_ms", "W4 ms/step start", false),
    metric("w4", "last_ms", "W4 ms/step end", false),
    metric("w5", "worker_rss_mb", "W5 worker MB", false),
    metric(
        "w5",
        "worker_kb_per_instance",
        "W5 worker KB/instance",
        false,
    ),
    metric("w5", "server_rss_mb", "W5 server MB", false),
];

/// A median and how many runs it is the median of.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Median {
    pub(crate) value: f64,
    pub(crate) of: usize,
}

/// Everything a run produced, and what it could not run.
pub(crate) struct Report<'a> {
    pub(crate) plan: &'a Plan,
    pub(crate) records: &'a [Record],
    pub(crate) ran: Vec<&'static System>,
    pub(crate) skipped: Vec<(&'static System, String)>,
    pub(crate) started: chrono::DateTime<chrono::Utc>,
    pub(crate) load: String,
    pub(crate) commit: String,
}

impl Report<'_> {
    fn records_of<'r>(
        &'r self,
        system: &'r System,
        workload: &'r str,
    ) -> impl Iterator<Item = &'r Record> + 'r {
        self.records
            .iter()
            .filter(move |r| r.system.id == system.id && r.workload == workload)
    }

    /// A workload's number `key` in every run that produced it, by run.
    fn values(&self, system: &System, workload: &str, key: &str) -> Vec<(usize, f64)> {
        self.records_of(system, workload)
            .filter_map(|r| Some((r.run, *r.outcome.as_ref().ok()?.get(key)?)))
            .collect()
    }

    /// The median of a workload's number `key` over the runs that produced it.
    fn median_of(&self, system: &System, workload: &str, key: &str) -> Option<Median> {
        let values: Vec<f64> = self
            .values(system, workload, key)
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        let of = values.len();
        median(values).map(|value| Median { value, of })
    }

    /// The median of a metric over the runs that produced it.
    pub(crate) fn median(&self, system: &System, m: &Metric) -> Option<Median> {
        self.median_of(system, m.workload, m.key)
    }

    /// The first failure of a workload on a system.
    fn failure(&self, system: &System, workload: &str) -> Option<String> {
        self.records_of(system, workload)
            .find_map(|r| r.outcome.as_ref().err().cloned())
    }

    /// Notes on a partial measurement (capped by the deadline).
    fn partial(&self, system: &System, workload: &str) -> Option<String> {
        let size = self.plan.size(workload);
        let (key, what) = match workload {
            "w1" => ("completed", "instances completed"),
            "w3" => ("samples", "samples"),
            "w4" => ("steps", "steps run"),
            "w5" => ("reached", "instances parked"),
            _ => return None,
        };
        let least = self
            .records_of(system, workload)
            .filter_map(|r| r.outcome.as_ref().ok()?.get(key).copied())
            .fold(f64::INFINITY, f64::min);
        (least.is_finite() && (least as usize) < size).then(|| {
            format!(
                "{}: {} of {} {what} within the {} s cap (the fewest of the runs)",
                workload.to_uppercase(),
                fmt_int(least as usize),
                fmt_int(size),
                self.plan.deadline(workload)
            )
        })
    }

    /// durafn ÷ peer per run, median over the runs where both measured.
    fn ratio(&self, durafn: &System, peer: &System, m: &Metric) -> Option<f64> {
        let ours: BTreeMap<usize, f64> =
            self.values(durafn, m.workload, m.key).into_iter().collect();
        let ratios = self
            .values(peer, m.workload, m.key)
            .into_iter()
            .filter_map(|(run, theirs)| Some(ours.get(&run)? / theirs))
            .filter(|r| r.is_finite())
            .collect();
        median(ratios)
    }

    /// Every measurement that failed: its system, and `system workload run: error`.
    pub(crate) fn failures(&self) -> Vec<(&'static System, String)> {
        self.records
            .iter()
            .filter_map(|r| {
                let e = r.outcome.as_ref().err()?;
                let what = format!("{} {} run {}: {e}", r.system.id, r.workload, r.run);
                Some((r.system, what))
            })
            .collect()
    }

    /// All partial measurements, as `label, note`.
    fn partials(&self) -> Vec<String> {
        self.ran
            .iter()
            .flat_map(|s| {
                WORKLOADS
                    .iter()
                    .filter_map(|w| self.partial(s, w).map(|n| format!("{}, {n}", s.label)))
            })
            .collect()
    }

    /// The report as Markdown.
    pub(crate) fn markdown(&self) -> String {
        markdown::render(self)
    }

    /// Every number of every run, and the medians, as CSV.
    pub(crate) fn csv(&self) -> String {
        csv::render(self)
    }

    /// W1 and W3 as bar charts.
    pub(crate) fn svg(&self) -> String {
        svg::render(self)
    }
}
