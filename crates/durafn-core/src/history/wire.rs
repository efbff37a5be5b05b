//! The JSON form of history events.
//!
//! One flat record with every field optional, as the Durable Task Framework writes it. Mapping by
//! hand (instead of `#[serde(tag)]`) lets payloads stay verbatim `RawValue`s and avoids serde's
//! buffering of tagged enums, which matters when a long history is loaded for replay.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{EventKind, FailureDetails, HistoryEvent, ParentInstance, RuntimeStatus, TraceContext};
use crate::entity::EntityRequest;
use crate::failure::SystemFailure;
use crate::ids::{EventId, ExecutionId, InstanceId};
use crate::payload::Payload;

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct WireOut<'a> {
    event_id: EventId,
    timestamp: &'a DateTime<Utc>,
    event_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    instance_id: Option<&'a InstanceId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    execution_id: Option<&'a ExecutionId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    input: Option<&'a Payload>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent: Option<&'a ParentInstance>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_trace_context: Option<&'a TraceContext>,
    #[serde(skip_serializing_if = "Option::is_none")]
    orchestration_status: Option<RuntimeStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'a Payload>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure_details: Option<&'a FailureDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    task_scheduled_id: Option<EventId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timer_id: Option<EventId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fire_at: Option<&'a DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a Payload>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    operation: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scheduled_time: Option<&'a DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lock_set: Option<&'a [InstanceId]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request: Option<&'a EntityRequest>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WireIn {
    event_id: EventId,
    timestamp: DateTime<Utc>,
    event_type: String,
    name: Option<String>,
    instance_id: Option<InstanceId>,
    execution_id: Option<ExecutionId>,
    #[serde(default, deserialize_with = "present")]
    input: Option<Payload>,
    parent: Option<ParentInstance>,
    version: Option<String>,
    parent_trace_context: Option<TraceContext>,
    orchestration_status: Option<RuntimeStatus>,
    #[serde(default, deserialize_with = "present")]
    result: Option<Payload>,
    failure_details: Option<FailureDetails>,
    task_scheduled_id: Option<EventId>,
    timer_id: Option<EventId>,
    fire_at: Option<DateTime<Utc>>,
    error_type: Option<String>,
    reason: Option<String>,
    #[serde(default, deserialize_with = "present")]
    details: Option<Payload>,
    error_code: Option<String>,
    operation: Option<String>,
    scheduled_time: Option<DateTime<Utc>>,
    lock_set: Option<Vec<InstanceId>>,
    request: Option<EntityRequest>,
}

/// A payload field that is present is `Some`, even when it holds JSON `null` (serde would
/// otherwise read `null` as an absent `Option`).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Payload>, D::Error> {
    Payload::deserialize(deserializer).map(Some)
}

impl Serialize for HistoryEvent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut w = WireOut {
            event_id: self.event_id,
            timestamp: &self.timestamp,
            event_type: self.kind.type_name(),
            name: None,
            instance_id: None,
            execution_id: None,
            input: None,
            parent: None,
            version: None,
            parent_trace_context: None,
            orchestration_status: None,
            result: None,
            failure_details: None,
            task_scheduled_id: None,
            timer_id: None,
            fire_at: None,
            error_type: None,
            reason: None,
            details: None,
            error_code: None,
            operation: None,
            scheduled_time: None,
            lock_set: None,
            request: None,
        };
        match &self.kind {
            EventKind::ExecutionStarted {
                name,
                instance_id,
                execution_id,
                input,
                parent,
                version,
                parent_trace_context,
            } => {
                w.name = Some(name);
                w.instance_id = Some(instance_id);
                w.execution_id = Some(execution_id);
                w.input = Some(input);
                w.parent = parent.as_ref();
                w.version = version.as_deref();
                w.parent_trace_context = parent_trace_context.as_ref();
            }
            EventKind::ExecutionCompleted {
                orchestration_status,
                result,
                failure_details,
            } => {
                w.orchestration_status = Some(*orchestration_status);
                w.result = result.as_ref();
                w.failure_details = failure_details.as_ref();
            }
            EventKind::ExecutionTerminated { input } | EventKind::ContinueAsNew { input } => {
                w.input = Some(input);
            }
            EventKind::TaskScheduled { name, input } => {
                w.name = Some(name);
                w.input = Some(input);
            }
            EventKind::TaskCompleted {
                task_scheduled_id,
                result,
            }
            | EventKind::SubOrchestrationInstanceCompleted {
                task_scheduled_id,
                result,
            }
            | EventKind::EntityOperationCompleted {
                task_scheduled_id,
                result,
            } => {
                w.task_scheduled_id = Some(*task_scheduled_id);
                w.result = Some(result);
            }
            EventKind::TaskFailed {
                task_scheduled_id,
                failure,
            }
            | EventKind::SubOrchestrationInstanceFailed {
                task_scheduled_id,
                failure,
            }
            | EventKind::EntityOperationFailed {
                task_scheduled_id,
                failure,
            } => {
                w.task_scheduled_id = Some(*task_scheduled_id);
                w.error_type = Some(&failure.error_type);
                w.reason = Some(&failure.message);
                w.details = failure.details.as_ref();
                w.error_code = failure.system.map(SystemFailure::code);
            }
            EventKind::SubOrchestrationInstanceCreated {
                name,
                instance_id,
                input,
            } => {
                w.name = Some(name);
                w.instance_id = Some(instance_id);
                w.input = Some(input);
            }
            EventKind::TimerCreated { fire_at } => w.fire_at = Some(fire_at),
            EventKind::TimerFired { timer_id, fire_at } => {
                w.timer_id = Some(*timer_id);
                w.fire_at = Some(fire_at);
            }
            EventKind::OrchestratorStarted | EventKind::OrchestratorCompleted => {}
            EventKind::EventSent {
                instance_id,
                name,
                input,
            } => {
                w.instance_id = Some(instance_id);
                w.name = Some(name);
                w.input = Some(input);
            }
            EventKind::EventRaised { name, input } => {
                w.name = Some(name);
                w.input = Some(input);
            }
            EventKind::ExecutionSuspended { reason }
            | EventKind::ExecutionResumed { reason }
            | EventKind::ExecutionRewound { reason } => w.reason = reason.as_deref(),
            EventKind::EntityOperationCalled {
                instance_id,
                operation,
                input,
            } => {
                w.instance_id = Some(instance_id);
                w.operation = Some(operation);
                w.input = Some(input);
            }
            EventKind::EntityOperationSignaled {
                instance_id,
                operation,
                input,
                scheduled_time,
            } => {
                w.instance_id = Some(instance_id);
                w.operation = Some(operation);
                w.input = Some(input);
                w.scheduled_time = scheduled_time.as_ref();
            }
            EventKind::EntityLockRequested { lock_set } => w.lock_set = Some(lock_set),
            EventKind::EntityLockGranted {
                task_scheduled_id,
                lock_set,
            } => {
                w.task_scheduled_id = Some(*task_scheduled_id);
                w.lock_set = Some(lock_set);
            }
            EventKind::EntityUnlockSent { instance_id } => w.instance_id = Some(instance_id),
            EventKind::EntityRequest { request } => w.request = Some(request),
            EventKind::PatchMarker { patch_id } => w.name = Some(patch_id),
        }
        w.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for HistoryEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let w = WireIn::deserialize(deserializer)?;
        let kind = w.to_kind().map_err(serde::de::Error::custom)?;
        Ok(HistoryEvent {
            event_id: w.event_id,
            timestamp: w.timestamp,
            kind,
        })
    }
}

fn need<T>(value: Option<T>, event: &str, field: &str) -> Result<T, String> {
    value.ok_or_else(|| format!("{event} event is missing its {field} field"))
}

impl WireIn {
    fn to_kind(&self) -> Result<EventKind, String> {
        let t = self.event_type.as_str();
        let name = || need(self.name.clone(), t, "Name");
        let input = || need(self.input.clone(), t, "Input");
        let task = || need(self.task_scheduled_id, t, "TaskScheduledId");
        let failure = || -> Result<FailureDetails, String> {
            Ok(FailureDetails {
                error_type: self.error_type.clone().unwrap_or_default(),
                message: need(self.reason.clone(), t, "Reason")?,
                details: self.details.clone(),
                system: self
                    .error_code
                    .as_deref()
                    .and_then(SystemFailure::from_code),
            })
        };
        Ok(match t {
            "ExecutionStarted" => EventKind::ExecutionStarted {
                name: name()?,
                instance_id: need(self.instance_id.clone(), t, "InstanceId")?,
                execution_id: need(self.execution_id.clone(), t, "ExecutionId")?,
                input: input()?,
                parent: self.parent.clone(),
                version: self.version.clone(),
                parent_trace_context: self.parent_trace_context.clone(),
            },
            "ExecutionCompleted" => EventKind::ExecutionCompleted {
                orchestration_status: need(self.orchestration_status, t, "OrchestrationStatus")?,
                result: self.result.clone(),
                failure_details: self.failure_details.clone(),
            },
            "ExecutionTerminated" => EventKind::ExecutionTerminated { input: input()? },
            "TaskScheduled" => EventKind::TaskScheduled {
                name: name()?,
                input: input()?,
            },
            "TaskCompleted" => EventKind::TaskCompleted {
                task_scheduled_id: task()?,
                result: need(self.result.clone(), t, "Result")?,
            },
            "TaskFailed" => EventKind::TaskFailed {
                task_scheduled_id: task()?,
                failure: failure()?,
            },
            "SubOrchestrationInstanceCreated" => EventKind::SubOrchestrationInstanceCreated {
                name: name()?,
                instance_id: need(self.instance_id.clone(), t, "InstanceId")?,
                input: input()?,
            },
            "SubOrchestrationInstanceCompleted" => EventKind::SubOrchestrationInstanceCompleted {
                task_scheduled_id: task()?,
                result: need(self.result.clone(), t, "Result")?,
            },
            "SubOrchestrationInstanceFailed" => EventKind::SubOrchestrationInstanceFailed {
                task_scheduled_id: task()?,
                failure: failure()?,
            },
            "TimerCreated" => EventKind::TimerCreated {
                fire_at: need(self.fire_at, t, "FireAt")?,
            },
            "TimerFired" => EventKind::TimerFired {
                timer_id: need(self.timer_id, t, "TimerId")?,
                fire_at: need(self.fire_at, t, "FireAt")?,
            },
            "OrchestratorStarted" => EventKind::OrchestratorStarted,
            "OrchestratorCompleted" => EventKind::OrchestratorCompleted,
            "EventSent" => EventKind::EventSent {
                instance_id: need(self.instance_id.clone(), t, "InstanceId")?,
                name: name()?,
                input: input()?,
            },
            "EventRaised" => EventKind::EventRaised {
                name: name()?,
                input: input()?,
            },
            "ContinueAsNew" => EventKind::ContinueAsNew { input: input()? },
            "ExecutionSuspended" => EventKind::ExecutionSuspended {
                reason: self.reason.clone(),
            },
            "ExecutionResumed" => EventKind::ExecutionResumed {
                reason: self.reason.clone(),
            },
            "ExecutionRewound" => EventKind::ExecutionRewound {
                reason: self.reason.clone(),
            },
            "EntityOperationCalled" => EventKind::EntityOperationCalled {
                instance_id: need(self.instance_id.clone(), t, "InstanceId")?,
                operation: need(self.operation.clone(), t, "Operation")?,
                input: input()?,
            },
            "EntityOperationSignaled" => EventKind::EntityOperationSignaled {
                instance_id: need(self.instance_id.clone(), t, "InstanceId")?,
                operation: need(self.operation.clone(), t, "Operation")?,
                input: input()?,
                scheduled_time: self.scheduled_time,
            },
            "EntityOperationCompleted" => EventKind::EntityOperationCompleted {
                task_scheduled_id: task()?,
                result: need(self.result.clone(), t, "Result")?,
            },
            "EntityOperationFailed" => EventKind::EntityOperationFailed {
                task_scheduled_id: task()?,
                failure: failure()?,
            },
            "EntityLockRequested" => EventKind::EntityLockRequested {
                lock_set: need(self.lock_set.clone(), t, "LockSet")?,
            },
            "EntityLockGranted" => EventKind::EntityLockGranted {
                task_scheduled_id: task()?,
                lock_set: self.lock_set.clone().unwrap_or_default(),
            },
            "EntityUnlockSent" => EventKind::EntityUnlockSent {
                instance_id: need(self.instance_id.clone(), t, "InstanceId")?,
            },
            "EntityRequest" => EventKind::EntityRequest {
                request: need(self.request.clone(), t, "Request")?,
            },
            "PatchMarker" => EventKind::PatchMarker { patch_id: name()? },
            other => return Err(format!("unknown history event type '{other}'")),
        })
    }
}
