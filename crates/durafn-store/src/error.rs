//! Storage errors, which say whether retrying can help.

use durafn_core::{InstanceId, RuntimeStatus};

/// What went wrong in a task hub.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    /// An instance with that id is still active.
    #[error("an instance with id '{instance_id}' already exists and is {status}")]
    InstanceExists {
        /// The id.
        instance_id: InstanceId,
        /// Its status.
        status: RuntimeStatus,
    },
    /// Only terminal instances can be purged.
    #[error(
        "instance '{instance_id}' is {status}; only completed, failed or terminated instances can be purged"
    )]
    NotTerminal {
        /// The id.
        instance_id: InstanceId,
        /// Its status.
        status: RuntimeStatus,
    },
    /// The lease on the work expired and someone else may hold it now.
    #[error("the lease on {0} was lost")]
    LockLost(String),
    /// A caller-supplied value (such as a continuation token) was not valid.
    #[error("{0}")]
    InvalidInput(String),
    /// Stored data could not be read back.
    #[error("corrupt task hub data: {0}")]
    Corrupt(String),
    /// The backend failed.
    #[error("task hub backend error: {message}")]
    Backend {
        /// What the backend said.
        message: String,
        /// Whether the same call may succeed later (lost connection, busy database).
        retryable: bool,
    },
}

impl StoreError {
    /// Whether the same call may succeed if retried later.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            StoreError::Backend {
                retryable: true,
                ..
            }
        )
    }
}
