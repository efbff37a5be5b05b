//! Builders shared by the integration tests.

#![allow(dead_code, unreachable_pub)]

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use durafn_core::{
    EventId, EventKind, ExecutionId, HistoryEvent, InstanceId, Payload, RuntimeStatus,
};
use durafn_store::{
    FetchRequest, HistoryChange, InstanceUpdate, NewActivity, NewInstance, NewMessage,
    OrchestrationWorkItem, TurnCommit,
};

pub fn at(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
        .single()
        .expect("valid")
        + TimeDelta::seconds(secs)
}

pub fn id(s: &str) -> InstanceId {
    InstanceId::from_trusted(s)
}

pub fn new_instance(instance: &str, created: DateTime<Utc>) -> NewInstance {
    NewInstance {
        instance_id: id(instance),
        name: "orch".into(),
        execution_id: ExecutionId::new(format!("{instance}-e1")),
        input: Payload::from_json_text(format!(r#"{{"in": "{instance}"}}"#)).expect("json"),
        parent: None,
        created_at: created,
        version: None,
        trace_context: None,
    }
}

pub fn fetch(now: DateTime<Utc>, max_items: usize) -> FetchRequest {
    FetchRequest {
        owner: "test-host".into(),
        max_items,
        lease: TimeDelta::seconds(30),
        now,
    }
}

pub fn activity(instance: &str, task: i64) -> NewActivity {
    NewActivity {
        instance_id: id(instance),
        execution_id: ExecutionId::new(format!("{instance}-e1")),
        task_id: EventId(task),
        name: "Work".into(),
        input: Payload::encode(&task).expect("json"),
        trace_context: None,
    }
}

pub fn raised(instance: &str, name: &str, now: DateTime<Utc>) -> NewMessage {
    NewMessage {
        instance_id: id(instance),
        execution_id: None,
        event: HistoryEvent::new(
            now,
            EventKind::EventRaised {
                name: name.into(),
                input: Payload::encode(&name).expect("json"),
            },
        ),
        visible_at: None,
    }
}

/// A turn that consumes every fetched message, records them between `OrchestratorStarted` and
/// `OrchestratorCompleted`, and sets the status.
pub fn turn(item: &OrchestrationWorkItem, status: RuntimeStatus, now: DateTime<Utc>) -> TurnCommit {
    let row = item.instance.as_ref().expect("instance exists");
    TurnCommit {
        instance_id: item.instance_id.clone(),
        lock: item.lock.clone(),
        consumed: item.messages.iter().map(|m| m.id).collect(),
        history: HistoryChange::Append(
            std::iter::once(HistoryEvent::new(now, EventKind::OrchestratorStarted))
                .chain(item.messages.iter().map(|m| m.event.clone()))
                .chain(std::iter::once(HistoryEvent::new(
                    now,
                    EventKind::OrchestratorCompleted,
                )))
                .collect(),
        ),
        update: Some(InstanceUpdate {
            status,
            name: row.name.clone(),
            execution_id: row.execution_id.clone(),
            input: row.input.clone(),
            output: None,
            failure: None,
            custom_status: None,
            last_updated_at: now,
        }),
        activities: Vec::new(),
        messages: Vec::new(),
        sub_orchestrations: Vec::new(),
        claim: None,
        claim_turns: None,
    }
}

/// Fetches one instance at `now` and commits a turn of it that leaves it Running ([`turn`]).
pub async fn run_one_turn(store: &durafn_sqlite::SqliteStore, now: DateTime<Utc>) {
    use durafn_store::OrchestrationQueue;
    let item = store
        .fetch_orchestration_work(fetch(now, 1))
        .await
        .expect("fetch")
        .remove(0);
    store
        .commit_turns(vec![turn(&item, RuntimeStatus::Running, now)])
        .await
        .expect("commit")
        .remove(0)
        .expect("turn");
}

/// Creates the instances at time 0 and fetches them all at time 1, ordered by id.
pub async fn started(
    store: &durafn_sqlite::SqliteStore,
    names: &[&str],
) -> Vec<OrchestrationWorkItem> {
    use durafn_store::{InstanceStore, OrchestrationQueue};
    for name in names {
        store
            .create_instance(new_instance(name, at(0)))
            .await
            .expect("create");
    }
    let mut items = store
        .fetch_orchestration_work(fetch(at(1), names.len()))
        .await
        .expect("fetch");
    items.sort_by(|x, y| x.instance_id.as_str().cmp(y.instance_id.as_str()));
    items
}
