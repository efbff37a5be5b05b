//! The entity scheduler: which requests an entity runs now, in which order, and what it sends.
//!
//! An entity remembers, besides its state, who holds its lock and the requests that arrived from
//! others meanwhile ([`Scheduler`]). [`schedule`] applies one batch of requests to that: calls and
//! signals run their operation (while locked, only the holder's), lock requests lock the entity and
//! travel on through the lock set, unlocks release it and let the waiting requests run first. It is
//! a pure function (state and requests in, new state and messages out), so the runtime only maps
//! its output onto a commit, and the rules are tested as tables of inputs and outputs.

use std::collections::VecDeque;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::entity::{
    Entity, EntityEffect, EntityId, EntityReplyTo, EntityRequest, EntityRequestKind, run_operation,
};
use crate::failure::{FailureDetails, SystemFailure};
use crate::history::EventKind;
use crate::ids::InstanceId;
use crate::payload::Payload;

/// What an entity remembers besides its state (kept in its instance row's input).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scheduler {
    /// The orchestration holding the lock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_owner: Option<InstanceId>,
    /// Requests from others, waiting for the lock to be released, in arrival order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queue: Vec<EntityRequest>,
}

impl Scheduler {
    /// The scheduler stored in an entity's row (none stored: unlocked, nothing waiting).
    pub fn from_row(input: Option<&Payload>) -> Self {
        input.and_then(|p| p.decode().ok()).unwrap_or_default()
    }

    /// Whether nothing holds or waits for the entity.
    pub fn is_idle(&self) -> bool {
        self.lock_owner.is_none() && self.queue.is_empty()
    }
}

/// A message an entity batch sends, in the order the requests produced them.
#[derive(Debug, Clone, PartialEq)]
pub enum EntityOutput {
    /// An answer to an orchestration: an operation's result or failure, or a lock grant.
    Reply {
        /// Where it goes.
        to: EntityReplyTo,
        /// `EntityOperationCompleted`, `EntityOperationFailed` or `EntityLockGranted`.
        event: EventKind,
    },
    /// A request to another entity: a signal an operation sent, or a lock request forwarded to
    /// the next entity of its lock set.
    Request {
        /// The entity's instance id.
        target: InstanceId,
        /// The request.
        request: EntityRequest,
        /// Deliver no earlier than this.
        at: Option<DateTime<Utc>>,
    },
    /// An orchestration an operation started.
    StartOrchestration {
        /// The orchestrator.
        name: String,
        /// The instance id, or `None` for one the runtime generates.
        instance_id: Option<InstanceId>,
        /// Its input.
        input: Payload,
    },
}

/// What one batch of requests did to an entity.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityBatch {
    /// The state after the batch (`None`: the entity holds none).
    pub state: Option<Payload>,
    /// The scheduler after the batch.
    pub scheduler: Scheduler,
    /// What to send, in order.
    pub outputs: Vec<EntityOutput>,
    /// Signalled operations that failed (nobody waits for their answer): `(operation, why)`.
    pub failed_signals: Vec<(String, FailureDetails)>,
}

impl EntityBatch {
    /// Whether the entity still matters: it holds state, is locked, or has requests waiting.
    /// An entity that is not busy can be cleaned up.
    pub fn is_busy(&self) -> bool {
        self.state.is_some() || !self.scheduler.is_idle()
    }
}

/// Applies `incoming` (after the requests the scheduler kept waiting) to an entity, in order.
/// `entity` is the registered entity function, or `None` if the app has none of that name (each
/// call then fails with [`SystemFailure::EntityNotFound`]).
pub fn schedule(
    id: &EntityId,
    entity: Option<&Arc<dyn Entity>>,
    mut scheduler: Scheduler,
    mut state: Option<Payload>,
    incoming: Vec<EntityRequest>,
) -> EntityBatch {
    let me = id.instance_id();
    let mut pending: VecDeque<EntityRequest> = std::mem::take(&mut scheduler.queue).into();
    pending.extend(incoming);
    let mut deferred: Vec<EntityRequest> = Vec::new();
    let mut outputs = Vec::new();
    let mut failed_signals = Vec::new();
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
                let result = match entity {
                    Some(entity) => {
                        let (new_state, effects, result) = run_operation(
                            entity,
                            id.clone(),
                            &operation,
                            request.input.clone(),
                            state.take(),
                        );
                        state = new_state;
                        outputs
                            .extend(effects.into_iter().map(|effect| effect_output(effect, &me)));
                        result
                    }
                    None => Err(FailureDetails::system(
                        SystemFailure::EntityNotFound,
                        format!(
                            "entity function '{}' is not registered in this function app",
                            id.name
                        ),
                    )),
                };
                match (request.kind, &request.reply_to) {
                    (EntityRequestKind::Call, Some(to)) => {
                        let event = match result {
                            Ok(result) => EventKind::EntityOperationCompleted {
                                task_scheduled_id: to.task_scheduled_id,
                                result,
                            },
                            Err(failure) => EventKind::EntityOperationFailed {
                                task_scheduled_id: to.task_scheduled_id,
                                failure,
                            },
                        };
                        outputs.push(EntityOutput::Reply {
                            to: to.clone(),
                            event,
                        });
                    }
                    _ => {
                        if let Err(failure) = result {
                            failed_signals.push((operation, failure));
                        }
                    }
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
                        outputs.push(EntityOutput::Request {
                            target: target.clone(),
                            request: forward,
                            at: None,
                        });
                    }
                    None => outputs.push(EntityOutput::Reply {
                        event: EventKind::EntityLockGranted {
                            task_scheduled_id: to.task_scheduled_id,
                            lock_set: request.lock_set.clone(),
                        },
                        to,
                    }),
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
    EntityBatch {
        state,
        scheduler,
        outputs,
        failed_signals,
    }
}

fn effect_output(effect: EntityEffect, me: &InstanceId) -> EntityOutput {
    match effect {
        EntityEffect::Signal {
            entity,
            operation,
            input,
            at,
        } => EntityOutput::Request {
            target: entity.instance_id(),
            request: EntityRequest::signal(&operation, input, Some(me.clone())),
            at,
        },
        EntityEffect::StartOrchestration {
            name,
            instance_id,
            input,
        } => EntityOutput::StartOrchestration {
            name,
            instance_id,
            input,
        },
    }
}
