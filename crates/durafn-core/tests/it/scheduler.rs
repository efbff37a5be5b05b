//! The entity scheduler as data: a table of (scheduler, state, requests) in and (state, lock
//! owner, waiting requests, messages out) expected, one row per rule.

use std::sync::Arc;

use durafn_core::entity::{EntityReplyTo, EntityRequest, EntityRequestKind};
use durafn_core::scheduler::{EntityOutput, Scheduler, schedule};
use durafn_core::{
    Entity, EntityContext, EntityId, EventId, EventKind, ExecutionId, FunctionError, InstanceId,
    Payload, SystemFailure, entity_fn,
};
use serde_json::json;

/// `add n` adds and returns the new value, `get` returns it, `fail` changes the state and then
/// fails (so the change must be rolled back), `poke` signals `@counter@b`, `spawn` starts an
/// orchestration.
fn counter() -> Arc<dyn Entity> {
    Arc::new(entity_fn("counter", |ctx: &mut EntityContext| {
        let value: i64 = ctx.get_state()?.unwrap_or(0);
        match ctx.operation() {
            "add" => {
                let next = value + ctx.input::<i64>()?;
                ctx.set_state(&next)?;
                Ok(next)
            }
            "get" => Ok(value),
            "fail" => {
                ctx.set_state(&(value + 1000))?;
                Err(FunctionError::msg("refused"))
            }
            "poke" => {
                ctx.signal_entity(&EntityId::new("counter", "b"), "add", &1);
                Ok(value)
            }
            "spawn" => {
                ctx.start_new_orchestration("job", None, &value);
                Ok(value)
            }
            _ => Err(durafn_core::entity::unknown_operation(ctx)),
        }
    }))
}

fn orch(name: &str) -> InstanceId {
    InstanceId::from_trusted(name)
}

fn entity(key: &str) -> InstanceId {
    EntityId::new("counter", key).instance_id()
}

fn reply_to(from: &str, task: i64) -> EntityReplyTo {
    EntityReplyTo {
        instance_id: orch(from),
        execution_id: ExecutionId::new(format!("{from}-e")),
        task_scheduled_id: EventId(task),
    }
}

fn call(from: &str, task: i64, op: &str, input: i64) -> EntityRequest {
    EntityRequest {
        kind: EntityRequestKind::Call,
        operation: Some(op.into()),
        input: Payload::encode(&input).unwrap(),
        sender: Some(orch(from)),
        reply_to: Some(reply_to(from, task)),
        lock_set: Vec::new(),
        position: 0,
    }
}

fn signal(from: &str, op: &str, input: i64) -> EntityRequest {
    EntityRequest::signal(op, Payload::encode(&input).unwrap(), Some(orch(from)))
}

fn lock(from: &str, task: i64, set: &[&str], position: usize) -> EntityRequest {
    EntityRequest {
        kind: EntityRequestKind::Lock,
        operation: None,
        input: Payload::null(),
        sender: Some(orch(from)),
        reply_to: Some(reply_to(from, task)),
        lock_set: set.iter().map(|k| entity(k)).collect(),
        position,
    }
}

fn unlock(from: &str) -> EntityRequest {
    EntityRequest {
        kind: EntityRequestKind::Unlock,
        operation: None,
        input: Payload::null(),
        sender: Some(orch(from)),
        reply_to: None,
        lock_set: Vec::new(),
        position: 0,
    }
}

/// An output in a few words, so expectations read as a table.
fn describe(output: &EntityOutput) -> String {
    match output {
        EntityOutput::Reply { to, event } => {
            let what = match event {
                EventKind::EntityOperationCompleted { result, .. } => format!("= {result}"),
                EventKind::EntityOperationFailed { failure, .. } => {
                    format!("failed {}", failure.error_type)
                }
                EventKind::EntityLockGranted { lock_set, .. } => {
                    let set: Vec<&str> = lock_set.iter().map(InstanceId::as_str).collect();
                    format!("granted {}", set.join(","))
                }
                other => format!("{other:?}"),
            };
            format!("{}#{} {what}", to.instance_id, to.task_scheduled_id)
        }
        EntityOutput::Request {
            target, request, ..
        } => match request.kind {
            EntityRequestKind::Lock => format!("lock {target} at {}", request.position),
            _ => format!(
                "signal {target} {} {}",
                request.operation.as_deref().unwrap_or(""),
                request.input
            ),
        },
        EntityOutput::StartOrchestration { name, input, .. } => format!("start {name} {input}"),
    }
}

/// Who sent each waiting request, and what it asks.
fn describe_queue(scheduler: &Scheduler) -> Vec<String> {
    scheduler
        .queue
        .iter()
        .map(|r| {
            let from = r.sender.as_ref().map(InstanceId::as_str).unwrap_or("?");
            format!("{from} {:?}", r.kind)
        })
        .collect()
}

struct Case {
    rule: &'static str,
    owner_before: Option<&'static str>,
    queue_before: Vec<EntityRequest>,
    state_before: Option<i64>,
    requests: Vec<EntityRequest>,
    state: Option<i64>,
    owner: Option<&'static str>,
    queue: &'static [&'static str],
    outputs: &'static [&'static str],
}

fn case(rule: &'static str) -> Case {
    Case {
        rule,
        owner_before: None,
        queue_before: Vec::new(),
        state_before: None,
        requests: Vec::new(),
        state: None,
        owner: None,
        queue: &[],
        outputs: &[],
    }
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            requests: vec![
                call("o1", 1, "add", 2),
                call("o1", 2, "add", 3),
                call("o2", 5, "get", 0),
            ],
            state: Some(5),
            outputs: &["o1#1 = 2", "o1#2 = 5", "o2#5 = 5"],
            ..case("calls run one at a time, in arrival order, each answered")
        },
        Case {
            state_before: Some(1),
            requests: vec![call("o1", 1, "fail", 0), call("o1", 2, "get", 0)],
            state: Some(1),
            outputs: &["o1#1 failed Error", "o1#2 = 1"],
            ..case("a failed operation leaves the state as it was")
        },
        Case {
            requests: vec![signal("o1", "add", 4), signal("o1", "nope", 0)],
            state: Some(4),
            outputs: &[],
            ..case("signals answer nobody")
        },
        Case {
            requests: vec![call("o1", 1, "poke", 0), call("o1", 2, "spawn", 0)],
            state: None,
            outputs: &[
                "signal @counter@b add 1",
                "o1#1 = 0",
                "start job 0",
                "o1#2 = 0",
            ],
            ..case("what an operation sends goes out just before its answer")
        },
        Case {
            requests: vec![lock("o1", 3, &["a", "b"], 0)],
            owner: Some("o1"),
            outputs: &["lock @counter@b at 1"],
            ..case("a lock request locks the entity and travels on through the lock set")
        },
        Case {
            requests: vec![lock("o1", 3, &["a", "b"], 1)],
            owner: Some("o1"),
            outputs: &["o1#3 granted @counter@a,@counter@b"],
            ..case("the last entity of the lock set grants the lock")
        },
        Case {
            owner_before: Some("o1"),
            requests: vec![
                call("o2", 1, "add", 1),
                call("o1", 4, "add", 10),
                lock("o3", 1, &["a"], 0),
            ],
            state: Some(10),
            owner: Some("o1"),
            queue: &["o2 Call", "o3 Lock"],
            outputs: &["o1#4 = 10"],
            ..case("while locked, only the holder's requests run; the others wait in order")
        },
        Case {
            owner_before: Some("o1"),
            queue_before: vec![call("o2", 1, "add", 1)],
            state_before: Some(10),
            requests: vec![unlock("o1"), call("o3", 1, "add", 100)],
            state: Some(111),
            outputs: &["o2#1 = 11", "o3#1 = 111"],
            ..case("an unlock lets the waiting requests run first, before newer ones")
        },
        Case {
            owner_before: Some("o1"),
            queue_before: vec![lock("o2", 7, &["a"], 0)],
            requests: vec![unlock("o1")],
            owner: Some("o2"),
            outputs: &["o2#7 granted @counter@a"],
            ..case("a waiting lock request takes the lock once it is released")
        },
        Case {
            owner_before: Some("o1"),
            requests: vec![unlock("o2"), call("o2", 1, "get", 0)],
            owner: Some("o1"),
            queue: &["o2 Unlock", "o2 Call"],
            outputs: &[],
            ..case("while locked, someone else's unlock waits like any other request")
        },
        Case {
            requests: vec![lock("o1", 2, &[], 0).without_reply()],
            outputs: &[],
            ..case("a lock request that names nobody to answer is dropped")
        },
    ]
}

trait WithoutReply {
    fn without_reply(self) -> Self;
}

impl WithoutReply for EntityRequest {
    fn without_reply(mut self) -> Self {
        self.reply_to = None;
        self
    }
}

#[test]
fn the_scheduling_rules_as_a_table() {
    let id = EntityId::new("counter", "a");
    let entity = counter();
    for c in cases() {
        let before = Scheduler {
            lock_owner: c.owner_before.map(orch),
            queue: c.queue_before,
        };
        let state = c.state_before.map(|v| Payload::encode(&v).unwrap());
        let batch = schedule(&id, Some(&entity), before, state, c.requests);
        let outputs: Vec<String> = batch.outputs.iter().map(describe).collect();
        assert_eq!(outputs, c.outputs, "{}: outputs", c.rule);
        assert_eq!(
            batch.state.map(|p| p.decode::<i64>().unwrap()),
            c.state,
            "{}: state",
            c.rule
        );
        assert_eq!(
            batch.scheduler.lock_owner.as_ref().map(InstanceId::as_str),
            c.owner,
            "{}: lock owner",
            c.rule
        );
        assert_eq!(
            describe_queue(&batch.scheduler),
            c.queue,
            "{}: queue",
            c.rule
        );
    }
}

#[test]
fn failed_signals_are_reported_and_unknown_entities_fail_calls() {
    let id = EntityId::new("ghost", "k");
    let batch = schedule(
        &id,
        None,
        Scheduler::default(),
        None,
        vec![call("o1", 1, "add", 1), signal("o1", "add", 1)],
    );
    match &batch.outputs[..] {
        [
            EntityOutput::Reply {
                event: EventKind::EntityOperationFailed { failure, .. },
                ..
            },
        ] => assert!(failure.is(SystemFailure::EntityNotFound), "{failure:?}"),
        other => panic!("expected one failed reply, got {other:?}"),
    }
    assert_eq!(batch.failed_signals.len(), 1);
    assert!(batch.failed_signals[0].1.is(SystemFailure::EntityNotFound));
    assert!(
        !batch.is_busy(),
        "an entity with no state, lock or queue can be cleaned up"
    );

    let counter = counter();
    let batch = schedule(
        &EntityId::new("counter", "a"),
        Some(&counter),
        Scheduler::default(),
        None,
        vec![signal("o1", "nope", 0)],
    );
    assert!(
        batch.failed_signals[0]
            .1
            .is(SystemFailure::UnknownOperation)
    );
}

#[test]
fn the_stored_scheduler_keeps_its_json_shape() {
    assert_eq!(
        Payload::encode(&Scheduler::default()).unwrap().to_value(),
        json!({})
    );
    let locked = Scheduler {
        lock_owner: Some(orch("o1")),
        queue: vec![signal("o2", "add", 1)],
    };
    let stored = Payload::encode(&locked).unwrap();
    assert_eq!(
        stored.to_value(),
        json!({"lockOwner": "o1", "queue": [{"Kind": "Signal", "Operation": "add", "Input": 1, "Sender": "o2", "Position": 0}]})
    );
    assert_eq!(Scheduler::from_row(Some(&stored)), locked);
    assert_eq!(Scheduler::from_row(None), Scheduler::default());
}
