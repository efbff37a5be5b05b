//! What the walk of one turn is given, what runs the orchestrator's code for it, and why a turn
//! could not be planned.

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};
use durafn_core::HistoryEvent;

use super::state::SdkState;
use crate::protocol::WorkerError;

/// The SDK's answer for one view.
#[derive(Debug, Clone)]
pub(crate) struct Turned {
    /// The state it returned.
    pub(crate) state: SdkState,
    /// The worker's description of the exception the code raised, if it did.
    pub(crate) exception: Option<WorkerError>,
}

/// Why a turn could not be planned.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum TurnError {
    /// The worker could not run the turn now (it went away, or is stopping): the turn is tried
    /// again later.
    #[error("{0}")]
    Unavailable(String),
    /// The invocation failed outside the SDK's error handling (`sys.exit()` in the code, a
    /// state the host cannot read): the execution fails.
    #[error("{}: {}", .0.error_type, .0.message)]
    Failed(WorkerError),
}

/// What runs the orchestrator's code for a view.
pub(crate) trait TurnRunner: Send {
    /// Runs the code over the history in `context` (the context JSON text).
    fn run<'a>(
        &'a mut self,
        context: String,
    ) -> Pin<Box<dyn Future<Output = Result<Turned, TurnError>> + Send + 'a>>;
}

/// What a turn is given.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TurnInput<'a> {
    pub(crate) instance_id: &'a str,
    pub(crate) history: &'a [HistoryEvent],
    pub(crate) new_events: &'a [HistoryEvent],
    pub(crate) now: DateTime<Utc>,
}
