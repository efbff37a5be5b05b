//! The orchestration context: the only door from orchestrator code to the outside world.
//!
//! Every method is deterministic: given the same history it does the same thing, so that replay
//! reconstructs the orchestration's local state exactly. Durable calls are recorded as actions when
//! they are made and resolve when the engine applies the matching history event.

mod calls;
mod entities;
mod handle;
mod http;
mod logger;
mod retry;
pub(crate) mod state;
mod tasks;

pub use self::entities::{CriticalSection, LockFuture};
pub use self::handle::OrchestrationContext;
#[cfg(feature = "testkit")]
pub(crate) use self::handle::add_duration;
pub use self::http::{DurableHttpRequest, DurableHttpResponse, HTTP_ACTIVITY_NAME};
pub use self::logger::ReplaySafeLogger;
pub use self::retry::{RetryOptions, RetryPredicate};
pub use self::tasks::{EventFuture, EventWithTimeout, TaskFuture, TimerFuture};
