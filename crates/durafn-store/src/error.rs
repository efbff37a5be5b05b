//! Storage errors, which say whether retrying can help, and keep the backend's own error.

use std::sync::Arc;

use durafn_core::{InstanceId, RuntimeStatus};

/// The error a backend reported, shared so that [`StoreError`] stays cheap to clone.
pub type BackendSource = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong in a task hub.
#[derive(Debug, Clone)]
pub enum StoreError {
    /// An instance with that id is still active.
    InstanceExists {
        /// The id.
        instance_id: InstanceId,
        /// Its status.
        status: RuntimeStatus,
    },
    /// Only terminal instances can be purged.
    NotTerminal {
        /// The id.
        instance_id: InstanceId,
        /// Its status.
        status: RuntimeStatus,
    },
    /// The lease on the work expired and someone else may hold it now.
    LockLost(String),
    /// A caller-supplied value (such as a continuation token) was not valid.
    InvalidInput(String),
    /// Stored data could not be read back.
    Corrupt(String),
    /// The backend failed.
    Backend {
        /// What the backend said.
        message: String,
        /// Whether the same call may succeed later (lost connection, busy database).
        retryable: bool,
        /// The backend's own error, when there is one.
        source: Option<BackendSource>,
    },
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::InstanceExists {
                instance_id,
                status,
            } => write!(
                f,
                "an instance with id '{instance_id}' already exists and is {status}"
            ),
            StoreError::NotTerminal {
                instance_id,
                status,
            } => write!(
                f,
                "instance '{instance_id}' is {status}; only completed, failed or terminated instances can be purged"
            ),
            StoreError::LockLost(what) => write!(f, "the lease on {what} was lost"),
            StoreError::InvalidInput(message) => f.write_str(message),
            StoreError::Corrupt(message) => write!(f, "corrupt task hub data: {message}"),
            StoreError::Backend { message, .. } => {
                write!(f, "task hub backend error: {message}")
            }
        }
    }
}

/// Written out rather than derived so that `source()` hands out the backend's own error, not
/// the `Arc` holding it: a caller can `downcast_ref` it to the driver's error type.
impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Backend {
                source: Some(source),
                ..
            } => Some(&**source),
            _ => None,
        }
    }
}

/// Errors are equal when they say the same; a backend's source error is not compared.
impl PartialEq for StoreError {
    fn eq(&self, other: &Self) -> bool {
        use StoreError::*;
        match (self, other) {
            (
                InstanceExists {
                    instance_id: a,
                    status: s,
                },
                InstanceExists {
                    instance_id: b,
                    status: t,
                },
            )
            | (
                NotTerminal {
                    instance_id: a,
                    status: s,
                },
                NotTerminal {
                    instance_id: b,
                    status: t,
                },
            ) => a == b && s == t,
            (LockLost(a), LockLost(b))
            | (InvalidInput(a), InvalidInput(b))
            | (Corrupt(a), Corrupt(b)) => a == b,
            (
                Backend {
                    message: a,
                    retryable: r,
                    ..
                },
                Backend {
                    message: b,
                    retryable: s,
                    ..
                },
            ) => a == b && r == s,
            _ => false,
        }
    }
}

impl StoreError {
    /// A backend failure with no underlying error to keep.
    pub fn backend(message: impl Into<String>, retryable: bool) -> Self {
        StoreError::Backend {
            message: message.into(),
            retryable,
            source: None,
        }
    }

    /// A backend failure caused by `source`, which is kept (see [`std::error::Error::source`]).
    pub fn backend_caused_by(
        message: impl Into<String>,
        retryable: bool,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        StoreError::Backend {
            message: message.into(),
            retryable,
            source: Some(Arc::new(source)),
        }
    }

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
