//! What the replay tester and the replay check report when code no longer matches history.

use crate::action::Action;
use crate::history::HistoryEvent;

/// Where replay first found that the code no longer does what history records: the recorded
/// event and the action the code issued in its place, side by side.
#[derive(Debug, Clone, PartialEq)]
pub struct Divergence {
    /// The index of the recorded event in the replayed history (`None` when the divergence
    /// was found in a new turn, or is about the end of the history).
    pub history_index: Option<usize>,
    /// The sequence number (`EventId`) both share (-1 when the divergence is not about one).
    pub event_id: i64,
    /// The recorded event (`None`: history records nothing there).
    pub recorded: Option<HistoryEvent>,
    /// What the code issued in its place (`None`: nothing).
    pub issued: Option<Action>,
    /// Where in the orchestrator's source the code issued it, when known.
    pub location: Option<String>,
    /// The message the instance fails (or would fail) with.
    pub message: String,
}
