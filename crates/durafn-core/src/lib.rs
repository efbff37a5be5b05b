//! The deterministic core of durafn.
//!
//! An orchestration is an `async fn` over an [`OrchestrationContext`]. Every durable call it makes
//! (an activity, a timer, an event, a sub-orchestration) is recorded in its [history](history), and
//! after a crash or on another host the code is re-run over that history ("replay") to rebuild its
//! state exactly. This crate holds that machinery and nothing else:
//!
//! - [`history`]: the event model, persisted as JSON and shown by the management API;
//! - [`engine`]: one *turn* = (history, new messages, now) → (new events, actions, status);
//! - [`divergence`]: where replayed code first differs from its recorded history;
//! - [`context`]: the API orchestrator code uses, with durable futures resolved from history;
//! - [`registry`]: orchestrators and activities by name;
//! - [`replay`]: replaying a recorded history to see whether the code still matches it;
//! - [`rewind`]: re-running a failed execution from before its failure;
//! - [`scheduler`]: the entity scheduler (locks, queued requests, batches) as a pure function;
//! - [`version`]: orchestration versions, their order and which a host runs;
//! - [`failure`]: failure details and the failures durafn raises itself, with stable codes;
//! - [`trace`]: trace identity (W3C `traceparent`, span ids derived from durable facts).
//!
//! **Architecture invariant:** this crate is pure. It performs no I/O, reads no clock, draws no
//! random numbers and depends on no async runtime; time arrives as the `now` of a turn and ids as
//! data. A test reads `cargo metadata` and the sources to keep it that way.

pub mod action;
pub mod combinators;
pub mod context;
pub mod divergence;
pub mod engine;
pub mod entity;
pub mod error;
pub mod failure;
pub mod history;
pub mod ids;
pub mod payload;
pub mod registry;
pub mod replay;
pub mod rewind;
pub mod scheduler;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod trace;
pub mod version;

pub use action::Action;
pub use combinators::{AnyResult, WhenAll, WhenAny, when_all, when_any};
pub use context::{
    CriticalSection, DurableHttpRequest, DurableHttpResponse, EventFuture, EventWithTimeout,
    LockFuture, OrchestrationContext, ReplaySafeLogger, RetryOptions, TaskFuture, TimerFuture,
};
pub use engine::{Divergence, OrchestrationExecutor, Outcome, Turn};
pub use entity::{
    BatchPreparation, Entity, EntityClass, EntityContext, EntityEffect, EntityId, EntityRequest,
    EntityRequestKind, EntityState, PrepareBatchFuture, entity_class, entity_fn,
};
pub use error::{FunctionError, TaskError};
pub use failure::{FailureDetails, SystemFailure};
pub use history::{EventKind, HistoryEvent, ParentInstance, RuntimeStatus, TraceContext};
pub use ids::{EventId, ExecutionId, InstanceId, InvalidInstanceId};
pub use payload::{Payload, PayloadError};
pub use registry::{
    Activity, ActivityContext, AppData, FunctionFuture, Orchestrator, PrepareFuture, Registry,
    RegistryBuilder, RegistryError, TurnPreparation, activity_fn, orchestrator_fn,
};
pub use scheduler::{EntityBatch, EntityOutput, Scheduler};
pub use version::{VersionFailureStrategy, VersionMatchStrategy, Versioning, compare_versions};
