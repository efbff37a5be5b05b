//! The load step: everything a batch of turns needs before it can be planned, read at once.
//!
//! Executors come from the instance cache when they are current; every history that is missing
//! (cache misses, rewinds) is read with one store call for the whole batch; executors of misses
//! are rebuilt by replay. Orchestrators that prepare their turns asynchronously
//! (`Orchestrator::prepare_turn`, e.g. one whose code runs in another process) are awaited here,
//! outside the pure planner, before their history is replayed (their code runs from the start
//! of the replay on), and so are entities that prepare their batches (`Entity::prepare_batch`).
//! Items whose loading fails are abandoned, to be fetched again.

use chrono::{DateTime, Utc};
use durafn_core::{BatchPreparation, EntityId, OrchestrationExecutor, TurnPreparation};
use durafn_store::OrchestrationWorkItem;

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

    let mut loaded = Vec::with_capacity(pending.len());
    for (item, step) in pending {
        let ready = match step {
            Pending::Ready(ready) => ready,
            Pending::Entity(id) => match prepare_entity(shared, &item, id).await {
                Ok(ready) => ready,
                Err(e) => {
                    tracing::warn!(instance_id = %item.instance_id, error = %e, "preparing an entity batch failed; abandoning");
                    abandon(shared, &item).await;
                    continue;
                }
            },
            Pending::Rewind(_) | Pending::Replay if histories.is_none() => {
                abandon(shared, &item).await;
                continue;
            }
            Pending::Rewind(reason) => Loaded::Rewind {
                history: next_history(&mut histories),
                reason,
            },
            Pending::Replay => {
                let history = next_history(&mut histories);
                match replay(shared, &item, history, now).await {
                    Ok(ready) => ready,
                    Err(e) => {
                        tracing::warn!(instance_id = %item.instance_id, error = %e, "preparing a turn failed; abandoning");
                        abandon(shared, &item).await;
                        continue;
                    }
                }
            }
        };
        loaded.push((item, ready));
    }
    loaded
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

/// Lets the entity prepare its batch if it does.
async fn prepare_entity(
    shared: &Shared,
    item: &OrchestrationWorkItem,
    id: EntityId,
) -> Result<Loaded, String> {
    let Some(entity) = shared.registry.entity(&id.name) else {
        return Ok(Loaded::Entity { id, prepared: None });
    };
    let (scheduler, state, incoming) = batch_inputs(item);
    let preparation = BatchPreparation {
        id: id.clone(),
        state,
        lock_owner: scheduler.lock_owner,
        waiting: scheduler.queue,
        incoming,
    };
    let prepared = match entity.prepare_batch(&preparation) {
        None => None,
        Some(prepare) => Some(prepare.await.map_err(|e| e.to_string())?),
    };
    Ok(Loaded::Entity { id, prepared })
}

/// Rebuilds the executor by replay; an orchestrator that prepares its turns does so first, and
/// its preparation is handed to the executor before the replay, since its code runs from the
/// start of the replay on.
async fn replay(
    shared: &Shared,
    item: &OrchestrationWorkItem,
    history: Vec<durafn_core::HistoryEvent>,
    now: DateTime<Utc>,
) -> Result<Loaded, String> {
    let mut executor = OrchestrationExecutor::new(shared.registry.clone());
    if shared.spans.is_none() {
        executor = executor.without_task_ledger();
    }
    let Some(row) = &item.instance else {
        return Ok(Loaded::Orphan);
    };
    let orchestrator = shared.registry.orchestrator(&row.name);
    let preparation = TurnPreparation {
        instance_id: row.instance_id.clone(),
        new_events: turn_messages(item, row),
        history,
        now,
    };
    let prepare = orchestrator
        .as_ref()
        .and_then(|o| o.prepare_turn(&preparation));
    let cacheable = prepare.is_none();
    if let Some(prepare) = prepare {
        let prepared = prepare.await.map_err(|e| e.to_string())?;
        executor.set_prepared(Some(prepared));
    }
    executor.replay(&preparation.history);
    Ok(Loaded::Turn {
        executor,
        cacheable,
    })
}

async fn abandon(shared: &Shared, item: &OrchestrationWorkItem) {
    let _ = shared
        .store
        .abandon_orchestration(&item.instance_id, &item.lock, None)
        .await;
}

fn next_history(
    histories: &mut Option<std::vec::IntoIter<Vec<durafn_core::HistoryEvent>>>,
) -> Vec<durafn_core::HistoryEvent> {
    histories
        .as_mut()
        .and_then(Iterator::next)
        .unwrap_or_default()
}
