//! The spans of one orchestration turn, derived from its new events only, so that replaying a
//! history never emits a span a second time.
//!
//! - the first traced turn records the orchestration span's id and start on `ExecutionStarted`
//!   ([`stamp_start`]); every later turn, on any host, reads them back ([`Traced::of`]);
//! - work the turn schedules carries the trace context of its client span (the span id is derived
//!   from the orchestration span and the task's sequence number, [`Traced::task_context`]);
//! - tasks whose results arrived in this turn end their client spans (activities,
//!   sub-orchestrations, entity calls) or their timer spans; events and signals sent in it are
//!   producer spans; the turn that ends the execution ends the orchestration span.

use chrono::{DateTime, Utc};
use durafn_core::trace::{
    FinishedTask, TaskKind, hex, orchestration_span_id, parse_span_id, task_span_id,
};
use durafn_core::{EventId, EventKind, HistoryEvent, OrchestrationExecutor, Outcome, TraceContext};

use super::names::*;
use super::{Parent, SpanKind, SpanRecord, span_name};

/// Records the orchestration span's id and start time on the `ExecutionStarted` among a turn's
/// messages, when the execution is traced and none is recorded yet.
pub(crate) fn stamp_start(messages: &mut [HistoryEvent], now: DateTime<Utc>) {
    for message in messages {
        if let EventKind::ExecutionStarted {
            execution_id,
            parent_trace_context: Some(context),
            ..
        } = &mut message.kind
            && context.span_id.is_none()
            && let Some(parent) = Parent::of(context)
        {
            let id = orchestration_span_id(&parent.id.trace_id, execution_id.as_str());
            context.span_id = Some(hex(&id));
            context.span_start_time = Some(now);
        }
    }
}

/// A traced execution: the caller's span and the orchestration span's identity.
pub(crate) struct Traced {
    caller: Parent,
    /// The orchestration span, as the parent of the spans of its tasks.
    orchestration: Parent,
    start: DateTime<Utc>,
}

impl Traced {
    /// The trace of an executor's execution; `None` when it is not traced.
    pub(crate) fn of(
        executor: &OrchestrationExecutor,
        fallback_start: DateTime<Utc>,
    ) -> Option<Self> {
        let context = executor.trace_context()?;
        let caller = Parent::of(context)?;
        let span_id = context
            .span_id
            .as_deref()
            .and_then(parse_span_id)
            .unwrap_or_else(|| {
                orchestration_span_id(&caller.id.trace_id, executor.execution_id().as_str())
            });
        Some(Self {
            orchestration: Parent {
                id: caller.id.with_span(span_id),
                state: caller.state.clone(),
            },
            start: context.span_start_time.unwrap_or(fallback_start),
            caller,
        })
    }

    /// The trace context to record on the work of task `id` (its client span's context).
    pub(crate) fn task_context(&self, id: EventId) -> TraceContext {
        self.orchestration
            .context_for(task_span_id(&self.orchestration.id.span_id, id))
    }

    /// The spans that ended in a turn of `executor` that produced `new_events`, `finished`
    /// tasks and `outcome`.
    pub(crate) fn turn_spans(
        &self,
        executor: &OrchestrationExecutor,
        new_events: &[HistoryEvent],
        finished: &[FinishedTask],
        outcome: Option<&Outcome>,
        now: DateTime<Utc>,
    ) -> Vec<SpanRecord> {
        let instance_id = executor.instance_id();
        let mut spans = Vec::new();
        for task in finished {
            spans.push(self.task_span(executor, task, instance_id.as_str()));
        }
        for event in new_events {
            match &event.kind {
                EventKind::EventSent {
                    instance_id: target,
                    name,
                    ..
                } => spans.push(
                    self.send_span(
                        span_name("orchestration_event", name, None),
                        event.event_id,
                        now,
                    )
                    .with(TYPE, TYPE_EVENT)
                    .with(TASK_NAME, name.as_str())
                    .with(INSTANCE_ID, instance_id.as_str())
                    .with(TARGET_INSTANCE_ID, target.as_str()),
                ),
                EventKind::EntityOperationSignaled {
                    instance_id: target,
                    operation,
                    ..
                } => spans.push(
                    self.send_span(
                        entity_span_name("signal_entity", target.as_str(), operation),
                        event.event_id,
                        now,
                    )
                    .with(TYPE, TYPE_ENTITY)
                    .with(TASK_NAME, operation.as_str())
                    .with(INSTANCE_ID, instance_id.as_str())
                    .with(TARGET_INSTANCE_ID, target.as_str()),
                ),
                _ => {}
            }
        }
        if let Some(outcome) = outcome {
            let failure = match outcome {
                Outcome::Failed(failure) => Some(failure.message.clone()),
                _ => None,
            };
            let mut span = SpanRecord::child(
                &self.caller,
                span_name(
                    TYPE_ORCHESTRATION,
                    executor.name(),
                    executor.version().as_deref(),
                ),
                SpanKind::Server,
                self.orchestration.id.span_id,
                self.start,
                now,
            )
            .with(TYPE, TYPE_ORCHESTRATION)
            .with(TASK_NAME, executor.name())
            .with(INSTANCE_ID, instance_id.as_str())
            .with(EXECUTION_ID, executor.execution_id().as_str())
            .with(STATUS, outcome.status().as_str())
            .failed(failure);
            if let Some(version) = executor.version() {
                span = span.with(TASK_VERSION, version);
            }
            spans.push(span);
        }
        spans
    }

    fn send_span(&self, name: String, id: EventId, now: DateTime<Utc>) -> SpanRecord {
        SpanRecord::child(
            &self.orchestration,
            name,
            SpanKind::Producer,
            task_span_id(&self.orchestration.id.span_id, id),
            now,
            now,
        )
        .with_int(TASK_ID, id.0)
    }

    fn task_span(
        &self,
        executor: &OrchestrationExecutor,
        task: &FinishedTask,
        instance_id: &str,
    ) -> SpanRecord {
        let span = |name: String, kind: SpanKind| {
            SpanRecord::child(
                &self.orchestration,
                name,
                kind,
                task_span_id(&self.orchestration.id.span_id, task.id),
                task.task.scheduled_at,
                task.finished_at,
            )
            .with_int(TASK_ID, task.id.0)
            .failed(task.failure.clone())
        };
        match &task.task.kind {
            TaskKind::Activity { name } => {
                span(span_name(TYPE_ACTIVITY, name, None), SpanKind::Client)
                    .with(TYPE, TYPE_ACTIVITY)
                    .with(TASK_NAME, name.as_str())
                    .with(INSTANCE_ID, instance_id)
            }
            TaskKind::SubOrchestration {
                name,
                instance_id: child,
            } => span(span_name(TYPE_ORCHESTRATION, name, None), SpanKind::Client)
                .with(TYPE, TYPE_ORCHESTRATION)
                .with(TASK_NAME, name.as_str())
                .with(INSTANCE_ID, child.as_str()),
            TaskKind::Timer { fire_at } => span(
                span_name(TYPE_ORCHESTRATION, executor.name(), None) + ":timer",
                SpanKind::Internal,
            )
            .with(TYPE, TYPE_TIMER)
            .with(TASK_NAME, executor.name())
            .with(INSTANCE_ID, instance_id)
            .with(FIRE_AT, fire_at.to_rfc3339()),
            TaskKind::EntityCall { entity, operation } => span(
                entity_span_name("call_entity", entity.as_str(), operation),
                SpanKind::Client,
            )
            .with(TYPE, TYPE_ENTITY)
            .with(TASK_NAME, operation.as_str())
            .with(INSTANCE_ID, instance_id)
            .with(TARGET_INSTANCE_ID, entity.as_str()),
        }
    }
}

/// `prefix:{entity name}:{operation}` for an entity's instance id `@name@key`.
fn entity_span_name(prefix: &str, entity: &str, operation: &str) -> String {
    let name = entity
        .strip_prefix('@')
        .and_then(|rest| rest.split('@').next())
        .unwrap_or(entity);
    format!("{prefix}:{name}:{operation}")
}
