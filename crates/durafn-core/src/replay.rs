//! Replaying a recorded history against a registry, to learn whether the code still does what
//! the history records: the question a replay test and a pre-deploy check ask of every
//! history. Pure: the history comes in, a verdict goes out, nothing is sent anywhere.
//!
//! A history replays clean when the code makes the same durable calls in the same order
//! (what the runtime checks on every replay), does not schedule anything in a turn history
//! records as finished, and ends where and how history says it ended. The first place where
//! one of these fails is the divergence.

use std::sync::Arc;

use crate::action::describe_recorded;
use crate::engine::{Divergence, OrchestrationExecutor, Outcome};
use crate::failure::SystemFailure;
use crate::history::{EventKind, HistoryEvent, RuntimeStatus};
use crate::registry::Registry;

/// The result of replaying one history.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplayVerdict {
    /// The code replays the history exactly.
    Ok,
    /// The code no longer does what the history records.
    Diverged(Box<Divergence>),
}

impl ReplayVerdict {
    /// Whether the history replayed clean.
    pub fn is_ok(&self) -> bool {
        matches!(self, ReplayVerdict::Ok)
    }

    /// The divergence, if any.
    pub fn divergence(&self) -> Option<&Divergence> {
        match self {
            ReplayVerdict::Ok => None,
            ReplayVerdict::Diverged(d) => Some(d),
        }
    }
}

/// Replays `history` (one execution: from its `ExecutionStarted` on) with the orchestrators of
/// `registry`, in a fresh executor, and says whether the code still matches it.
pub fn replay_history(registry: Arc<Registry>, history: &[HistoryEvent]) -> ReplayVerdict {
    let Some(name) = history.iter().find_map(|e| match &e.kind {
        EventKind::ExecutionStarted { name, .. } => Some(name.clone()),
        _ => None,
    }) else {
        return diverged(
            None,
            None,
            "the history has no ExecutionStarted event, so there is nothing to replay".into(),
        );
    };
    if registry.orchestrator(&name).is_none() {
        return diverged(
            Some(0),
            history.first().cloned(),
            format!("orchestrator function '{name}' is not registered in this function app"),
        );
    }
    let mut executor = OrchestrationExecutor::new(registry);
    executor.replay(history);
    if let Some(divergence) = executor.divergence() {
        return ReplayVerdict::Diverged(Box::new(divergence.clone()));
    }
    let recorded_end = history.iter().rposition(|e| {
        matches!(
            e.kind,
            EventKind::ExecutionCompleted { .. }
                | EventKind::ContinueAsNew { .. }
                | EventKind::ExecutionTerminated { .. }
        )
    });
    // Actions the code issued during replay that history does not record: in a stored history
    // every turn is finished, so the old code did not make these calls where the new code does.
    if let Some((action, location)) = executor.unmatched_actions().into_iter().next() {
        if recorded_end.is_none() {
            let message = format!(
                "non-deterministic orchestration '{name}': the code now schedules {} (step {}), which history does not record in the turn that ran that code",
                action.describe(),
                action.id()
            );
            return ReplayVerdict::Diverged(Box::new(Divergence {
                history_index: None,
                event_id: action.id().0,
                recorded: None,
                issued: Some(action),
                location,
                message,
            }));
        }
    }
    match (executor.outcome(), recorded_end) {
        (Some(outcome), None) => {
            let message = match outcome {
                Outcome::Failed(f) if f.is(SystemFailure::OrchestratorPanicked) => {
                    format!(
                        "the code now panics where history records the execution going on: {}",
                        f.message
                    )
                }
                Outcome::Failed(f) => format!(
                    "the code now fails where history records the execution going on: {}",
                    f.message
                ),
                Outcome::Terminated(_) => return ReplayVerdict::Ok,
                other => format!(
                    "the code now ends the execution ({}) where history records it going on",
                    other.status().as_str()
                ),
            };
            diverged(None, None, format!("orchestration '{name}': {message}"))
        }
        (Some(outcome), Some(index)) => {
            let recorded = recorded_status(&history[index].kind);
            if recorded == outcome.status() {
                return ReplayVerdict::Ok;
            }
            diverged(
                Some(index),
                Some(history[index].clone()),
                format!(
                    "orchestration '{name}': history records {} ({}), but the code now ends {}",
                    describe_recorded(&history[index].kind),
                    recorded.as_str(),
                    outcome.status().as_str()
                ),
            )
        }
        _ => ReplayVerdict::Ok,
    }
}

fn recorded_status(kind: &EventKind) -> RuntimeStatus {
    match kind {
        EventKind::ExecutionCompleted {
            orchestration_status,
            ..
        } => *orchestration_status,
        EventKind::ContinueAsNew { .. } => RuntimeStatus::ContinuedAsNew,
        _ => RuntimeStatus::Terminated,
    }
}

fn diverged(
    history_index: Option<usize>,
    recorded: Option<HistoryEvent>,
    message: String,
) -> ReplayVerdict {
    ReplayVerdict::Diverged(Box::new(Divergence {
        history_index,
        event_id: recorded.as_ref().map_or(-1, |e| e.event_id.0),
        recorded,
        issued: None,
        location: None,
        message,
    }))
}
