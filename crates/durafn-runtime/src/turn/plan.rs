//! The planner: from a work item and what the load step resolved for it, the turn's commit and
//! its after-commit effects. Pure: no I/O, no clock (`now` is given), no randomness (ids come
//! from the injected generator).
//!
//! The rules: messages to a finished or unknown instance are only consumed (lock grants among
//! them are answered with unlocks), poison work fails the instance, a rewind rewrites a failed
//! execution's history, and an orchestration turn's actions and outcome become work items and
//! messages.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use durafn_core::rewind::rewind;
use durafn_core::{
    EventKind, ExecutionId, FailureDetails, HistoryEvent, OrchestrationExecutor, Outcome, Registry,
    RuntimeStatus, SystemFailure,
};
use durafn_store::{HistoryChange, InstanceRecord, NewMessage, OrchestrationWorkItem};

use super::effects::{PlannedTurn, consume_only, row_update};
use super::entity::plan_entity;
use super::kind::{Loaded, turn_messages};
use super::work::{Origin, add_work, report_to_parent, unlock_message};
use crate::ids::IdGen;
use crate::payload_limit::check_turn;
use crate::spans::turn::{Traced, stamp_start};

/// What the planner knows besides the item.
pub(crate) struct PlanContext<'a> {
    pub(crate) registry: &'a Arc<Registry>,
    pub(crate) ids: &'a dyn IdGen,
    pub(crate) max_deliveries: u32,
    pub(crate) version_reject_delay: std::time::Duration,
    pub(crate) now: DateTime<Utc>,
    /// Whether spans are collected (a span sink is set).
    pub(crate) tracing: bool,
    /// The payload limit (`RuntimeOptions::max_payload_bytes`).
    pub(crate) max_payload_bytes: usize,
}

/// Plans the turn of one work item.
pub(crate) fn plan(
    item: &OrchestrationWorkItem,
    loaded: Loaded,
    cx: &PlanContext<'_>,
) -> PlannedTurn {
    let row = item.instance.as_ref();
    match (loaded, row) {
        (Loaded::Entity { id, prepared }, _) => {
            plan_entity(cx.registry, item, id, prepared, cx.now, cx.ids)
        }
        (Loaded::Rewind { history, reason }, Some(row)) => {
            rewind_instance(item, row, &history, reason, cx)
        }
        (Loaded::Poisoned, Some(row)) => poisoned(item, row, cx),
        (Loaded::VersionRejected, Some(_)) => reject(item, cx),
        (Loaded::VersionFailed(reason), Some(row)) => {
            let failure = FailureDetails::system(
                SystemFailure::VersionMismatch,
                format!(
                    "instance '{}' was failed because this host may not run it: {reason}",
                    row.instance_id
                ),
            );
            fail_instance(item, row, failure, cx)
        }
        (
            Loaded::Turn {
                executor,
                cacheable,
            },
            Some(row),
        ) => orchestration_turn(item, row, executor, cacheable, cx),
        _ => release_orphan_locks(item, cx.now),
    }
}

fn orchestration_turn(
    item: &OrchestrationWorkItem,
    row: &InstanceRecord,
    mut executor: OrchestrationExecutor,
    cacheable: bool,
    cx: &PlanContext<'_>,
) -> PlannedTurn {
    let mut messages = turn_messages(item, row);
    if cx.tracing {
        stamp_start(&mut messages, cx.now);
    }
    let turn = executor.run_turn(messages, cx.now);
    if turn.new_events.is_empty() {
        return consume_only(item);
    }
    // A payload over the limit is never recorded: the turn is dropped with its executor (a
    // failed instance is not cached) and the instance fails in its place.
    if let Some(mut failure) = check_turn(
        &turn.new_events,
        turn.custom_status.as_ref(),
        cx.max_payload_bytes,
    ) {
        failure.message = format!(
            "orchestration '{}' (instance '{}') was failed: {}",
            row.name, row.instance_id, failure.message
        );
        return fail_instance(item, row, failure, cx);
    }
    let mut planned = consume_only(item);
    let traced = cx
        .tracing
        .then(|| Traced::of(&executor, row.created_at))
        .flatten();
    if let Some(traced) = &traced {
        planned.effects.spans = traced.turn_spans(
            &executor,
            &turn.new_events,
            &turn.finished_tasks,
            turn.outcome.as_ref(),
            cx.now,
        );
    }
    let me = &row.instance_id;
    let execution_id = row.execution_id.clone();
    let mut update = row_update(row, turn.status, cx.now);
    if !executor.name().is_empty() {
        update.name = executor.name().to_string();
    }
    update.custom_status = turn.custom_status.clone();
    planned.effects.retries = turn.retries;
    #[cfg(durafn_mutation)]
    if durafn_store::mutation::planted("stale_final_custom_status") && turn.outcome.is_some() {
        update.custom_status = row.custom_status.clone();
    }
    let c = &mut planned.commit;
    c.history = HistoryChange::Append(turn.new_events);
    let origin = Origin {
        instance_id: me,
        execution_id: &execution_id,
        name: &update.name,
        version: row.version.as_deref(),
        trace: traced.as_ref(),
    };
    add_work(c, turn.actions, &origin, cx.now, cx.ids);
    let mut finished = false;
    match turn.outcome {
        None => {
            if cacheable {
                planned.effects.keep = Some((execution_id, executor));
            }
        }
        Some(Outcome::ContinuedAsNew { input, carryover }) => {
            let next = ExecutionId::new(cx.ids.new_id());
            c.history = HistoryChange::Replace(Vec::new());
            update.execution_id = next.clone();
            update.input = input.clone();
            update.output = None;
            c.messages.push(NewMessage {
                instance_id: me.clone(),
                execution_id: Some(next.clone()),
                event: HistoryEvent::new(
                    cx.now,
                    EventKind::ExecutionStarted {
                        name: update.name.clone(),
                        instance_id: me.clone(),
                        execution_id: next.clone(),
                        input,
                        parent: executor.parent().cloned(),
                        version: row.version.clone(),
                        parent_trace_context: row.trace_context.clone(),
                    },
                ),
                visible_at: None,
            });
            c.messages
                .extend(carryover.into_iter().map(|event| NewMessage {
                    instance_id: me.clone(),
                    execution_id: Some(next.clone()),
                    event,
                    visible_at: None,
                }));
        }
        Some(outcome) => {
            finished = true;
            let (output, failure) = match &outcome {
                Outcome::Completed(output) | Outcome::Terminated(output) => {
                    (Some(output.clone()), None)
                }
                Outcome::Failed(failure) => (None, Some(failure.clone())),
                Outcome::ContinuedAsNew { .. } => (None, None),
            };
            planned.effects.ended = Some((
                update.name.clone(),
                (cx.now - row.created_at).as_seconds_f64(),
                failure
                    .as_ref()
                    .is_some_and(|f| f.is(SystemFailure::NonDeterminism)),
            ));
            update.output = output;
            update.failure = failure;
            if let Some(parent) = executor.parent() {
                c.messages.push(report_to_parent(parent, &outcome, cx.now));
            }
        }
    }
    c.update = Some(update);
    if finished {
        planned.finish(row);
    }
    planned.wake_for_new_work();
    planned
}

/// Consumes messages to a finished (or unknown) instance. A lock grant among them is answered by
/// releasing the locks, so entities never stay locked by an orchestration that ended.
fn release_orphan_locks(item: &OrchestrationWorkItem, now: DateTime<Utc>) -> PlannedTurn {
    let mut planned = consume_only(item);
    #[cfg(durafn_mutation)]
    if durafn_store::mutation::planted("keep_orphan_locks") {
        return planned;
    }
    for m in &item.messages {
        if let EventKind::EntityLockGranted { lock_set, .. } = &m.event.kind {
            for entity in lock_set {
                planned.commit.messages.push(unlock_message(
                    entity.clone(),
                    &item.instance_id,
                    now,
                ));
            }
        }
    }
    planned.wake_for_new_work();
    planned
}

/// Work delivered too often without a successful turn: fail the instance instead of looping.
fn poisoned(
    item: &OrchestrationWorkItem,
    row: &InstanceRecord,
    cx: &PlanContext<'_>,
) -> PlannedTurn {
    let deliveries = item
        .messages
        .iter()
        .map(|m| m.delivery)
        .max()
        .unwrap_or_default();
    let failure = FailureDetails::system(
        SystemFailure::PoisonMessage,
        format!(
            "instance '{}' was failed because its messages were delivered {deliveries} times without a successful turn (the limit is {}); the host may have crashed while running it",
            row.instance_id, cx.max_deliveries
        ),
    );
    let mut planned = fail_instance(item, row, failure, cx);
    planned.effects.dead_lettered = true;
    planned
}

/// Leaves an instance this host's version may not run for another host: its messages are
/// consumed and sent again, visible after the reject delay, in one commit. Sent again rather
/// than abandoned, so that rejections do not count as deliveries (the host that can run the
/// instance must not find it poisoned).
fn reject(item: &OrchestrationWorkItem, cx: &PlanContext<'_>) -> PlannedTurn {
    let mut planned = consume_only(item);
    let delay = chrono::TimeDelta::from_std(cx.version_reject_delay).unwrap_or_default();
    let at = cx.now + delay;
    planned
        .commit
        .messages
        .extend(item.messages.iter().map(|m| NewMessage {
            instance_id: item.instance_id.clone(),
            execution_id: m.execution_id.clone(),
            event: m.event.clone(),
            visible_at: Some(at),
        }));
    planned
}

/// Ends an instance with `failure`, without running its code, and tells its parent.
fn fail_instance(
    item: &OrchestrationWorkItem,
    row: &InstanceRecord,
    failure: FailureDetails,
    cx: &PlanContext<'_>,
) -> PlannedTurn {
    let mut planned = consume_only(item);
    let mut update = row_update(row, RuntimeStatus::Failed, cx.now);
    update.failure = Some(failure.clone());
    planned.commit.history = HistoryChange::Append(vec![
        HistoryEvent::new(cx.now, EventKind::OrchestratorStarted),
        HistoryEvent::new(
            cx.now,
            EventKind::ExecutionCompleted {
                orchestration_status: RuntimeStatus::Failed,
                result: None,
                failure_details: Some(failure.clone()),
            },
        ),
        HistoryEvent::new(cx.now, EventKind::OrchestratorCompleted),
    ]);
    planned.commit.update = Some(update);
    planned.finish(row);
    if let Some(parent) = &row.parent {
        planned
            .commit
            .messages
            .push(report_to_parent(parent, &Outcome::Failed(failure), cx.now));
    }
    planned.wake_for_new_work();
    planned
}

/// Rewinds a failed execution: its history without the failing turn, the failed work dispatched
/// again under its original ids, the turn's other messages delivered again.
fn rewind_instance(
    item: &OrchestrationWorkItem,
    row: &InstanceRecord,
    history: &[HistoryEvent],
    reason: Option<String>,
    cx: &PlanContext<'_>,
) -> PlannedTurn {
    let mut planned = consume_only(item);
    let Ok(rewound) = rewind(history, reason, cx.now) else {
        return planned;
    };
    let me = &row.instance_id;
    let c = &mut planned.commit;
    c.history = HistoryChange::Replace(rewound.history);
    let mut update = row_update(row, RuntimeStatus::Running, cx.now);
    update.failure = None;
    update.output = None;
    c.update = Some(update);
    let origin = Origin {
        instance_id: me,
        execution_id: &row.execution_id,
        name: &row.name,
        version: row.version.as_deref(),
        trace: None,
    };
    add_work(c, rewound.redo, &origin, cx.now, cx.ids);
    c.messages
        .extend(rewound.messages.into_iter().map(|event| NewMessage {
            instance_id: me.clone(),
            execution_id: Some(row.execution_id.clone()),
            event,
            visible_at: None,
        }));
    planned.wake_for_new_work();
    planned
}
