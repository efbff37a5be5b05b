//! Errors that user code sees and returns.
//!
//! [`TaskError`] is what a durable call resolves to when the work behind it failed; it carries the
//! failure details recorded in history. [`FunctionError`] is what orchestrators, activities and
//! entity operations return; any `std::error::Error` converts into it with `?`, and a `TaskError`
//! that is passed on keeps its details, so an unhandled activity failure fails the instance with
//! the activity's own message and details.

use std::fmt;

use serde::Serialize;

use crate::failure::{FailureDetails, SystemFailure};
use crate::ids::InstanceId;
use crate::payload::Payload;

/// A durable call whose work failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TaskError {
    /// The activity returned an error (after any retries).
    #[error("activity '{name}' failed: {}", failure.message)]
    ActivityFailed {
        /// The activity function.
        name: String,
        /// What it reported.
        failure: FailureDetails,
    },
    /// The sub-orchestration failed (after any retries).
    #[error("sub-orchestration '{name}' (instance {instance_id}) failed: {}", failure.message)]
    SubOrchestrationFailed {
        /// The orchestrator function.
        name: String,
        /// The child instance.
        instance_id: InstanceId,
        /// What it reported.
        failure: FailureDetails,
    },
    /// The entity operation failed (its state change was rolled back).
    #[error("operation '{operation}' on entity '{entity}' failed: {}", failure.message)]
    EntityOperationFailed {
        /// The entity.
        entity: String,
        /// The operation.
        operation: String,
        /// What it reported.
        failure: FailureDetails,
    },
    /// The call broke a rule of critical sections (it was not made).
    #[error("locking rules violated: {0}")]
    LockingRules(String),
    /// No event of that name arrived before the timeout.
    #[error("timed out waiting for external event '{name}'")]
    Timeout {
        /// The event name.
        name: String,
    },
    /// The task succeeded but its result did not decode into the requested type, or its input
    /// could not be encoded.
    #[error("could not pass data to or from '{name}': {message}")]
    Data {
        /// The function or event name.
        name: String,
        /// What serde said.
        message: String,
    },
}

impl TaskError {
    /// The failure details to record when this error goes unhandled.
    pub fn to_failure(&self) -> FailureDetails {
        match self {
            TaskError::ActivityFailed { failure, .. }
            | TaskError::SubOrchestrationFailed { failure, .. }
            | TaskError::EntityOperationFailed { failure, .. } => FailureDetails {
                message: self.to_string(),
                ..failure.clone()
            },
            TaskError::Timeout { .. } => {
                FailureDetails::system(SystemFailure::Timeout, self.to_string())
            }
            TaskError::Data { .. } => {
                FailureDetails::system(SystemFailure::DataError, self.to_string())
            }
            TaskError::LockingRules(_) => {
                FailureDetails::system(SystemFailure::LockingRulesViolation, self.to_string())
            }
        }
    }

    /// The failure reported by the activity or sub-orchestration, if that is what failed.
    pub fn failure(&self) -> Option<&FailureDetails> {
        match self {
            TaskError::ActivityFailed { failure, .. }
            | TaskError::SubOrchestrationFailed { failure, .. }
            | TaskError::EntityOperationFailed { failure, .. } => Some(failure),
            _ => None,
        }
    }
}

/// The error returned by orchestrator, activity and entity functions.
///
/// It deliberately does not implement `std::error::Error`, so that every error type converts
/// into it with `?` (the same trick as `anyhow::Error`).
pub struct FunctionError {
    failure: FailureDetails,
}

impl FunctionError {
    /// An error with a message.
    pub fn msg(message: impl fmt::Display) -> Self {
        Self {
            failure: FailureDetails::new("Error", message.to_string()),
        }
    }

    /// An error with a message and structured details that callers can read back.
    pub fn with_details(message: impl fmt::Display, details: &impl Serialize) -> Self {
        let mut e = Self::msg(message);
        e.failure.details = Payload::encode(details).ok();
        e
    }

    /// An error from already-built failure details.
    pub fn from_failure(failure: FailureDetails) -> Self {
        Self { failure }
    }

    /// The failure details that will be recorded.
    pub fn failure(&self) -> &FailureDetails {
        &self.failure
    }

    /// Consumes the error into its failure details.
    pub fn into_failure(self) -> FailureDetails {
        self.failure
    }
}

impl<E> From<E> for FunctionError
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn from(error: E) -> Self {
        let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(error);
        match boxed.downcast::<TaskError>() {
            Ok(task) => Self {
                failure: task.to_failure(),
            },
            Err(other) => Self {
                failure: FailureDetails::new(short_type_name::<E>(), other.to_string()),
            },
        }
    }
}

fn short_type_name<E>() -> String {
    let full = std::any::type_name::<E>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base).to_string()
}

impl fmt::Debug for FunctionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FunctionError")
            .field("error_type", &self.failure.error_type)
            .field("message", &self.failure.message)
            .finish()
    }
}

impl fmt::Display for FunctionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.failure.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_error_keeps_its_details_through_question_mark() {
        fn pass_on(e: TaskError) -> Result<(), FunctionError> {
            Err(e)?
        }
        let details = Payload::encode(&serde_json::json!({"code": 7})).unwrap();
        let e = pass_on(TaskError::ActivityFailed {
            name: "charge".into(),
            failure: FailureDetails {
                details: Some(details.clone()),
                ..FailureDetails::new("CardDeclined", "declined")
            },
        })
        .unwrap_err();
        assert_eq!(e.failure().error_type, "CardDeclined");
        assert_eq!(e.failure().message, "activity 'charge' failed: declined");
        assert_eq!(e.failure().details, Some(details));
    }

    #[test]
    fn other_errors_are_named_by_type() {
        fn parse() -> Result<i32, FunctionError> {
            Ok("x".parse::<i32>()?)
        }
        let e = parse().unwrap_err();
        assert_eq!(e.failure().error_type, "ParseIntError");
        assert_eq!(e.to_string(), "invalid digit found in string");
    }
}
