//! Errors of the host, one enum per layer.
//!
//! [`ApiError`] is what every route answers when something goes wrong: a status code and a JSON
//! body in the shape Durable Functions clients read (`Message`, optionally `ExceptionMessage` and
//! `ExceptionType`). It never carries internal details: task hub failures are logged and answered
//! with a generic message, because error bodies reach callers outside the operator's control.
//! [`HostError`] is what starting and serving a function app can fail with.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use durafn_runtime::ClientError;
use serde::Serialize;

use crate::config::ConfigError;
use crate::keys::KeyError;

/// An error answered to an HTTP caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
    /// Answered without a body (the management API's 404s), the message only logged.
    bodiless: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorBody {
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    exception_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exception_type: Option<String>,
}

impl ApiError {
    /// An error with a status and a message for the caller.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody {
                message: message.into(),
                exception_message: None,
                exception_type: None,
            },
            bodiless: false,
        }
    }

    /// An error answered with the status alone and no body, as the Durable Functions
    /// management API answers what it cannot find; the message is for logs and tests.
    pub fn bodiless(status: StatusCode, message: impl Into<String>) -> Self {
        let mut e = Self::new(status, message);
        e.bodiless = true;
        e
    }

    /// 400 with a message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 400 in the shape the Durable Functions start API uses for bad arguments: clients read
    /// `ExceptionMessage` to tell the user what was wrong.
    pub fn bad_argument(detail: impl Into<String>) -> Self {
        let mut e = Self::bad_request("One or more of the arguments submitted is incorrect");
        e.body.exception_message = Some(detail.into());
        e.body.exception_type = Some("System.ArgumentException".into());
        e
    }

    /// 404 with a message (routes that exist but whose target does not).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 500 that says nothing about the cause; the cause must be logged by the caller.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The request could not be completed because of an internal error; see the host log.",
        )
    }

    /// 413 for a body over the configured limit.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("The request body is larger than the limit of {limit} bytes."),
        )
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message shown to the caller.
    pub fn message(&self) -> &str {
        &self.body.message
    }

    /// Maps a client error to what the management API answers. Task hub failures become a
    /// generic 500 (logged here); everything else is the caller's doing and is explained.
    pub(crate) fn from_client(error: ClientError) -> Self {
        match error {
            ClientError::InvalidInstanceId(e) => Self::bad_argument(e.to_string()),
            ClientError::UnknownOrchestrator(_) | ClientError::InvalidInput(_) => {
                Self::bad_argument(error.to_string())
            }
            ClientError::InstanceExists { .. } => {
                Self::new(StatusCode::CONFLICT, error.to_string())
            }
            ClientError::NotFound(_) => Self::bodiless(StatusCode::NOT_FOUND, error.to_string()),
            ClientError::Finished { .. } | ClientError::NotFailed { .. } => {
                Self::new(StatusCode::GONE, error.to_string())
            }
            ClientError::Timeout(_) => Self::new(StatusCode::GATEWAY_TIMEOUT, error.to_string()),
            ClientError::PayloadTooLarge { .. } => {
                Self::new(StatusCode::PAYLOAD_TOO_LARGE, error.to_string())
            }
            ClientError::Store(durafn_store::StoreError::InvalidInput(message)) => {
                Self::bad_request(message)
            }
            ClientError::Store(e) => {
                tracing::error!(error = %e, "a task hub operation failed");
                if e.is_retryable() {
                    Self::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "The task hub is busy; retry the request.",
                    )
                } else {
                    Self::internal()
                }
            }
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status, self.body.message)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.bodiless {
            tracing::debug!(status = %self.status, message = %self.body.message, "answered without a body");
            return empty(self.status);
        }
        json_response(self.status, &self.body)
    }
}

/// A response with a JSON body. Serialising the host's own types cannot fail; if it ever did,
/// the caller gets a bare 500 rather than a half-written body.
pub(crate) fn json_response(status: StatusCode, body: &impl Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            let mut response = (status, bytes).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            );
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "a response body could not be serialised");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// A response with a status and no body (the management API's 404, 410 and 202 answers).
pub(crate) fn empty(status: StatusCode) -> Response {
    status.into_response()
}

/// Why a function app could not start or serve.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The configuration (host.json, local.settings.json, settings, flags) is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The app's functions are not consistent (duplicate names, bad routes, missing handlers).
    #[error("invalid function app: {0}")]
    Functions(String),
    /// The keys file could not be read or written.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// The task hub could not be opened.
    #[error("could not open the task hub: {0}")]
    Store(#[from] durafn_store::StoreError),
    /// `replay-check` found instances this build would break.
    #[error("replay-check: {0} live instances would fail on this build")]
    WouldBreak(usize),
    /// Tracing was turned on but spans cannot be exported (a bad `OTEL_*` setting, or a host
    /// built without the `otel` feature).
    #[error("distributed tracing: {0}")]
    Tracing(String),
    /// The listener could not be bound or accepted from.
    #[error("{context}: {source}")]
    Io {
        /// What the host was doing.
        context: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl HostError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}
