//! The workloads and the sizes, caps and repetitions of a run (defined in `bench/peers/README.md`,
//! implemented in `durafn_bench::workload` and `bench/peers/common.py`).

pub(crate) const WORKLOADS: [&str; 5] = ["w1", "w2", "w3", "w4", "w5"];

/// What a workload measures, for the report.
pub(crate) fn workload_title(w: &str) -> &'static str {
    match w {
        "w1" => "hello cities (5 sequential activities), throughput",
        "w2" => "fan-out/fan-in, one orchestration, time to complete",
        "w3" => "one-activity orchestration, start to completed, one at a time",
        "w4" => "one orchestration of sequential activities, time per step",
        _ => "instances waiting for an event, resident memory",
    }
}

/// Sizes, caps and repetitions of one mode.
pub(crate) struct Plan {
    pub(crate) smoke: bool,
    /// Runs of every workload on every system; the report gives their medians.
    pub(crate) runs: usize,
    pub(crate) sizes: [usize; 5],
    /// Seconds after which a worker stops waiting and reports what it has (see the README).
    pub(crate) deadlines: [u64; 5],
    /// Seconds after which a worker is killed.
    pub(crate) timeouts: [u64; 5],
}

/// Runs of a full comparison unless `--runs` says otherwise: medians of three.
pub(crate) const FULL_RUNS: usize = 3;

impl Plan {
    pub(crate) fn new(smoke: bool, runs: Option<usize>) -> Self {
        if smoke {
            Self {
                smoke,
                runs: runs.unwrap_or(1).max(1),
                sizes: [50, 20, 20, 50, 500],
                deadlines: [20, 20, 10, 20, 20],
                timeouts: [90, 60, 60, 60, 90],
            }
        } else {
            Self {
                smoke,
                runs: runs.unwrap_or(FULL_RUNS).max(1),
                sizes: [10_000, 1_000, 200, 5_000, 100_000],
                deadlines: [40, 60, 15, 30, 40],
                timeouts: [150, 120, 90, 90, 150],
            }
        }
    }

    pub(crate) fn index(w: &str) -> usize {
        WORKLOADS.iter().position(|x| *x == w).expect("a workload")
    }

    pub(crate) fn size(&self, w: &str) -> usize {
        self.sizes[Self::index(w)]
    }

    pub(crate) fn deadline(&self, w: &str) -> u64 {
        self.deadlines[Self::index(w)]
    }

    pub(crate) fn timeout(&self, w: &str) -> u64 {
        self.timeouts[Self::index(w)]
    }

    /// The name of the result files: `smoke` or `latest`.
    pub(crate) fn stem(&self) -> &'static str {
        if self.smoke { "smoke" } else { "latest" }
    }
}
