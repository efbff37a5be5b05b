//! One batch of orchestration turns: load, plan, commit.
//!
//! 1. [`load`] resolves what every item of the batch needs: executors from the instance cache,
//!    every missing history in one store call, executors of cache misses rebuilt by replay, and
//!    the asynchronous preparation of orchestrators that prepare their turns.
//! 2. [`plan`] turns each item into its commit and after-commit effects; it is pure (the rules
//!    live here: [`kind`] decides which applies, [`work`] maps actions to work, [`entity`] maps
//!    the core's entity scheduler onto a commit).
//! 3. The commits go to the task hub in one group commit (moved, not copied), each claiming the
//!    activities it schedules for this host while its activity dispatcher has free slots (see
//!    [`handoff`](crate::handoff)); then the effects of those that committed apply: executors
//!    back into the cache, finished instances announced, claimed activities handed to the
//!    activity dispatcher, dispatchers with other new work woken.

pub(crate) mod effects;
pub(crate) mod entity;
pub(crate) mod kind;
pub(crate) mod load;
pub(crate) mod plan;
pub(crate) mod work;

use std::sync::Arc;

use durafn_store::{ActivityWorkItem, Committed, InstanceClaim, OrchestrationWorkItem, StoreError};
use tokio::sync::OwnedSemaphorePermit;

use self::effects::Effects;
use self::plan::{PlanContext, plan};
use crate::handoff::{assign_claims, assign_turn_claims};
use crate::metrics::Metrics;
use crate::shared::Shared;

/// Runs one batch of orchestration work (fetched, or handed over by this host's own commits)
/// through load, plan and commit.
pub(crate) async fn run_batch(shared: &Arc<Shared>, items: Vec<OrchestrationWorkItem>) {
    let _busy = shared.handoff.running();
    let now = shared.clock.now();
    let loaded = load::load_batch(shared, items, now).await;

    let cx = PlanContext {
        registry: &shared.registry,
        ids: shared.ids.as_ref(),
        max_deliveries: shared.options.max_deliveries,
        version_reject_delay: shared.options.version_reject_delay,
        now,
        tracing: shared.spans.is_some(),
        max_payload_bytes: shared.options.max_payload_bytes,
    };
    let started = std::time::Instant::now();
    let mut commits = Vec::with_capacity(loaded.len());
    let mut effects = Vec::with_capacity(loaded.len());
    for (item, loaded) in loaded {
        let span = turn_span(&item);
        let turn_started = std::time::Instant::now();
        let planned = span.in_scope(|| plan(&item, loaded, &cx));
        shared
            .metrics
            .turn_seconds
            .observe_duration(turn_started.elapsed());
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
    let mut slots = Vec::new();
    if shared.options.run_activities && !shared.stopping() {
        let wanted = commits.iter().map(|c| c.activities.len()).sum();
        slots = shared.handoff.reserve(wanted);
        let until = shared.clock.now() + shared.lease();
        assign_claims(&mut commits, slots.len(), &shared.owner, until);
    }
    if shared.options.run_orchestrations && !shared.stopping() {
        let now = shared.clock.now();
        let lease = InstanceClaim {
            owner: shared.owner.clone(),
            until: now + shared.lease(),
            now,
        };
        let max_items = shared.options.max_concurrent_orchestrations.max(1);
        assign_turn_claims(&mut commits, &lease, max_items);
    }
    let ids: Vec<_> = commits
        .iter()
        .map(|c| (c.instance_id.clone(), c.activities.len()))
        .collect();
    shared
        .metrics
        .commit_batch_size
        .observe(commits.len() as f64);
    let commit_started = std::time::Instant::now();
    let results = shared.store.commit_turns(commits).await;
    shared
        .metrics
        .commit_seconds
        .observe_duration(commit_started.elapsed());
    after_commit(shared, ids, effects, results, slots);
}

/// The log span of one turn: every line logged while it is planned (the orchestrator's own,
/// through its replay-safe logger, and the runtime's) names the instance, its execution, the
/// orchestrator and the trace.
fn turn_span(item: &OrchestrationWorkItem) -> tracing::Span {
    let row = item.instance.as_ref();
    let trace_id = row
        .and_then(|r| r.trace_context.as_ref())
        .and_then(|t| durafn_core::trace::TraceParent::parse(&t.trace_parent))
        .map(|t| t.trace_id_hex());
    tracing::info_span!(
        "turn",
        function = row.map(|r| r.name.as_str()).unwrap_or_default(),
        instance_id = item.instance_id.as_str(),
        execution_id = row.map(|r| r.execution_id.as_str()).unwrap_or_default(),
        trace_id = trace_id.as_deref().unwrap_or_default(),
    )
}

/// Applies the effects of the turns that committed.
fn after_commit(
    shared: &Arc<Shared>,
    ids: Vec<(durafn_core::InstanceId, usize)>,
    effects: Vec<Effects>,
    results: Result<Vec<Result<Committed, StoreError>>, StoreError>,
    slots: Vec<OwnedSemaphorePermit>,
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
    let mut spans = Vec::new();
    let mut finished = Vec::new();
    let mut claimed: Vec<ActivityWorkItem> = Vec::new();
    let mut turns: Vec<OrchestrationWorkItem> = Vec::new();
    for (((instance_id, activities), mut effects), result) in
        ids.into_iter().zip(effects).zip(results)
    {
        let mut result = match result {
            Ok(result) => result,
            Err(e) => {
                Metrics::add(&shared.metrics.turns_failed, 1);
                tracing::warn!(instance_id = %instance_id, error = %e, "a turn did not commit");
                continue;
            }
        };
        committed = true;
        // Only activities left for a fetch need the dispatcher woken.
        effects.wake_activities &= result.claimed.len() < activities;
        claimed.append(&mut result.claimed);
        turns.append(&mut result.turns);
        Metrics::add(&shared.metrics.turns, 1);
        Metrics::add(&shared.metrics.retries, u64::from(effects.retries));
        spans.append(&mut effects.spans);
        if let Some((name, seconds, nondeterministic)) = effects.ended.take() {
            let label = if shared.registry.orchestrator(&name).is_some() {
                name.as_str()
            } else {
                crate::metrics::OTHER
            };
            shared.metrics.orchestration_seconds.observe(label, seconds);
            if nondeterministic {
                Metrics::add(&shared.metrics.nondeterminism, 1);
            }
        }
        wake_activities |= effects.wake_activities;
        wake_orchestrations |= effects.wake_orchestrations;
        if let Some(record) = effects.finished.take() {
            finished.push(record);
        }
        if let Some((execution_id, executor)) = effects.keep {
            shared.cache().put(instance_id, execution_id, executor);
        }
    }
    if committed {
        shared.turns.send_modify(|n| *n = n.wrapping_add(1));
    }
    // Spans first: whoever hears that an instance finished (a client, a host shutting down and
    // flushing its exporter) must find the spans of its last turn already handed over.
    if let Some(sink) = &shared.spans
        && !spans.is_empty()
    {
        sink.emit(spans);
    }
    for record in finished {
        shared.finishes.announce(record);
    }
    // Last, so that the turn an activity's result triggers finds its executor in the cache.
    hand_over(shared, claimed, slots);
    run_claimed_turns(shared, turns);
    if wake_activities {
        shared.activity_work.notify_one();
    }
    if wake_orchestrations {
        shared.orchestration_work.notify_one();
    }
}

/// Hands claimed activities to this host's activity dispatcher; the leases of those it can no
/// longer take (it stopped meanwhile) are given back, so another host need not wait for them to
/// run out.
fn hand_over(shared: &Shared, claimed: Vec<ActivityWorkItem>, slots: Vec<OwnedSemaphorePermit>) {
    if claimed.is_empty() {
        return;
    }
    // A store claims at most what was asked, and as many slots were reserved; the slots of
    // claims that did not happen (a failed commit) are freed when `slots` drops.
    let refused = shared
        .handoff
        .deliver(claimed.into_iter().zip(slots).collect());
    if refused.is_empty() {
        return;
    }
    let store = shared.store.clone();
    tokio::spawn(async move {
        for item in refused {
            let _ = store.abandon_activity(item.id, &item.lock, None).await;
        }
    });
}

/// Runs turns this host claimed (a start, the instances an activity result or a committed turn
/// gave work) as one batch, a task of its own. A host that is stopping gives their leases back
/// instead, so the instances need not wait for the leases to run out.
pub(crate) fn run_claimed_turns(shared: &Arc<Shared>, turns: Vec<OrchestrationWorkItem>) {
    if turns.is_empty() {
        return;
    }
    let task_shared = shared.clone();
    if shared.stopping() {
        tokio::spawn(async move {
            for turn in turns {
                let _ = task_shared
                    .store
                    .abandon_orchestration(&turn.instance_id, &turn.lock, None)
                    .await;
            }
        });
        return;
    }
    Metrics::add(&shared.metrics.turns_handed_off, turns.len() as u64);
    shared.handoff.run_turn(async move {
        run_batch(&task_shared, turns).await;
    });
}
