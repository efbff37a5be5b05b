//! Entity turns: every queued request of one entity applied in order, in one commit.
//!
//! An entity's row keeps its state (`output`) and its scheduler (`input`): who holds its lock and
//! the requests that arrived from others meanwhile. A turn consumes the entity's messages, runs the
//! operations one at a time, and commits the new state together with the replies, forwarded lock
//! requests and messages the operations sent, so each state change happens exactly once.

use std::collections::VecDeque;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use durafn_core::entity::{EntityEffect, EntityReplyTo, run_operation};
use durafn_core::{
    EntityId, EntityRequest, EntityRequestKind, EventKind, ExecutionId, FailureDetails,
    HistoryEvent, InstanceId, Payload, Registry, RuntimeStatus,
};
use durafn_store::{InstanceUpdate, NewInstance, NewMessage, OrchestrationWorkItem};
use serde::{Deserialize, Serialize};

use crate::ids::new_id;
use crate::turn::{PreparedTurn, consume_only};

/// What an entity remembers besides its state.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Scheduler {
    /// The orchestration holding the lock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) lock_owner: Option<InstanceId>,
    /// Requests from others, waiting for the lock to be released, in arrival order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) queue: Vec<EntityRequest>,
}

impl Scheduler {
    pub(crate) fn from_row(input: Option<&Payload>) -> Self {
        input.and_then(|p| p.decode().ok()).unwrap_or_default()
    }
}

fn reply(to: &EntityReplyTo, kind: EventKind, now: DateTime<Utc>) -> NewMessage {
    NewMessage {
        instance_id: to.instance_id.clone(),
        execution_id: Some(to.execution_id.clone()),
        event: HistoryEvent::new(now, kind),
        visible_at: None,
    }
}

/// A request to an entity, as a message.
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

/// Prepares the commit of one entity turn.
pub(crate) fn prepare_entity(
    registry: &Arc<Registry>,
    item: &OrchestrationWorkItem,
    id: EntityId,
    now: DateTime<Utc>,
) -> PreparedTurn {
    let mut prepared = consume_only(item);
    let row = item.instance.as_ref();
    let mut scheduler = Scheduler::from_row(row.map(|r| &r.input));
    let mut state = row.and_then(|r| r.output.clone());
    let entity = registry.entity(&id.name);
    let me = id.instance_id();

    let mut pending: VecDeque<EntityRequest> = std::mem::take(&mut scheduler.queue).into();
    pending.extend(item.messages.iter().filter_map(|m| match &m.event.kind {
        EventKind::EntityRequest { request } => Some(request.clone()),
        _ => None,
    }));
    let mut deferred: Vec<EntityRequest> = Vec::new();
    let c = &mut prepared.commit;
    while let Some(request) = pending.pop_front() {
        if let Some(owner) = &scheduler.lock_owner {
            if request.sender.as_ref() != Some(owner) {
                deferred.push(request);
                continue;
            }
        }
        match request.kind {
            EntityRequestKind::Call | EntityRequestKind::Signal => {
                let operation = request.operation.clone().unwrap_or_default();
                let result = match &entity {
                    Some(entity) => {
                        let (new_state, effects, result) = run_operation(
                            entity,
                            id.clone(),
                            &operation,
                            request.input.clone(),
                            state.take(),
                        );
                        state = new_state;
                        for effect in effects {
                            match effect {
                                EntityEffect::Signal {
                                    entity,
                                    operation,
                                    input,
                                    at,
                                } => c.messages.push(request_message(
                                    entity.instance_id(),
                                    EntityRequest::signal(&operation, input, Some(me.clone())),
                                    now,
                                    at,
                                )),
                                EntityEffect::StartOrchestration {
                                    name,
                                    instance_id,
                                    input,
                                } => c.sub_orchestrations.push(NewInstance {
                                    instance_id: instance_id
                                        .unwrap_or_else(|| InstanceId::from_trusted(new_id())),
                                    name,
                                    execution_id: ExecutionId::new(new_id()),
                                    input,
                                    parent: None,
                                    created_at: now,
                                    version: None,
                                    trace_context: None,
                                }),
                            }
                        }
                        result
                    }
                    None => Err(FailureDetails::new(
                        "EntityNotFound",
                        format!(
                            "entity function '{}' is not registered in this function app",
                            id.name
                        ),
                    )),
                };
                if let (EntityRequestKind::Call, Some(to)) = (request.kind, &request.reply_to) {
                    let kind = match result {
                        Ok(result) => EventKind::EntityOperationCompleted {
                            task_scheduled_id: to.task_scheduled_id,
                            result,
                        },
                        Err(failure) => EventKind::EntityOperationFailed {
                            task_scheduled_id: to.task_scheduled_id,
                            failure,
                        },
                    };
                    c.messages.push(reply(to, kind, now));
                } else if let Err(failure) = result {
                    tracing::warn!(entity = %id, operation, error = %failure.message, "a signalled entity operation failed");
                }
            }
            EntityRequestKind::Lock => {
                let Some(to) = request.reply_to.clone() else {
                    continue;
                };
                scheduler.lock_owner = Some(to.instance_id.clone());
                let next = request.position + 1;
                match request.lock_set.get(next) {
                    Some(target) => {
                        let mut forward = request.clone();
                        forward.position = next;
                        c.messages
                            .push(request_message(target.clone(), forward, now, None));
                    }
                    None => c.messages.push(reply(
                        &to,
                        EventKind::EntityLockGranted {
                            task_scheduled_id: to.task_scheduled_id,
                            lock_set: request.lock_set.clone(),
                        },
                        now,
                    )),
                }
            }
            EntityRequestKind::Unlock => {
                if scheduler.lock_owner.is_some() && scheduler.lock_owner == request.sender {
                    scheduler.lock_owner = None;
                    // What waited for the lock runs now, before anything newer.
                    for waiting in deferred.drain(..).rev() {
                        pending.push_front(waiting);
                    }
                }
            }
        }
    }
    scheduler.queue = deferred;
    let busy = state.is_some() || scheduler.lock_owner.is_some() || !scheduler.queue.is_empty();
    c.update = Some(InstanceUpdate {
        status: if busy {
            RuntimeStatus::Running
        } else {
            RuntimeStatus::Completed
        },
        name: id.name.clone(),
        execution_id: ExecutionId::new(""),
        input: Payload::encode(&scheduler).unwrap_or_default(),
        output: state,
        failure: None,
        custom_status: None,
        last_updated_at: now,
    });
    prepared.sent_messages = !c.messages.is_empty() || !c.sub_orchestrations.is_empty();
    prepared
}
