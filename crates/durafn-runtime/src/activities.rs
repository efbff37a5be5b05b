//! The activity dispatcher: fetches activity work (and receives the work this host's turns
//! claimed, see [`handoff`](crate::handoff)), runs it under a concurrency limit, renews leases
//! while it runs, and commits results in batches.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use durafn_core::{
    ActivityContext, EventKind, FailureDetails, HistoryEvent, Payload, SystemFailure,
};
use durafn_store::{
    ActivityCompletion, ActivityId, ActivityWorkItem, InstanceClaim, LockToken, NewMessage,
    StoreError,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use crate::handoff::Handed;
use crate::metrics::Metrics;
use crate::payload_limit;
use crate::poll::{Backoff, fetch_or_idle};
use crate::shared::Shared;
use crate::spans::{Parent, SpanKind, SpanRecord, fresh_span_id, names, span_name};

type InFlight = Arc<Mutex<HashMap<ActivityId, LockToken>>>;

/// A finished attempt waiting for its commit: its result, its span (emitted only once the result
/// is recorded) and its concurrency slot.
type Done = (ActivityCompletion, Option<SpanRecord>, OwnedSemaphorePermit);

/// Up to how many results one completion batch claims their instances for. A few results are
/// a sequence stepping on (one result, the next turn), where the fetch the claim saves is most of
/// the step; many are a loaded host, whose orchestration dispatchers fetch the instances in
/// large batches anyway, and measured faster so.
const CLAIMS_UP_TO: usize = 4;

/// The status message of an attempt whose result was never recorded.
const ABANDONED: &str = "attempt abandoned: host lost its lease";

pub(crate) async fn activity_loop(shared: Arc<Shared>) {
    let limit = shared.options.max_concurrent_activities.max(1);
    let permits = shared.handoff.slots.clone();
    let in_flight: InFlight = Arc::default();
    // A finished activity keeps its permit until its result is committed, so the work a crash can
    // lose (and so re-run) is bounded by the concurrency limit.
    let (done_tx, done_rx) = mpsc::unbounded_channel::<Done>();
    let completer = tokio::spawn(complete_loop(shared.clone(), done_rx, in_flight.clone()));
    let renewer = tokio::spawn(renew_loop(shared.clone(), in_flight.clone()));
    let handed = shared.handoff.take_receiver().map(|rx| {
        tokio::spawn(handoff_loop(
            shared.clone(),
            rx,
            in_flight.clone(),
            done_tx.clone(),
        ))
    });

    let mut backoff = Backoff::new(shared.options.max_poll_interval);
    while !shared.stopping() {
        let fetched = fetch_or_idle(
            &shared,
            &shared.activity_work,
            &mut backoff,
            "activity",
            || fetch_reserved(&shared, &permits),
        )
        .await;
        for (item, permit) in fetched.into_iter().flatten() {
            lock(&in_flight).insert(item.id, item.lock.clone());
            start(&shared, item, permit, &done_tx);
        }
    }
    if let Some(handed) = handed {
        let _ = handed.await;
    }
    drain(&shared, &permits, limit, &in_flight).await;
    drop(done_tx);
    let _ = completer.await;
    renewer.abort();
}

/// Fetches as many items as there are free slots, each with its slot: it waits for one free
/// slot first and reserves every other free one, so fetched work never waits for a slot while
/// its lease runs, and together with the slots turns reserve for what they claim, leased work
/// never exceeds the limit. Answers nothing (asking for nothing) once shutdown begins.
async fn fetch_reserved(
    shared: &Shared,
    permits: &Arc<Semaphore>,
) -> Result<(Vec<(ActivityWorkItem, OwnedSemaphorePermit)>, usize), StoreError> {
    let first = tokio::select! {
        biased;
        _ = shared.stopped() => return Ok((Vec::new(), 0)),
        permit = permits.clone().acquire_owned() => match permit {
            Ok(p) => p,
            Err(_) => return Ok((Vec::new(), 0)),
        },
    };
    let mut slots = vec![first];
    slots.extend(std::iter::from_fn(|| {
        permits.clone().try_acquire_owned().ok()
    }));
    let asked = slots.len();
    let items = shared
        .store
        .fetch_activity_work(shared.fetch_request(asked))
        .await?;
    Ok((items.into_iter().zip(slots).collect(), asked))
}

/// Runs an item in its own task; its result goes to the completer with its slot.
fn start(
    shared: &Arc<Shared>,
    item: ActivityWorkItem,
    permit: OwnedSemaphorePermit,
    done: &mpsc::UnboundedSender<Done>,
) {
    let shared = shared.clone();
    let done = done.clone();
    tokio::spawn(async move {
        let (completion, span) = run(&shared, item).await;
        let _ = done.send((completion, span, permit));
    });
}

/// Runs the work items this host's turns claimed, each in the slot reserved for it, as they
/// arrive, until shutdown; then gives back the leases of those it did not start.
async fn handoff_loop(
    shared: Arc<Shared>,
    mut handed: mpsc::UnboundedReceiver<Handed>,
    in_flight: InFlight,
    done: mpsc::UnboundedSender<Done>,
) {
    loop {
        let (item, permit) = tokio::select! {
            biased;
            _ = shared.stopped() => break,
            item = handed.recv() => match item { Some(item) => item, None => break },
        };
        lock(&in_flight).insert(item.id, item.lock.clone());
        Metrics::add(&shared.metrics.activities_handed_off, 1);
        start(&shared, item, permit, &done);
    }
    handed.close();
    while let Ok((item, _slot)) = handed.try_recv() {
        give_back(&shared, &in_flight, item).await;
    }
}

/// Gives an item that will not run here back to the store, fetchable at once.
async fn give_back(shared: &Shared, in_flight: &InFlight, item: ActivityWorkItem) {
    lock(in_flight).remove(&item.id);
    let _ = shared
        .store
        .abandon_activity(item.id, &item.lock, None)
        .await;
}

fn lock(in_flight: &InFlight) -> std::sync::MutexGuard<'_, HashMap<ActivityId, LockToken>> {
    in_flight
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Waits for running activities up to the drain timeout, then gives their leases back.
async fn drain(shared: &Shared, permits: &Arc<Semaphore>, limit: usize, in_flight: &InFlight) {
    let all = permits.acquire_many(limit as u32);
    if tokio::time::timeout(shared.options.drain_timeout, all)
        .await
        .is_err()
    {
        let leftovers: Vec<(ActivityId, LockToken)> = lock(in_flight).drain().collect();
        for (id, token) in leftovers {
            let _ = shared.store.abandon_activity(id, &token, None).await;
        }
    }
}

async fn run(
    shared: &Arc<Shared>,
    item: ActivityWorkItem,
) -> (ActivityCompletion, Option<SpanRecord>) {
    let name = item.activity.name.clone();
    if let (Some(sink), Some(lost)) = (&shared.spans, lost_attempt_span(shared, &item)) {
        sink.emit(vec![lost]);
    }
    let attempt = attempt_span(shared, &item);
    if item.delivery > 1 {
        Metrics::add(&shared.metrics.activity_redeliveries, 1);
    }
    let outcome: Result<Payload, FailureDetails> = if dead_lettered(shared, &item) {
        Metrics::add(&shared.metrics.dead_lettered, 1);
        Err(FailureDetails::system(
            SystemFailure::DeadLettered,
            format!(
                "activity '{name}' was delivered {} times without completing (the limit is {}); the host may have crashed while running it",
                item.delivery, shared.options.max_deliveries
            ),
        ))
    } else {
        match shared.registry.activity(&name) {
            None if name == durafn_core::context::HTTP_ACTIVITY_NAME => {
                match item
                    .activity
                    .input
                    .decode::<durafn_core::DurableHttpRequest>()
                {
                    Ok(request) => crate::http_activity::call(
                        shared.http.as_ref(),
                        request,
                        attempt.as_ref().map(|s| s.trace_parent().to_string()),
                    )
                    .await
                    .and_then(|r| {
                        Payload::encode(&r).map_err(|e| {
                            FailureDetails::system(SystemFailure::HttpRequestFailed, e.to_string())
                        })
                    }),
                    Err(e) => Err(FailureDetails::system(
                        SystemFailure::HttpRequestFailed,
                        e.to_string(),
                    )),
                }
            }
            None => Err(FailureDetails::system(
                SystemFailure::ActivityNotFound,
                format!("activity function '{name}' is not registered in this function app"),
            )),
            Some(activity) => {
                let ctx = ActivityContext::new(
                    item.activity.instance_id.clone(),
                    name.clone(),
                    item.activity.task_id,
                    item.delivery,
                    shared.app_data.clone(),
                );
                let started = std::time::Instant::now();
                let future = activity.run(ctx, item.activity.input.clone());
                let log = tracing::info_span!(
                    "activity",
                    function = name.as_str(),
                    instance_id = item.activity.instance_id.as_str(),
                    execution_id = item.activity.execution_id.as_str(),
                    trace_id = attempt
                        .as_ref()
                        .map(|s| durafn_core::trace::hex(&s.trace_id))
                        .unwrap_or_default(),
                );
                // A panicking activity must not take the dispatcher down: run it as its own task.
                let mut task = tokio::spawn(tracing::Instrument::instrument(future, log));
                let joined = match shared.options.activity_timeout {
                    None => Some((&mut task).await),
                    Some(limit) => tokio::time::timeout(limit, &mut task).await.ok(),
                };
                let result = match joined {
                    Some(Ok(result)) => result.map_err(|e| e.into_failure()),
                    Some(Err(join)) => Err(FailureDetails::system(
                        SystemFailure::ActivityPanicked,
                        format!("activity '{name}' panicked: {join}"),
                    )),
                    None => {
                        task.abort();
                        Err(timed_out(&name, shared.options.activity_timeout))
                    }
                };
                Metrics::add(
                    &shared.metrics.activity_micros,
                    started.elapsed().as_micros() as u64,
                );
                shared
                    .metrics
                    .activity_seconds
                    .observe(&name, started.elapsed().as_secs_f64());
                result
            }
        }
    };
    // A result over the payload limit is not recorded: the task fails in its place.
    let outcome = outcome.and_then(|result| {
        let limit = shared.options.max_payload_bytes;
        match payload_limit::check(
            || format!("the result of activity '{name}'"),
            &result,
            limit,
        ) {
            Some(failure) => Err(failure),
            None => Ok(result),
        }
    });
    let attempt = attempt.map(|mut span| {
        span.end = shared.clock.now();
        span.failed(outcome.as_ref().err().map(|f| f.message.clone()))
    });
    let task_scheduled_id = item.activity.task_id;
    let kind = match outcome {
        Ok(result) => EventKind::TaskCompleted {
            task_scheduled_id,
            result,
        },
        Err(failure) => {
            Metrics::add(&shared.metrics.activities_failed, 1);
            EventKind::TaskFailed {
                task_scheduled_id,
                failure,
            }
        }
    };
    let completion = ActivityCompletion {
        id: item.id,
        lock: item.lock,
        result: NewMessage {
            instance_id: item.activity.instance_id,
            execution_id: Some(item.activity.execution_id),
            event: HistoryEvent::new(shared.clock.now(), kind),
            visible_at: None,
        },
        claim: None,
    };
    (completion, attempt)
}

/// Whether the item was delivered too often to run again.
fn dead_lettered(shared: &Shared, item: &ActivityWorkItem) -> bool {
    #[cfg(durafn_mutation)]
    if durafn_store::mutation::planted("forget_deliveries") {
        return false;
    }
    item.delivery > shared.options.max_deliveries
}

/// The server span of this attempt (ended when it returns), a child of the orchestration's client
/// span for the call; `None` when tracing is off or the orchestration is not traced. Each
/// delivery is its own span, so retries and re-runs after a crash are visible.
fn attempt_span(shared: &Shared, item: &ActivityWorkItem) -> Option<SpanRecord> {
    shared.spans.as_ref()?;
    let parent = Parent::of(item.activity.trace_context.as_ref()?)?;
    let now = shared.clock.now();
    let a = &item.activity;
    Some(
        SpanRecord::child(
            &parent,
            span_name(names::TYPE_ACTIVITY, &a.name, None),
            SpanKind::Server,
            fresh_span_id(&shared.ids.new_id(), "attempt"),
            now,
            now,
        )
        .with(names::TYPE, names::TYPE_ACTIVITY)
        .with(names::TASK_NAME, a.name.as_str())
        .with(names::INSTANCE_ID, a.instance_id.as_str())
        .with(names::EXECUTION_ID, a.execution_id.as_str())
        .with_int(names::TASK_ID, a.task_id.0)
        .with_int(names::DELIVERY, i64::from(item.delivery)),
    )
}

/// The server span of the previous delivery, which ended without its result being recorded: its
/// host died or lost its lease, so nobody exported it (an attempt's span is emitted only after
/// its result commits). It is reported by the next delivery, from what the store kept: the end of
/// the lease that ran out and, as its start, the last renewal that lease implies (this host's
/// lease length before it). A lease given back (a host stopping) left no time: the span is then
/// an instant, now.
fn lost_attempt_span(shared: &Shared, item: &ActivityWorkItem) -> Option<SpanRecord> {
    if item.delivery <= 1 {
        return None;
    }
    let mut span = attempt_span(shared, item)?;
    if let Some(until) = item.expired_lease {
        span.end = until.min(span.end);
        span.start = span.end - shared.lease();
    }
    span.attributes.retain(|(key, _)| *key != names::DELIVERY);
    Some(
        span.with_int(names::DELIVERY, i64::from(item.delivery - 1))
            .failed(Some(ABANDONED.to_string())),
    )
}

/// The failure of an activity stopped at the function timeout, naming the limit as host.json
/// writes it (`hh:mm:ss`).
fn timed_out(name: &str, limit: Option<Duration>) -> FailureDetails {
    let limit = limit.unwrap_or_default();
    let secs = limit.as_secs();
    let mut text = format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if limit.subsec_millis() > 0 {
        text.push_str(&format!(".{:03}", limit.subsec_millis()));
    }
    FailureDetails::system(
        SystemFailure::FunctionTimeout,
        format!("activity '{name}' was stopped: it ran longer than the function timeout of {text}"),
    )
}

/// Commits finished activities in batches: whatever finished while the last batch committed.
/// Where this host runs orchestrations, each completion of a small batch claims the instance its
/// result goes to (see [`ActivityCompletion::claim`]), and the turns the store hands back run at
/// once, as one batch of their own (a task the shutdown waits for), instead of being fetched by an
/// orchestration dispatcher.
async fn complete_loop(
    shared: Arc<Shared>,
    mut done: mpsc::UnboundedReceiver<Done>,
    in_flight: InFlight,
) {
    while let Some(first) = done.recv().await {
        let mut batch = vec![first];
        while batch.len() < 512 {
            match done.try_recv() {
                Ok(c) => batch.push(c),
                Err(_) => break,
            }
        }
        let mut completions = Vec::with_capacity(batch.len());
        let mut spans = Vec::with_capacity(batch.len());
        let mut permits = Vec::with_capacity(batch.len());
        for (completion, span, permit) in batch {
            completions.push(completion);
            spans.push(span);
            permits.push(permit);
        }
        let ids: Vec<ActivityId> = completions.iter().map(|c| c.id).collect();
        if shared.options.run_orchestrations
            && !shared.stopping()
            && completions.len() <= CLAIMS_UP_TO
        {
            let now = shared.clock.now();
            let claim = InstanceClaim {
                owner: shared.owner.clone(),
                until: now + shared.lease(),
                now,
            };
            for c in &mut completions {
                c.claim = Some(claim.clone());
            }
        }
        let mut turns = Vec::new();
        // Results whose instance was not handed back wait for a fetch: wake the dispatchers.
        let mut unclaimed = false;
        match shared.store.complete_activities(completions).await {
            Ok(results) => {
                let mut recorded = Vec::new();
                for (result, span) in results.into_iter().zip(spans) {
                    match result {
                        Ok(done) => {
                            Metrics::add(&shared.metrics.activities, 1);
                            recorded.extend(span);
                            match done.turn {
                                Some(turn) => turns.push(turn),
                                None => unclaimed = true,
                            }
                        }
                        // Its next delivery reports this attempt as lost.
                        Err(e) => tracing::warn!(error = %e, "an activity result was not recorded"),
                    }
                }
                if let (Some(sink), false) = (&shared.spans, recorded.is_empty()) {
                    sink.emit(recorded);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "recording activity results failed; they will run again")
            }
        }
        {
            let mut map = lock(&in_flight);
            for id in ids {
                map.remove(&id);
            }
        }
        drop(permits);
        if unclaimed {
            shared.orchestration_work.notify_one();
        }
        crate::turn::run_claimed_turns(&shared, turns);
    }
}

/// Renews the leases of running activities every third of a lease.
async fn renew_loop(shared: Arc<Shared>, in_flight: InFlight) {
    let period = shared.options.lease / 3;
    loop {
        tokio::time::sleep(period).await;
        let leases: Vec<(ActivityId, LockToken)> = lock(&in_flight)
            .iter()
            .map(|(id, t)| (*id, t.clone()))
            .collect();
        if leases.is_empty() {
            continue;
        }
        let until = shared.clock.now() + shared.lease();
        if let Err(e) = shared.store.renew_activity_leases(leases, until).await {
            tracing::warn!(error = %e, "renewing activity leases failed");
        }
    }
}
