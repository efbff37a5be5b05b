//! The history of an orchestration: the durable record that replay is driven from.
//!
//! The event kinds and their JSON shape follow the Durable Task Framework (`EventType`,
//! `EventId`, `Timestamp` and PascalCase fields), because the history is persisted as JSON and
//! shown by the management API, and Durable Functions users and tools already read that shape.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::entity::EntityRequest;
pub use crate::failure::FailureDetails;
use crate::ids::{EventId, ExecutionId, InstanceId};
use crate::payload::Payload;

mod wire;

/// One recorded fact about an orchestration execution.
///
/// Its JSON form is flat (`EventType` beside the event's fields) and mapped by hand
/// rather than by serde's tagged enums, which cannot carry verbatim JSON payloads.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEvent {
    /// The action sequence number for scheduling events, [`EventId::NONE`] otherwise.
    pub event_id: EventId,
    /// When the event was recorded (for messages: when they were sent).
    pub timestamp: DateTime<Utc>,
    /// What happened.
    pub kind: EventKind,
}

impl HistoryEvent {
    /// An event that schedules nothing.
    pub fn new(timestamp: DateTime<Utc>, kind: EventKind) -> Self {
        Self {
            event_id: EventId::NONE,
            timestamp,
            kind,
        }
    }

    /// A scheduling event carrying the id of the action that produced it.
    pub fn scheduled(event_id: EventId, timestamp: DateTime<Utc>, kind: EventKind) -> Self {
        Self {
            event_id,
            timestamp,
            kind,
        }
    }
}

/// Where a sub-orchestration reports back to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParentInstance {
    /// The parent's orchestrator name.
    pub name: String,
    /// The parent instance.
    pub instance_id: InstanceId,
    /// The parent's execution that is waiting.
    pub execution_id: ExecutionId,
    /// The id of the parent's `SubOrchestrationInstanceCreated` event.
    pub task_scheduled_id: EventId,
}

/// The W3C trace context a client sent with a start (`traceparent`, `tracestate`), kept on
/// `ExecutionStarted` as the Durable Task Framework's `ParentTraceContext` so that the spans of
/// the orchestration can be parented to the caller's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TraceContext {
    /// The `traceparent` header: version, trace id, parent span id, flags.
    pub trace_parent: String,
    /// The `tracestate` header (vendor data), if one was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_state: Option<String>,
    /// The orchestration span's id (16 hex digits), recorded by the execution's first traced
    /// turn so every later turn, on any host, continues the same logical span.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_id: Option<String>,
    /// When the orchestration span began (the first traced turn), recorded with its id.
    #[serde(
        default,
        rename = "ActivityStartTime",
        skip_serializing_if = "Option::is_none"
    )]
    pub span_start_time: Option<DateTime<Utc>>,
}

impl TraceContext {
    /// A context holding only a `traceparent`.
    pub fn new(trace_parent: impl Into<String>) -> Self {
        Self {
            trace_parent: trace_parent.into(),
            trace_state: None,
            span_id: None,
            span_start_time: None,
        }
    }
}

/// The runtime status of an instance, as the management API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RuntimeStatus {
    /// Scheduled but not yet run.
    Pending,
    /// Started and not finished.
    Running,
    /// Finished with an output.
    Completed,
    /// Restarted itself with a new history (transient).
    ContinuedAsNew,
    /// Finished with an error.
    Failed,
    /// Stopped by an operator.
    Terminated,
    /// Paused by an operator; messages queue until it is resumed.
    Suspended,
}

impl RuntimeStatus {
    /// Every status, in the order the management API lists them.
    pub const ALL: [RuntimeStatus; 7] = [
        RuntimeStatus::Pending,
        RuntimeStatus::Running,
        RuntimeStatus::Completed,
        RuntimeStatus::ContinuedAsNew,
        RuntimeStatus::Failed,
        RuntimeStatus::Terminated,
        RuntimeStatus::Suspended,
    ];

    /// Completed, Failed and Terminated instances never run again (unless rewound or restarted).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RuntimeStatus::Completed | RuntimeStatus::Failed | RuntimeStatus::Terminated
        )
    }

    /// The name used in the management API and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            RuntimeStatus::Pending => "Pending",
            RuntimeStatus::Running => "Running",
            RuntimeStatus::Completed => "Completed",
            RuntimeStatus::ContinuedAsNew => "ContinuedAsNew",
            RuntimeStatus::Failed => "Failed",
            RuntimeStatus::Terminated => "Terminated",
            RuntimeStatus::Suspended => "Suspended",
        }
    }

    /// Parses a status name, ignoring ASCII case as the management API does.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(name.trim()))
    }
}

impl std::fmt::Display for RuntimeStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kinds of history events, with their data.
#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    /// The execution began: the first event of every execution's history.
    ExecutionStarted {
        /// The orchestrator function.
        name: String,
        /// The instance.
        instance_id: InstanceId,
        /// This execution.
        execution_id: ExecutionId,
        /// The orchestrator's input.
        input: Payload,
        /// Set when this instance is a sub-orchestration.
        parent: Option<ParentInstance>,
        /// The version the instance was started with (`?version=` of the start request).
        version: Option<String>,
        /// The caller's trace context, from the start request's `traceparent`/`tracestate`.
        parent_trace_context: Option<TraceContext>,
    },
    /// The execution finished; the last event of a finished history.
    ExecutionCompleted {
        /// Completed, Failed or Terminated.
        orchestration_status: RuntimeStatus,
        /// The output (Completed) or the reason (Terminated).
        result: Option<Payload>,
        /// Why it failed (Failed).
        failure_details: Option<FailureDetails>,
    },
    /// An operator asked to stop the instance.
    ExecutionTerminated {
        /// The reason given.
        input: Payload,
    },
    /// An activity was scheduled.
    TaskScheduled {
        /// The activity function.
        name: String,
        /// Its input.
        input: Payload,
    },
    /// An activity returned.
    TaskCompleted {
        /// The `TaskScheduled` event this answers.
        task_scheduled_id: EventId,
        /// What it returned.
        result: Payload,
    },
    /// An activity failed.
    TaskFailed {
        /// The `TaskScheduled` event this answers.
        task_scheduled_id: EventId,
        /// Why.
        failure: FailureDetails,
    },
    /// A sub-orchestration was started.
    SubOrchestrationInstanceCreated {
        /// Its orchestrator function.
        name: String,
        /// Its instance id.
        instance_id: InstanceId,
        /// Its input.
        input: Payload,
    },
    /// A sub-orchestration completed.
    SubOrchestrationInstanceCompleted {
        /// The `SubOrchestrationInstanceCreated` event this answers.
        task_scheduled_id: EventId,
        /// Its output.
        result: Payload,
    },
    /// A sub-orchestration failed.
    SubOrchestrationInstanceFailed {
        /// The `SubOrchestrationInstanceCreated` event this answers.
        task_scheduled_id: EventId,
        /// Why.
        failure: FailureDetails,
    },
    /// A durable timer was set.
    TimerCreated {
        /// When it fires.
        fire_at: DateTime<Utc>,
    },
    /// A durable timer fired.
    TimerFired {
        /// The `TimerCreated` event this answers.
        timer_id: EventId,
        /// When it was due.
        fire_at: DateTime<Utc>,
    },
    /// A turn began; its timestamp is the orchestration's current time for that turn.
    OrchestratorStarted,
    /// A turn ended.
    OrchestratorCompleted,
    /// The orchestration sent an event to another instance.
    EventSent {
        /// The receiver.
        instance_id: InstanceId,
        /// The event name.
        name: String,
        /// The event data.
        input: Payload,
    },
    /// An event arrived from outside.
    EventRaised {
        /// The event name.
        name: String,
        /// The event data.
        input: Payload,
    },
    /// The execution ended by restarting itself with new input.
    ContinueAsNew {
        /// The input of the next execution.
        input: Payload,
    },
    /// An operator paused the instance.
    ExecutionSuspended {
        /// The reason given.
        reason: Option<String>,
    },
    /// An operator resumed the instance.
    ExecutionResumed {
        /// The reason given.
        reason: Option<String>,
    },
    /// An operator rewound a failed instance: what failed runs again.
    ExecutionRewound {
        /// The reason given.
        reason: Option<String>,
    },
    /// The orchestration called an entity operation and waits for its result.
    EntityOperationCalled {
        /// The entity's instance id.
        instance_id: InstanceId,
        /// The operation.
        operation: String,
        /// Its input.
        input: Payload,
    },
    /// The orchestration signalled an entity (one-way), possibly for a later time.
    EntityOperationSignaled {
        /// The entity's instance id.
        instance_id: InstanceId,
        /// The operation.
        operation: String,
        /// Its input.
        input: Payload,
        /// Not delivered before this time.
        scheduled_time: Option<DateTime<Utc>>,
    },
    /// An entity operation returned.
    EntityOperationCompleted {
        /// The `EntityOperationCalled` event this answers.
        task_scheduled_id: EventId,
        /// What it returned.
        result: Payload,
    },
    /// An entity operation failed.
    EntityOperationFailed {
        /// The `EntityOperationCalled` event this answers.
        task_scheduled_id: EventId,
        /// Why.
        failure: FailureDetails,
    },
    /// The orchestration asked to lock a set of entities (a critical section).
    EntityLockRequested {
        /// The entities, in the order they are locked.
        lock_set: Vec<InstanceId>,
    },
    /// Every entity of a lock request is locked for the orchestration.
    EntityLockGranted {
        /// The `EntityLockRequested` event this answers.
        task_scheduled_id: EventId,
        /// The entities now held.
        lock_set: Vec<InstanceId>,
    },
    /// The orchestration released its lock on an entity.
    EntityUnlockSent {
        /// The entity's instance id.
        instance_id: InstanceId,
    },
    /// A request delivered to an entity (entities keep no history; this is their message kind).
    EntityRequest {
        /// The request.
        request: EntityRequest,
    },
    /// Code reached `is_patched(patch_id)` (or `deprecate_patch`) for the first time: later
    /// replays of this history take the patched path.
    PatchMarker {
        /// The patch's id.
        patch_id: String,
    },
}

impl EventKind {
    /// The `EventType` name of this kind.
    pub fn type_name(&self) -> &'static str {
        match self {
            EventKind::ExecutionStarted { .. } => "ExecutionStarted",
            EventKind::ExecutionCompleted { .. } => "ExecutionCompleted",
            EventKind::ExecutionTerminated { .. } => "ExecutionTerminated",
            EventKind::TaskScheduled { .. } => "TaskScheduled",
            EventKind::TaskCompleted { .. } => "TaskCompleted",
            EventKind::TaskFailed { .. } => "TaskFailed",
            EventKind::SubOrchestrationInstanceCreated { .. } => "SubOrchestrationInstanceCreated",
            EventKind::SubOrchestrationInstanceCompleted { .. } => {
                "SubOrchestrationInstanceCompleted"
            }
            EventKind::SubOrchestrationInstanceFailed { .. } => "SubOrchestrationInstanceFailed",
            EventKind::TimerCreated { .. } => "TimerCreated",
            EventKind::TimerFired { .. } => "TimerFired",
            EventKind::OrchestratorStarted => "OrchestratorStarted",
            EventKind::OrchestratorCompleted => "OrchestratorCompleted",
            EventKind::EventSent { .. } => "EventSent",
            EventKind::EventRaised { .. } => "EventRaised",
            EventKind::ContinueAsNew { .. } => "ContinueAsNew",
            EventKind::ExecutionSuspended { .. } => "ExecutionSuspended",
            EventKind::ExecutionResumed { .. } => "ExecutionResumed",
            EventKind::ExecutionRewound { .. } => "ExecutionRewound",
            EventKind::EntityOperationCalled { .. } => "EntityOperationCalled",
            EventKind::EntityOperationSignaled { .. } => "EntityOperationSignaled",
            EventKind::EntityOperationCompleted { .. } => "EntityOperationCompleted",
            EventKind::EntityOperationFailed { .. } => "EntityOperationFailed",
            EventKind::EntityLockRequested { .. } => "EntityLockRequested",
            EventKind::EntityLockGranted { .. } => "EntityLockGranted",
            EventKind::EntityUnlockSent { .. } => "EntityUnlockSent",
            EventKind::EntityRequest { .. } => "EntityRequest",
            EventKind::PatchMarker { .. } => "PatchMarker",
        }
    }

    /// The task (activity, timer, sub-orchestration, entity call or lock request) whose result
    /// this event delivers, if it delivers one: a task gets one result, so a second delivery of
    /// the same one (an activity result sent twice) is a duplicate.
    pub fn answered_task(&self) -> Option<EventId> {
        match self {
            EventKind::TaskCompleted {
                task_scheduled_id, ..
            }
            | EventKind::TaskFailed {
                task_scheduled_id, ..
            }
            | EventKind::SubOrchestrationInstanceCompleted {
                task_scheduled_id, ..
            }
            | EventKind::SubOrchestrationInstanceFailed {
                task_scheduled_id, ..
            }
            | EventKind::EntityOperationCompleted {
                task_scheduled_id, ..
            }
            | EventKind::EntityOperationFailed {
                task_scheduled_id, ..
            }
            | EventKind::EntityLockGranted {
                task_scheduled_id, ..
            } => Some(*task_scheduled_id),
            EventKind::TimerFired { timer_id, .. } => Some(*timer_id),
            _ => None,
        }
    }

    /// The failure this event reports for a task (a failed activity, sub-orchestration or entity
    /// operation), if it reports one.
    pub fn task_failure(&self) -> Option<&FailureDetails> {
        match self {
            EventKind::TaskFailed { failure, .. }
            | EventKind::SubOrchestrationInstanceFailed { failure, .. }
            | EventKind::EntityOperationFailed { failure, .. } => Some(failure),
            _ => None,
        }
    }

    /// The payload this event carries (an input, a result or event data), if it carries one;
    /// failures' details are not counted. This is what the payload limit is applied to.
    pub fn payload(&self) -> Option<&Payload> {
        match self {
            EventKind::ExecutionStarted { input, .. }
            | EventKind::ExecutionTerminated { input }
            | EventKind::TaskScheduled { input, .. }
            | EventKind::SubOrchestrationInstanceCreated { input, .. }
            | EventKind::EventSent { input, .. }
            | EventKind::EventRaised { input, .. }
            | EventKind::ContinueAsNew { input }
            | EventKind::EntityOperationCalled { input, .. }
            | EventKind::EntityOperationSignaled { input, .. } => Some(input),
            EventKind::TaskCompleted { result, .. }
            | EventKind::SubOrchestrationInstanceCompleted { result, .. }
            | EventKind::EntityOperationCompleted { result, .. } => Some(result),
            EventKind::ExecutionCompleted { result, .. } => result.as_ref(),
            _ => None,
        }
    }

    /// Whether this event was produced by an action of the orchestration itself (and so must be
    /// matched against the code's actions on replay).
    pub fn is_scheduling(&self) -> bool {
        matches!(
            self,
            EventKind::TaskScheduled { .. }
                | EventKind::TimerCreated { .. }
                | EventKind::SubOrchestrationInstanceCreated { .. }
                | EventKind::EventSent { .. }
                | EventKind::EntityOperationCalled { .. }
                | EventKind::EntityOperationSignaled { .. }
                | EventKind::EntityLockRequested { .. }
                | EventKind::EntityUnlockSent { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2021, 10, 12, 10, 0, 0).unwrap()
    }

    #[test]
    fn version_and_trace_context_use_the_durable_task_names() {
        let e = HistoryEvent::new(
            t(),
            EventKind::ExecutionStarted {
                name: "o".into(),
                instance_id: InstanceId::from_trusted("i"),
                execution_id: ExecutionId::new("e"),
                input: Payload::null(),
                parent: None,
                version: Some("2.0".into()),
                parent_trace_context: Some(TraceContext {
                    trace_parent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into(),
                    trace_state: None,
                    span_id: None,
                    span_start_time: None,
                }),
            },
        );
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"EventId":-1,"Timestamp":"2021-10-12T10:00:00Z","EventType":"ExecutionStarted","Name":"o","InstanceId":"i","ExecutionId":"e","Input":null,"Version":"2.0","ParentTraceContext":{"TraceParent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}"#
        );
    }

    #[test]
    fn json_form_is_stable() {
        let e = HistoryEvent::scheduled(
            EventId(0),
            t(),
            EventKind::TaskScheduled {
                name: "SayHello".into(),
                input: Payload::encode("Tokyo").unwrap(),
            },
        );
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"EventId":0,"Timestamp":"2021-10-12T10:00:00Z","EventType":"TaskScheduled","Name":"SayHello","Input":"Tokyo"}"#
        );
        let failed = HistoryEvent::new(
            t(),
            EventKind::TaskFailed {
                task_scheduled_id: EventId(0),
                failure: FailureDetails::new("ActivityError", "boom"),
            },
        );
        assert_eq!(
            serde_json::to_string(&failed).unwrap(),
            r#"{"EventId":-1,"Timestamp":"2021-10-12T10:00:00Z","EventType":"TaskFailed","TaskScheduledId":0,"ErrorType":"ActivityError","Reason":"boom"}"#
        );
        let started = HistoryEvent::new(t(), EventKind::OrchestratorStarted);
        assert_eq!(
            serde_json::to_string(&started).unwrap(),
            r#"{"EventId":-1,"Timestamp":"2021-10-12T10:00:00Z","EventType":"OrchestratorStarted"}"#
        );
    }

    #[test]
    fn every_kind_round_trips() {
        let p = || Payload::encode(&serde_json::json!({"k": [1, "two"]})).unwrap();
        let kinds = vec![
            EventKind::ExecutionStarted {
                name: "o".into(),
                instance_id: InstanceId::from_trusted("i"),
                execution_id: ExecutionId::new("e"),
                input: p(),
                parent: Some(ParentInstance {
                    name: "p".into(),
                    instance_id: InstanceId::from_trusted("pi"),
                    execution_id: ExecutionId::new("pe"),
                    task_scheduled_id: EventId(3),
                }),
                version: Some("1.2".into()),
                parent_trace_context: Some(TraceContext {
                    trace_parent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into(),
                    trace_state: Some("congo=t61rcWkgMzE".into()),
                    span_id: None,
                    span_start_time: None,
                }),
            },
            EventKind::ExecutionCompleted {
                orchestration_status: RuntimeStatus::Failed,
                result: None,
                failure_details: Some(FailureDetails {
                    details: Some(p()),
                    ..FailureDetails::system(crate::failure::SystemFailure::NonDeterminism, "m")
                }),
            },
            EventKind::ExecutionTerminated { input: p() },
            EventKind::TaskScheduled {
                name: "a".into(),
                input: p(),
            },
            EventKind::TaskCompleted {
                task_scheduled_id: EventId(1),
                result: p(),
            },
            EventKind::TaskFailed {
                task_scheduled_id: EventId(1),
                failure: FailureDetails::system(crate::failure::SystemFailure::DeadLettered, "m"),
            },
            EventKind::SubOrchestrationInstanceCreated {
                name: "s".into(),
                instance_id: InstanceId::from_trusted("c"),
                input: p(),
            },
            EventKind::SubOrchestrationInstanceCompleted {
                task_scheduled_id: EventId(2),
                result: p(),
            },
            EventKind::SubOrchestrationInstanceFailed {
                task_scheduled_id: EventId(2),
                failure: FailureDetails::new("T", "m"),
            },
            EventKind::TimerCreated { fire_at: t() },
            EventKind::TimerFired {
                timer_id: EventId(4),
                fire_at: t(),
            },
            EventKind::OrchestratorStarted,
            EventKind::OrchestratorCompleted,
            EventKind::EventSent {
                instance_id: InstanceId::from_trusted("o"),
                name: "n".into(),
                input: p(),
            },
            EventKind::EventRaised {
                name: "n".into(),
                input: p(),
            },
            EventKind::ContinueAsNew { input: p() },
            EventKind::ExecutionSuspended {
                reason: Some("r".into()),
            },
            EventKind::ExecutionResumed { reason: None },
            EventKind::ExecutionRewound {
                reason: Some("r".into()),
            },
        ];
        assert_eq!(kinds.len(), 19, "every Durable Task event kind is covered");
        for kind in kinds {
            let e = HistoryEvent::new(t(), kind);
            let json = serde_json::to_string(&e).unwrap();
            assert!(json.contains(&format!(r#""EventType":"{}""#, e.kind.type_name())));
            let back: HistoryEvent = serde_json::from_str(&json).unwrap();
            assert_eq!(back, e, "{json}");
        }
    }

    #[test]
    fn null_payloads_round_trip() {
        let null = Payload::null();
        for kind in [
            EventKind::ExecutionStarted {
                name: "o".into(),
                instance_id: InstanceId::from_trusted("i"),
                execution_id: ExecutionId::new("e"),
                input: null.clone(),
                parent: None,
                version: None,
                parent_trace_context: None,
            },
            EventKind::TaskCompleted {
                task_scheduled_id: EventId(0),
                result: null.clone(),
            },
            EventKind::ExecutionCompleted {
                orchestration_status: RuntimeStatus::Completed,
                result: Some(null.clone()),
                failure_details: None,
            },
        ] {
            let e = HistoryEvent::new(t(), kind);
            let json = serde_json::to_string(&e).unwrap();
            let back: HistoryEvent = serde_json::from_str(&json).unwrap();
            assert_eq!(back, e, "{json}");
        }
    }

    #[test]
    fn status_names() {
        for s in RuntimeStatus::ALL {
            assert_eq!(RuntimeStatus::parse(&s.as_str().to_uppercase()), Some(s));
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
        assert_eq!(RuntimeStatus::parse("nope"), None);
    }
}
