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
        /// Its version when the code chose one; `None` inherits the parent's.
        version: Option<String>,
    },
    /// Call an entity operation and report back with `EntityOperationCompleted` or `…Failed`.
    CallEntity {
        /// The action's sequence number.
        id: EventId,
        /// The entity's instance id.
        entity: InstanceId,
        /// The operation.
        operation: String,
        /// Its input.
        input: Payload,
    },
    /// Signal an entity (one-way), now or at a time.
    SignalEntity {
        /// The action's sequence number.
        id: EventId,
        /// The entity's instance id.
        entity: InstanceId,
        /// The operation.
        operation: String,
        /// Its input.
        input: Payload,
        /// Not delivered before this time.
        at: Option<DateTime<Utc>>,
    },
    /// Lock entities in order and report back with `EntityLockGranted`.
    LockEntities {
        /// The action's sequence number.
        id: EventId,
        /// The entities, sorted.
        lock_set: Vec<InstanceId>,
    },
    /// Release the lock on an entity.
    UnlockEntity {
        /// The action's sequence number.
        id: EventId,
        /// The entity's instance id.
        entity: InstanceId,
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
            | Action::SendEvent { id, .. }
            | Action::CallEntity { id, .. }
            | Action::SignalEntity { id, .. }
            | Action::LockEntities { id, .. }
            | Action::UnlockEntity { id, .. } => *id,
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
            Action::CallEntity {
                entity,
                operation,
                input,
                ..
            } => EventKind::EntityOperationCalled {
                instance_id: entity,
                operation,
                input,
            },
            Action::SignalEntity {
                entity,
                operation,
                input,
                at,
                ..
            } => EventKind::EntityOperationSignaled {
                instance_id: entity,
                operation,
                input,
                scheduled_time: at,
            },
            Action::LockEntities { lock_set, .. } => EventKind::EntityLockRequested { lock_set },
            Action::UnlockEntity { entity, .. } => EventKind::EntityUnlockSent {
                instance_id: entity,
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
            Action::CallEntity {
                entity, operation, ..
            } => format!("call of operation '{operation}' on entity '{entity}'"),
            Action::SignalEntity {
                entity, operation, ..
            } => format!("signal of operation '{operation}' to entity '{entity}'"),
            Action::LockEntities { .. } => "an entity lock request".to_string(),
            Action::UnlockEntity { entity, .. } => format!("the release of entity '{entity}'"),
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
            (
                Action::CallEntity {
                    entity, operation, ..
                },
                EventKind::EntityOperationCalled {
                    instance_id,
                    operation: o,
                    ..
                },
            )
            | (
                Action::SignalEntity {
                    entity, operation, ..
                },
                EventKind::EntityOperationSignaled {
                    instance_id,
                    operation: o,
                    ..
                },
            ) => entity == instance_id && operation == o,
            (
                Action::LockEntities { lock_set, .. },
                EventKind::EntityLockRequested { lock_set: l },
            ) => lock_set == l,
            (Action::UnlockEntity { entity, .. }, EventKind::EntityUnlockSent { instance_id }) => {
                entity == instance_id
            }
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
        EventKind::EntityOperationCalled {
            instance_id,
            operation,
            ..
        } => format!("call of operation '{operation}' on entity '{instance_id}'"),
        EventKind::EntityOperationSignaled {
            instance_id,
            operation,
            ..
        } => format!("signal of operation '{operation}' to entity '{instance_id}'"),
        EventKind::EntityLockRequested { .. } => "an entity lock request".to_string(),
        EventKind::EntityUnlockSent { instance_id } => {
            format!("the release of entity '{instance_id}'")
        }
        other => other.type_name().to_string(),
    }
}
