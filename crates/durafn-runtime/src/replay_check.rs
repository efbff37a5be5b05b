//! The pre-deploy replay check: every instance of a task hub that is still going, replayed
//! against a registry (the build about to be deployed), to learn before the deploy which of
//! them that build would break.
//!
//! It only reads: instances are listed a page at a time, each page's histories are read with
//! one store call, and each history is replayed in a fresh executor. Nothing is leased,
//! written or sent, so it runs beside live hosts without disturbing them.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use durafn_core::action::describe_recorded;
use durafn_core::replay::{ReplayVerdict, replay_history};
use durafn_core::{Divergence, Registry, RuntimeStatus};
use durafn_store::{InstanceFilter, Store, StoreError};

/// The statuses of instances that will run again, and so must still replay.
pub const LIVE_STATUSES: [RuntimeStatus; 4] = [
    RuntimeStatus::Pending,
    RuntimeStatus::Running,
    RuntimeStatus::Suspended,
    RuntimeStatus::ContinuedAsNew,
];

/// One checked instance.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedInstance {
    /// The instance.
    pub instance_id: String,
    /// Its orchestrator.
    pub name: String,
    /// The version it was started with.
    pub version: Option<String>,
    /// How many history events were replayed.
    pub history_len: usize,
    /// Whether it replays, and if not where it first diverges.
    pub verdict: ReplayVerdict,
}

/// One page of the check.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedPage {
    /// The instances of the page.
    pub instances: Vec<CheckedInstance>,
    /// Pass back for the next page; `None` after the last.
    pub continuation: Option<String>,
}

/// Checks one page of the live instances that `filter` selects (its statuses are replaced by
/// the live ones): one listing call and one history read for the whole page.
pub async fn check_page(
    store: &dyn Store,
    registry: &Arc<Registry>,
    filter: &InstanceFilter,
    page_size: usize,
    continuation: Option<&str>,
) -> Result<CheckedPage, StoreError> {
    let mut filter = filter.clone();
    filter.statuses = LIVE_STATUSES.to_vec();
    let page = store
        .list_instances(&filter, page_size.max(1), continuation)
        .await?;
    let rows: Vec<_> = page
        .instances
        .into_iter()
        .filter(|r| !r.instance_id.as_str().starts_with('@'))
        .collect();
    let ids: Vec<_> = rows.iter().map(|r| r.instance_id.clone()).collect();
    let histories = store.get_histories(&ids).await?;
    let instances = rows
        .into_iter()
        .zip(histories)
        .map(|(row, history)| {
            let verdict = if history.is_empty() {
                // Not started yet: nothing recorded can diverge, but the orchestrator must exist.
                not_started(registry, &row.name)
            } else {
                replay_history(registry.clone(), &history)
            };
            CheckedInstance {
                instance_id: row.instance_id.to_string(),
                name: row.name,
                version: row.version,
                history_len: history.len(),
                verdict,
            }
        })
        .collect();
    Ok(CheckedPage {
        instances,
        continuation: page.continuation,
    })
}

fn not_started(registry: &Registry, name: &str) -> ReplayVerdict {
    if registry.orchestrator(name).is_some() {
        return ReplayVerdict::Ok;
    }
    ReplayVerdict::Diverged(Box::new(Divergence {
        history_index: None,
        event_id: -1,
        recorded: None,
        issued: None,
        location: None,
        message: format!("orchestrator function '{name}' is not registered in this function app"),
    }))
}

/// Counts of one orchestrator and version.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupCounts {
    /// Instances that replay.
    pub ok: u64,
    /// Instances that would fail.
    pub failed: u64,
}

/// What the check found so far: counts by orchestrator and version, and every instance that
/// would fail with its first divergence.
#[derive(Debug, Clone, Default)]
pub struct CheckSummary {
    /// Instances checked.
    pub checked: u64,
    /// Of which replay.
    pub ok: u64,
    /// By (orchestrator, version).
    pub groups: BTreeMap<(String, String), GroupCounts>,
    /// The instances that would fail.
    pub failures: Vec<CheckedInstance>,
    /// How long the check has run.
    pub elapsed: Duration,
}

impl CheckSummary {
    /// Adds a checked page.
    pub fn add(&mut self, instances: Vec<CheckedInstance>) {
        for instance in instances {
            self.checked += 1;
            let group = self
                .groups
                .entry((
                    instance.name.clone(),
                    instance.version.clone().unwrap_or_default(),
                ))
                .or_default();
            if instance.verdict.is_ok() {
                self.ok += 1;
                group.ok += 1;
            } else {
                group.failed += 1;
                self.failures.push(instance);
            }
        }
    }

    /// Instances replayed per second so far.
    pub fn per_second(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.checked as f64 / secs
        } else {
            0.0
        }
    }

    /// The report operators read: the totals, a table by orchestrator and version, and the
    /// first divergence of each instance that would fail.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let failed = self.failures.len();
        let _ = writeln!(
            out,
            "replay-check: {} instances checked in {:.2}s ({:.0} instances/s): {} ok, {} would fail",
            self.checked,
            self.elapsed.as_secs_f64(),
            self.per_second(),
            self.ok,
            failed
        );
        if !self.groups.is_empty() {
            let width = self
                .groups
                .keys()
                .map(|(n, _)| n.len())
                .max()
                .unwrap_or(0)
                .max("ORCHESTRATOR".len());
            let vwidth = self
                .groups
                .keys()
                .map(|(_, v)| v.len())
                .max()
                .unwrap_or(0)
                .max("VERSION".len());
            let _ = writeln!(
                out,
                "\n{:width$}  {:vwidth$}  {:>8}  {:>10}",
                "ORCHESTRATOR", "VERSION", "OK", "WOULD FAIL"
            );
            for ((name, version), c) in &self.groups {
                let version = if version.is_empty() { "-" } else { version };
                let _ = writeln!(
                    out,
                    "{name:width$}  {version:vwidth$}  {:>8}  {:>10}",
                    c.ok, c.failed
                );
            }
        }
        if failed > 0 {
            let _ = writeln!(out, "\nWould fail:");
            for f in &self.failures {
                let _ = write!(out, "{}", render_failure(f));
            }
        }
        out
    }
}

/// One failing instance: its id, orchestrator and version, then the recorded event and the
/// new action side by side.
pub fn render_failure(f: &CheckedInstance) -> String {
    let mut out = String::new();
    let version = f.version.as_deref().unwrap_or("-");
    let _ = writeln!(out, "  {} ({} {version})", f.instance_id, f.name);
    if let Some(d) = f.verdict.divergence() {
        let at = d.history_index.map_or_else(
            || "at the end of history".to_string(),
            |i| format!("history index {i}"),
        );
        let recorded = d.recorded.as_ref().map_or_else(
            || "nothing".to_string(),
            |e| format!("{} ({})", describe_recorded(&e.kind), e.kind.type_name()),
        );
        let issued = d
            .issued
            .as_ref()
            .map_or_else(|| "nothing".to_string(), |a| a.describe());
        let _ = writeln!(out, "    {at}, step {}", d.event_id);
        let _ = writeln!(out, "    recorded:  {recorded}");
        let _ = write!(out, "    new code:  {issued}");
        if let Some(location) = &d.location {
            let _ = write!(out, " ({location})");
        }
        let _ = writeln!(out);
        let _ = writeln!(out, "    {}", d.message);
    }
    out
}

/// Checks every live instance of the hub, a page at a time, calling `progress` after each page
/// (for a progress line); returns the summary.
pub async fn check_hub(
    store: &dyn Store,
    registry: &Arc<Registry>,
    filter: &InstanceFilter,
    page_size: usize,
    mut progress: impl FnMut(&CheckSummary),
) -> Result<CheckSummary, StoreError> {
    let started = Instant::now();
    let mut summary = CheckSummary::default();
    let mut continuation: Option<String> = None;
    loop {
        let page = check_page(store, registry, filter, page_size, continuation.as_deref()).await?;
        summary.add(page.instances);
        summary.elapsed = started.elapsed();
        progress(&summary);
        match page.continuation {
            Some(next) => continuation = Some(next),
            None => break,
        }
    }
    Ok(summary)
}
