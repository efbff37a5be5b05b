//! Every number of every run, then the median of each over the runs, as CSV.
//!
//! Columns: `run` (a number, or `median`), the system (`system`, `engine`, `backend`, `fsync`),
//! `in_flight` (client requests in flight in W1 and W5), `workload`, `size`, `metric`, `value`,
//! `runs` (for a median: how many runs it is the median of) and `error`.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::Report;
use crate::plan::WORKLOADS;
use crate::systems::{IN_FLIGHT, System};

fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "'"))
}

fn head(run: &str, s: &System, workload: &str, size: usize) -> String {
    format!(
        "{run},{},{:?},{:?},{},{IN_FLIGHT},{workload},{size}",
        s.id, s.engine, s.backend, s.fsync
    )
}

pub(super) fn render(r: &Report<'_>) -> String {
    let mut csv = String::from(
        "run,system,engine,backend,fsync,in_flight,workload,size,metric,value,runs,error\n",
    );
    for rec in r.records {
        let head = head(&rec.run.to_string(), rec.system, rec.workload, rec.size);
        match &rec.outcome {
            Ok(map) => {
                for (k, v) in map {
                    let _ = writeln!(csv, "{head},{k},{v},,");
                }
            }
            Err(e) => {
                let _ = writeln!(csv, "{head},,,,{}", quoted(e));
            }
        }
    }
    for s in &r.ran {
        for w in WORKLOADS {
            let head = head("median", s, w, r.plan.size(w));
            // Every key any run of this workload reported, in order.
            let keys: BTreeSet<&String> = r
                .records_of(s, w)
                .filter_map(|rec| rec.outcome.as_ref().ok())
                .flat_map(|map| map.keys())
                .collect();
            for key in keys {
                if let Some(m) = r.median_of(s, w, key) {
                    let _ = writeln!(csv, "{head},{key},{},{},", m.value, m.of);
                }
            }
        }
    }
    for (s, why) in &r.skipped {
        let head = head("median", s, "", 0);
        let _ = writeln!(csv, "{head},,,0,{}", quoted(&format!("not run: {why}")));
    }
    csv
}
