//! Durafn's history read as the SDK's past turns, and the encodings of the SDK's actions: the
//! pieces of a turn's walk that need no state of the walk.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use durafn_core::{EventKind, FailureDetails, HistoryEvent, InstanceId, Payload};
use uuid::Uuid;

use super::state::SdkAction;

/// The namespace of entity request ids.
const REQUEST_NAMESPACE: Uuid = Uuid::from_u128(0x6f0d_2a41_8c3e_4b7a_9d21_53e8_7f4c_1b90);

/// Durafn's record of one past turn.
pub(super) struct PastTurn<'h> {
    pub(super) started: DateTime<Utc>,
    pub(super) messages: Vec<&'h HistoryEvent>,
    pub(super) scheduled: Vec<&'h HistoryEvent>,
}

pub(super) fn split_turns(history: &[HistoryEvent]) -> Vec<PastTurn<'_>> {
    let mut turns: Vec<PastTurn<'_>> = Vec::new();
    for event in history {
        match &event.kind {
            EventKind::OrchestratorStarted => turns.push(PastTurn {
                started: event.timestamp,
                messages: Vec::new(),
                scheduled: Vec::new(),
            }),
            EventKind::OrchestratorCompleted
            | EventKind::ExecutionCompleted { .. }
            | EventKind::ContinueAsNew { .. } => {}
            kind => {
                if let Some(turn) = turns.last_mut() {
                    if kind.is_scheduling() {
                        turn.scheduled.push(event);
                    } else {
                        turn.messages.push(event);
                    }
                }
            }
        }
    }
    turns
}

/// The id an event answers, if it is one that may belong to a retried call.
pub(super) fn retry_candidate(kind: &EventKind) -> Option<i64> {
    match kind {
        EventKind::TaskFailed {
            task_scheduled_id, ..
        }
        | EventKind::SubOrchestrationInstanceFailed {
            task_scheduled_id, ..
        } => Some(task_scheduled_id.0),
        EventKind::TimerFired { timer_id, .. } => Some(timer_id.0),
        _ => None,
    }
}

pub(super) fn waits(list: &[SdkAction]) -> HashMap<&str, usize> {
    let mut counts = HashMap::new();
    for action in list {
        if let SdkAction::WaitForEvent { name } = action {
            *counts.entry(name.as_str()).or_default() += 1;
        }
    }
    counts
}

/// A failure's details as the SDK receives them: the traceback (or whatever details there are)
/// as text.
pub(super) fn details_text(failure: &FailureDetails) -> String {
    match &failure.details {
        None => String::new(),
        Some(d) => d
            .decode::<String>()
            .unwrap_or_else(|_| d.as_json().to_string()),
    }
}

/// The request id of the entity call with task id `id`: unique in the execution, the same on
/// every replay, and never an event name anyone would raise.
pub(crate) fn request_id(instance_id: &str, execution_id: &str, id: i64) -> String {
    Uuid::new_v5(
        &REQUEST_NAMESPACE,
        format!("{instance_id}\n{execution_id}\n{id}").as_bytes(),
    )
    .to_string()
}

/// Parses a `fireAt` as the SDK writes it (and RFC 3339 besides).
pub(super) fn parse_fire_at(text: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.fZ")
        .map(|t| t.and_utc())
        .ok()
        .or_else(|| {
            DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|t| t.with_timezone(&Utc))
        })
}

pub(super) fn payload(text: &str, what: &str) -> Result<Payload, String> {
    Payload::from_json_text(text).map_err(|e| format!("the {what} is not valid JSON: {e}"))
}

/// The request of a `CallHttp` action as durafn's HTTP activity reads it.
pub(super) fn http_request(request: &serde_json::Value) -> Result<Payload, String> {
    let field = |name: &str| request.get(name).filter(|v| !v.is_null());
    if field("tokenSource").is_some() {
        return Err("durable HTTP requests with a managed identity token source are not supported by durafn".into());
    }
    let method = field("method")
        .and_then(serde_json::Value::as_str)
        .ok_or("a durable HTTP request has no method")?;
    let uri = field("uri")
        .and_then(serde_json::Value::as_str)
        .ok_or("a durable HTTP request has no uri")?;
    let mut out = serde_json::json!({"method": method, "uri": uri, "headers": {}});
    if let Some(serde_json::Value::Object(headers)) = field("headers") {
        for (name, value) in headers {
            let value = match value {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out["headers"][name] = serde_json::Value::String(value);
        }
    }
    if let Some(content) = field("content") {
        out["content"] = match content {
            serde_json::Value::String(_) => content.clone(),
            other => serde_json::Value::String(other.to_string()),
        };
    }
    Ok(Payload::from(out))
}

pub(super) fn entity_id(instance_id: &str) -> Result<String, String> {
    let valid = instance_id
        .strip_prefix('@')
        .and_then(|rest| rest.split_once('@'))
        .is_some_and(|(name, key)| !name.is_empty() && !key.is_empty())
        && InstanceId::parse(instance_id).is_ok();
    if valid {
        Ok(instance_id.to_string())
    } else {
        Err(format!("{instance_id:?} is not an entity id (@name@key)"))
    }
}
