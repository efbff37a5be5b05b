//! What the checks share: a fixed clock, builders of instances, fetches and commits.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use durafn_core::{
    EventId, EventKind, ExecutionId, HistoryEvent, InstanceId, Payload, RuntimeStatus,
};

use crate::{
    FetchRequest, HistoryChange, InstanceUpdate, NewActivity, NewInstance, NewMessage,
    OrchestrationWorkItem, Store, TurnCommit,
};

pub(crate) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
        .single()
        .expect("valid")
}

pub(crate) fn at(secs: i64) -> DateTime<Utc> {
    t0() + TimeDelta::seconds(secs)
}

pub(crate) fn id(s: &str) -> InstanceId {
    InstanceId::from_trusted(s)
}

pub(crate) fn new_instance(name: &str, instance: &str, created: DateTime<Utc>) -> NewInstance {
    NewInstance {
        instance_id: id(instance),
        name: name.to_string(),
        execution_id: ExecutionId::new(format!("{instance}-e1")),
        input: Payload::encode(&serde_json::json!({"in": instance})).expect("json"),
        parent: None,
        created_at: created,
        version: None,
        trace_context: None,
    }
}

pub(crate) fn fetch(now: DateTime<Utc>, owner: &str) -> FetchRequest {
    FetchRequest {
        owner: owner.to_string(),
        max_items: 100,
        lease: TimeDelta::seconds(30),
        now,
    }
}

/// Creates instances of orchestrator `orch` with these ids at `t0()` and fetches them all for
/// `host-a` at `at(1)`, sorted by id.
pub(crate) async fn started(store: &dyn Store, ids: &[&str]) -> Vec<OrchestrationWorkItem> {
    for i in ids {
        store
            .create_instance(new_instance("orch", i, t0()))
            .await
            .expect("create");
    }
    let mut items = store
        .fetch_orchestration_work(fetch(at(1), "host-a"))
        .await
        .expect("fetch");
    items.sort_by(|a, b| a.instance_id.cmp(&b.instance_id));
    items
}

/// The work item of instance `name` among `items` (it must be there).
pub(crate) fn item_of(items: &[OrchestrationWorkItem], name: &str) -> OrchestrationWorkItem {
    items
        .iter()
        .find(|i| i.instance_id == id(name))
        .unwrap_or_else(|| panic!("no work item for {name}: {items:?}"))
        .clone()
}

pub(crate) async fn fetch_one(store: &dyn Store, now: DateTime<Utc>) -> OrchestrationWorkItem {
    let mut items = store
        .fetch_orchestration_work(fetch(now, "host-a"))
        .await
        .expect("fetch");
    assert_eq!(items.len(), 1, "expected one work item, got {items:?}");
    items.remove(0)
}

pub(crate) fn update(
    status: RuntimeStatus,
    item: &OrchestrationWorkItem,
    now: DateTime<Utc>,
) -> InstanceUpdate {
    let row = item.instance.as_ref().expect("instance exists");
    InstanceUpdate {
        status,
        name: row.name.clone(),
        execution_id: row.execution_id.clone(),
        input: row.input.clone(),
        output: (status == RuntimeStatus::Completed)
            .then(|| Payload::encode(&"done").expect("json")),
        failure: None,
        custom_status: Some(Payload::encode(&"busy").expect("json")),
        last_updated_at: now,
    }
}

pub(crate) fn commit_of(
    item: &OrchestrationWorkItem,
    status: RuntimeStatus,
    now: DateTime<Utc>,
) -> TurnCommit {
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
        update: Some(update(status, item, now)),
        activities: Vec::new(),
        messages: Vec::new(),
        sub_orchestrations: Vec::new(),
        claim: None,
        claim_turns: None,
    }
}

pub(crate) async fn commit_ok(store: &dyn Store, c: TurnCommit) {
    let results = store.commit_turns(vec![c]).await.expect("commit call");
    assert_eq!(results.len(), 1);
    results
        .into_iter()
        .next()
        .expect("one")
        .expect("commit succeeds");
}

pub(crate) fn raised(instance: &str, name: &str, value: i64, now: DateTime<Utc>) -> NewMessage {
    NewMessage {
        instance_id: id(instance),
        execution_id: None,
        event: HistoryEvent::new(
            now,
            EventKind::EventRaised {
                name: name.to_string(),
                input: Payload::encode(&value).expect("json"),
            },
        ),
        visible_at: None,
    }
}

pub(crate) fn activity(instance: &str, task: i64) -> NewActivity {
    NewActivity {
        instance_id: id(instance),
        execution_id: ExecutionId::new(format!("{instance}-e1")),
        task_id: EventId(task),
        name: "Work".into(),
        input: Payload::encode(&task).expect("json"),
        trace_context: None,
    }
}
