//! The shapes a history arrives in: a status object with `historyEvents` (the management API
//! with `showHistory=true`, `durafn history export`), an array of status objects, or an array
//! of history events. The events are either full (with `EventId`, every scheduling event, as a
//! task hub stores them; `EventType` by name or by the Durable Task Framework's number) or
//! condensed (the management API's: completions without the calls they answer).

use chrono::{DateTime, Utc};
use durafn_core::{HistoryEvent, Payload};
use serde::Deserialize;
use serde_json::Value;

/// A history file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryFileError {
    /// The file (or other source).
    pub source: String,
    /// What is wrong with it.
    pub message: String,
}

impl std::fmt::Display for HistoryFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.source, self.message)
    }
}

impl std::error::Error for HistoryFileError {}

/// One instance's history as read.
pub(crate) struct History {
    pub(crate) source: String,
    pub(crate) instance_id: String,
    pub(crate) name: String,
    pub(crate) version: Option<String>,
    /// The instance's input from the status object (a condensed `ExecutionStarted` may lack it).
    pub(crate) input: Option<Payload>,
    pub(crate) events: Events,
}

/// The events of a history.
pub(crate) enum Events {
    Full(Vec<HistoryEvent>),
    Condensed(Vec<Entry>),
}

/// The Durable Task Framework's `EventType` numbers.
const EVENT_TYPES: [&str; 21] = [
    "ExecutionStarted",
    "ExecutionCompleted",
    "ExecutionFailed",
    "ExecutionTerminated",
    "TaskScheduled",
    "TaskCompleted",
    "TaskFailed",
    "SubOrchestrationInstanceCreated",
    "SubOrchestrationInstanceCompleted",
    "SubOrchestrationInstanceFailed",
    "TimerCreated",
    "TimerFired",
    "OrchestratorStarted",
    "OrchestratorCompleted",
    "EventSent",
    "EventRaised",
    "ContinueAsNew",
    "GenericEvent",
    "HistoryState",
    "ExecutionSuspended",
    "ExecutionResumed",
];

/// Reads every history of one file's text.
pub(crate) fn read_histories(source: &str, text: &str) -> Result<Vec<History>, HistoryFileError> {
    let fail = |message: String| HistoryFileError {
        source: source.to_string(),
        message,
    };
    let value: Value = serde_json::from_str(text).map_err(|e| fail(format!("not JSON: {e}")))?;
    match value {
        Value::Object(_) => Ok(vec![status_object(source.to_string(), &value)?]),
        Value::Array(items) if items.first().is_some_and(|i| i.get("historyEvents").is_some()) => {
            items
                .iter()
                .enumerate()
                .map(|(n, item)| status_object(format!("{source}[{n}]"), item))
                .collect()
        }
        Value::Array(items) => {
            let events = events(source, &items)?;
            Ok(vec![bare(source.to_string(), events)])
        }
        _ => Err(fail(
            "expected a status object with historyEvents, an array of them, or an array of history events".into(),
        )),
    }
}

fn status_object(source: String, value: &Value) -> Result<History, HistoryFileError> {
    let Some(Value::Array(items)) = value.get("historyEvents") else {
        return Err(HistoryFileError {
            source,
            message: "the status object has no historyEvents (export it with showHistory=true, as `durafn history export` does)".into(),
        });
    };
    let events = events(&source, items)?;
    let text = |k: &str| value.get(k).and_then(Value::as_str).map(str::to_string);
    let mut history = bare(source, events);
    if let Some(id) = text("instanceId") {
        history.instance_id = id;
    }
    if let Some(name) = text("name") {
        history.name = name;
    }
    if history.version.is_none() {
        history.version = text("version");
    }
    history.input = value
        .get("input")
        .and_then(|v| Payload::from_json_text(v.to_string()).ok());
    Ok(history)
}

/// A history from its events alone; the instance's facts come from its `ExecutionStarted`.
fn bare(source: String, events: Events) -> History {
    let (instance_id, name, version) = match &events {
        Events::Full(events) => events
            .iter()
            .find_map(|e| match &e.kind {
                durafn_core::EventKind::ExecutionStarted {
                    instance_id,
                    name,
                    version,
                    ..
                } => Some((instance_id.to_string(), name.clone(), version.clone())),
                _ => None,
            })
            .unwrap_or_default(),
        Events::Condensed(entries) => entries
            .iter()
            .find(|e| e.event_type == "ExecutionStarted")
            .map(|e| {
                (
                    String::new(),
                    e.function_name.clone().unwrap_or_default(),
                    e.version.clone(),
                )
            })
            .unwrap_or_default(),
    };
    History {
        source,
        instance_id,
        name,
        version,
        input: None,
        events,
    }
}

fn events(source: &str, items: &[Value]) -> Result<Events, HistoryFileError> {
    let fail = |n: usize, message: String| HistoryFileError {
        source: source.to_string(),
        message: format!("history event {n}: {message}"),
    };
    let full = !items.is_empty() && items.iter().all(|i| i.get("EventId").is_some());
    let mut texts = Vec::with_capacity(items.len());
    for item in items {
        let mut item = item.clone();
        if let Some(n) = item.get("EventType").and_then(Value::as_u64) {
            let name = usize::try_from(n)
                .ok()
                .and_then(|n| EVENT_TYPES.get(n))
                .copied()
                .unwrap_or("unknown");
            item["EventType"] = Value::String(name.to_string());
        }
        texts.push(item.to_string());
    }
    if full {
        let events = texts
            .iter()
            .enumerate()
            .map(|(n, t)| {
                serde_json::from_str::<HistoryEvent>(t).map_err(|e| fail(n, e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Events::Full(events))
    } else {
        let entries = texts
            .iter()
            .enumerate()
            .map(|(n, t)| serde_json::from_str::<Entry>(t).map_err(|e| fail(n, e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Events::Condensed(entries))
    }
}

/// One entry of a condensed history, with the fields the management API writes.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Entry {
    pub(crate) event_type: String,
    pub(crate) timestamp: DateTime<Utc>,
    #[serde(default)]
    pub(crate) function_name: Option<String>,
    #[serde(default)]
    pub(crate) name: Option<String>,
    #[serde(default)]
    pub(crate) instance_id: Option<String>,
    #[serde(default)]
    pub(crate) scheduled_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub(crate) fire_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub(crate) orchestration_status: Option<String>,
    #[serde(default)]
    pub(crate) input: Option<Payload>,
    #[serde(default)]
    pub(crate) result: Option<Payload>,
    #[serde(default)]
    pub(crate) reason: Option<String>,
    #[serde(default)]
    pub(crate) error_type: Option<String>,
    #[serde(default)]
    pub(crate) details: Option<Payload>,
    #[serde(default)]
    pub(crate) version: Option<String>,
}
