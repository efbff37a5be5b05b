//! The plan of one turn: every durable action of the execution in task-id order, and how the
//! turn ends. The turn's load step computes it (it needs the worker); the orchestrator that
//! runs inside durafn's engine only replays it through the orchestration context, so the
//! engine checks it against history exactly as it checks a Rust orchestrator.

use chrono::{DateTime, Utc};
use durafn_core::{
    EntityId, EventKind, FailureDetails, FunctionError, InstanceId, OrchestrationContext, Payload,
};
use serde::{Deserialize, Serialize};

/// The name of durafn's built-in activity for durable HTTP requests.
pub(crate) const HTTP_ACTIVITY: &str = durafn_core::context::HTTP_ACTIVITY_NAME;

/// One durable action, by the task id it has (its position in [`Plan::actions`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum PlannedAction {
    /// Run an activity (also a durable HTTP request, with the built-in HTTP activity).
    Activity { name: String, input: Payload },
    /// A durable timer.
    Timer { fire_at: DateTime<Utc> },
    /// Start a sub-orchestration.
    SubOrchestration {
        name: String,
        instance_id: String,
        input: Payload,
    },
    /// Call an entity operation.
    CallEntity {
        entity: String,
        operation: String,
        input: Payload,
    },
    /// Signal an entity operation.
    SignalEntity {
        entity: String,
        operation: String,
        input: Payload,
    },
}

impl PlannedAction {
    /// The action that a recorded scheduling event stands for (what the execution did), used
    /// when the code's own actions are not known for a turn that fails.
    pub(crate) fn recorded(kind: &EventKind) -> Option<Self> {
        Some(match kind.clone() {
            EventKind::TaskScheduled { name, input } => PlannedAction::Activity { name, input },
            EventKind::TimerCreated { fire_at } => PlannedAction::Timer { fire_at },
            EventKind::SubOrchestrationInstanceCreated {
                name,
                instance_id,
                input,
            } => PlannedAction::SubOrchestration {
                name,
                instance_id: instance_id.to_string(),
                input,
            },
            EventKind::EntityOperationCalled {
                instance_id,
                operation,
                input,
            } => PlannedAction::CallEntity {
                entity: instance_id.to_string(),
                operation,
                input,
            },
            EventKind::EntityOperationSignaled {
                instance_id,
                operation,
                input,
                ..
            } => PlannedAction::SignalEntity {
                entity: instance_id.to_string(),
                operation,
                input,
            },
            _ => return None,
        })
    }
}

/// How the turn ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum PlannedOutcome {
    /// The execution waits for its next message.
    Running,
    /// It returned this output.
    Completed(Payload),
    /// It failed.
    Failed(FailureDetails),
    /// It continues as new with this input.
    ContinuedAsNew(Payload),
}

/// What the turn's code does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Plan {
    /// Every action of the execution, the one with task id `i` at index `i`.
    pub(crate) actions: Vec<PlannedAction>,
    /// How the turn ends.
    pub(crate) outcome: PlannedOutcome,
    /// The custom status (`None`: none set this turn).
    pub(crate) custom_status: Option<Payload>,
}

fn entity(id: &str) -> Result<EntityId, FunctionError> {
    InstanceId::parse(id)
        .ok()
        .and_then(|id| EntityId::from_instance_id(&id))
        .ok_or_else(|| FunctionError::msg(format!("{id:?} is not an entity id (@name@key)")))
}

/// Replays the plan through the orchestration context: issues every action in task-id order
/// (the context gives them the same ids), sets the custom status, and ends as planned. The
/// futures of the actions are dropped at once: results reach the code through the SDK's view,
/// not through the context.
pub(crate) async fn replay(
    ctx: OrchestrationContext,
    plan: Plan,
) -> Result<Payload, FunctionError> {
    for action in plan.actions {
        match action {
            PlannedAction::Activity { name, input } => {
                drop(ctx.call_activity::<serde::de::IgnoredAny>(&name, &input));
            }
            PlannedAction::Timer { fire_at } => drop(ctx.create_timer(fire_at)),
            PlannedAction::SubOrchestration {
                name,
                instance_id,
                input,
            } => drop(ctx.call_sub_orchestrator::<serde::de::IgnoredAny>(
                &name,
                Some(&instance_id),
                &input,
            )),
            PlannedAction::CallEntity {
                entity: id,
                operation,
                input,
            } => drop(ctx.call_entity::<serde::de::IgnoredAny>(&entity(&id)?, &operation, &input)),
            PlannedAction::SignalEntity {
                entity: id,
                operation,
                input,
            } => ctx
                .signal_entity(&entity(&id)?, &operation, &input)
                .map_err(FunctionError::from)?,
        }
    }
    match &plan.custom_status {
        Some(status) => ctx.set_custom_status(status),
        None => ctx.set_custom_status(&Payload::null()),
    }
    match plan.outcome {
        PlannedOutcome::Running => std::future::pending().await,
        PlannedOutcome::Completed(output) => Ok(output),
        PlannedOutcome::Failed(failure) => Err(FunctionError::from_failure(failure)),
        PlannedOutcome::ContinuedAsNew(input) => {
            ctx.continue_as_new(&input, false);
            Ok(Payload::null())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_round_trip_as_json_with_payloads_verbatim() {
        let plan = Plan {
            actions: vec![
                PlannedAction::Activity {
                    name: "say_hello".into(),
                    input: Payload::from_json_text(r#"{"b": 1,  "a": 2}"#).unwrap(),
                },
                PlannedAction::Timer {
                    fire_at: DateTime::from_timestamp(1_800_000_000, 123_456_000).unwrap(),
                },
            ],
            outcome: PlannedOutcome::Completed(Payload::from_json_text("[1, 2]").unwrap()),
            custom_status: None,
        };
        let text = serde_json::to_string(&plan).unwrap();
        assert!(text.contains(r#"{"b": 1,  "a": 2}"#), "{text}");
        let back: Plan = serde_json::from_str(&text).unwrap();
        assert_eq!(back, plan);
    }

    #[test]
    fn recorded_events_stand_for_their_actions() {
        let kind = EventKind::TimerCreated {
            fire_at: DateTime::from_timestamp(0, 0).unwrap(),
        };
        assert!(matches!(
            PlannedAction::recorded(&kind),
            Some(PlannedAction::Timer { .. })
        ));
        assert_eq!(
            PlannedAction::recorded(&EventKind::OrchestratorStarted),
            None
        );
    }
}
