//! The get-status function's answer: only the job's id, status and result.
//!
//! The article adds this function so that the public never sees the
//! management API's links (which carry keys and allow terminating or
//! rewinding instances) nor an instance's input and history. The body is
//!
//! ```text
//! {"id": "433ebcfe85ec4012abe94dcda2aa6b00", "status": "Running", "result": null}
//! ```
//!
//! where `result` is the orchestration's output: `null` until it completes;
//! the failure message for a failed job and the reason for a terminated one,
//! as Durable Functions reports them in `output`.

use durafn::{InstanceStatus, RuntimeStatus};
use serde_json::Value;

use crate::pyjson;

/// The status function's body for an instance: `{"id", "status", "result"}`
/// as `json.dumps` writes it.
pub fn status_body(status: &InstanceStatus) -> String {
    pyjson::object(&[
        ("id", Value::String(status.instance_id.as_str().to_owned())),
        (
            "status",
            Value::String(status.runtime_status.as_str().to_owned()),
        ),
        ("result", result(status)),
    ])
}

/// The job's result as the article's clients see it.
fn result(status: &InstanceStatus) -> Value {
    match status.runtime_status {
        RuntimeStatus::Failed => status
            .failure
            .as_ref()
            .map(|f| Value::String(f.message.clone()))
            .or_else(|| status.output.as_ref().map(|o| o.to_value()))
            .unwrap_or(Value::Null),
        RuntimeStatus::Completed | RuntimeStatus::Terminated => status
            .output
            .as_ref()
            .map(|o| o.to_value())
            .unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

/// The body of the 404 for an unknown id (plain text, as in the article).
pub const NOT_FOUND_BODY: &str = "Job not found";

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use durafn::{FailureDetails, InstanceId, Payload};

    use super::*;

    fn status(runtime_status: RuntimeStatus) -> InstanceStatus {
        let at = Utc
            .timestamp_opt(1_633_824_000, 0)
            .single()
            .expect("valid time");
        InstanceStatus {
            name: "orchestrator-function".into(),
            instance_id: InstanceId::parse("433ebcfe85ec4012abe94dcda2aa6b00").expect("valid id"),
            runtime_status,
            input: Some(Payload::from_json_text(r#"{"start":"2021-10-10"}"#).expect("json")),
            custom_status: None,
            output: None,
            failure: None,
            created_time: at,
            last_updated_time: at,
            history: None,
            version: None,
        }
    }

    #[test]
    fn running_then_completed() {
        assert_eq!(
            status_body(&status(RuntimeStatus::Running)),
            r#"{"id": "433ebcfe85ec4012abe94dcda2aa6b00", "status": "Running", "result": null}"#
        );
        let mut done = status(RuntimeStatus::Completed);
        done.output = Some(Payload::encode(&119).expect("json"));
        assert_eq!(
            status_body(&done),
            r#"{"id": "433ebcfe85ec4012abe94dcda2aa6b00", "status": "Completed", "result": 119}"#
        );
    }

    #[test]
    fn failures_show_their_message_and_nothing_else_leaks() {
        let mut failed = status(RuntimeStatus::Failed);
        failed.failure = Some(FailureDetails::new("Error", "table audit does not exist"));
        let body = status_body(&failed);
        assert_eq!(
            body,
            r#"{"id": "433ebcfe85ec4012abe94dcda2aa6b00", "status": "Failed", "result": "table audit does not exist"}"#
        );
        assert!(!body.contains("2021-10-10"), "no input");
        assert_eq!(
            status_body(&status(RuntimeStatus::Pending)),
            r#"{"id": "433ebcfe85ec4012abe94dcda2aa6b00", "status": "Pending", "result": null}"#
        );
    }
}
