//! Entity calls from orchestrations, as data: actions out, results in, rules enforced; and the
//! entity operation runner's rollback rule.

use std::sync::Arc;

use durafn_core::entity::{EntityReplyTo, run_operation};
use durafn_core::testkit::TestOrchestration;
use durafn_core::{
    Action, EntityContext, EntityId, EventId, EventKind, ExecutionId, FunctionError, HistoryEvent,
    InstanceId, OrchestrationContext, Outcome, Payload, Registry, entity_fn, orchestrator_fn,
};
use serde_json::json;

fn t() -> chrono::DateTime<chrono::Utc> {
    durafn_core::testkit::epoch()
}

#[test]
fn entity_events_round_trip_as_json() {
    let a = EntityId::new("Counter", "k").instance_id();
    let request = durafn_core::EntityRequest {
        kind: durafn_core::EntityRequestKind::Lock,
        operation: None,
        input: Payload::null(),
        sender: Some(InstanceId::from_trusted("o")),
        reply_to: Some(EntityReplyTo {
            instance_id: InstanceId::from_trusted("o"),
            execution_id: ExecutionId::new("e"),
            task_scheduled_id: EventId(3),
        }),
        lock_set: vec![a.clone()],
        position: 0,
    };
    for kind in [
        EventKind::EntityOperationCalled {
            instance_id: a.clone(),
            operation: "add".into(),
            input: Payload::null(),
        },
        EventKind::EntityOperationSignaled {
            instance_id: a.clone(),
            operation: "add".into(),
            input: Payload::encode(&1).unwrap(),
            scheduled_time: Some(t()),
        },
        EventKind::EntityOperationCompleted {
            task_scheduled_id: EventId(1),
            result: Payload::null(),
        },
        EventKind::EntityOperationFailed {
            task_scheduled_id: EventId(1),
            failure: durafn_core::FailureDetails::new("E", "m"),
        },
        EventKind::EntityLockRequested {
            lock_set: vec![a.clone()],
        },
        EventKind::EntityLockGranted {
            task_scheduled_id: EventId(2),
            lock_set: vec![a.clone()],
        },
        EventKind::EntityUnlockSent {
            instance_id: a.clone(),
        },
        EventKind::EntityRequest { request },
    ] {
        let e = HistoryEvent::new(t(), kind);
        let json = serde_json::to_string(&e).unwrap();
        let back: HistoryEvent = serde_json::from_str(&json).unwrap();
        assert_eq!(back, e, "{json}");
    }
    assert_eq!(a.as_str(), "@counter@k");
    assert_eq!(
        EntityId::from_instance_id(&a),
        Some(EntityId::new("counter", "k"))
    );
}

#[test]
fn critical_sections_lock_in_order_and_release_on_exit() {
    let reg = Registry::builder()
        .orchestrator(orchestrator_fn(
            "o",
            |ctx: OrchestrationContext, _: ()| async move {
                let b = EntityId::new("account", "b");
                let a = EntityId::new("account", "a");
                let section = ctx.lock_entities(&[b.clone(), a.clone()]).await?;
                let v: i64 = ctx.call_entity(&a, "get", &()).await?;
                drop(section);
                Ok::<_, FunctionError>(v)
            },
        ))
        .build()
        .unwrap();
    let mut t = TestOrchestration::start(reg, "o", ());
    let (lock_id, lock_set) = match &t.last_turn().actions[..] {
        [Action::LockEntities { id, lock_set }] => (id.0, lock_set.clone()),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        lock_set.iter().map(|i| i.as_str()).collect::<Vec<_>>(),
        ["@account@a", "@account@b"],
        "sorted: no deadlocks"
    );
    let granted = HistoryEvent::new(
        t.now(),
        EventKind::EntityLockGranted {
            task_scheduled_id: EventId(lock_id),
            lock_set,
        },
    );
    let turn = t.turn(vec![granted]);
    assert!(
        matches!(&turn.actions[..], [Action::CallEntity { operation, .. }] if operation == "get")
    );
    let reply = HistoryEvent::new(
        t.now(),
        EventKind::EntityOperationCompleted {
            task_scheduled_id: EventId(1),
            result: Payload::encode(&7).unwrap(),
        },
    );
    let turn = t.turn(vec![reply]);
    let unlocks: Vec<&str> = turn
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::UnlockEntity { entity, .. } => Some(entity.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(unlocks, ["@account@a", "@account@b"]);
    assert_eq!(
        turn.outcome,
        Some(Outcome::Completed(Payload::encode(&7).unwrap()))
    );
}

#[test]
fn a_grant_nobody_waits_for_is_released() {
    let reg = Registry::builder()
        .orchestrator(orchestrator_fn(
            "o",
            |ctx: OrchestrationContext, _: ()| async move {
                let lock = ctx.lock_entities(&[EntityId::new("x", "1")]);
                drop(lock);
                ctx.wait_for_external_event::<()>("go").await?;
                Ok::<_, FunctionError>(())
            },
        ))
        .build()
        .unwrap();
    let mut t = TestOrchestration::start(reg, "o", ());
    let set = vec![EntityId::new("x", "1").instance_id()];
    let turn = t.turn(vec![HistoryEvent::new(
        t.now(),
        EventKind::EntityLockGranted {
            task_scheduled_id: EventId(0),
            lock_set: set,
        },
    )]);
    assert!(
        matches!(&turn.actions[..], [Action::UnlockEntity { entity, .. }] if entity.as_str() == "@x@1")
    );
}

#[test]
fn failed_operations_leave_the_state_and_send_nothing() {
    let entity: Arc<dyn durafn_core::Entity> =
        Arc::new(entity_fn("e", |ctx: &mut EntityContext| {
            ctx.set_state(&99)?;
            ctx.signal_entity(&EntityId::new("other", "k"), "op", &());
            if ctx.operation() == "fail" {
                return Err(FunctionError::msg("no"));
            }
            Ok(json!("ok"))
        }));
    let before = Some(Payload::encode(&1).unwrap());
    let (state, effects, result) = run_operation(
        &entity,
        EntityId::new("e", "k"),
        "fail",
        Payload::null(),
        before.clone(),
    );
    assert_eq!(
        (state, effects.len(), result.is_err()),
        (before.clone(), 0, true)
    );
    let (state, effects, result) = run_operation(
        &entity,
        EntityId::new("e", "k"),
        "ok",
        Payload::null(),
        before,
    );
    assert_eq!(
        (state, effects.len()),
        (Some(Payload::encode(&99).unwrap()), 1)
    );
    assert_eq!(result.unwrap().to_value(), json!("ok"));
}
