//! Why a queue operation failed.

use std::time::Duration;

use crate::account::ConfigError;

/// Error codes the queue service answers with that callers act on.
pub mod codes {
    /// The queue does not exist.
    pub const QUEUE_NOT_FOUND: &str = "QueueNotFound";
    /// The queue exists with other metadata (creating it is otherwise
    /// idempotent).
    pub const QUEUE_ALREADY_EXISTS: &str = "QueueAlreadyExists";
    /// The queue is being deleted; creating it again works after a while.
    pub const QUEUE_BEING_DELETED: &str = "QueueBeingDeleted";
    /// No message has that id (it was deleted, or it expired).
    pub const MESSAGE_NOT_FOUND: &str = "MessageNotFound";
    /// The pop receipt is not the message's current one: it was received
    /// or updated again since.
    pub const POP_RECEIPT_MISMATCH: &str = "PopReceiptMismatch";
    /// The request's signature did not match.
    pub const AUTHENTICATION_FAILED: &str = "AuthenticationFailed";
}

/// Why a queue operation failed. Messages never contain account keys.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The connection string or account settings are not usable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The endpoint is https, which this build cannot speak.
    #[error("https queue endpoints need the `tls` feature")]
    TlsNotSupported,
    /// A queue name breaks the service's naming rules.
    #[error("invalid queue name {name:?}: {reason}")]
    InvalidQueueName {
        /// The name (at most its first 80 characters).
        name: String,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// An argument is out of the range the service accepts.
    #[error("invalid {argument}: {reason}")]
    InvalidArgument {
        /// Which argument.
        argument: &'static str,
        /// The accepted range.
        reason: String,
    },
    /// The message text is longer than the service takes.
    #[error(
        "the message is too large: its text is {text_bytes} bytes{}, and a queue message holds at most {limit} bytes of text",
        body_bytes.map(|b| format!(" ({b} bytes base64-encoded)")).unwrap_or_default()
    )]
    MessageTooLarge {
        /// The length of the text as it would be sent, in UTF-8 bytes.
        text_bytes: usize,
        /// The length of the body before base64 encoding, when encoded.
        body_bytes: Option<usize>,
        /// The service's limit ([`super::MAX_MESSAGE_TEXT_BYTES`]).
        limit: usize,
    },
    /// A body cannot be sent as plain text (encoding `none`): it is not
    /// UTF-8, or it holds characters XML cannot carry.
    #[error("the message cannot be sent as plain text: {0}")]
    InvalidMessageText(String),
    /// The service answered with an error.
    #[error(
        "queue service{} returned HTTP {status}{}: {message}",
        queue.as_deref().map(|q| format!(" (queue {q:?})")).unwrap_or_default(),
        code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default()
    )]
    Service {
        /// The queue the request was about, if any.
        queue: Option<String>,
        /// The HTTP status.
        status: u16,
        /// The service's error code ([`codes`]), from the `x-ms-error-code`
        /// header or the `<Code>` element.
        code: Option<String>,
        /// The service's message (its first line), or the status's reason.
        message: String,
    },
    /// The request did not get an answer: connection refused or reset,
    /// DNS failure, ...
    #[error("could not reach the queue service: {0}")]
    Transport(String),
    /// The request took longer than the configured timeout.
    #[error("the queue service did not answer within {0:?}")]
    Timeout(Duration),
    /// The service answered with something this client cannot read.
    #[error("unexpected response from the queue service: {0}")]
    Protocol(String),
}

impl QueueError {
    /// Whether the same call may succeed if tried again: service errors
    /// 408, 429 and 5xx, a queue being deleted, transport failures and
    /// timeouts. Everything else will fail the same way again.
    ///
    /// The client already retried transient failures
    /// ([`crate::http::RetryPolicy`]) before returning one.
    pub fn is_retryable(&self) -> bool {
        match self {
            QueueError::Service { status, code, .. } => {
                *status == 408
                    || *status == 429
                    || *status >= 500
                    || code.as_deref() == Some(codes::QUEUE_BEING_DELETED)
            }
            QueueError::Transport(_) | QueueError::Timeout(_) => true,
            _ => false,
        }
    }

    /// The service's error code, for a service error.
    pub fn code(&self) -> Option<&str> {
        match self {
            QueueError::Service { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// Whether this is a service error with `code`.
    pub fn has_code(&self, code: &str) -> bool {
        self.code() == Some(code)
    }
}

/// A received message whose text is not valid base64 while the queue's
/// encoding is `base64`. The Functions host moves such a message to the
/// poison queue without running the function; its text is still available
/// ([`super::QueueMessage::text`]) to copy it there as it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the message text is not valid base64: {reason}")]
pub struct MessageDecodeError {
    /// What is wrong with it.
    pub reason: String,
}
