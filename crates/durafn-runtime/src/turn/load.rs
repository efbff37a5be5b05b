//! The load step: everything a batch of turns needs before it can be planned, read at once.
//!
//! Executors come from the instance cache when they are current; every history that is missing
//! (cache misses, rewinds) is read with one store call for the whole batch; executors of misses
//! are rebuilt by replay. Orchestrators that prepare their turns asynchronously
//! (`Orchestrator::prepare_turn`, e.g. one whose code runs in another process) are awaited here,
//! outside the pure planner, before their history is replayed (their code runs from the start
//! of the replay on), and so are entities that prepare their batches (`Entity::prepare_batch`);
//! a batch's preparations all start before the first is awaited.
//! Items whose loading fails are abandoned, to be fetched again.

use chrono::{DateTime, Utc};
use durafn_core::{
    BatchPreparation, EntityId, HistoryEvent, OrchestrationExecutor, TurnPreparation,
};
use durafn_store::OrchestrationWorkItem;
use tokio::task::JoinHandle;

use super::entity::batch_inputs;
use super::kind::{Loaded, TurnKind, classify, turn_messages};
use crate::metrics::Metrics;
use crate::shared::Shared;

/// What an item still needs after the cache was asked.
// The executor moves through once per turn; boxing it would cost an allocation per turn.
#[allow(clippy::large_enum_variant)]
enum Pending {
    Ready(Loaded),
    Entity(EntityId),
    Replay,
    Rewind(Option<String>),
}

/// Loads a batch whose turns run at `now`; returns each item that could be loaded with what it
/// needs.
pub(crate) async fn load_batch(
    shared: &Shared,
    items: Vec<OrchestrationWorkItem>,
    now: DateTime<Utc>,
) -> Vec<(OrchestrationWorkItem, Loaded)> {
    let mut pending = Vec::with_capacity(items.len());
    let mut wanted = Vec::new();
    let versioning = shared.options.versioning();
    for item in items {
        let step = match classify(&item, shared.options.max_deliveries, &versioning) {
            TurnKind::Entity(id) => Pending::Entity(id),
            TurnKind::Orphan => Pending::Ready(Loaded::Orphan),
            TurnKind::Poisoned => Pending::Ready(Loaded::Poisoned),
            TurnKind::VersionRejected => Pending::Ready(Loaded::VersionRejected),
            TurnKind::VersionFailed(reason) => Pending::Ready(Loaded::VersionFailed(reason)),
            TurnKind::Rewind { reason } => Pending::Rewind(reason),
            TurnKind::Turn => cached(shared, &item),
        };
        if matches!(step, Pending::Replay | Pending::Rewind(_)) {
            wanted.push(item.instance_id.clone());
        }
        pending.push((item, step));
    }
    // One read for every history the batch needs. If it fails, the items that needed it are
    // abandoned (fetched again later) and the others go on.
    let mut histories = if wanted.is_empty() {
        Some(Vec::new().into_iter())
    } else {
        match shared.store.get_histories(&wanted).await {
            Ok(histories) => Some(histories.into_iter()),
            Err(e) => {
                tracing::warn!(error = %e, "loading the histories of a batch failed; abandoning the turns that need them");
                None
            }
        }
    };

    // Start every preparation first, so that code out of process prepares the batch's turns
    // side by side rather than one after another (a batch of slow turns, one at a time, could
    // outlast its lease), then finish each in order.
    let mut started = Vec::with_capacity(pending.len());
    for (item, step) in pending {
        let next = match step {
            Pending::Ready(ready) => Started::Ready(ready),
            Pending::Entity(id) => start_entity(shared, &item, id),
            Pending::Rewind(_) | Pending::Replay if histories.is_none() => {
                abandon(shared, &item).await;
                continue;
            }
            Pending::Rewind(reason) => Started::Ready(Loaded::Rewind {
                history: next_history(&mut histories),
                reason,
            }),
            Pending::Replay => start_replay(shared, &item, next_history(&mut histories), now),
        };
        started.push((item, next));
    }
    let mut loaded = Vec::with_capacity(started.len());
    for (item, next) in started {
        match next.finish().await {
            Ok(ready) => loaded.push((item, ready)),
            Err(e) => {
                tracing::warn!(instance_id = %item.instance_id, error = %e, "preparing a turn failed; abandoning");
                abandon(shared, &item).await;
            }
        }
    }
    loaded
}

/// An item whose preparation may still be running.
// As with `Pending`, the executor moves through once per turn.
#[allow(clippy::large_enum_variant)]
enum Started {
    Ready(Loaded),
    Entity {
        id: EntityId,
        prepared: Option<JoinHandle<Result<std::sync::Arc<dyn durafn_core::Entity>, String>>>,
    },
    Replay {
        executor: OrchestrationExecutor,
        history: Vec<HistoryEvent>,
        prepared: Option<JoinHandle<Result<durafn_core::Payload, String>>>,
    },
}

impl Started {
    /// Waits for the preparation; an orchestrator's executor is replayed after it, since its
    /// code runs from the start of the replay on.
    async fn finish(self) -> Result<Loaded, String> {
        match self {
            Started::Ready(ready) => Ok(ready),
            Started::Entity { id, prepared } => {
                let prepared = match prepared {
                    None => None,
                    Some(task) => Some(joined(task.await)?),
                };
                Ok(Loaded::Entity { id, prepared })
            }
            Started::Replay {
                mut executor,
                history,
                prepared,
            } => {
                let cacheable = prepared.is_none();
                if let Some(task) = prepared {
                    executor.set_prepared(Some(joined(task.await)?));
                }
                executor.replay(&history);
                Ok(Loaded::Turn {
                    executor,
                    cacheable,
                })
            }
        }
    }
}

/// Runs a preparation in a task of its own, so the batch's preparations overlap.
fn spawn_preparation<T: Send + 'static>(
    prepare: impl Future<Output = Result<T, durafn_core::FunctionError>> + Send + 'static,
) -> JoinHandle<Result<T, String>> {
    tokio::spawn(async move { prepare.await.map_err(|e| e.to_string()) })
}

fn joined<T>(outcome: Result<Result<T, String>, tokio::task::JoinError>) -> Result<T, String> {
    outcome.map_err(|e| format!("the preparation stopped: {e}"))?
}

/// A current executor from the instance cache, or the need to replay.
fn cached(shared: &Shared, item: &OrchestrationWorkItem) -> Pending {
    let Some(row) = &item.instance else {
        return Pending::Ready(Loaded::Orphan);
    };
    let hit = shared
        .cache()
        .take(&row.instance_id, &row.execution_id, row.history_len);
    match hit {
        Some(executor) => {
            Metrics::add(&shared.metrics.cache_hits, 1);
            Pending::Ready(Loaded::Turn {
                executor,
                cacheable: true,
            })
        }
        None => {
            Metrics::add(&shared.metrics.cache_misses, 1);
            Pending::Replay
        }
    }
}

/// Lets the entity prepare its batch if it does, in a task of its own.
fn start_entity(shared: &Shared, item: &OrchestrationWorkItem, id: EntityId) -> Started {
    let Some(entity) = shared.registry.entity(&id.name) else {
        return Started::Ready(Loaded::Entity { id, prepared: None });
    };
    let (scheduler, state, incoming) = batch_inputs(item);
    let preparation = BatchPreparation {
        id: id.clone(),
        state,
        lock_owner: scheduler.lock_owner,
        waiting: scheduler.queue,
        incoming,
    };
    let prepared = entity.prepare_batch(&preparation).map(spawn_preparation);
    Started::Entity { id, prepared }
}

/// Sets up the executor's rebuild by replay; an orchestrator that prepares its turns starts
/// doing so in a task of its own.
fn start_replay(
    shared: &Shared,
    item: &OrchestrationWorkItem,
    history: Vec<HistoryEvent>,
    now: DateTime<Utc>,
) -> Started {
    let mut executor = OrchestrationExecutor::new(shared.registry.clone());
    if shared.spans.is_none() {
        executor = executor.without_task_ledger();
    }
    let Some(row) = &item.instance else {
        return Started::Ready(Loaded::Orphan);
    };
    let orchestrator = shared.registry.orchestrator(&row.name);
    let preparation = TurnPreparation {
        instance_id: row.instance_id.clone(),
        new_events: turn_messages(item, row),
        history,
        now,
    };
    let prepared = orchestrator
        .as_ref()
        .and_then(|o| o.prepare_turn(&preparation))
        .map(spawn_preparation);
    Started::Replay {
        executor,
        history: preparation.history,
        prepared,
    }
}

async fn abandon(shared: &Shared, item: &OrchestrationWorkItem) {
    let _ = shared
        .store
        .abandon_orchestration(&item.instance_id, &item.lock, None)
        .await;
}

fn next_history(
    histories: &mut Option<std::vec::IntoIter<Vec<HistoryEvent>>>,
) -> Vec<HistoryEvent> {
    histories
        .as_mut()
        .and_then(Iterator::next)
        .unwrap_or_default()
}
