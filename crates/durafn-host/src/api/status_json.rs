//! The status object of the management API, with its history in the Durable Functions shape.
//!
//! Inputs, outputs and event data are written as the verbatim JSON they were stored as. The
//! history follows what the Durable Functions extension shows rather than the raw task hub
//! records: turn markers (`OrchestratorStarted`/`OrchestratorCompleted`) are left out, and a
//! scheduled activity or sub-orchestration that has finished is shown once, as its completion,
//! carrying the `FunctionName` and `ScheduledTime` of its scheduling event. A task that has not
//! finished yet is shown as its scheduling event. Results appear only with `showHistoryOutput`;
//! so do the other payloads of history (event data, task inputs), except the orchestration's own
//! input, which follows `showInput`.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, SecondsFormat, Utc};
use durafn_core::{EventKind, FailureDetails, HistoryEvent, Payload, RuntimeStatus, TraceContext};
use durafn_runtime::InstanceStatus;
use durafn_store::InstanceRecord;
use serde::Serialize;

/// Times as ISO 8601 in UTC with `Z`, with fractional seconds only when there are any.
pub(crate) fn iso(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The status object.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StatusJson<'a> {
    name: &'a str,
    instance_id: &'a str,
    runtime_status: &'static str,
    input: Option<&'a Payload>,
    custom_status: Option<&'a Payload>,
    output: Option<Payload>,
    created_time: String,
    last_updated_time: String,
    /// The version it was started with; left out when it has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    history_events: Option<Vec<HistoryJson<'a>>>,
}

/// What a failed instance shows as its output: the failure message.
fn output_of(
    status: RuntimeStatus,
    output: Option<&Payload>,
    failure: Option<&FailureDetails>,
) -> Option<Payload> {
    match (status, failure) {
        (RuntimeStatus::Failed, Some(f)) => Payload::encode(&f.message).ok(),
        _ => output.cloned(),
    }
}

impl<'a> StatusJson<'a> {
    /// From a client status (with its history, when it was asked for).
    pub(crate) fn from_status(s: &'a InstanceStatus, show_history_output: bool) -> Self {
        Self {
            name: &s.name,
            instance_id: s.instance_id.as_str(),
            runtime_status: s.runtime_status.as_str(),
            input: s.input.as_ref(),
            custom_status: s.custom_status.as_ref(),
            output: output_of(s.runtime_status, s.output.as_ref(), s.failure.as_ref()),
            created_time: iso(&s.created_time),
            last_updated_time: iso(&s.last_updated_time),
            version: s.version.as_deref(),
            history_events: s
                .history
                .as_ref()
                .map(|h| history_json(h, show_history_output, s.input.is_some())),
        }
    }

    /// From a listed record.
    pub(crate) fn from_record(r: &'a InstanceRecord, show_input: bool) -> Self {
        Self {
            name: &r.name,
            instance_id: r.instance_id.as_str(),
            runtime_status: r.status.as_str(),
            input: show_input.then_some(&r.input),
            custom_status: r.custom_status.as_ref(),
            output: output_of(r.status, r.output.as_ref(), r.failure.as_ref()),
            created_time: iso(&r.created_at),
            last_updated_time: iso(&r.last_updated_at),
            version: r.version.as_deref(),
            history_events: None,
        }
    }
}

/// One history entry as shown by the management API.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct HistoryJson<'a> {
    event_type: &'static str,
    timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    function_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    instance_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scheduled_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fire_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    orchestration_status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    input: Option<&'a Payload>,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'a Payload>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a Payload>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_trace_context: Option<&'a TraceContext>,
}

fn history_json<'a>(
    events: &'a [HistoryEvent],
    show_output: bool,
    show_input: bool,
) -> Vec<HistoryJson<'a>> {
    // Scheduling events by id, and which of them have an answer in this history.
    let mut scheduled: HashMap<i64, (&'a str, &'a DateTime<Utc>)> = HashMap::new();
    let mut answered: HashSet<i64> = HashSet::new();
    for e in events {
        match &e.kind {
            EventKind::TaskScheduled { name, .. }
            | EventKind::SubOrchestrationInstanceCreated { name, .. }
            | EventKind::EntityOperationCalled {
                operation: name, ..
            } => {
                scheduled.insert(e.event_id.0, (name.as_str(), &e.timestamp));
            }
            kind => {
                if let Some(task) = kind.answered_task() {
                    answered.insert(task.0);
                }
            }
        }
    }
    let out_payload = |p: &'a Payload| show_output.then_some(p);
    let mut out = Vec::new();
    for e in events {
        let mut j = HistoryJson {
            event_type: e.kind.type_name(),
            timestamp: iso(&e.timestamp),
            ..HistoryJson::default()
        };
        let origin = |id: i64, j: &mut HistoryJson<'a>| {
            if let Some((name, at)) = scheduled.get(&id) {
                j.function_name = Some(name);
                j.scheduled_time = Some(iso(at));
            }
        };
        match &e.kind {
            EventKind::OrchestratorStarted | EventKind::OrchestratorCompleted => continue,
            EventKind::TaskScheduled { name, input }
            | EventKind::SubOrchestrationInstanceCreated { name, input, .. } => {
                if answered.contains(&e.event_id.0) {
                    continue;
                }
                j.function_name = Some(name);
                j.input = out_payload(input);
                if let EventKind::SubOrchestrationInstanceCreated { instance_id, .. } = &e.kind {
                    j.instance_id = Some(instance_id.as_str());
                }
            }
            EventKind::ExecutionStarted {
                name,
                input,
                version,
                parent_trace_context,
                ..
            } => {
                j.function_name = Some(name);
                j.input = show_input.then_some(input);
                j.version = version.as_deref();
                j.parent_trace_context = parent_trace_context.as_ref();
            }
            EventKind::ExecutionCompleted {
                orchestration_status,
                result,
                failure_details,
            } => {
                j.orchestration_status = Some(orchestration_status.as_str());
                j.result = result.as_ref().and_then(out_payload);
                if let Some(f) = failure_details {
                    j.reason = Some(&f.message);
                    j.details = f.details.as_ref();
                    j.error_type = Some(&f.error_type);
                }
            }
            EventKind::ExecutionTerminated { input } => j.input = Some(input),
            EventKind::TaskCompleted {
                task_scheduled_id,
                result,
            }
            | EventKind::SubOrchestrationInstanceCompleted {
                task_scheduled_id,
                result,
            } => {
                origin(task_scheduled_id.0, &mut j);
                j.result = out_payload(result);
            }
            EventKind::TaskFailed {
                task_scheduled_id,
                failure,
            }
            | EventKind::SubOrchestrationInstanceFailed {
                task_scheduled_id,
                failure,
            } => {
                origin(task_scheduled_id.0, &mut j);
                j.reason = Some(&failure.message);
                j.details = failure.details.as_ref();
                j.error_type = Some(&failure.error_type);
            }
            EventKind::TimerCreated { fire_at } | EventKind::TimerFired { fire_at, .. } => {
                j.fire_at = Some(iso(fire_at));
            }
            EventKind::EventSent {
                instance_id,
                name,
                input,
            } => {
                j.name = Some(name);
                j.instance_id = Some(instance_id.as_str());
                j.input = out_payload(input);
            }
            EventKind::EventRaised { name, input } => {
                j.name = Some(name);
                j.input = out_payload(input);
            }
            EventKind::ContinueAsNew { input } => j.input = out_payload(input),
            EventKind::ExecutionSuspended { reason }
            | EventKind::ExecutionResumed { reason }
            | EventKind::ExecutionRewound { reason } => j.reason = reason.as_deref(),
            EventKind::EntityOperationCalled {
                instance_id,
                operation,
                input,
            } => {
                if answered.contains(&e.event_id.0) {
                    continue;
                }
                j.name = Some(operation);
                j.instance_id = Some(instance_id.as_str());
                j.input = out_payload(input);
            }
            EventKind::EntityOperationCompleted {
                task_scheduled_id,
                result,
            } => {
                origin(task_scheduled_id.0, &mut j);
                j.result = out_payload(result);
            }
            EventKind::EntityOperationFailed {
                task_scheduled_id,
                failure,
            } => {
                origin(task_scheduled_id.0, &mut j);
                j.reason = Some(&failure.message);
                j.details = failure.details.as_ref();
                j.error_type = Some(&failure.error_type);
            }
            EventKind::PatchMarker { patch_id } => j.name = Some(patch_id),
            // Other kinds (entity locks and requests) show their type and time only.
            _ => {}
        }
        out.push(j);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use durafn_core::{EventId, ExecutionId, InstanceId};

    fn t(s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2021, 10, 12, 10, 0, s).unwrap()
    }

    fn status(history: Vec<HistoryEvent>) -> InstanceStatus {
        InstanceStatus {
            name: "orchestrator-function".into(),
            instance_id: InstanceId::from_trusted("abc"),
            runtime_status: RuntimeStatus::Completed,
            input: Some(Payload::from_json_text(r#"{"b":1,  "a":2}"#).unwrap()),
            custom_status: None,
            output: Some(Payload::encode(&42).unwrap()),
            failure: None,
            created_time: t(0),
            last_updated_time: t(3),
            history: Some(history),
            version: None,
        }
    }

    fn history() -> Vec<HistoryEvent> {
        let p = |v: serde_json::Value| Payload::from(v);
        vec![
            HistoryEvent::new(
                t(0),
                EventKind::ExecutionStarted {
                    name: "orchestrator-function".into(),
                    instance_id: InstanceId::from_trusted("abc"),
                    execution_id: ExecutionId::new("e"),
                    input: p(serde_json::json!({"b": 1})),
                    parent: None,
                    version: None,
                    parent_trace_context: None,
                },
            ),
            HistoryEvent::new(t(0), EventKind::OrchestratorStarted),
            HistoryEvent::scheduled(
                EventId(0),
                t(1),
                EventKind::TaskScheduled {
                    name: "query".into(),
                    input: p(serde_json::json!(1)),
                },
            ),
            HistoryEvent::scheduled(
                EventId(1),
                t(1),
                EventKind::TaskScheduled {
                    name: "pending".into(),
                    input: p(serde_json::json!(2)),
                },
            ),
            HistoryEvent::new(t(1), EventKind::OrchestratorCompleted),
            HistoryEvent::new(
                t(2),
                EventKind::TaskCompleted {
                    task_scheduled_id: EventId(0),
                    result: p(serde_json::json!(42)),
                },
            ),
            HistoryEvent::new(
                t(3),
                EventKind::ExecutionCompleted {
                    orchestration_status: RuntimeStatus::Completed,
                    result: Some(p(serde_json::json!(42))),
                    failure_details: None,
                },
            ),
        ]
    }

    #[test]
    fn status_object_shape() {
        let s = status(history());
        let json = serde_json::to_string(&StatusJson::from_status(&s, false)).unwrap();
        assert!(
            json.starts_with(
                r#"{"name":"orchestrator-function","instanceId":"abc","runtimeStatus":"Completed","input":{"b":1,  "a":2},"customStatus":null,"output":42,"createdTime":"2021-10-12T10:00:00Z","lastUpdatedTime":"2021-10-12T10:00:03Z","historyEvents":["#
            ),
            "{json}"
        );
    }

    #[test]
    fn history_merges_scheduling_into_completion() {
        let s = status(history());
        let v = serde_json::to_value(StatusJson::from_status(&s, true)).unwrap();
        let events = v["historyEvents"].as_array().unwrap();
        let types: Vec<&str> = events
            .iter()
            .map(|e| e["EventType"].as_str().unwrap())
            .collect();
        assert_eq!(
            types,
            [
                "ExecutionStarted",
                "TaskScheduled",
                "TaskCompleted",
                "ExecutionCompleted"
            ]
        );
        assert_eq!(events[1]["FunctionName"], "pending");
        assert_eq!(events[2]["FunctionName"], "query");
        assert_eq!(events[2]["ScheduledTime"], "2021-10-12T10:00:01Z");
        assert_eq!(events[2]["Timestamp"], "2021-10-12T10:00:02Z");
        assert_eq!(events[2]["Result"], 42);
        let hidden = serde_json::to_value(StatusJson::from_status(&s, false)).unwrap();
        assert!(hidden["historyEvents"][2].get("Result").is_none());
        assert!(hidden["historyEvents"][3].get("Result").is_none());
    }

    #[test]
    fn failed_output_is_the_message() {
        let mut s = status(Vec::new());
        s.history = None;
        s.runtime_status = RuntimeStatus::Failed;
        s.output = None;
        s.failure = Some(FailureDetails::new("Boom", "it broke"));
        let v = serde_json::to_value(StatusJson::from_status(&s, false)).unwrap();
        assert_eq!(v["output"], "it broke");
        assert!(v.get("historyEvents").is_none());
    }
}
