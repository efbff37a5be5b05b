//! Property: for random orchestration programs and random interleavings of completions, full
//! replay from history and incremental execution produce the same events, actions and output.
//!
//! `TestOrchestration::turn` compares the two on every turn; at the end the whole history is
//! replayed once more from scratch and must reach the same outcome.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use durafn_core::testkit::{TestOrchestration, msg};
use durafn_core::{
    Action, EntityId, FunctionError, OrchestrationContext, Registry, RetryOptions, TaskError,
    engine, orchestrator_fn, when_all, when_any,
};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// One step of a generated orchestration program.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Step {
    Activity(u8),
    Retry(u8),
    Timer(u16),
    Event(u8),
    EventWithTimeout(u8, u16),
    AllOf(u8),
    AnyOf(u8, u16),
    Sub(u8),
    Guid,
    Status(u8),
    Send(u8),
    CallEntity(u8),
    SignalEntity(u8),
    Critical(u8),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        any::<u8>().prop_map(Step::Activity),
        any::<u8>().prop_map(Step::Retry),
        (1u16..600).prop_map(Step::Timer),
        (0u8..3).prop_map(Step::Event),
        ((0u8..3), (1u16..600)).prop_map(|(e, t)| Step::EventWithTimeout(e, t)),
        (1u8..5).prop_map(Step::AllOf),
        ((0u8..4), (1u16..600)).prop_map(|(a, t)| Step::AnyOf(a, t)),
        any::<u8>().prop_map(Step::Sub),
        Just(Step::Guid),
        any::<u8>().prop_map(Step::Status),
        any::<u8>().prop_map(Step::Send),
        (0u8..4).prop_map(Step::CallEntity),
        (0u8..4).prop_map(Step::SignalEntity),
        (0u8..4).prop_map(Step::Critical),
    ]
}

async fn interpret(
    ctx: OrchestrationContext,
    program: Vec<Step>,
) -> Result<Vec<Value>, FunctionError> {
    let mut out = Vec::new();
    for step in program {
        let value = match step {
            Step::Activity(n) => match ctx.call_activity::<Value>("Work", &n).await {
                Ok(v) => v,
                Err(e) => json!(format!("error: {e}")),
            },
            Step::Retry(n) => {
                let options = RetryOptions::new(Duration::from_secs(2), 3).backoff_coefficient(2.0);
                match ctx
                    .call_activity_with_retry::<Value>("Work", &n, options)
                    .await
                {
                    Ok(v) => v,
                    Err(e) => json!(format!("gave up: {e}")),
                }
            }
            Step::Timer(secs) => {
                ctx.sleep(Duration::from_secs(secs.into())).await;
                json!(ctx.current_utc_datetime().to_rfc3339())
            }
            Step::Event(e) => {
                ctx.wait_for_external_event::<Value>(&format!("e{e}"))
                    .await?
            }
            Step::EventWithTimeout(e, secs) => match ctx
                .wait_for_external_event_with_timeout::<Value>(
                    &format!("e{e}"),
                    Duration::from_secs(secs.into()),
                )
                .await
            {
                Ok(v) => v,
                Err(TaskError::Timeout { .. }) => json!("timeout"),
                Err(e) => return Err(e.into()),
            },
            Step::AllOf(n) => {
                let tasks = (0..n)
                    .map(|i| ctx.call_activity::<Value>("Work", &i))
                    .collect();
                match when_all(tasks).await {
                    Ok(v) => json!(v),
                    Err(e) => json!(format!("error: {e}")),
                }
            }
            Step::AnyOf(n, secs) => {
                type Boxed = std::pin::Pin<
                    Box<dyn std::future::Future<Output = Result<Value, TaskError>> + Send>,
                >;
                let mut racers: Vec<Boxed> = (0..=n)
                    .map(|i| Box::pin(ctx.call_activity::<Value>("Work", &i)) as Boxed)
                    .collect();
                let timer = ctx.sleep(Duration::from_secs(secs.into()));
                racers.push(Box::pin(async move {
                    timer.await;
                    Ok(json!("timer"))
                }));
                let first = when_any(racers).await;
                json!([
                    first.index,
                    first.output.unwrap_or_else(|e| json!(e.to_string()))
                ])
            }
            Step::Sub(n) => match ctx.call_sub_orchestrator::<Value>("Child", None, &n).await {
                Ok(v) => v,
                Err(e) => json!(format!("error: {e}")),
            },
            Step::Guid => json!(ctx.new_guid().to_string()),
            Step::Status(n) => {
                ctx.set_custom_status(&n);
                json!(n)
            }
            Step::Send(n) => {
                ctx.send_event(&ctx.instance_id(), "self", &n);
                json!("sent")
            }
            Step::CallEntity(k) => {
                match ctx
                    .call_entity::<Value>(&EntityId::new("counter", k.to_string()), "add", &1)
                    .await
                {
                    Ok(v) => v,
                    Err(e) => json!(format!("error: {e}")),
                }
            }
            Step::SignalEntity(k) => {
                ctx.signal_entity(&EntityId::new("counter", k.to_string()), "add", &1)?;
                json!("signalled")
            }
            Step::Critical(k) => {
                let a = EntityId::new("account", k.to_string());
                let b = EntityId::new("account", (k + 1).to_string());
                let section = ctx.lock_entities(&[b, a.clone()]).await?;
                let v = ctx
                    .call_entity::<Value>(&a, "get", &())
                    .await
                    .unwrap_or(json!(null));
                section.release();
                v
            }
        };
        out.push(value);
    }
    Ok(out)
}

/// A tiny deterministic PRNG for the driver (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

#[derive(Debug, Clone)]
enum Pending {
    Activity,
    Sub,
    Timer(DateTime<Utc>),
    Entity,
    Lock(Vec<durafn_core::InstanceId>),
}

fn registry() -> Registry {
    Registry::builder()
        .orchestrator(orchestrator_fn("program", interpret))
        .build()
        .expect("registry builds")
}

fn drive(program: Vec<Step>, seed: u64) {
    let mut rng = Rng(seed);
    let mut t = TestOrchestration::start(registry(), "program", &program);
    let mut pending: BTreeMap<i64, Pending> = BTreeMap::new();
    for _ in 0..400 {
        let turn = t.last_turn().clone();
        if turn.outcome.is_some() {
            break;
        }
        for action in &turn.actions {
            match action {
                Action::ScheduleActivity { id, .. } => pending.insert(id.0, Pending::Activity),
                Action::StartSubOrchestration { id, .. } => pending.insert(id.0, Pending::Sub),
                Action::CreateTimer { id, fire_at } => {
                    pending.insert(id.0, Pending::Timer(*fire_at))
                }
                Action::CallEntity { id, .. } => pending.insert(id.0, Pending::Entity),
                Action::LockEntities { id, lock_set } => {
                    pending.insert(id.0, Pending::Lock(lock_set.clone()))
                }
                Action::SendEvent { .. }
                | Action::SignalEntity { .. }
                | Action::UnlockEntity { .. } => None,
            };
        }
        // Deliver a random subset of the outstanding work, in random order, plus random events.
        let mut messages = Vec::new();
        let ids: Vec<i64> = pending.keys().copied().collect();
        for id in ids {
            if rng.below(3) == 0 {
                continue;
            }
            let now = t.now();
            let message = match pending.remove(&id) {
                Some(Pending::Activity) if rng.below(4) == 0 => {
                    msg::task_failed(id, "random failure", now)
                }
                Some(Pending::Activity) => msg::task_completed(id, rng.below(100), now),
                Some(Pending::Sub) if rng.below(4) == 0 => msg::sub_failed(
                    id,
                    durafn_core::FailureDetails::new("ChildError", "random"),
                    now,
                ),
                Some(Pending::Sub) => msg::sub_completed(id, rng.below(100), now),
                Some(Pending::Entity) if rng.below(5) == 0 => durafn_core::HistoryEvent::new(
                    now,
                    durafn_core::EventKind::EntityOperationFailed {
                        task_scheduled_id: durafn_core::EventId(id),
                        failure: durafn_core::FailureDetails::new("E", "entity said no"),
                    },
                ),
                Some(Pending::Entity) => durafn_core::HistoryEvent::new(
                    now,
                    durafn_core::EventKind::EntityOperationCompleted {
                        task_scheduled_id: durafn_core::EventId(id),
                        result: durafn_core::Payload::encode(&rng.below(10)).expect("json"),
                    },
                ),
                Some(Pending::Lock(lock_set)) => durafn_core::HistoryEvent::new(
                    now,
                    durafn_core::EventKind::EntityLockGranted {
                        task_scheduled_id: durafn_core::EventId(id),
                        lock_set,
                    },
                ),
                Some(Pending::Timer(fire_at)) => {
                    if fire_at > now {
                        t.advance((fire_at - now).to_std().unwrap_or_default());
                    }
                    msg::timer_fired(id, fire_at)
                }
                None => continue,
            };
            let at = rng.below(messages.len() as u64 + 1) as usize;
            messages.insert(at, message);
        }
        for _ in 0..rng.below(3) {
            let name = format!("e{}", rng.below(3));
            messages.push(msg::event_raised(&name, rng.below(10), t.now()));
        }
        t.advance(Duration::from_secs(rng.below(30)));
        t.turn(messages);
    }
    assert_eq!(
        t.status(),
        durafn_core::RuntimeStatus::Completed,
        "the driver delivers everything eventually"
    );
    // Replay the whole history in a fresh executor: it must reach the same end.
    let mut fresh = durafn_core::OrchestrationExecutor::new(t.registry());
    fresh.replay(t.history());
    assert_eq!(fresh.status(), t.status());
    let (_, again) = engine::run_turn(t.registry(), &[], vec![], t.now());
    assert!(again.outcome.is_none(), "an empty history runs nothing");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, .. ProptestConfig::default() })]

    #[test]
    fn full_replay_equals_incremental(program in prop::collection::vec(step(), 1..10), seed in any::<u64>()) {
        drive(program, seed);
    }
}

#[test]
fn a_long_program_replays_identically() {
    let program: Vec<Step> = (0..60)
        .map(|i| match i % 6 {
            0 => Step::Activity(i),
            1 => Step::AnyOf(2, 30),
            2 => Step::Retry(i),
            3 => Step::Guid,
            4 => Step::EventWithTimeout(1, 50),
            _ => Step::AllOf(3),
        })
        .collect();
    for seed in 0..8 {
        drive(program.clone(), seed);
    }
}
