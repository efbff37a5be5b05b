//! Rewind: run a failed execution again from just before the turn in which it failed.
//!
//! The failing turn is cut off the history. The failures delivered in it are what made the
//! instance fail, so the activities and sub-orchestrations behind them are dispatched again under
//! their original ids; every other message of that turn is delivered again. Failures that the code
//! handled in earlier turns (a retry loop, a `match`) stay in history, so replay still matches.

use chrono::{DateTime, Utc};

use crate::action::Action;
use crate::history::{EventKind, HistoryEvent, RuntimeStatus};

/// What the runtime commits to rewind an instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Rewind {
    /// The new history: everything before the failing turn plus an `ExecutionRewound` turn.
    pub history: Vec<HistoryEvent>,
    /// Work to dispatch again; it is already recorded in `history` under these ids.
    pub redo: Vec<Action>,
    /// Messages of the failing turn to deliver again.
    pub messages: Vec<HistoryEvent>,
}

/// Why an instance cannot be rewound.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RewindError {
    /// Only a failed execution can be rewound.
    #[error("only a failed instance can be rewound")]
    NotFailed,
}

/// Prepares the rewind of a failed execution's history.
pub fn rewind(
    history: &[HistoryEvent],
    reason: Option<String>,
    now: DateTime<Utc>,
) -> Result<Rewind, RewindError> {
    let failed_at = history
        .iter()
        .rposition(|e| {
            matches!(
                e.kind,
                EventKind::ExecutionCompleted {
                    orchestration_status: RuntimeStatus::Failed,
                    ..
                }
            )
        })
        .ok_or(RewindError::NotFailed)?;
    let turn_start = history[..failed_at]
        .iter()
        .rposition(|e| matches!(e.kind, EventKind::OrchestratorStarted))
        .unwrap_or(0);
    let (kept, failing_turn) = history.split_at(turn_start);
    let mut redo = Vec::new();
    let mut messages = Vec::new();
    for event in failing_turn {
        match &event.kind {
            EventKind::TaskFailed {
                task_scheduled_id, ..
            }
            | EventKind::SubOrchestrationInstanceFailed {
                task_scheduled_id, ..
            } => {
                let scheduled = kept.iter().find(|e| e.event_id == *task_scheduled_id);
                if let Some(action) = scheduled.and_then(redo_action) {
                    redo.push(action);
                }
            }
            EventKind::OrchestratorStarted
            | EventKind::OrchestratorCompleted
            | EventKind::ExecutionCompleted { .. } => {}
            kind if kind.is_scheduling() => {}
            _ => messages.push(event.clone()),
        }
    }
    let mut history = kept.to_vec();
    history.push(HistoryEvent::new(now, EventKind::OrchestratorStarted));
    history.push(HistoryEvent::new(
        now,
        EventKind::ExecutionRewound { reason },
    ));
    history.push(HistoryEvent::new(now, EventKind::OrchestratorCompleted));
    Ok(Rewind {
        history,
        redo,
        messages,
    })
}

fn redo_action(scheduled: &HistoryEvent) -> Option<Action> {
    match &scheduled.kind {
        EventKind::TaskScheduled { name, input } => Some(Action::ScheduleActivity {
            id: scheduled.event_id,
            name: name.clone(),
            input: input.clone(),
        }),
        EventKind::SubOrchestrationInstanceCreated {
            name,
            instance_id,
            input,
        } => Some(Action::StartSubOrchestration {
            id: scheduled.event_id,
            name: name.clone(),
            instance_id: instance_id.clone(),
            input: input.clone(),
            // History does not record a chosen version; the child takes the parent's.
            version: None,
        }),
        _ => None,
    }
}
