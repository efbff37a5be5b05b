//! The durable futures returned by the orchestration context.
//!
//! Each resolves from the shared state when the engine applies the matching history event. They
//! are `Unpin` and `Send`, so they can be stored, raced and combined freely. Dropping a timer
//! future cancels the timer; dropping an event future stops it from consuming an event.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use serde::de::DeserializeOwned;

use super::handle::OrchestrationContext;
use crate::error::TaskError;
use crate::ids::InstanceId;
use crate::payload::Payload;

/// What a task future is waiting for, to build its error.
#[derive(Debug, Clone)]
pub(crate) enum TaskTarget {
    Activity {
        name: String,
    },
    SubOrchestration {
        name: String,
        instance_id: InstanceId,
    },
    Entity {
        entity: String,
        operation: String,
    },
}

impl TaskTarget {
    fn name(&self) -> &str {
        match self {
            TaskTarget::Activity { name } | TaskTarget::SubOrchestration { name, .. } => name,
            TaskTarget::Entity { operation, .. } => operation,
        }
    }
}

/// The result of an activity or sub-orchestration, decoded as `T`.
#[must_use = "a durable call does nothing useful unless its result is awaited"]
pub struct TaskFuture<T> {
    ctx: OrchestrationContext,
    state: TaskFutureState,
    _output: PhantomData<fn() -> T>,
}

enum TaskFutureState {
    Scheduled { seq: i64, target: TaskTarget },
    Failed(Option<TaskError>),
}

impl<T> TaskFuture<T> {
    pub(crate) fn scheduled(ctx: OrchestrationContext, seq: i64, target: TaskTarget) -> Self {
        Self {
            ctx,
            state: TaskFutureState::Scheduled { seq, target },
            _output: PhantomData,
        }
    }

    pub(crate) fn failed(ctx: OrchestrationContext, error: TaskError) -> Self {
        Self {
            ctx,
            state: TaskFutureState::Failed(Some(error)),
            _output: PhantomData,
        }
    }
}

impl<T: DeserializeOwned> Future for TaskFuture<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let (seq, target) = match &mut this.state {
            TaskFutureState::Failed(error) => {
                return Poll::Ready(Err(error.take().unwrap_or(TaskError::Data {
                    name: String::new(),
                    message: "polled after completion".into(),
                })));
            }
            TaskFutureState::Scheduled { seq, target } => (*seq, target.clone()),
        };
        let ready = this.ctx.with_state(|s| match s.tasks.get_mut(&seq) {
            Some(slot) => match slot.result.take() {
                Some(result) => {
                    s.tasks.remove(&seq);
                    Some(result)
                }
                None => {
                    slot.waker = Some(cx.waker().clone());
                    None
                }
            },
            None => None,
        });
        match ready {
            None => Poll::Pending,
            Some(Ok(payload)) => Poll::Ready(decode(&payload, target.name())),
            Some(Err(failure)) => Poll::Ready(Err(match target {
                TaskTarget::Activity { name } => TaskError::ActivityFailed { name, failure },
                TaskTarget::SubOrchestration { name, instance_id } => {
                    TaskError::SubOrchestrationFailed {
                        name,
                        instance_id,
                        failure,
                    }
                }
                TaskTarget::Entity { entity, operation } => TaskError::EntityOperationFailed {
                    entity,
                    operation,
                    failure,
                },
            })),
        }
    }
}

impl<T> Drop for TaskFuture<T> {
    fn drop(&mut self) {
        if let TaskFutureState::Scheduled { seq, .. } = self.state {
            self.ctx.with_state(|s| {
                s.tasks.remove(&seq);
            });
        }
    }
}

pub(crate) fn decode<T: DeserializeOwned>(payload: &Payload, name: &str) -> Result<T, TaskError> {
    payload.decode().map_err(|e| TaskError::Data {
        name: name.to_string(),
        message: e.to_string(),
    })
}

/// A durable timer. Dropping it before it fires cancels it.
#[must_use = "a timer that is dropped is cancelled"]
pub struct TimerFuture {
    ctx: OrchestrationContext,
    seq: i64,
    fired: bool,
}

impl TimerFuture {
    pub(crate) fn new(ctx: OrchestrationContext, seq: i64) -> Self {
        Self {
            ctx,
            seq,
            fired: false,
        }
    }

    /// Cancels the timer: the orchestration no longer waits for it.
    pub fn cancel(self) {}
}

impl Future for TimerFuture {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.fired {
            return Poll::Ready(());
        }
        let seq = this.seq;
        let fired = this.ctx.with_state(|s| match s.tasks.get_mut(&seq) {
            Some(slot) if slot.result.is_some() => {
                s.tasks.remove(&seq);
                true
            }
            Some(slot) => {
                slot.waker = Some(cx.waker().clone());
                false
            }
            None => false,
        });
        if fired {
            this.fired = true;
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for TimerFuture {
    fn drop(&mut self) {
        if !self.fired {
            let seq = self.seq;
            self.ctx.with_state(|s| {
                s.tasks.remove(&seq);
            });
        }
    }
}

/// An external event, decoded as `T`.
#[must_use = "an event future that is dropped stops waiting"]
pub struct EventFuture<T> {
    ctx: OrchestrationContext,
    name: String,
    state: EventState,
    _output: PhantomData<fn() -> T>,
}

enum EventState {
    Ready(Option<Payload>),
    Waiting(u64),
    Done,
}

impl<T> EventFuture<T> {
    pub(crate) fn new(ctx: OrchestrationContext, name: String) -> Self {
        let state = match ctx.with_state(|s| s.wait_event(&name)) {
            Ok(data) => EventState::Ready(Some(data)),
            Err(id) => EventState::Waiting(id),
        };
        Self {
            ctx,
            name,
            state,
            _output: PhantomData,
        }
    }

    /// The name of the awaited event.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl<T: DeserializeOwned> Future for EventFuture<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let data = match &mut this.state {
            EventState::Ready(data) => data.take(),
            EventState::Waiting(id) => {
                let id = *id;
                this.ctx.with_state(|s| match s.waiter_slots.get_mut(&id) {
                    Some(slot) => match slot.result.take() {
                        Some(data) => {
                            s.waiter_slots.remove(&id);
                            Some(data)
                        }
                        None => {
                            slot.waker = Some(cx.waker().clone());
                            None
                        }
                    },
                    None => None,
                })
            }
            EventState::Done => None,
        };
        match data {
            Some(data) => {
                this.state = EventState::Done;
                Poll::Ready(decode(&data, &this.name))
            }
            None => Poll::Pending,
        }
    }
}

impl<T> Drop for EventFuture<T> {
    fn drop(&mut self) {
        if let EventState::Waiting(id) = self.state {
            let name = std::mem::take(&mut self.name);
            self.ctx.with_state(|s| s.cancel_wait(&name, id));
        }
    }
}

/// An external event that gives up after a timeout.
#[must_use = "an event future that is dropped stops waiting"]
pub struct EventWithTimeout<T> {
    event: EventFuture<T>,
    timer: Option<TimerFuture>,
}

impl<T> EventWithTimeout<T> {
    pub(crate) fn new(event: EventFuture<T>, timer: TimerFuture) -> Self {
        Self {
            event,
            timer: Some(timer),
        }
    }
}

impl<T: DeserializeOwned> Future for EventWithTimeout<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Poll::Ready(result) = Pin::new(&mut this.event).poll(cx) {
            // Cancel the timer: the orchestration must not wait for it.
            this.timer = None;
            return Poll::Ready(result);
        }
        match this.timer.as_mut() {
            Some(timer) => match Pin::new(timer).poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(TaskError::Timeout {
                    name: this.event.name.clone(),
                })),
                Poll::Pending => Poll::Pending,
            },
            None => Poll::Pending,
        }
    }
}
