//! Durable Functions for Rust.
//!
//! Write orchestrators as plain `async fn`s over an [`OrchestrationContext`], activities as
//! ordinary async functions, register them, and durafn runs them durably: every step is recorded,
//! and a crash or restart resumes exactly where it stopped.
//!
//! ```
//! use durafn::prelude::*;
//!
//! #[orchestrator]
//! async fn hello_cities(ctx: OrchestrationContext, _input: ()) -> Result<Vec<String>, FunctionError> {
//!     let mut greetings = Vec::new();
//!     for city in ["Tokyo", "Seattle", "London"] {
//!         greetings.push(ctx.call_activity("say_hello", &city).await?);
//!     }
//!     Ok(greetings)
//! }
//!
//! #[activity]
//! async fn say_hello(city: String) -> Result<String, FunctionError> {
//!     Ok(format!("Hello {city}!"))
//! }
//!
//! let registry = Registry::builder()
//!     .orchestrator(hello_cities)
//!     .activity(say_hello)
//!     .build()
//!     .expect("names are unique");
//! assert_eq!(registry.orchestrator_names(), ["hello_cities"]);
//! ```

pub use durafn_core::{
    Action, Activity, ActivityContext, AnyResult, AppData, DurableHttpRequest, DurableHttpResponse,
    EventFuture, EventId, EventKind, EventWithTimeout, ExecutionId, FailureDetails, FunctionError,
    FunctionFuture, HistoryEvent, InstanceId, InvalidInstanceId, OrchestrationContext,
    OrchestrationExecutor, Orchestrator, Outcome, ParentInstance, Payload, PayloadError, Registry,
    RegistryBuilder, RegistryError, ReplaySafeLogger, RetryOptions, RuntimeStatus, TaskError,
    TaskFuture, TimerFuture, Turn, WhenAll, WhenAny, activity_fn, orchestrator_fn, when_all,
    when_any,
};
pub use durafn_macros::{activity, orchestrator};

/// The core crate, for the engine, history and testkit modules.
pub use durafn_core as core;

/// Everything an app needs in scope.
pub mod prelude {
    pub use crate::{
        ActivityContext, FunctionError, OrchestrationContext, Registry, RetryOptions, TaskError,
        activity, orchestrator, when_all, when_any,
    };
}

/// Used by the macros' expansions; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use durafn_core::registry::start_typed;
}
