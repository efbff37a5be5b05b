//! The status object of an instance (`GET instances/{id}`, and each entry of `GET instances`),
//! and its history as the management API shows it.
//!
//! The history is not the raw event log of the task hub. As in Durable Functions, turn markers
//! (`OrchestratorStarted`, `OrchestratorCompleted`) are left out, and a scheduled activity or
//! sub-orchestration that has finished is shown once, as its completion, carrying the
//! `FunctionName` and `ScheduledTime` of its scheduling event; one that has not finished yet is
//! shown as its scheduling event. So the time a step took is `Timestamp - ScheduledTime` of its
//! completion. Results appear only with `showHistoryOutput=true`.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Where an instance is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RuntimeStatus {
    /// Scheduled, not started yet.
    Pending,
    /// Started and not finished.
    Running,
    /// Finished with an output.
    Completed,
    /// Started again with new input; a new execution follows.
    ContinuedAsNew,
    /// Finished with a failure.
    Failed,
    /// Cancelled (a status of old Durable Functions versions; durafn never reports it).
    Canceled,
    /// Stopped by a terminate request.
    Terminated,
    /// Paused by a suspend request until it is resumed.
    Suspended,
    /// A status this version does not know (read from a newer or different host).
    #[serde(other)]
    Unknown,
}

impl RuntimeStatus {
    /// Every status a durafn host reports, in the order the API documents them.
    pub const ALL: [RuntimeStatus; 7] = [
        RuntimeStatus::Pending,
        RuntimeStatus::Running,
        RuntimeStatus::Completed,
        RuntimeStatus::ContinuedAsNew,
        RuntimeStatus::Failed,
        RuntimeStatus::Terminated,
        RuntimeStatus::Suspended,
    ];

    /// The name the API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            RuntimeStatus::Pending => "Pending",
            RuntimeStatus::Running => "Running",
            RuntimeStatus::Completed => "Completed",
            RuntimeStatus::ContinuedAsNew => "ContinuedAsNew",
            RuntimeStatus::Failed => "Failed",
            RuntimeStatus::Canceled => "Canceled",
            RuntimeStatus::Terminated => "Terminated",
            RuntimeStatus::Suspended => "Suspended",
            RuntimeStatus::Unknown => "Unknown",
        }
    }

    /// Whether the instance has finished for good (Completed, Failed, Terminated, Canceled):
    /// the status answers 200 instead of 202, and it can be purged.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RuntimeStatus::Completed
                | RuntimeStatus::Failed
                | RuntimeStatus::Terminated
                | RuntimeStatus::Canceled
        )
    }
}

impl fmt::Display for RuntimeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status name that is not one of [`RuntimeStatus::ALL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownStatus(pub String);

impl fmt::Display for UnknownStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown runtime status {:?} (expected Pending, Running, Completed, ContinuedAsNew, Failed, Terminated or Suspended)",
            self.0
        )
    }
}

impl std::error::Error for UnknownStatus {}

impl FromStr for RuntimeStatus {
    type Err = UnknownStatus;

    /// Parses a status name, ignoring case, as the API's `runtimeStatus` filter does.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RuntimeStatus::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownStatus(s.to_string()))
    }
}

/// The status object of one instance.
///
/// `input`, `customStatus` and `output` are always present (`null` when empty or not asked
/// for: listings leave inputs out unless `showInput=true`). A failed instance's `output` is its
/// failure message. `historyEvents` is present only with `showHistory=true`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceStatus {
    /// The orchestrator function's name.
    pub name: String,
    /// The instance id.
    pub instance_id: String,
    /// Where the instance is in its life.
    pub runtime_status: RuntimeStatus,
    /// The input it was started with.
    pub input: Option<Box<RawValue>>,
    /// What the orchestration last set with `set_custom_status`.
    pub custom_status: Option<Box<RawValue>>,
    /// The output; for a failed instance, the failure message.
    pub output: Option<Box<RawValue>>,
    /// When it was created.
    #[serde(with = "crate::time")]
    pub created_time: DateTime<Utc>,
    /// When its status last changed.
    #[serde(with = "crate::time")]
    pub last_updated_time: DateTime<Utc>,
    /// Its history, when asked for with `showHistory=true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_events: Option<Vec<HistoryEvent>>,
    /// The version it was started with (`?version=`), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// The kind of a history entry (`EventType`), as the Durable Task Framework names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum EventType {
    /// The execution started (carries the orchestrator's name and input).
    ExecutionStarted,
    /// The execution finished (carries `OrchestrationStatus` and the result or failure).
    ExecutionCompleted,
    /// A terminate request arrived.
    ExecutionTerminated,
    /// A suspend request arrived.
    ExecutionSuspended,
    /// A resume request arrived.
    ExecutionResumed,
    /// A rewind request arrived.
    ExecutionRewound,
    /// An activity was scheduled and has not finished.
    TaskScheduled,
    /// An activity finished.
    TaskCompleted,
    /// An activity failed.
    TaskFailed,
    /// A sub-orchestration was started and has not finished (carries its `InstanceId`).
    SubOrchestrationInstanceCreated,
    /// A sub-orchestration finished.
    SubOrchestrationInstanceCompleted,
    /// A sub-orchestration failed.
    SubOrchestrationInstanceFailed,
    /// A durable timer was created.
    TimerCreated,
    /// A durable timer fired.
    TimerFired,
    /// A turn began (shown by raw Durable Task histories, left out by the API).
    OrchestratorStarted,
    /// A turn ended (shown by raw Durable Task histories, left out by the API).
    OrchestratorCompleted,
    /// An event was sent to another instance.
    EventSent,
    /// An external event arrived.
    EventRaised,
    /// The orchestration continued as new.
    ContinueAsNew,
    /// An entity operation was called and has not answered.
    EntityOperationCalled,
    /// An entity operation was signalled (one-way).
    EntityOperationSignaled,
    /// An entity operation answered.
    EntityOperationCompleted,
    /// An entity operation failed.
    EntityOperationFailed,
    /// A critical section asked for its locks.
    EntityLockRequested,
    /// A critical section got its locks.
    EntityLockGranted,
    /// A critical section released its locks.
    EntityUnlockSent,
    /// A request to an entity.
    EntityRequest,
    /// A kind this version does not know, by its name.
    Other(String),
}

impl EventType {
    const NAMED: [(EventType, &'static str); 27] = [
        (EventType::ExecutionStarted, "ExecutionStarted"),
        (EventType::ExecutionCompleted, "ExecutionCompleted"),
        (EventType::ExecutionTerminated, "ExecutionTerminated"),
        (EventType::ExecutionSuspended, "ExecutionSuspended"),
        (EventType::ExecutionResumed, "ExecutionResumed"),
        (EventType::ExecutionRewound, "ExecutionRewound"),
        (EventType::TaskScheduled, "TaskScheduled"),
        (EventType::TaskCompleted, "TaskCompleted"),
        (EventType::TaskFailed, "TaskFailed"),
        (
            EventType::SubOrchestrationInstanceCreated,
            "SubOrchestrationInstanceCreated",
        ),
        (
            EventType::SubOrchestrationInstanceCompleted,
            "SubOrchestrationInstanceCompleted",
        ),
        (
            EventType::SubOrchestrationInstanceFailed,
            "SubOrchestrationInstanceFailed",
        ),
        (EventType::TimerCreated, "TimerCreated"),
        (EventType::TimerFired, "TimerFired"),
        (EventType::OrchestratorStarted, "OrchestratorStarted"),
        (EventType::OrchestratorCompleted, "OrchestratorCompleted"),
        (EventType::EventSent, "EventSent"),
        (EventType::EventRaised, "EventRaised"),
        (EventType::ContinueAsNew, "ContinueAsNew"),
        (EventType::EntityOperationCalled, "EntityOperationCalled"),
        (
            EventType::EntityOperationSignaled,
            "EntityOperationSignaled",
        ),
        (
            EventType::EntityOperationCompleted,
            "EntityOperationCompleted",
        ),
        (EventType::EntityOperationFailed, "EntityOperationFailed"),
        (EventType::EntityLockRequested, "EntityLockRequested"),
        (EventType::EntityLockGranted, "EntityLockGranted"),
        (EventType::EntityUnlockSent, "EntityUnlockSent"),
        (EventType::EntityRequest, "EntityRequest"),
    ];

    /// The name the API uses.
    pub fn as_str(&self) -> &str {
        match self {
            EventType::Other(name) => name,
            known => Self::NAMED
                .iter()
                .find(|(t, _)| t == known)
                .map(|(_, n)| *n)
                .unwrap_or("Unknown"),
        }
    }

    /// Whether this entry is the completion of a scheduled step (activity, sub-orchestration,
    /// entity call): it carries the step's `FunctionName` and `ScheduledTime`.
    pub fn is_completion(&self) -> bool {
        matches!(
            self,
            EventType::TaskCompleted
                | EventType::TaskFailed
                | EventType::SubOrchestrationInstanceCompleted
                | EventType::SubOrchestrationInstanceFailed
                | EventType::EntityOperationCompleted
                | EventType::EntityOperationFailed
        )
    }
}

impl From<String> for EventType {
    fn from(name: String) -> Self {
        Self::NAMED
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(t, _)| t.clone())
            .unwrap_or(EventType::Other(name))
    }
}

impl From<EventType> for String {
    fn from(t: EventType) -> Self {
        t.as_str().to_string()
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of `historyEvents`. Which fields are present depends on the kind; absent ones are
/// left out when writing.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HistoryEvent {
    /// The kind of entry.
    pub event_type: EventType,
    /// When it happened (for a completion: when the step finished).
    #[serde(with = "crate::time")]
    pub timestamp: DateTime<Utc>,
    /// The orchestrator (ExecutionStarted), activity or sub-orchestrator it is about; on an
    /// entity completion, the operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_name: Option<String>,
    /// An event's name (EventRaised, EventSent) or an entity operation's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The instance a step is addressed to: a running sub-orchestration's id, the target of
    /// EventSent, the entity of an entity call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// On a completion: when its step was scheduled.
    #[serde(
        default,
        with = "crate::time::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub scheduled_time: Option<DateTime<Utc>>,
    /// On timer entries: when the timer fires.
    #[serde(
        default,
        with = "crate::time::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub fire_at: Option<DateTime<Utc>>,
    /// On ExecutionCompleted: how the execution ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orchestration_status: Option<RuntimeStatus>,
    /// The input of the execution or step, or an event's data (with `showHistoryOutput`;
    /// ExecutionStarted's follows `showInput`); ExecutionTerminated's is the reason.
    #[serde(
        default,
        deserialize_with = "crate::raw::deserialize",
        skip_serializing_if = "Option::is_none"
    )]
    pub input: Option<Box<RawValue>>,
    /// The result of a step or of the execution (with `showHistoryOutput`).
    #[serde(
        default,
        deserialize_with = "crate::raw::deserialize",
        skip_serializing_if = "Option::is_none"
    )]
    pub result: Option<Box<RawValue>>,
    /// A failure's message, or the reason given to suspend, resume or rewind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A failure's details.
    #[serde(
        default,
        deserialize_with = "crate::raw::deserialize",
        skip_serializing_if = "Option::is_none"
    )]
    pub details: Option<Box<RawValue>>,
    /// A failure's error type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// On ExecutionStarted: the version the instance was started with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// On ExecutionStarted: the W3C trace context of the request that started it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_trace_context: Option<TraceContext>,
}

/// A W3C trace context (`traceparent`, `tracestate`), as `ExecutionStarted` keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TraceContext {
    /// The `traceparent` header.
    pub trace_parent: String,
    /// The `tracestate` header, if one was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_state: Option<String>,
}

impl HistoryEvent {
    /// An entry of a kind at a time, with no other fields.
    pub fn new(event_type: EventType, timestamp: DateTime<Utc>) -> Self {
        Self {
            event_type,
            timestamp,
            function_name: None,
            name: None,
            instance_id: None,
            scheduled_time: None,
            fire_at: None,
            orchestration_status: None,
            input: None,
            result: None,
            reason: None,
            details: None,
            error_type: None,
            version: None,
            parent_trace_context: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_parse_ignoring_case_and_read_unknown_ones() {
        assert_eq!(
            "running".parse::<RuntimeStatus>(),
            Ok(RuntimeStatus::Running)
        );
        assert!("Later".parse::<RuntimeStatus>().is_err());
        let s: RuntimeStatus = serde_json::from_str(r#""SomethingNew""#).unwrap();
        assert_eq!(s, RuntimeStatus::Unknown);
        assert!(RuntimeStatus::Failed.is_terminal());
        assert!(!RuntimeStatus::Suspended.is_terminal());
    }

    #[test]
    fn event_types_round_trip_by_name() {
        for (t, name) in EventType::NAMED {
            assert_eq!(serde_json::to_string(&t).unwrap(), format!("{name:?}"));
            let back: EventType = serde_json::from_str(&format!("{name:?}")).unwrap();
            assert_eq!(back, t);
        }
        let other: EventType = serde_json::from_str(r#""GenericEvent""#).unwrap();
        assert_eq!(other, EventType::Other("GenericEvent".into()));
        assert_eq!(serde_json::to_string(&other).unwrap(), r#""GenericEvent""#);
    }

    #[test]
    fn azure_history_reads() {
        // An entry as the Azure host writes it: seven fractional digits, extra fields.
        let e: HistoryEvent = serde_json::from_str(
            r#"{"EventType":"TaskCompleted","Result":"Hello Tokyo!","Timestamp":"2021-10-12T10:00:01.1234567Z","ScheduledTime":"2021-10-12T10:00:00.7654321Z","FunctionName":"SayHello","IsPlayed":false}"#,
        )
        .unwrap();
        assert!(e.event_type.is_completion());
        let took = e.timestamp - e.scheduled_time.unwrap();
        assert_eq!(took.num_microseconds(), Some(358_024));
    }
}
