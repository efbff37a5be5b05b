//! How an execution ends: its outcome, the event that records it in history and the outcome
//! read back from that event, and the failure a panic becomes.

use crate::failure::{FailureDetails, SystemFailure};
use crate::history::{EventKind, HistoryEvent, RuntimeStatus};
use crate::payload::Payload;

/// How an execution ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The orchestrator returned this output.
    Completed(Payload),
    /// The orchestrator failed (an error, a panic, non-determinism or an unknown name).
    Failed(FailureDetails),
    /// An operator terminated it with this reason.
    Terminated(Payload),
    /// It asked to start over; the runtime begins a new execution with this input and these
    /// carried-over `EventRaised` events.
    ContinuedAsNew {
        /// The next execution's input.
        input: Payload,
        /// Unconsumed events kept for the next execution (empty unless asked to keep them).
        carryover: Vec<HistoryEvent>,
    },
}

impl Outcome {
    /// The runtime status this outcome leaves the instance in.
    pub fn status(&self) -> RuntimeStatus {
        match self {
            Outcome::Completed(_) => RuntimeStatus::Completed,
            Outcome::Failed(_) => RuntimeStatus::Failed,
            Outcome::Terminated(_) => RuntimeStatus::Terminated,
            Outcome::ContinuedAsNew { .. } => RuntimeStatus::ContinuedAsNew,
        }
    }
}

pub(super) fn end_event(outcome: &Outcome) -> EventKind {
    match outcome {
        Outcome::Completed(output) => EventKind::ExecutionCompleted {
            orchestration_status: RuntimeStatus::Completed,
            result: Some(output.clone()),
            failure_details: None,
        },
        Outcome::Failed(failure) => EventKind::ExecutionCompleted {
            orchestration_status: RuntimeStatus::Failed,
            result: None,
            failure_details: Some(failure.clone()),
        },
        Outcome::Terminated(reason) => EventKind::ExecutionCompleted {
            orchestration_status: RuntimeStatus::Terminated,
            result: Some(reason.clone()),
            failure_details: None,
        },
        Outcome::ContinuedAsNew { input, .. } => EventKind::ContinueAsNew {
            input: input.clone(),
        },
    }
}

pub(super) fn recorded_outcome(kind: &EventKind) -> Outcome {
    match kind {
        EventKind::ExecutionCompleted {
            orchestration_status: RuntimeStatus::Failed,
            failure_details,
            ..
        } => Outcome::Failed(
            failure_details
                .clone()
                .unwrap_or_else(|| FailureDetails::new("Error", "failed")),
        ),
        EventKind::ExecutionCompleted {
            orchestration_status: RuntimeStatus::Terminated,
            result,
            ..
        } => Outcome::Terminated(result.clone().unwrap_or_default()),
        EventKind::ExecutionCompleted { result, .. } => {
            Outcome::Completed(result.clone().unwrap_or_default())
        }
        EventKind::ContinueAsNew { input } => Outcome::ContinuedAsNew {
            input: input.clone(),
            carryover: Vec::new(),
        },
        _ => Outcome::Completed(Payload::null()),
    }
}

pub(super) fn panicked(name: &str, panic: Box<dyn std::any::Any + Send>) -> FailureDetails {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic payload".to_string());
    FailureDetails::system(
        SystemFailure::OrchestratorPanicked,
        format!("orchestrator '{name}' panicked: {message}"),
    )
}
