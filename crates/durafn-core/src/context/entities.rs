//! Entities from orchestrations: calls, signals and critical sections.
//!
//! The Durable Functions locking rules are enforced when a call is made: while a critical section
//! is requested or held, no other lock may be requested, only locked entities may be called, locked
//! entities may not be signalled, and no sub-orchestration may be started. A broken rule resolves
//! the call at once with [`TaskError::LockingRules`]; nothing is sent.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::handle::OrchestrationContext;
use super::state::Locks;
use super::tasks::TaskFuture;
use super::tasks::TaskTarget;
use crate::action::Action;
use crate::entity::EntityId;
use crate::error::TaskError;
use crate::ids::InstanceId;
use crate::payload::Payload;

impl OrchestrationContext {
    /// Calls an entity operation and returns a future of its result.
    pub fn call_entity<O: DeserializeOwned>(
        &self,
        entity: &EntityId,
        operation: &str,
        input: &impl Serialize,
    ) -> TaskFuture<O> {
        let target = entity.instance_id();
        let refusal = self.with_state(|s| match &s.locks {
            Locks::Held(set) if !set.contains(&target) => Some(format!(
                "a critical section may only call the entities it locked; '{entity}' is not one of them"
            )),
            Locks::Requested(_) => Some(format!(
                "cannot call '{entity}' while a lock request is pending; await the lock first"
            )),
            _ => None,
        });
        if let Some(message) = refusal {
            return TaskFuture::failed(self.clone(), TaskError::LockingRules(message));
        }
        let input = match Payload::encode(input) {
            Ok(input) => input,
            Err(e) => {
                return TaskFuture::failed(
                    self.clone(),
                    TaskError::Data {
                        name: operation.to_string(),
                        message: e.to_string(),
                    },
                );
            }
        };
        let seq = self.with_state(|s| {
            s.issue(
                |id| Action::CallEntity {
                    id,
                    entity: target,
                    operation: operation.to_string(),
                    input,
                },
                true,
            )
        });
        TaskFuture::scheduled(
            self.clone(),
            seq,
            TaskTarget::Entity {
                entity: entity.to_string(),
                operation: operation.to_string(),
            },
        )
    }

    /// Signals an entity operation (one-way).
    pub fn signal_entity(
        &self,
        entity: &EntityId,
        operation: &str,
        input: &impl Serialize,
    ) -> Result<(), TaskError> {
        self.signal(entity, operation, input, None)
    }

    /// Signals an entity operation to be delivered at `at`.
    pub fn signal_entity_at(
        &self,
        entity: &EntityId,
        operation: &str,
        input: &impl Serialize,
        at: DateTime<Utc>,
    ) -> Result<(), TaskError> {
        self.signal(entity, operation, input, Some(at))
    }

    fn signal(
        &self,
        entity: &EntityId,
        operation: &str,
        input: &impl Serialize,
        at: Option<DateTime<Utc>>,
    ) -> Result<(), TaskError> {
        let target = entity.instance_id();
        let locked = self.with_state(|s| match &s.locks {
            Locks::Held(set) | Locks::Requested(set) => set.contains(&target),
            Locks::None => false,
        });
        if locked {
            return Err(TaskError::LockingRules(format!(
                "a critical section may not signal '{entity}', which it holds locked; call it instead"
            )));
        }
        let input = Payload::encode(input).map_err(|e| TaskError::Data {
            name: operation.to_string(),
            message: e.to_string(),
        })?;
        self.with_state(|s| {
            s.issue(
                |id| Action::SignalEntity {
                    id,
                    entity: target,
                    operation: operation.to_string(),
                    input,
                    at,
                },
                false,
            )
        });
        Ok(())
    }

    /// Locks a set of entities for a critical section. They are locked one by one in a fixed
    /// (sorted) order, so two orchestrations locking overlapping sets cannot deadlock. The locks
    /// are released when the returned [`CriticalSection`] is dropped, or when the orchestration ends.
    pub fn lock_entities(&self, entities: &[EntityId]) -> LockFuture {
        let mut lock_set: Vec<InstanceId> = entities.iter().map(EntityId::instance_id).collect();
        lock_set.sort();
        lock_set.dedup();
        let refusal = self.with_state(|s| match &s.locks {
            Locks::None if lock_set.is_empty() => {
                Some("a critical section needs at least one entity".to_string())
            }
            Locks::None => None,
            _ => Some(
                "a critical section cannot request more locks; release the ones it holds first"
                    .to_string(),
            ),
        });
        if let Some(message) = refusal {
            return LockFuture {
                ctx: self.clone(),
                state: LockState::Refused(Some(TaskError::LockingRules(message))),
            };
        }
        let set = lock_set.clone();
        let seq = self.with_state(|s| {
            s.locks = Locks::Requested(set.clone());
            s.issue(|id| Action::LockEntities { id, lock_set: set }, true)
        });
        LockFuture {
            ctx: self.clone(),
            state: LockState::Waiting { seq, lock_set },
        }
    }

    /// Whether a critical section is requested or held.
    pub fn is_in_critical_section(&self) -> bool {
        self.with_state(|s| s.locks != Locks::None)
    }

    pub(crate) fn locking_refusal_for_sub_orchestration(&self) -> Option<TaskError> {
        self.with_state(|s| {
            (s.locks != Locks::None).then(|| {
                TaskError::LockingRules(
                    "a critical section cannot start sub-orchestrations".to_string(),
                )
            })
        })
    }
}

enum LockState {
    Waiting { seq: i64, lock_set: Vec<InstanceId> },
    Refused(Option<TaskError>),
    Done,
}

/// The future of [`OrchestrationContext::lock_entities`].
#[must_use = "a lock request that is dropped is given up"]
pub struct LockFuture {
    ctx: OrchestrationContext,
    state: LockState,
}

impl Future for LockFuture {
    type Output = Result<CriticalSection, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let (seq, lock_set) = match &mut this.state {
            LockState::Refused(e) => {
                let e = e
                    .take()
                    .unwrap_or_else(|| TaskError::LockingRules("polled after completion".into()));
                this.state = LockState::Done;
                return Poll::Ready(Err(e));
            }
            LockState::Done => return Poll::Pending,
            LockState::Waiting { seq, lock_set } => (*seq, lock_set.clone()),
        };
        let granted = this.ctx.with_state(|s| match s.tasks.get_mut(&seq) {
            Some(slot) if slot.result.is_some() => {
                s.tasks.remove(&seq);
                s.locks = Locks::Held(lock_set.clone());
                true
            }
            Some(slot) => {
                slot.waker = Some(cx.waker().clone());
                false
            }
            None => false,
        });
        if granted {
            this.state = LockState::Done;
            Poll::Ready(Ok(CriticalSection {
                ctx: this.ctx.clone(),
                entities: lock_set,
            }))
        } else {
            Poll::Pending
        }
    }
}

impl Drop for LockFuture {
    fn drop(&mut self) {
        if let LockState::Waiting { seq, .. } = self.state {
            // Given up before the grant: a grant that still arrives is answered with unlocks.
            self.ctx.with_state(|s| {
                s.tasks.remove(&seq);
                s.locks = Locks::None;
            });
        }
    }
}

/// Held entity locks. Dropping it (or calling [`release`](Self::release)) unlocks them.
#[must_use = "dropping the critical section releases its locks at once"]
pub struct CriticalSection {
    ctx: OrchestrationContext,
    entities: Vec<InstanceId>,
}

impl std::fmt::Debug for CriticalSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CriticalSection")
            .field("entities", &self.entities)
            .finish()
    }
}

impl CriticalSection {
    /// The locked entities' instance ids.
    pub fn entities(&self) -> &[InstanceId] {
        &self.entities
    }

    /// Releases the locks.
    pub fn release(self) {}
}

impl Drop for CriticalSection {
    fn drop(&mut self) {
        let entities = std::mem::take(&mut self.entities);
        self.ctx.with_state(|s| {
            s.locks = Locks::None;
            for entity in entities {
                s.issue(|id| Action::UnlockEntity { id, entity }, false);
            }
        });
    }
}
