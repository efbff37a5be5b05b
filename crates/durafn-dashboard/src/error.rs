//! The dashboard's errors: each becomes a small HTML page with the right status code, and
//! never says more than the caller needs (task hub failures are logged, not shown).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use durafn_runtime::ClientError;
use durafn_store::StoreError;
use maud::html;

use crate::layout;

/// Why a dashboard request failed.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    /// Nothing is there.
    #[error("{0}")]
    NotFound(String),
    /// The request is not valid (a bad filter, invalid JSON).
    #[error("{0}")]
    BadRequest(String),
    /// The caller may not do this (a viewer writing, a bad CSRF token, another site's form).
    #[error("{0}")]
    Forbidden(String),
    /// The operation does not apply to the instance in its state.
    #[error("{0}")]
    Conflict(String),
    /// The client refused or the task hub failed.
    #[error(transparent)]
    Client(#[from] ClientError),
}

impl DashboardError {
    fn status_and_message(&self) -> (StatusCode, String) {
        match self {
            Self::NotFound(m) => (StatusCode::NOT_FOUND, m.clone()),
            Self::BadRequest(m) => (StatusCode::BAD_REQUEST, m.clone()),
            Self::Forbidden(m) => (StatusCode::FORBIDDEN, m.clone()),
            Self::Conflict(m) => (StatusCode::CONFLICT, m.clone()),
            Self::Client(e) => match e {
                ClientError::NotFound(_) => (StatusCode::NOT_FOUND, e.to_string()),
                ClientError::InvalidInstanceId(_)
                | ClientError::InvalidInput(_)
                | ClientError::UnknownOrchestrator(_)
                | ClientError::Store(StoreError::InvalidInput(_)) => {
                    (StatusCode::BAD_REQUEST, e.to_string())
                }
                ClientError::InstanceExists { .. }
                | ClientError::Finished { .. }
                | ClientError::NotFailed { .. }
                | ClientError::Store(StoreError::NotTerminal { .. }) => {
                    (StatusCode::CONFLICT, e.to_string())
                }
                other => {
                    tracing::error!(error = %other, "a dashboard request failed");
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        "The task hub did not answer; see the host log.".to_string(),
                    )
                }
            },
        }
    }
}

impl IntoResponse for DashboardError {
    fn into_response(self) -> Response {
        let (status, message) = self.status_and_message();
        let title = status.canonical_reason().unwrap_or("Error");
        let body = layout::bare(
            title,
            html! {
                h1 { (status.as_u16()) " " (title) }
                p role="alert" { (message) }
                p { a href=(crate::app::BASE) { "Back to the instances" } }
            },
        );
        (status, body).into_response()
    }
}

/// Unknown dashboard paths.
pub(crate) async fn not_found() -> DashboardError {
    DashboardError::NotFound("There is no such page in the dashboard.".into())
}
