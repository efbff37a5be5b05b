//! Actions become work: one mapping from an orchestration's durable actions to the work items,
//! messages and instances its commit enqueues, shared by turns and rewinds, and the messages the
//! runtime sends on an orchestration's behalf (entity requests, unlocks, results to a parent).

use chrono::{DateTime, Utc};
use durafn_core::entity::EntityReplyTo;
use durafn_core::{
    Action, EntityRequest, EntityRequestKind, EventKind, ExecutionId, FailureDetails, HistoryEvent,
    InstanceId, Outcome, ParentInstance, Payload, SystemFailure,
};
use durafn_store::{NewActivity, NewInstance, NewMessage, TurnCommit};

use crate::ids::IdGen;
use crate::spans::turn::Traced;

/// The orchestration whose actions are mapped.
pub(crate) struct Origin<'a> {
    /// The instance.
    pub(crate) instance_id: &'a InstanceId,
    /// Its current execution.
    pub(crate) execution_id: &'a ExecutionId,
    /// Its orchestrator's name (the parent name of its sub-orchestrations).
    pub(crate) name: &'a str,
    /// Its version, which its sub-orchestrations inherit unless they are given one.
    pub(crate) version: Option<&'a str>,
    /// Its trace, when traced: work it schedules carries the context of its client span.
    pub(crate) trace: Option<&'a Traced>,
}

impl Origin<'_> {
    fn reply_to(&self, task_scheduled_id: durafn_core::EventId) -> EntityReplyTo {
        EntityReplyTo {
            instance_id: self.instance_id.clone(),
            execution_id: self.execution_id.clone(),
            task_scheduled_id,
        }
    }
}

/// Adds the work `actions` ask for to `commit`: activity work items, timer messages (visible at
/// their time), entity requests, events to other instances and sub-orchestration instances
/// (each with a new execution id from `ids`).
pub(crate) fn add_work(
    commit: &mut TurnCommit,
    actions: Vec<Action>,
    origin: &Origin<'_>,
    now: DateTime<Utc>,
    ids: &dyn IdGen,
) {
    let me = origin.instance_id;
    for action in actions {
        match action {
            Action::ScheduleActivity { id, name, input } => commit.activities.push(NewActivity {
                instance_id: me.clone(),
                execution_id: origin.execution_id.clone(),
                task_id: id,
                name,
                input,
                trace_context: origin.trace.map(|t| t.task_context(id)),
            }),
            Action::CreateTimer { id, fire_at } => commit.messages.push(NewMessage {
                instance_id: me.clone(),
                execution_id: timer_execution(origin),
                event: HistoryEvent::new(
                    fire_at,
                    EventKind::TimerFired {
                        timer_id: id,
                        fire_at,
                    },
                ),
                visible_at: Some(fire_at),
            }),
            Action::StartSubOrchestration {
                id,
                name,
                instance_id,
                input,
                version,
            } => commit.sub_orchestrations.push(NewInstance {
                instance_id,
                name,
                execution_id: ExecutionId::new(ids.new_id()),
                input,
                parent: Some(ParentInstance {
                    name: origin.name.to_string(),
                    instance_id: me.clone(),
                    execution_id: origin.execution_id.clone(),
                    task_scheduled_id: id,
                }),
                created_at: now,
                version: version.or_else(|| origin.version.map(str::to_string)),
                trace_context: origin.trace.map(|t| t.task_context(id)),
            }),
            Action::CallEntity {
                id,
                entity,
                operation,
                input,
            } => commit.messages.push(request_message(
                entity,
                EntityRequest {
                    kind: EntityRequestKind::Call,
                    operation: Some(operation),
                    input,
                    sender: Some(me.clone()),
                    reply_to: Some(origin.reply_to(id)),
                    lock_set: Vec::new(),
                    position: 0,
                },
                now,
                None,
            )),
            Action::SignalEntity {
                entity,
                operation,
                input,
                at,
                ..
            } => commit.messages.push(request_message(
                entity,
                EntityRequest::signal(&operation, input, Some(me.clone())),
                now,
                at,
            )),
            Action::LockEntities { id, lock_set } => {
                if let Some(first) = lock_set.first().cloned() {
                    commit.messages.push(request_message(
                        first,
                        EntityRequest {
                            kind: EntityRequestKind::Lock,
                            operation: None,
                            input: Payload::null(),
                            sender: Some(me.clone()),
                            reply_to: Some(origin.reply_to(id)),
                            lock_set,
                            position: 0,
                        },
                        now,
                        None,
                    ));
                }
            }
            Action::UnlockEntity { entity, .. } => {
                commit.messages.push(unlock_message(entity, me, now))
            }
            Action::SendEvent {
                instance_id,
                name,
                input,
                ..
            } => commit.messages.push(NewMessage {
                instance_id,
                execution_id: None,
                event: HistoryEvent::new(now, EventKind::EventRaised { name, input }),
                visible_at: None,
            }),
        }
    }
}

/// A request to an entity, as a message (visible at `at`, or now).
pub(crate) fn request_message(
    target: InstanceId,
    request: EntityRequest,
    now: DateTime<Utc>,
    at: Option<DateTime<Utc>>,
) -> NewMessage {
    NewMessage {
        instance_id: target,
        execution_id: None,
        event: HistoryEvent::new(now, EventKind::EntityRequest { request }),
        visible_at: at,
    }
}

/// Releases `owner`'s lock on `entity`.
pub(crate) fn unlock_message(
    entity: InstanceId,
    owner: &InstanceId,
    now: DateTime<Utc>,
) -> NewMessage {
    request_message(
        entity,
        EntityRequest {
            kind: EntityRequestKind::Unlock,
            operation: None,
            input: Payload::null(),
            sender: Some(owner.clone()),
            reply_to: None,
            lock_set: Vec::new(),
            position: 0,
        },
        now,
        None,
    )
}

/// Tells a parent how its sub-orchestration ended.
pub(crate) fn report_to_parent(
    parent: &ParentInstance,
    outcome: &Outcome,
    now: DateTime<Utc>,
) -> NewMessage {
    let kind = match outcome {
        Outcome::Completed(output) => EventKind::SubOrchestrationInstanceCompleted {
            task_scheduled_id: parent.task_scheduled_id,
            result: output.clone(),
        },
        Outcome::Failed(failure) => EventKind::SubOrchestrationInstanceFailed {
            task_scheduled_id: parent.task_scheduled_id,
            failure: failure.clone(),
        },
        Outcome::Terminated(reason) | Outcome::ContinuedAsNew { input: reason, .. } => {
            EventKind::SubOrchestrationInstanceFailed {
                task_scheduled_id: parent.task_scheduled_id,
                failure: FailureDetails::system(
                    SystemFailure::SubOrchestrationTerminated,
                    format!("the sub-orchestration was terminated: {reason}"),
                ),
            }
        }
    };
    NewMessage {
        instance_id: parent.instance_id.clone(),
        execution_id: Some(parent.execution_id.clone()),
        event: HistoryEvent::new(now, kind),
        visible_at: None,
    }
}

/// The execution a timer answers: its own, so a late timer of an ended execution is dropped.
fn timer_execution(origin: &Origin<'_>) -> Option<ExecutionId> {
    #[cfg(durafn_mutation)]
    if durafn_store::mutation::planted("timer_any_execution") {
        return None;
    }
    Some(origin.execution_id.clone())
}
