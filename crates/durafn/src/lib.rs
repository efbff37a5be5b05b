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
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! let registry = Registry::builder()
//!     .orchestrator(hello_cities)
//!     .activity(say_hello)
//!     .build()?;
//! let store = std::sync::Arc::new(durafn::SqliteStore::open(dir.path().join("hub.db"), Default::default())?);
//! let runtime = durafn::Runtime::builder(store, std::sync::Arc::new(registry)).start();
//! let client = runtime.client();
//! let id = client.start_new("hello_cities", None, &()).await?;
//! let status = client.wait_for_completion(id.as_str(), std::time::Duration::from_secs(30)).await?;
//! assert_eq!(
//!     status.output.map(|o| o.to_value()),
//!     Some(serde_json::json!(["Hello Tokyo!", "Hello Seattle!", "Hello London!"]))
//! );
//! runtime.shutdown().await;
//! # Ok(())
//! # }
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
pub use durafn_core::{
    CriticalSection, Entity, EntityClass, EntityContext, EntityId, EntityState, LockFuture,
    entity_class, entity_fn,
};
pub use durafn_macros::{
    activity, entity, http_trigger, orchestrator, queue_trigger, timer_trigger,
};

/// The function-app host: HTTP functions, keys and the Durable Functions management API.
pub use durafn_host as host;
pub use durafn_host::{
    ActivityQueues, App, AuthLevel, DurableHttpClient, HttpFunction, HttpRequest, HttpResponse,
    QueueFunction, QueueItem, Queues, TimerFunction, TimerInfo,
};

/// The core crate, for the engine, history and testkit modules.
pub use durafn_core as core;
/// The PostgreSQL task hub shared by many hosts (feature `postgres`, on by default).
#[cfg(feature = "postgres")]
pub use durafn_postgres as postgres;
#[cfg(feature = "postgres")]
pub use durafn_postgres::{PostgresOptions, PostgresStore};
/// The runtime: dispatchers and the durable client.
pub use durafn_runtime as runtime;
pub use durafn_runtime::{
    ClientError, DurableClient, InstanceStatus, Runtime, RuntimeOptions, StartOptions,
    StatusOptions,
};
/// The embedded SQLite task hub.
pub use durafn_sqlite as sqlite;
pub use durafn_sqlite::{Durability, SqliteOptions, SqliteStore};
/// The task hub contract and the in-memory task hub.
pub use durafn_store as store;
pub use durafn_store::Store;

pub mod testing;

/// Everything an app needs in scope.
pub mod prelude {
    pub use crate::{
        ActivityContext, ActivityQueues, App, AuthLevel, DurableHttpClient, EntityContext,
        EntityId, FunctionError, HttpFunction, HttpRequest, HttpResponse, OrchestrationContext,
        QueueFunction, QueueItem, Registry, RetryOptions, TaskError, TimerFunction, TimerInfo,
        activity, entity, http_trigger, orchestrator, queue_trigger, timer_trigger, when_all,
        when_any,
    };
}

/// Used by the macros' expansions; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use durafn_core::registry::start_typed;

    /// Converts an operation's error.
    pub fn into_function_error<E: Into<durafn_core::FunctionError>>(
        error: E,
    ) -> durafn_core::FunctionError {
        error.into()
    }

    /// Encodes an operation's return value.
    pub fn encode_operation_output<T: serde::Serialize>(
        value: T,
    ) -> Result<durafn_core::Payload, durafn_core::FunctionError> {
        durafn_core::Payload::encode(&value)
            .map_err(|e| durafn_core::FunctionError::msg(e.to_string()))
    }
}
