//! The body of an error answer.

use serde::{Deserialize, Serialize};

/// What a 4xx or 5xx answer carries when it has a body, in the shape Durable Functions clients
/// read: `Message`, and for bad arguments to a start also `ExceptionMessage` (what was wrong)
/// and `ExceptionType`. Some answers have no body at all: the management API's 404 for an
/// unknown instance and 410 for a finished one, and 401 for a missing or wrong key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ErrorBody {
    /// What went wrong, for the caller.
    pub message: String,
    /// The detail of a bad argument.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception_message: Option<String>,
    /// The .NET exception type Durable Functions names (`System.ArgumentException`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception_type: Option<String>,
}

impl ErrorBody {
    /// A body with a message only.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            exception_message: None,
            exception_type: None,
        }
    }
}

impl std::fmt::Display for ErrorBody {
    /// The message, and the detail after a colon when there is one.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.exception_message {
            Some(detail) if !detail.is_empty() => write!(f, "{}: {detail}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}
