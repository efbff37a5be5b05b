//! Turning a fetched orchestration work item into one atomic [`TurnCommit`].
//!
//! This is where the runtime's rules live: messages for ended executions are dropped, finished
//! instances only consume their messages, poison work fails the instance, rewind rewrites history,
//! and a turn's actions and outcome become work items and messages.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use durafn_core::entity::EntityReplyTo;
use durafn_core::rewind::rewind;
use durafn_core::{
    Action, EntityId, EntityRequest, EntityRequestKind, EventKind, ExecutionId, FailureDetails,
    HistoryEvent, InstanceId, OrchestrationExecutor, Outcome, ParentInstance, Registry,
    RuntimeStatus,
};
use durafn_store::{
    HistoryChange, InstanceRecord, InstanceUpdate, NewActivity, NewInstance, NewMessage,
    OrchestrationWorkItem, Store, StoreError, TurnCommit,
};

use crate::cache::InstanceCache;
use crate::entities::request_message;
use crate::ids::new_id;
use crate::metrics::Metrics;

/// A prepared commit and what to do once it is durable.
pub(crate) struct PreparedTurn {
    pub(crate) commit: TurnCommit,
    /// The executor to cache if the commit succeeds (the execution goes on).
    pub(crate) keep: Option<(ExecutionId, OrchestrationExecutor)>,
    /// Whether activities were enqueued (wake the activity dispatcher).
    pub(crate) scheduled_activities: bool,
    /// Whether messages became visible now (wake the orchestration dispatcher).
    pub(crate) sent_messages: bool,
    /// Set when the instance reached a terminal status.
    pub(crate) finished: bool,
}

pub(crate) struct TurnContext<'a> {
    pub(crate) store: &'a Arc<dyn Store>,
    pub(crate) registry: &'a Arc<Registry>,
    pub(crate) cache: &'a std::sync::Mutex<InstanceCache>,
    pub(crate) metrics: &'a Metrics,
    pub(crate) max_deliveries: u32,
    pub(crate) now: DateTime<Utc>,
}

pub(crate) fn consume_only(item: &OrchestrationWorkItem) -> PreparedTurn {
    PreparedTurn {
        commit: TurnCommit {
            instance_id: item.instance_id.clone(),
            lock: item.lock.clone(),
            consumed: item.messages.iter().map(|m| m.id).collect(),
            history: HistoryChange::Append(Vec::new()),
            update: None,
            activities: Vec::new(),
            messages: Vec::new(),
            sub_orchestrations: Vec::new(),
        },
        keep: None,
        scheduled_activities: false,
        sent_messages: false,
        finished: false,
    }
}

fn row_update(row: &InstanceRecord, status: RuntimeStatus, now: DateTime<Utc>) -> InstanceUpdate {
    InstanceUpdate {
        status,
        name: row.name.clone(),
        execution_id: row.execution_id.clone(),
        input: row.input.clone(),
        output: row.output.clone(),
        failure: row.failure.clone(),
        custom_status: row.custom_status.clone(),
        last_updated_at: now,
    }
}

/// Prepares the commit of one work item.
pub(crate) async fn prepare(
    cx: &mut TurnContext<'_>,
    item: OrchestrationWorkItem,
) -> Result<PreparedTurn, StoreError> {
    if let Some(entity) = EntityId::from_instance_id(&item.instance_id) {
        return Ok(crate::entities::prepare_entity(
            cx.registry,
            &item,
            entity,
            cx.now,
        ));
    }
    let Some(row) = item.instance.clone() else {
        return Ok(release_orphan_locks(&item, cx.now));
    };
    if row.status.is_terminal() {
        let rewind_reason = item.messages.iter().find_map(|m| match &m.event.kind {
            EventKind::ExecutionRewound { reason } => Some(reason.clone()),
            _ => None,
        });
        return match rewind_reason {
            Some(reason) if row.status == RuntimeStatus::Failed => {
                rewind_instance(cx, &item, &row, reason).await
            }
            _ => Ok(release_orphan_locks(&item, cx.now)),
        };
    }
    if item.messages.iter().any(|m| m.delivery > cx.max_deliveries) {
        Metrics::add(&cx.metrics.dead_lettered, 1);
        return Ok(poisoned(cx, &item, &row));
    }

    let cached = cx
        .cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take(&row.instance_id, &row.execution_id, row.history_len);
    let mut executor = match cached {
        Some(executor) => {
            Metrics::add(&cx.metrics.cache_hits, 1);
            executor
        }
        None => {
            Metrics::add(&cx.metrics.cache_misses, 1);
            let history = cx.store.get_history(&row.instance_id).await?;
            let mut executor = OrchestrationExecutor::new(cx.registry.clone());
            executor.replay(&history);
            executor
        }
    };
    let messages: Vec<HistoryEvent> = item
        .messages
        .iter()
        .filter(|m| {
            m.execution_id
                .as_ref()
                .is_none_or(|e| *e == row.execution_id)
        })
        .filter(|m| !matches!(m.event.kind, EventKind::ExecutionRewound { .. }))
        .filter(|m| match &m.event.kind {
            EventKind::ExecutionStarted { execution_id, .. } => *execution_id == row.execution_id,
            _ => true,
        })
        .map(|m| m.event.clone())
        .collect();

    let started = std::time::Instant::now();
    let turn = executor.run_turn(messages, cx.now);
    Metrics::add(
        &cx.metrics.turn_micros,
        started.elapsed().as_micros() as u64,
    );

    let mut prepared = consume_only(&item);
    if turn.new_events.is_empty() {
        return Ok(prepared);
    }
    let me = row.instance_id.clone();
    let execution_id = row.execution_id.clone();
    let mut update = row_update(&row, turn.status, cx.now);
    if !executor.name().is_empty() {
        update.name = executor.name().to_string();
    }
    update.custom_status = turn.custom_status.clone();
    let c = &mut prepared.commit;
    c.history = HistoryChange::Append(turn.new_events);
    for action in turn.actions {
        match action {
            Action::ScheduleActivity { id, name, input } => c.activities.push(NewActivity {
                instance_id: me.clone(),
                execution_id: execution_id.clone(),
                task_id: id,
                name,
                input,
            }),
            Action::CreateTimer { id, fire_at } => c.messages.push(NewMessage {
                instance_id: me.clone(),
                execution_id: Some(execution_id.clone()),
                event: HistoryEvent::new(
                    fire_at,
                    EventKind::TimerFired {
                        timer_id: id,
                        fire_at,
                    },
                ),
                visible_at: Some(fire_at),
            }),
            Action::StartSubOrchestration {
                id,
                name,
                instance_id,
                input,
            } => c.sub_orchestrations.push(NewInstance {
                instance_id,
                name,
                execution_id: ExecutionId::new(new_id()),
                input,
                parent: Some(ParentInstance {
                    name: update.name.clone(),
                    instance_id: me.clone(),
                    execution_id: execution_id.clone(),
                    task_scheduled_id: id,
                }),
                created_at: cx.now,
                version: None,
                trace_context: None,
            }),
            Action::CallEntity {
                id,
                entity,
                operation,
                input,
            } => c.messages.push(request_message(
                entity,
                EntityRequest {
                    kind: EntityRequestKind::Call,
                    operation: Some(operation),
                    input,
                    sender: Some(me.clone()),
                    reply_to: Some(EntityReplyTo {
                        instance_id: me.clone(),
                        execution_id: execution_id.clone(),
                        task_scheduled_id: id,
                    }),
                    lock_set: Vec::new(),
                    position: 0,
                },
                cx.now,
                None,
            )),
            Action::SignalEntity {
                entity,
                operation,
                input,
                at,
                ..
            } => c.messages.push(request_message(
                entity,
                EntityRequest::signal(&operation, input, Some(me.clone())),
                cx.now,
                at,
            )),
            Action::LockEntities { id, lock_set } => {
                if let Some(first) = lock_set.first().cloned() {
                    c.messages.push(request_message(
                        first,
                        EntityRequest {
                            kind: EntityRequestKind::Lock,
                            operation: None,
                            input: durafn_core::Payload::null(),
                            sender: Some(me.clone()),
                            reply_to: Some(EntityReplyTo {
                                instance_id: me.clone(),
                                execution_id: execution_id.clone(),
                                task_scheduled_id: id,
                            }),
                            lock_set,
                            position: 0,
                        },
                        cx.now,
                        None,
                    ));
                }
            }
            Action::UnlockEntity { entity, .. } => {
                c.messages.push(unlock_message(entity, &me, cx.now))
            }
            Action::SendEvent {
                instance_id,
                name,
                input,
                ..
            } => c.messages.push(NewMessage {
                instance_id,
                execution_id: None,
                event: HistoryEvent::new(cx.now, EventKind::EventRaised { name, input }),
                visible_at: None,
            }),
        }
    }
    match turn.outcome {
        None => prepared.keep = Some((execution_id, executor)),
        Some(Outcome::ContinuedAsNew { input, carryover }) => {
            let next = ExecutionId::new(new_id());
            c.history = HistoryChange::Replace(Vec::new());
            update.execution_id = next.clone();
            update.input = input.clone();
            update.output = None;
            c.messages.push(NewMessage {
                instance_id: me.clone(),
                execution_id: Some(next.clone()),
                event: HistoryEvent::new(
                    cx.now,
                    EventKind::ExecutionStarted {
                        name: update.name.clone(),
                        instance_id: me.clone(),
                        execution_id: next.clone(),
                        input,
                        parent: executor.parent().cloned(),
                        version: row.version.clone(),
                        parent_trace_context: row.trace_context.clone(),
                    },
                ),
                visible_at: None,
            });
            c.messages
                .extend(carryover.into_iter().map(|event| NewMessage {
                    instance_id: me.clone(),
                    execution_id: Some(next.clone()),
                    event,
                    visible_at: None,
                }));
        }
        Some(outcome) => {
            prepared.finished = true;
            let (output, failure) = match &outcome {
                Outcome::Completed(output) | Outcome::Terminated(output) => {
                    (Some(output.clone()), None)
                }
                Outcome::Failed(failure) => (None, Some(failure.clone())),
                Outcome::ContinuedAsNew { .. } => (None, None),
            };
            update.output = output;
            update.failure = failure;
            if let Some(parent) = executor.parent() {
                c.messages.push(report_to_parent(parent, &outcome, cx.now));
            }
        }
    }
    c.update = Some(update);
    prepared.scheduled_activities = !c.activities.is_empty();
    prepared.sent_messages =
        c.messages.iter().any(|m| m.visible_at.is_none()) || !c.sub_orchestrations.is_empty();
    Ok(prepared)
}

fn unlock_message(entity: InstanceId, owner: &InstanceId, now: DateTime<Utc>) -> NewMessage {
    request_message(
        entity,
        EntityRequest {
            kind: EntityRequestKind::Unlock,
            operation: None,
            input: durafn_core::Payload::null(),
            sender: Some(owner.clone()),
            reply_to: None,
            lock_set: Vec::new(),
            position: 0,
        },
        now,
        None,
    )
}

/// Consumes messages to a finished (or unknown) instance. A lock grant among them is answered by
/// releasing the locks, so entities never stay locked by an orchestration that ended.
fn release_orphan_locks(item: &OrchestrationWorkItem, now: DateTime<Utc>) -> PreparedTurn {
    let mut prepared = consume_only(item);
    for m in &item.messages {
        if let EventKind::EntityLockGranted { lock_set, .. } = &m.event.kind {
            for entity in lock_set {
                prepared.commit.messages.push(unlock_message(
                    entity.clone(),
                    &item.instance_id,
                    now,
                ));
            }
        }
    }
    prepared.sent_messages = !prepared.commit.messages.is_empty();
    prepared
}

fn report_to_parent(parent: &ParentInstance, outcome: &Outcome, now: DateTime<Utc>) -> NewMessage {
    let kind = match outcome {
        Outcome::Completed(output) => EventKind::SubOrchestrationInstanceCompleted {
            task_scheduled_id: parent.task_scheduled_id,
            result: output.clone(),
        },
        Outcome::Failed(failure) => EventKind::SubOrchestrationInstanceFailed {
            task_scheduled_id: parent.task_scheduled_id,
            failure: failure.clone(),
        },
        Outcome::Terminated(reason) | Outcome::ContinuedAsNew { input: reason, .. } => {
            EventKind::SubOrchestrationInstanceFailed {
                task_scheduled_id: parent.task_scheduled_id,
                failure: FailureDetails {
                    error_type: "Terminated".into(),
                    message: format!("the sub-orchestration was terminated: {reason}"),
                    details: None,
                },
            }
        }
    };
    NewMessage {
        instance_id: parent.instance_id.clone(),
        execution_id: Some(parent.execution_id.clone()),
        event: HistoryEvent::new(now, kind),
        visible_at: None,
    }
}

/// Work delivered too often without a successful turn: fail the instance instead of looping.
fn poisoned(
    cx: &TurnContext<'_>,
    item: &OrchestrationWorkItem,
    row: &InstanceRecord,
) -> PreparedTurn {
    let deliveries = item
        .messages
        .iter()
        .map(|m| m.delivery)
        .max()
        .unwrap_or_default();
    let failure = FailureDetails::new(
        "PoisonMessage",
        format!(
            "instance '{}' was failed because its messages were delivered {deliveries} times without a successful turn (the limit is {}); the host may have crashed while running it",
            row.instance_id, cx.max_deliveries
        ),
    );
    let mut prepared = consume_only(item);
    prepared.finished = true;
    let mut update = row_update(row, RuntimeStatus::Failed, cx.now);
    update.failure = Some(failure.clone());
    prepared.commit.history = HistoryChange::Append(vec![
        HistoryEvent::new(cx.now, EventKind::OrchestratorStarted),
        HistoryEvent::new(
            cx.now,
            EventKind::ExecutionCompleted {
                orchestration_status: RuntimeStatus::Failed,
                result: None,
                failure_details: Some(failure.clone()),
            },
        ),
        HistoryEvent::new(cx.now, EventKind::OrchestratorCompleted),
    ]);
    prepared.commit.update = Some(update);
    if let Some(parent) = &row.parent {
        prepared
            .commit
            .messages
            .push(report_to_parent(parent, &Outcome::Failed(failure), cx.now));
    }
    prepared
}

async fn rewind_instance(
    cx: &mut TurnContext<'_>,
    item: &OrchestrationWorkItem,
    row: &InstanceRecord,
    reason: Option<String>,
) -> Result<PreparedTurn, StoreError> {
    let history = cx.store.get_history(&row.instance_id).await?;
    let mut prepared = consume_only(item);
    let Ok(rewound) = rewind(&history, reason, cx.now) else {
        return Ok(prepared);
    };
    let me = row.instance_id.clone();
    let c = &mut prepared.commit;
    c.history = HistoryChange::Replace(rewound.history);
    let mut update = row_update(row, RuntimeStatus::Running, cx.now);
    update.failure = None;
    update.output = None;
    c.update = Some(update);
    for action in rewound.redo {
        match action {
            Action::ScheduleActivity { id, name, input } => c.activities.push(NewActivity {
                instance_id: me.clone(),
                execution_id: row.execution_id.clone(),
                task_id: id,
                name,
                input,
            }),
            Action::StartSubOrchestration {
                id,
                name,
                instance_id,
                input,
            } => c.sub_orchestrations.push(NewInstance {
                instance_id,
                name,
                execution_id: ExecutionId::new(new_id()),
                input,
                parent: Some(ParentInstance {
                    name: row.name.clone(),
                    instance_id: me.clone(),
                    execution_id: row.execution_id.clone(),
                    task_scheduled_id: id,
                }),
                created_at: cx.now,
                version: None,
                trace_context: None,
            }),
            _ => {}
        }
    }
    c.messages
        .extend(rewound.messages.into_iter().map(|event| NewMessage {
            instance_id: me.clone(),
            execution_id: Some(row.execution_id.clone()),
            event,
            visible_at: None,
        }));
    prepared.scheduled_activities = !c.activities.is_empty();
    prepared.sent_messages = true;
    Ok(prepared)
}
