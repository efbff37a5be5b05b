//! The payload limit (`RuntimeOptions::max_payload_bytes`): what a turn or an activity may
//! record, and the one message every refusal uses, so that a client, a failed task and a failed
//! instance all name the size, the limit and the setting the same way.

use durafn_core::{EventKind, FailureDetails, HistoryEvent, Payload, SystemFailure};

/// The message of a payload over the limit.
pub(crate) fn message(what: &str, size: usize, limit: usize) -> String {
    format!("{what} is {size} bytes, more than the payload limit of {limit} bytes (maxPayloadSize)")
}

/// The `PayloadTooLarge` failure of `what`, or `None` when `payload` is within `limit`.
pub(crate) fn check(
    what: impl FnOnce() -> String,
    payload: &Payload,
    limit: usize,
) -> Option<FailureDetails> {
    (payload.len() > limit).then(|| {
        FailureDetails::system(
            SystemFailure::PayloadTooLarge,
            message(&what(), payload.len(), limit),
        )
    })
}

/// What the payload of an event an orchestration records is, in a message.
fn what(kind: &EventKind) -> String {
    match kind {
        EventKind::ExecutionCompleted { .. } => "its output".into(),
        EventKind::TaskScheduled { name, .. } => format!("the input of activity '{name}'"),
        EventKind::SubOrchestrationInstanceCreated { name, .. } => {
            format!("the input of sub-orchestration '{name}'")
        }
        EventKind::EventSent { name, .. } => format!("the data of event '{name}'"),
        EventKind::ContinueAsNew { .. } => "the input it continued as new with".into(),
        EventKind::EntityOperationCalled { operation, .. }
        | EventKind::EntityOperationSignaled { operation, .. } => {
            format!("the input of entity operation '{operation}'")
        }
        other => format!("the payload of its {} event", other.type_name()),
    }
}

/// The failure of the first of a turn's new events whose payload is over `limit`, or of its
/// custom status.
pub(crate) fn check_turn<'a>(
    events: impl IntoIterator<Item = &'a HistoryEvent>,
    custom_status: Option<&Payload>,
    limit: usize,
) -> Option<FailureDetails> {
    for event in events {
        if let Some(payload) = event.kind.payload()
            && let Some(failure) = check(|| what(&event.kind), payload, limit)
        {
            return Some(failure);
        }
    }
    custom_status.and_then(|s| check(|| "its custom status".to_string(), s, limit))
}
