//! Contract clause 1: one atomic commit per turn (group commits included).

use std::sync::Arc;

use durafn_core::{
    EventId, EventKind, ExecutionId, HistoryEvent, ParentInstance, Payload, RuntimeStatus,
};

use crate::{FetchRequest, HistoryChange, LockToken, Store, StoreError};

use super::fixture::Fixture;
use super::support::*;

/// A commit appends history, updates the row, consumes messages and enqueues new work.
pub async fn commit_applies_everything_atomically(hub: &Fixture) {
    let store: Arc<dyn Store> = hub.store().clone();
    store
        .create_instance(new_instance("orch", "i1", t0()))
        .await
        .expect("create");
    store
        .create_instance(new_instance("orch", "i2", t0()))
        .await
        .expect("create");
    let item = store
        .fetch_orchestration_work(FetchRequest {
            max_items: 1,
            ..fetch(at(1), "h")
        })
        .await
        .expect("fetch")
        .remove(0);
    let me = item.instance_id.as_str().to_string();
    let other = if me == "i1" { "i2" } else { "i1" };
    let mut c = commit_of(&item, RuntimeStatus::Running, at(2));
    c.activities = vec![activity(&me, 0), activity(&me, 1)];
    c.messages = vec![raised(other, "hello", 7, at(2))];
    commit_ok(store.as_ref(), c).await;

    let row = store
        .get_instance(&id(&me))
        .await
        .expect("get")
        .expect("row");
    assert_eq!(row.status, RuntimeStatus::Running);
    assert_eq!(
        row.custom_status,
        Some(Payload::encode(&"busy").expect("json"))
    );
    assert_eq!(row.last_updated_at, at(2));
    assert_eq!(row.history_len, 3);
    let history = store.get_history(&id(&me)).await.expect("history");
    assert_eq!(history.len(), 3);
    assert!(matches!(
        history[1].kind,
        EventKind::ExecutionStarted { .. }
    ));

    let acts = store
        .fetch_activity_work(fetch(at(3), "h"))
        .await
        .expect("activities");
    assert_eq!(acts.len(), 2);
    assert_eq!(acts[0].activity, activity(&me, 0));
    assert_eq!(acts[0].delivery, 1);

    // The consumed message is gone; the other instance got its start and the event, in order.
    let items = store
        .fetch_orchestration_work(fetch(at(3), "h"))
        .await
        .expect("fetch");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].instance_id, id(other));
    let kinds: Vec<&str> = items[0]
        .messages
        .iter()
        .map(|m| m.event.kind.type_name())
        .collect();
    assert_eq!(kinds, ["ExecutionStarted", "EventRaised"]);
}

/// Replacing history (continue-as-new, rewind) starts it over and resets its length.
pub async fn replace_history_resets_it(hub: &Fixture) {
    let store: Arc<dyn Store> = hub.store().clone();
    store
        .create_instance(new_instance("orch", "i1", t0()))
        .await
        .expect("create");
    let item = fetch_one(store.as_ref(), at(1)).await;
    commit_ok(
        store.as_ref(),
        commit_of(&item, RuntimeStatus::Running, at(1)),
    )
    .await;
    store
        .send_messages(vec![raised("i1", "x", 1, at(2))])
        .await
        .expect("send");
    let item = fetch_one(store.as_ref(), at(2)).await;
    let mut c = commit_of(&item, RuntimeStatus::ContinuedAsNew, at(2));
    c.history = HistoryChange::Replace(vec![HistoryEvent::new(
        at(2),
        EventKind::OrchestratorStarted,
    )]);
    commit_ok(store.as_ref(), c).await;
    assert_eq!(
        store.get_history(&id("i1")).await.expect("history").len(),
        1
    );
    assert_eq!(
        store
            .get_instance(&id("i1"))
            .await
            .expect("get")
            .expect("row")
            .history_len,
        1
    );
}

/// Sub-orchestrations are created by the commit; an active child with the same id is left alone
/// and the parent is told.
pub async fn sub_orchestrations(hub: &Fixture) {
    let store: Arc<dyn Store> = hub.store().clone();
    store
        .create_instance(new_instance("parent", "p", t0()))
        .await
        .expect("create");
    store
        .create_instance(new_instance("child", "busy-child", t0()))
        .await
        .expect("create");
    let items = store
        .fetch_orchestration_work(fetch(at(1), "h"))
        .await
        .expect("fetch");
    let parent_item = item_of(&items, "p");
    let busy_item = item_of(&items, "busy-child");
    let parent = |task: i64| ParentInstance {
        name: "parent".into(),
        instance_id: id("p"),
        execution_id: ExecutionId::new("p-e1"),
        task_scheduled_id: EventId(task),
    };
    let mut c = commit_of(&parent_item, RuntimeStatus::Running, at(2));
    let mut fresh = new_instance("child", "new-child", at(2));
    fresh.parent = Some(parent(0));
    let mut dup = new_instance("child", "busy-child", at(2));
    dup.parent = Some(parent(1));
    c.sub_orchestrations = vec![fresh, dup];
    commit_ok(store.as_ref(), c).await;
    commit_ok(
        store.as_ref(),
        commit_of(&busy_item, RuntimeStatus::Running, at(2)),
    )
    .await;

    let child = store
        .get_instance(&id("new-child"))
        .await
        .expect("get")
        .expect("created");
    assert_eq!(child.parent, Some(parent(0)));
    assert_eq!(child.status, RuntimeStatus::Pending);
    let items = store
        .fetch_orchestration_work(fetch(at(3), "h"))
        .await
        .expect("fetch");
    let to_parent = item_of(&items, "p");
    match &to_parent.messages[0].event.kind {
        EventKind::SubOrchestrationInstanceFailed {
            task_scheduled_id,
            failure,
        } => {
            assert_eq!(*task_scheduled_id, EventId(1));
            assert_eq!(
                to_parent.messages[0].execution_id,
                Some(ExecutionId::new("p-e1"))
            );
            assert!(
                failure.message.contains("busy-child"),
                "{}",
                failure.message
            );
        }
        other => panic!("expected a failure for the parent, got {other:?}"),
    }
}

/// In a group commit, a turn with a lost lease fails alone.
pub async fn group_commit_results_are_independent(hub: &Fixture) {
    let store: Arc<dyn Store> = hub.store().clone();
    store
        .create_instance(new_instance("o", "a", t0()))
        .await
        .expect("create");
    store
        .create_instance(new_instance("o", "b", t0()))
        .await
        .expect("create");
    let items = store
        .fetch_orchestration_work(fetch(at(1), "h"))
        .await
        .expect("fetch");
    assert_eq!(items.len(), 2);
    let good = commit_of(&items[0], RuntimeStatus::Running, at(2));
    let mut bad = commit_of(&items[1], RuntimeStatus::Running, at(2));
    bad.lock = LockToken("stale".into());
    let results = store.commit_turns(vec![bad, good]).await.expect("call");
    assert!(matches!(results[0], Err(StoreError::LockLost(_))));
    assert!(results[1].is_ok());
    let good_row = store
        .get_instance(&items[0].instance_id)
        .await
        .expect("get")
        .expect("row");
    let bad_row = store
        .get_instance(&items[1].instance_id)
        .await
        .expect("get")
        .expect("row");
    assert_eq!(
        (good_row.status, bad_row.status),
        (RuntimeStatus::Running, RuntimeStatus::Pending)
    );
}
