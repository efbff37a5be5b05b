//! Errors of the client API, each a distinct case a caller (and the HTTP API) can act on.

use durafn_core::{InstanceId, InvalidInstanceId, RuntimeStatus};
use durafn_store::StoreError;

/// Why a client operation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClientError {
    /// The instance id breaks the id rules.
    #[error("invalid instance id: {0}")]
    InvalidInstanceId(#[from] InvalidInstanceId),
    /// No orchestrator of that name is registered.
    #[error("orchestrator function '{0}' is not registered in this function app")]
    UnknownOrchestrator(String),
    /// The input is not valid JSON or could not be encoded.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// An instance with that id is Pending, Running or Suspended.
    #[error("an instance with id '{instance_id}' already exists and is {status}")]
    InstanceExists {
        /// The id.
        instance_id: InstanceId,
        /// Its status.
        status: RuntimeStatus,
    },
    /// No such instance.
    #[error("no instance with id '{0}'")]
    NotFound(InstanceId),
    /// The instance has finished, so the operation no longer applies.
    #[error("instance '{instance_id}' is already {status}")]
    Finished {
        /// The id.
        instance_id: InstanceId,
        /// Its status.
        status: RuntimeStatus,
    },
    /// Only failed instances can be rewound.
    #[error("instance '{instance_id}' is {status}; only a failed instance can be rewound")]
    NotFailed {
        /// The id.
        instance_id: InstanceId,
        /// Its status.
        status: RuntimeStatus,
    },
    /// A payload (an input, event data) is larger than the runtime's payload limit
    /// (`RuntimeOptions::max_payload_bytes`); nothing was recorded.
    #[error(
        "{what} is {size} bytes, more than the payload limit of {limit} bytes (maxPayloadSize)"
    )]
    PayloadTooLarge {
        /// What the payload is (`the input of 'hello'`).
        what: String,
        /// Its size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// Waiting for completion took longer than allowed.
    #[error("instance '{0}' did not finish in time")]
    Timeout(InstanceId),
    /// The task hub failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
