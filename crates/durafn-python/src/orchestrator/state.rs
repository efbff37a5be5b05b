//! The orchestration state the SDK returns each turn, and its actions, decoded and flattened.
//!
//! The action list is cumulative (every action since the execution began). Compound actions
//! (`WhenAll`, `WhenAny`) schedule nothing themselves, so the list is flattened depth-first into
//! its primitive actions; the SDK's task ids follow that order (`PROTOCOL.md`, 9.1 and 10.1).

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

/// The retry policy of a retried call (the Python SDK has only these two fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Retry {
    pub(crate) first_interval_ms: i64,
    pub(crate) max_attempts: u32,
}

/// One primitive action of the SDK.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SdkAction {
    /// `CallActivity` (0), or `CallActivityWithRetry` (1) with its policy.
    Activity {
        name: String,
        input: String,
        retry: Option<Retry>,
    },
    /// `CallSubOrchestrator` (2), or `CallSubOrchestratorWithRetry` (3).
    SubOrchestration {
        name: String,
        input: String,
        instance_id: Option<String>,
        retry: Option<Retry>,
    },
    /// `ContinueAsNew` (4).
    ContinueAsNew { input: String },
    /// `CreateTimer` (5).
    Timer { fire_at: String, canceled: bool },
    /// `WaitForExternalEvent` (6): takes no task id.
    WaitForEvent { name: String },
    /// `CallEntity` (7).
    CallEntity {
        instance_id: String,
        operation: String,
        input: String,
    },
    /// `CallHttp` (8): the request object as the SDK wrote it.
    Http { request: Value },
    /// `SignalEntity` (9).
    SignalEntity {
        instance_id: String,
        operation: String,
        input: String,
    },
}

impl SdkAction {
    /// Whether the SDK gives this action a task id.
    pub(crate) fn takes_id(&self) -> bool {
        !matches!(self, SdkAction::WaitForEvent { .. })
    }

    /// The retry policy of a retried call.
    pub(crate) fn retry(&self) -> Option<Retry> {
        match self {
            SdkAction::Activity { retry, .. } | SdkAction::SubOrchestration { retry, .. } => *retry,
            _ => None,
        }
    }
}

/// The state of one turn.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SdkState {
    pub(crate) is_done: bool,
    /// The flattened action list.
    pub(crate) actions: Vec<SdkAction>,
    /// The return value as JSON text (`None`: the SDK left it out, i.e. `None` in Python).
    pub(crate) output: Option<String>,
    /// The exception's text when the code raised.
    pub(crate) error: Option<String>,
    /// The last custom status as JSON text (`None`: unset, or falsy and dropped by the SDK).
    pub(crate) custom_status: Option<String>,
}

/// Why the SDK's state could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the orchestration state from the SDK could not be read: {0}")]
pub(crate) struct StateError(pub(crate) String);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StateJson {
    #[serde(default)]
    is_done: bool,
    #[serde(default)]
    actions: Vec<Vec<ActionJson>>,
    #[serde(default)]
    output: Option<Box<RawValue>>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    custom_status: Option<Box<RawValue>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ActionJson {
    action_type: u8,
    #[serde(default)]
    function_name: Option<String>,
    #[serde(default)]
    input: Option<Box<RawValue>>,
    #[serde(default)]
    retry_options: Option<RetryJson>,
    #[serde(default)]
    instance_id: Option<String>,
    #[serde(default)]
    fire_at: Option<String>,
    #[serde(default)]
    is_canceled: bool,
    #[serde(default)]
    external_event_name: Option<String>,
    #[serde(default)]
    operation: Option<String>,
    #[serde(default)]
    http_request: Option<Value>,
    #[serde(default)]
    compound_actions: Vec<ActionJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RetryJson {
    first_retry_interval_in_milliseconds: i64,
    max_number_of_attempts: i64,
}

/// An input as the action carries it: JSON text in a string (a bare JSON value is taken as the
/// text it is; none is `null`).
fn input_text(input: &Option<Box<RawValue>>) -> String {
    match input {
        None => "null".into(),
        Some(raw) => match serde_json::from_str::<String>(raw.get()) {
            Ok(text) => text,
            Err(_) => raw.get().to_string(),
        },
    }
}

fn required(value: Option<String>, action: &str, field: &str) -> Result<String, StateError> {
    value.ok_or_else(|| StateError(format!("a {action} action has no {field}")))
}

fn retry(json: Option<RetryJson>, action: &str) -> Result<Retry, StateError> {
    let r = json.ok_or_else(|| StateError(format!("a {action} action has no retryOptions")))?;
    Ok(Retry {
        first_interval_ms: r.first_retry_interval_in_milliseconds.max(0),
        max_attempts: u32::try_from(r.max_number_of_attempts.max(1)).unwrap_or(u32::MAX),
    })
}

fn flatten(action: ActionJson, out: &mut Vec<SdkAction>) -> Result<(), StateError> {
    let input = input_text(&action.input);
    let primitive = match action.action_type {
        0 | 1 => SdkAction::Activity {
            name: required(action.function_name, "CallActivity", "functionName")?,
            input,
            retry: (action.action_type == 1)
                .then(|| retry(action.retry_options, "CallActivityWithRetry"))
                .transpose()?,
        },
        2 | 3 => SdkAction::SubOrchestration {
            name: required(action.function_name, "CallSubOrchestrator", "functionName")?,
            input,
            instance_id: action.instance_id.filter(|id| !id.is_empty()),
            retry: (action.action_type == 3)
                .then(|| retry(action.retry_options, "CallSubOrchestratorWithRetry"))
                .transpose()?,
        },
        4 => SdkAction::ContinueAsNew { input },
        5 => SdkAction::Timer {
            fire_at: required(action.fire_at, "CreateTimer", "fireAt")?,
            canceled: action.is_canceled,
        },
        6 => SdkAction::WaitForEvent {
            name: required(
                action.external_event_name,
                "WaitForExternalEvent",
                "externalEventName",
            )?,
        },
        7 | 9 => {
            let instance_id = required(action.instance_id, "entity", "instanceId")?;
            let operation = required(action.operation, "entity", "operation")?;
            if action.action_type == 7 {
                SdkAction::CallEntity {
                    instance_id,
                    operation,
                    input,
                }
            } else {
                SdkAction::SignalEntity {
                    instance_id,
                    operation,
                    input,
                }
            }
        }
        8 => SdkAction::Http {
            request: action
                .http_request
                .ok_or_else(|| StateError("a CallHttp action has no httpRequest".into()))?,
        },
        11 | 12 => {
            for child in action.compound_actions {
                flatten(child, out)?;
            }
            return Ok(());
        }
        other => return Err(StateError(format!("unknown action type {other}"))),
    };
    out.push(primitive);
    Ok(())
}

/// Decodes the state JSON text the SDK returned.
pub(crate) fn decode(text: &str) -> Result<SdkState, StateError> {
    let json: StateJson = serde_json::from_str(text).map_err(|e| StateError(e.to_string()))?;
    let mut actions = Vec::new();
    for group in json.actions {
        for action in group {
            flatten(action, &mut actions)?;
        }
    }
    Ok(SdkState {
        is_done: json.is_done,
        actions,
        output: json.output.map(|raw| raw.get().to_string()),
        error: json.error,
        custom_status: json.custom_status.map(|raw| raw.get().to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compounds_are_flattened_depth_first() {
        // task_all([a, task_any([wait, timer])]) then a retried activity (a WhenAll of one).
        let state = decode(
            r#"{"isDone": false, "schemaVersion": 1, "actions": [[
                {"actionType": 12, "compoundActions": [
                    {"actionType": 0, "functionName": "a", "input": "1"},
                    {"actionType": 11, "compoundActions": [
                        {"actionType": 6, "externalEventName": "Approval", "reason": "ExternalEvent"},
                        {"actionType": 5, "fireAt": "2026-12-01T08:00:00.000000Z", "isCanceled": true}]}]},
                {"actionType": 12, "compoundActions": [
                    {"actionType": 1, "functionName": "flaky", "input": "{\"n\": 1}",
                     "retryOptions": {"firstRetryIntervalInMilliseconds": 1000, "maxNumberOfAttempts": 3}}]}]]}"#,
        )
        .unwrap();
        assert_eq!(
            state.actions,
            vec![
                SdkAction::Activity {
                    name: "a".into(),
                    input: "1".into(),
                    retry: None
                },
                SdkAction::WaitForEvent {
                    name: "Approval".into()
                },
                SdkAction::Timer {
                    fire_at: "2026-12-01T08:00:00.000000Z".into(),
                    canceled: true
                },
                SdkAction::Activity {
                    name: "flaky".into(),
                    input: r#"{"n": 1}"#.into(),
                    retry: Some(Retry {
                        first_interval_ms: 1000,
                        max_attempts: 3
                    }),
                },
            ]
        );
        assert!(!state.actions[1].takes_id());
        assert_eq!(state.output, None);
    }

    #[test]
    fn outputs_and_statuses_stay_json_text() {
        let state = decode(
            r#"{"isDone": true, "actions": [[{"actionType": 9, "instanceId": "@counter@k", "operation": "add", "input": "5"},
                {"actionType": 2, "functionName": "child", "input": "[1]", "instanceId": null, "version": null},
                {"actionType": 8, "httpRequest": {"method": "GET", "uri": "http://x", "content": null, "headers": null}},
                {"actionType": 4, "input": "2"}]],
               "output": {"b": 1,  "a": [1, 2]}, "customStatus": "done"}"#,
        )
        .unwrap();
        assert!(state.is_done);
        assert_eq!(state.output.as_deref(), Some(r#"{"b": 1,  "a": [1, 2]}"#));
        assert_eq!(state.custom_status.as_deref(), Some(r#""done""#));
        assert!(matches!(
            &state.actions[1],
            SdkAction::SubOrchestration {
                instance_id: None,
                ..
            }
        ));
        assert!(matches!(&state.actions[3], SdkAction::ContinueAsNew { input } if input == "2"));
        assert!(decode(r#"{"isDone": false, "actions": [[{"actionType": 10}]]}"#).is_err());
        assert!(decode(r#"{"isDone": false, "actions": [[{"actionType": 0}]]}"#).is_err());
    }
}
