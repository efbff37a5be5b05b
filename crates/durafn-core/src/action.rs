//! Actions: the durable work a turn asks the runtime to perform.
//!
//! Every action is also recorded in history as a scheduling event with the action's sequence
//! number, and on replay the code's actions are checked against those events (kind and name).

use chrono::{DateTime, Utc};

use crate::history::{EventKind, HistoryEvent};
use crate::ids::{EventId, InstanceId};
use crate::payload::Payload;

/// Work for the runtime, produced by a turn.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Run an activity and report back with `TaskCompleted` or `TaskFailed`.
    ScheduleActivity {
        /// The action's sequence number.
        id: EventId,
        /// The activity function.
        name: String,
        /// Its input.
        input: Payload,
    },
    /// Deliver `TimerFired` at `fire_at`.
    CreateTimer {
        /// The action's sequence number.
        id: EventId,
        /// When.
        fire_at: DateTime<Utc>,
    },
    /// Start a child instance that reports back to this one.
    StartSubOrchestration {
        /// The action's sequence number.
        id: EventId,
        /// The orchestrator function.
        name: String,
        /// The child's instance id.
        instance_id: InstanceId,
        /// Its input.
        input: Payload,
    },
    /// Raise an event on another instance (one-way).
    SendEvent {
        /// The action's sequence number.
        id: EventId,
        /// The receiver.
        instance_id: InstanceId,
        /// The event name.
        name: String,
        /// The event data.
        input: Payload,
    },
}

impl Action {
    /// The action's sequence number.
    pub fn id(&self) -> EventId {
        match self {
            Action::ScheduleActivity { id, .. }
            | Action::CreateTimer { id, .. }
            | Action::StartSubOrchestration { id, .. }
            | Action::SendEvent { id, .. } => *id,
        }
    }

    /// The scheduling event that records this action in history.
    pub fn to_event(&self, now: DateTime<Utc>) -> HistoryEvent {
        let kind = match self.clone() {
            Action::ScheduleActivity { name, input, .. } => {
                EventKind::TaskScheduled { name, input }
            }
            Action::CreateTimer { fire_at, .. } => EventKind::TimerCreated { fire_at },
            Action::StartSubOrchestration {
                name,
                instance_id,
                input,
                ..
            } => EventKind::SubOrchestrationInstanceCreated {
                name,
                instance_id,
                input,
            },
            Action::SendEvent {
                instance_id,
                name,
                input,
                ..
            } => EventKind::EventSent {
                instance_id,
                name,
                input,
            },
        };
        HistoryEvent::scheduled(self.id(), now, kind)
    }

    /// A short description for error messages: "activity 'SayHello'", "timer", ….
    pub fn describe(&self) -> String {
        match self {
            Action::ScheduleActivity { name, .. } => format!("activity '{name}'"),
            Action::CreateTimer { .. } => "a timer".to_string(),
            Action::StartSubOrchestration { name, .. } => format!("sub-orchestration '{name}'"),
            Action::SendEvent {
                name, instance_id, ..
            } => format!("event '{name}' sent to '{instance_id}'"),
        }
    }

    /// Whether a recorded scheduling event is this action (same kind and same name).
    pub fn matches(&self, recorded: &EventKind) -> bool {
        match (self, recorded) {
            (Action::ScheduleActivity { name, .. }, EventKind::TaskScheduled { name: n, .. }) => {
                name == n
            }
            (Action::CreateTimer { .. }, EventKind::TimerCreated { .. }) => true,
            (
                Action::StartSubOrchestration { name, .. },
                EventKind::SubOrchestrationInstanceCreated { name: n, .. },
            ) => name == n,
            (Action::SendEvent { name, .. }, EventKind::EventSent { name: n, .. }) => name == n,
            _ => false,
        }
    }
}

/// Describes a recorded scheduling event the way [`Action::describe`] describes an action.
pub fn describe_recorded(kind: &EventKind) -> String {
    match kind {
        EventKind::TaskScheduled { name, .. } => format!("activity '{name}'"),
        EventKind::TimerCreated { .. } => "a timer".to_string(),
        EventKind::SubOrchestrationInstanceCreated { name, .. } => {
            format!("sub-orchestration '{name}'")
        }
        EventKind::EventSent {
            name, instance_id, ..
        } => format!("event '{name}' sent to '{instance_id}'"),
        other => other.type_name().to_string(),
    }
}
