//! The invariants a run must keep, checked on what it left behind.

use std::collections::BTreeMap;

use std::sync::Arc;

use durafn_core::replay::{ReplayVerdict, replay_history};
use durafn_core::{
    EventKind, HistoryEvent, OrchestrationExecutor, Outcome, Payload, Registry, RuntimeStatus,
};
use serde_json::Value;

use crate::run::{MAX_DELIVERIES, RunRecord};
use crate::workload::{self, ACCOUNTS};

/// Every invariant the run broke, one line each (empty: the seed is clean).
pub fn check(record: &RunRecord, registry: &Arc<Registry>) -> Vec<String> {
    let mut failures = Vec::new();
    if !record.finished {
        failures.push(format!(
            "liveness: work was still unfinished {} h of virtual time after the start",
            crate::run::LIVENESS.as_secs() / 3600
        ));
    }
    failures.extend(record.observed.iter().cloned());
    let rows: BTreeMap<&str, _> = record
        .rows
        .iter()
        .map(|(row, history, work)| (row.instance_id.as_str(), (row, history, work)))
        .collect();

    // Every instance ends as the model (and so a fault-free run) says, with the same output.
    for (index, job) in record.jobs.iter().enumerate() {
        let id = record.job_id(index);
        let (status, output) = job.expected();
        if record.purged.contains(&id) {
            if rows.contains_key(id.as_str()) {
                failures.push(format!("{id}: purged, but its row is still there"));
            }
            continue;
        }
        let Some((row, _, _)) = rows.get(id.as_str()) else {
            failures.push(format!("{id}: its instance is missing"));
            continue;
        };
        let got = row.output.as_ref().and_then(|p| p.decode::<Value>().ok());
        if row.status.to_string() != status
            || (status == "Completed" && got.as_ref() != Some(&output))
        {
            failures.push(format!(
                "{id}: ended {} with output {} (failure {:?}); expected {status} with {output}",
                row.status,
                got.map_or("none".to_string(), |v| v.to_string()),
                row.failure.as_ref().map(|f| &f.message),
            ));
        }
    }

    for (id, (row, history, work)) in &rows {
        if id.starts_with('@') {
            let scheduler = durafn_core::Scheduler::from_row(Some(&row.input));
            if let Some(owner) = &scheduler.lock_owner {
                failures.push(format!("{id}: still locked by {owner} at the end"));
            }
            if !scheduler.queue.is_empty() {
                failures.push(format!(
                    "{id}: {} request(s) still wait for its lock",
                    scheduler.queue.len()
                ));
            }
            continue;
        }
        for problem in history_problems(history) {
            failures.push(format!("{id}: {problem}"));
        }
        // The history replays from scratch to the state the row records.
        if row.status.is_terminal() && row.status != RuntimeStatus::Terminated {
            let mut executor = OrchestrationExecutor::new(registry.clone());
            executor.replay(history);
            if executor.status() != row.status {
                failures.push(format!(
                    "{id}: its history replays to {}, the row says {}",
                    executor.status(),
                    row.status
                ));
            }
        }
        if record.finished && !row.status.is_terminal() {
            failures.push(format!("{id}: left {} at the end", row.status));
        }
        if row.status.is_terminal() && !work.activities.is_empty() {
            failures.push(format!(
                "{id}: finished with {} activity work item(s) still queued",
                work.activities.len()
            ));
        }
    }

    failures.extend(turn_problems(record, registry));

    // Entity state equals the fold of the operations acknowledged.
    let expected = workload::expected_balances(&record.jobs);
    for n in 0..ACCOUNTS {
        let id = workload::account(n).instance_id();
        let balance = rows
            .get(id.as_str())
            .and_then(|(row, _, _)| row.output.as_ref())
            .and_then(|p| p.decode::<i64>().ok())
            .unwrap_or(0);
        if balance != expected[n as usize] {
            failures.push(format!(
                "{id}: balance {balance}, but the operations acknowledged sum to {}",
                expected[n as usize]
            ));
        }
    }

    // Activities run at least once (their results are in history) and a bounded number of times.
    let bound = (MAX_DELIVERIES + 1) * 4;
    for (key, runs) in &record.executions {
        if *runs > bound {
            failures.push(format!("activity {key} ran {runs} times (bound {bound})"));
        }
    }
    failures
}

/// What is wrong with one execution's history: a task resolved twice, an event after the end,
/// a second start or end.
pub fn history_problems(history: &[HistoryEvent]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut scheduled = std::collections::BTreeSet::new();
    let mut resolved: BTreeMap<i64, u32> = BTreeMap::new();
    let (mut starts, mut ends) = (0, 0);
    for (i, event) in history.iter().enumerate() {
        if ends > 0 && !matches!(event.kind, EventKind::OrchestratorCompleted) {
            problems.push(format!(
                "event {i} ({}) after the execution ended",
                event.kind.type_name()
            ));
        }
        match &event.kind {
            EventKind::ExecutionStarted { .. } => starts += 1,
            EventKind::ExecutionCompleted { .. } | EventKind::ContinueAsNew { .. } => ends += 1,
            kind if kind.is_scheduling() && !scheduled.insert(event.event_id.0) => {
                problems.push(format!("task {} scheduled twice", event.event_id.0));
            }
            _ => {}
        }
        if let Some(id) = event.kind.answered_task().map(|t| t.0) {
            let n = resolved.entry(id).or_default();
            *n += 1;
            if *n == 2 {
                problems.push(format!(
                    "task {id} resolved twice ({} delivered again)",
                    event.kind.type_name()
                ));
            }
        }
    }
    if starts != 1 && !history.is_empty() {
        problems.push(format!("{starts} ExecutionStarted events"));
    }
    if ends > 1 {
        problems.push(format!("{ends} events end the execution"));
    }
    problems
}

/// The engine's double-run, under faults: the history each committed turn left replays from
/// scratch, in a fresh executor, without diverging, issuing nothing that history lacks and
/// ending as recorded (see [`replay_history`]), to the status, custom status and output the
/// turn wrote. Whatever the faults did to the host that ran the turn (a stale cache, a lease
/// lost mid-turn, a retried commit), what it committed must be what the code does.
pub fn turn_problems(record: &RunRecord, registry: &Arc<Registry>) -> Vec<String> {
    let mut failures = Vec::new();
    let mut turn_of: BTreeMap<&str, usize> = BTreeMap::new();
    for snapshot in &record.turns {
        let id = snapshot.instance_id.as_str();
        let turn = turn_of.entry(id).or_default();
        *turn += 1;
        let (history, update) = (&snapshot.history, &snapshot.update);
        let at = || {
            format!(
                "{id}: the history committed by turn {turn} ({} events)",
                history.len()
            )
        };
        if history.is_empty() {
            continue;
        }
        if let ReplayVerdict::Diverged(d) = replay_history(registry.clone(), history) {
            failures.push(format!("{} does not replay: {}", at(), d.message));
            continue;
        }
        // A client's terminate, suspend or resume sets the status without the code.
        if matches!(
            update.status,
            RuntimeStatus::Terminated | RuntimeStatus::Suspended | RuntimeStatus::Pending
        ) {
            continue;
        }
        let mut executor = OrchestrationExecutor::new(registry.clone());
        executor.replay(history);
        let decode = |p: Option<&Payload>| p.and_then(|p| p.decode::<Value>().ok());
        if executor.status() != update.status {
            failures.push(format!(
                "{} replays to {}, the turn wrote {}",
                at(),
                executor.status(),
                update.status
            ));
        } else if decode(executor.custom_status().as_ref()) != decode(update.custom_status.as_ref())
        {
            failures.push(format!(
                "{} replays to custom status {:?}, the turn wrote {:?}",
                at(),
                decode(executor.custom_status().as_ref()),
                decode(update.custom_status.as_ref())
            ));
        } else if update.status == RuntimeStatus::Completed {
            let output = match executor.outcome() {
                Some(Outcome::Completed(p)) => decode(Some(p)),
                _ => None,
            };
            if output != decode(update.output.as_ref()) {
                failures.push(format!(
                    "{} replays to output {output:?}, the turn wrote {:?}",
                    at(),
                    decode(update.output.as_ref())
                ));
            }
        }
    }
    failures
}
