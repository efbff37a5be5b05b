//! Entity turns: the core's scheduler applies every queued request of one entity in order; its
//! output becomes one commit (new state, replies, forwarded lock requests, signals, started
//! orchestrations), so each state change happens exactly once.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use durafn_core::scheduler::{EntityOutput, Scheduler, schedule};
use durafn_core::{
    Entity, EntityId, EntityRequest, EventKind, ExecutionId, HistoryEvent, InstanceId, Payload,
    Registry, RuntimeStatus,
};
use durafn_store::{InstanceUpdate, NewInstance, NewMessage, OrchestrationWorkItem};

use super::effects::{PlannedTurn, consume_only};
use super::work::request_message;
use crate::ids::IdGen;

/// What an entity batch starts from: the scheduler and the state in the entity's row, and the
/// requests the item delivers.
pub(crate) fn batch_inputs(
    item: &OrchestrationWorkItem,
) -> (Scheduler, Option<Payload>, Vec<EntityRequest>) {
    let row = item.instance.as_ref();
    let scheduler = Scheduler::from_row(row.map(|r| &r.input));
    let state = row.and_then(|r| r.output.clone());
    let requests = item
        .messages
        .iter()
        .filter_map(|m| match &m.event.kind {
            EventKind::EntityRequest { request } => Some(request.clone()),
            _ => None,
        })
        .collect();
    (scheduler, state, requests)
}

/// Plans the commit of one entity turn; `prepared` runs the batch instead of the registered
/// entity when that one prepared it.
pub(crate) fn plan_entity(
    registry: &Arc<Registry>,
    item: &OrchestrationWorkItem,
    id: EntityId,
    prepared: Option<Arc<dyn Entity>>,
    now: DateTime<Utc>,
    ids: &dyn IdGen,
) -> PlannedTurn {
    let mut planned = consume_only(item);
    let (scheduler, state, requests) = batch_inputs(item);
    let entity = prepared.or_else(|| registry.entity(&id.name));
    let batch = schedule(&id, entity.as_ref(), scheduler, state, requests);
    let busy = batch.is_busy();
    let c = &mut planned.commit;
    for output in batch.outputs {
        match output {
            EntityOutput::Reply { to, event } => c.messages.push(NewMessage {
                instance_id: to.instance_id,
                execution_id: Some(to.execution_id),
                event: HistoryEvent::new(now, event),
                visible_at: None,
            }),
            EntityOutput::Request {
                target,
                request,
                at,
            } => c.messages.push(request_message(target, request, now, at)),
            EntityOutput::StartOrchestration {
                name,
                instance_id,
                input,
            } => c.sub_orchestrations.push(NewInstance {
                instance_id: instance_id.unwrap_or_else(|| InstanceId::from_trusted(ids.new_id())),
                name,
                execution_id: ExecutionId::new(ids.new_id()),
                input,
                parent: None,
                created_at: now,
                version: None,
                trace_context: None,
            }),
        }
    }
    c.update = Some(InstanceUpdate {
        status: if busy {
            RuntimeStatus::Running
        } else {
            RuntimeStatus::Completed
        },
        name: id.name.clone(),
        execution_id: ExecutionId::new(""),
        input: Payload::encode(&batch.scheduler).unwrap_or_default(),
        output: batch.state,
        failure: None,
        custom_status: None,
        last_updated_at: now,
    });
    planned.effects.wake_orchestrations =
        !c.messages.is_empty() || !c.sub_orchestrations.is_empty();
    planned.effects.failed_signals = batch
        .failed_signals
        .into_iter()
        .map(|(operation, failure)| (id.clone(), operation, failure))
        .collect();
    planned
}
