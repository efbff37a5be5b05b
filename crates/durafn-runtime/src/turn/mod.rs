//! One batch of orchestration turns: load, plan, commit.
//!
//! 1. [`load`] resolves what every item of the batch needs: executors from the instance cache,
//!    every missing history in one store call, executors of cache misses rebuilt by replay, and
//!    the asynchronous preparation of orchestrators that prepare their turns.
//! 2. [`plan`] turns each item into its commit and after-commit effects; it is pure (the rules
//!    live here: [`kind`] decides which applies, [`work`] maps actions to work, [`entity`] maps
//!    the core's entity scheduler onto a commit).
//! 3. The commits go to the task hub in one group commit (moved, not copied); then the effects of
//!    those that committed apply: executors back into the cache, finished instances announced,
//!    dispatchers with new work woken.

pub(crate) mod effects;
pub(crate) mod entity;
pub(crate) mod kind;
pub(crate) mod load;
pub(crate) mod plan;
pub(crate) mod work;

use durafn_store::OrchestrationWorkItem;

use self::effects::Effects;
use self::plan::{PlanContext, plan};
use crate::metrics::Metrics;
use crate::shared::Shared;

/// Runs one fetched batch of orchestration work through load, plan and commit.
pub(crate) async fn run_batch(shared: &Shared, items: Vec<OrchestrationWorkItem>) {
    let now = shared.clock.now();
    let loaded = load::load_batch(shared, items, now).await;

    let cx = PlanContext {
        registry: &shared.registry,
        ids: shared.ids.as_ref(),
        max_deliveries: shared.options.max_deliveries,
        version_reject_delay: shared.options.version_reject_delay,
        now,
    };
    let started = std::time::Instant::now();
    let mut commits = Vec::with_capacity(loaded.len());
    let mut effects = Vec::with_capacity(loaded.len());
    for (item, loaded) in loaded {
        let planned = plan(&item, loaded, &cx);
        commits.push(planned.commit);
        effects.push(planned.effects);
    }
    Metrics::add(
        &shared.metrics.turn_micros,
        started.elapsed().as_micros() as u64,
    );
    for e in &effects {
        if e.dead_lettered {
            Metrics::add(&shared.metrics.dead_lettered, 1);
        }
        for (entity, operation, failure) in &e.failed_signals {
            tracing::warn!(entity = %entity, operation, error = %failure.message, "a signalled entity operation failed");
        }
    }
    if commits.is_empty() {
        return;
    }
    #[cfg(durafn_mutation)]
    if durafn_store::mutation::planted("keep_consumed") {
        commits.iter_mut().for_each(|c| c.consumed.clear());
    }
    let ids: Vec<_> = commits.iter().map(|c| c.instance_id.clone()).collect();
    let results = shared.store.commit_turns(commits).await;
    after_commit(shared, ids, effects, results);
}

/// Applies the effects of the turns that committed.
fn after_commit(
    shared: &Shared,
    ids: Vec<durafn_core::InstanceId>,
    effects: Vec<Effects>,
    results: Result<Vec<Result<(), durafn_store::StoreError>>, durafn_store::StoreError>,
) {
    let results = match results {
        Ok(results) => results,
        Err(e) => {
            Metrics::add(&shared.metrics.turns_failed, effects.len() as u64);
            tracing::warn!(error = %e, "committing a batch of turns failed; the work will be retried");
            return;
        }
    };
    let mut wake_activities = false;
    let mut wake_orchestrations = false;
    let mut committed = false;
    for ((instance_id, effects), result) in ids.into_iter().zip(effects).zip(results) {
        if let Err(e) = result {
            Metrics::add(&shared.metrics.turns_failed, 1);
            tracing::warn!(instance_id = %instance_id, error = %e, "a turn did not commit");
            continue;
        }
        committed = true;
        Metrics::add(&shared.metrics.turns, 1);
        wake_activities |= effects.wake_activities;
        wake_orchestrations |= effects.wake_orchestrations;
        if effects.finished {
            let _ = shared.finished.send(instance_id.clone());
        }
        if let Some((execution_id, executor)) = effects.keep {
            shared.cache().put(instance_id, execution_id, executor);
        }
    }
    if committed {
        shared.turns.send_modify(|n| *n = n.wrapping_add(1));
    }
    if wake_activities {
        shared.activity_work.notify_one();
    }
    if wake_orchestrations {
        shared.orchestration_work.notify_one();
    }
}
