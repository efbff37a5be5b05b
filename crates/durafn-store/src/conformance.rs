//! The conformance suite: the storage contract as executable checks.
//!
//! A backend's tests call [`conformance_tests!`](crate::conformance_tests) with an expression that
//! builds a fresh, empty store; every check then runs as its own test. Time is passed in, so lease
//! expiry and timers are tested without waiting.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use durafn_core::{
    EventId, EventKind, ExecutionId, FailureDetails, HistoryEvent, InstanceId, ParentInstance,
    Payload, RuntimeStatus, TraceContext,
};

use crate::{
    ActivityCompletion, FetchRequest, HistoryChange, InstanceFilter, InstanceUpdate, LockToken,
    NewActivity, NewInstance, NewMessage, OrchestrationWorkItem, Store, StoreError, TurnCommit,
};

/// Generates one `#[tokio::test]` per conformance check for a backend.
///
/// ```ignore
/// durafn_store::conformance_tests!(async { std::sync::Arc::new(MyStore::open_temp().await) });
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(@each $make;
            create_and_fetch, create_refuses_active_and_replaces_terminal,
            instance_lease_is_exclusive_until_it_expires, commit_applies_everything_atomically,
            stale_lock_commit_changes_nothing, messages_during_lease_wait_for_next_fetch,
            timers_are_invisible_until_due, activity_lease_and_completion,
            abandon_releases_work, replace_history_resets_it, sub_orchestrations,
            list_filters_and_pages, purge_one_and_many, history_round_trips_verbatim,
            fetch_batches_instances, messages_to_unknown_instances, group_commit_results_are_independent,
            count_by_status, version_and_trace_context_are_kept);
    };
    (@each $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let store = $make.await;
                $crate::conformance::$name(store).await;
            }
        )*
    };
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
        .single()
        .expect("valid")
}

fn at(secs: i64) -> DateTime<Utc> {
    t0() + TimeDelta::seconds(secs)
}

fn id(s: &str) -> InstanceId {
    InstanceId::from_trusted(s)
}

fn new_instance(name: &str, instance: &str, created: DateTime<Utc>) -> NewInstance {
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

fn fetch(now: DateTime<Utc>, owner: &str) -> FetchRequest {
    FetchRequest {
        owner: owner.to_string(),
        max_items: 100,
        lease: TimeDelta::seconds(30),
        now,
    }
}

async fn fetch_one(store: &dyn Store, now: DateTime<Utc>) -> OrchestrationWorkItem {
    let mut items = store
        .fetch_orchestration_work(fetch(now, "host-a"))
        .await
        .expect("fetch");
    assert_eq!(items.len(), 1, "expected one work item, got {items:?}");
    items.remove(0)
}

fn update(
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

fn commit_of(
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
    }
}

async fn commit_ok(store: &dyn Store, c: TurnCommit) {
    let results = store.commit_turns(vec![c]).await.expect("commit call");
    assert_eq!(results.len(), 1);
    results
        .into_iter()
        .next()
        .expect("one")
        .expect("commit succeeds");
}

fn raised(instance: &str, name: &str, value: i64, now: DateTime<Utc>) -> NewMessage {
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

fn activity(instance: &str, task: i64) -> NewActivity {
    NewActivity {
        instance_id: id(instance),
        execution_id: ExecutionId::new(format!("{instance}-e1")),
        task_id: EventId(task),
        name: "Work".into(),
        input: Payload::encode(&task).expect("json"),
    }
}

/// A new instance is Pending, has no history, and its `ExecutionStarted` message is fetchable.
pub async fn create_and_fetch(store: Arc<dyn Store>) {
    store
        .create_instance(new_instance("orch", "i1", t0()))
        .await
        .expect("create");
    let row = store
        .get_instance(&id("i1"))
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(row.status, RuntimeStatus::Pending);
    assert_eq!(row.name, "orch");
    assert_eq!(row.created_at, t0());
    assert_eq!(row.history_len, 0);
    assert_eq!(row.input.to_value(), serde_json::json!({"in": "i1"}));
    assert!(
        store
            .get_history(&id("i1"))
            .await
            .expect("history")
            .is_empty()
    );
    assert!(
        store
            .get_instance(&id("nope"))
            .await
            .expect("get")
            .is_none()
    );
    let item = fetch_one(store.as_ref(), at(1)).await;
    assert_eq!(item.instance_id, id("i1"));
    assert_eq!(item.messages.len(), 1);
    assert_eq!(item.messages[0].delivery, 1);
    assert!(matches!(
        item.messages[0].event.kind,
        EventKind::ExecutionStarted { .. }
    ));
}

/// An active instance id cannot be started again; a terminal one is replaced with a clean slate.
pub async fn create_refuses_active_and_replaces_terminal(store: Arc<dyn Store>) {
    store
        .create_instance(new_instance("orch", "i1", t0()))
        .await
        .expect("create");
    let again = store
        .create_instance(new_instance("orch", "i1", at(1)))
        .await;
    assert!(
        matches!(
            again,
            Err(StoreError::InstanceExists {
                status: RuntimeStatus::Pending,
                ..
            })
        ),
        "{again:?}"
    );
    let item = fetch_one(store.as_ref(), at(1)).await;
    commit_ok(
        store.as_ref(),
        commit_of(&item, RuntimeStatus::Completed, at(2)),
    )
    .await;
    store
        .send_messages(vec![raised("i1", "late", 1, at(3))])
        .await
        .expect("send");
    store
        .create_instance(new_instance("orch2", "i1", at(4)))
        .await
        .expect("replace terminal");
    let row = store
        .get_instance(&id("i1"))
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(
        (
            row.status,
            row.name.as_str(),
            row.created_at,
            row.history_len
        ),
        (RuntimeStatus::Pending, "orch2", at(4), 0)
    );
    assert!(
        store
            .get_history(&id("i1"))
            .await
            .expect("history")
            .is_empty()
    );
    let item = fetch_one(store.as_ref(), at(5)).await;
    assert_eq!(
        item.messages.len(),
        1,
        "old messages were deleted: {:?}",
        item.messages
    );
}

/// A leased instance is not handed to anyone else until its lease expires; then it is, with
/// the delivery count raised.
pub async fn instance_lease_is_exclusive_until_it_expires(store: Arc<dyn Store>) {
    store
        .create_instance(new_instance("orch", "i1", t0()))
        .await
        .expect("create");
    let first = fetch_one(store.as_ref(), at(1)).await;
    let other = store
        .fetch_orchestration_work(fetch(at(2), "host-b"))
        .await
        .expect("fetch");
    assert!(
        other.is_empty(),
        "leased work must not be handed out again: {other:?}"
    );
    let after_expiry = store
        .fetch_orchestration_work(fetch(at(32), "host-b"))
        .await
        .expect("fetch");
    assert_eq!(after_expiry.len(), 1);
    assert_eq!(after_expiry[0].messages[0].delivery, 2);
    assert_ne!(after_expiry[0].lock, first.lock);
    // The first holder lost its lease.
    let results = store
        .commit_turns(vec![commit_of(&first, RuntimeStatus::Running, at(33))])
        .await
        .expect("call");
    assert!(
        matches!(results[0], Err(StoreError::LockLost(_))),
        "{results:?}"
    );
}

/// A commit appends history, updates the row, consumes messages and enqueues new work.
pub async fn commit_applies_everything_atomically(store: Arc<dyn Store>) {
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

/// A commit under a lost lease fails and changes nothing.
pub async fn stale_lock_commit_changes_nothing(store: Arc<dyn Store>) {
    store
        .create_instance(new_instance("orch", "i1", t0()))
        .await
        .expect("create");
    let item = fetch_one(store.as_ref(), at(1)).await;
    let mut c = commit_of(&item, RuntimeStatus::Running, at(2));
    c.lock = LockToken("someone-else".into());
    c.activities = vec![activity("i1", 0)];
    let results = store.commit_turns(vec![c]).await.expect("call");
    assert!(matches!(results[0], Err(StoreError::LockLost(_))));
    assert!(
        store
            .get_history(&id("i1"))
            .await
            .expect("history")
            .is_empty()
    );
    assert_eq!(
        store
            .get_instance(&id("i1"))
            .await
            .expect("get")
            .expect("row")
            .status,
        RuntimeStatus::Pending
    );
    assert!(
        store
            .fetch_activity_work(fetch(at(3), "h"))
            .await
            .expect("acts")
            .is_empty()
    );
}

/// Messages that arrive while an instance is leased are delivered by the next fetch.
pub async fn messages_during_lease_wait_for_next_fetch(store: Arc<dyn Store>) {
    store
        .create_instance(new_instance("orch", "i1", t0()))
        .await
        .expect("create");
    let item = fetch_one(store.as_ref(), at(1)).await;
    store
        .send_messages(vec![
            raised("i1", "a", 1, at(2)),
            raised("i1", "b", 2, at(2)),
        ])
        .await
        .expect("send");
    commit_ok(
        store.as_ref(),
        commit_of(&item, RuntimeStatus::Running, at(3)),
    )
    .await;
    let next = fetch_one(store.as_ref(), at(4)).await;
    let names: Vec<String> = next
        .messages
        .iter()
        .map(|m| match &m.event.kind {
            EventKind::EventRaised { name, .. } => name.clone(),
            other => other.type_name().to_string(),
        })
        .collect();
    assert_eq!(names, ["a", "b"]);
}

/// A message with a future `visible_at` is not fetched before then, and `next_visible_at` says when.
pub async fn timers_are_invisible_until_due(store: Arc<dyn Store>) {
    store
        .create_instance(new_instance("orch", "i1", t0()))
        .await
        .expect("create");
    let item = fetch_one(store.as_ref(), at(1)).await;
    let mut c = commit_of(&item, RuntimeStatus::Running, at(1));
    c.messages = vec![NewMessage {
        instance_id: id("i1"),
        execution_id: Some(ExecutionId::new("i1-e1")),
        event: HistoryEvent::new(
            at(1),
            EventKind::TimerFired {
                timer_id: EventId(0),
                fire_at: at(60),
            },
        ),
        visible_at: Some(at(60)),
    }];
    commit_ok(store.as_ref(), c).await;
    assert!(
        store
            .fetch_orchestration_work(fetch(at(59), "h"))
            .await
            .expect("fetch")
            .is_empty()
    );
    assert_eq!(
        store.next_visible_at(at(2)).await.expect("next"),
        Some(at(60))
    );
    let due = fetch_one(store.as_ref(), at(60)).await;
    assert!(matches!(
        due.messages[0].event.kind,
        EventKind::TimerFired { .. }
    ));
    assert_eq!(
        due.messages[0].execution_id,
        Some(ExecutionId::new("i1-e1")),
        "the target execution is kept"
    );
    assert_eq!(store.next_visible_at(at(61)).await.expect("next"), None);
}

/// Activity work is leased, redelivered after expiry, renewable, and completes into a message.
pub async fn activity_lease_and_completion(store: Arc<dyn Store>) {
    store
        .create_instance(new_instance("orch", "i1", t0()))
        .await
        .expect("create");
    let item = fetch_one(store.as_ref(), at(1)).await;
    let mut c = commit_of(&item, RuntimeStatus::Running, at(1));
    c.activities = vec![activity("i1", 0)];
    commit_ok(store.as_ref(), c).await;

    let first = store
        .fetch_activity_work(fetch(at(2), "a"))
        .await
        .expect("fetch")
        .remove(0);
    assert!(
        store
            .fetch_activity_work(fetch(at(3), "b"))
            .await
            .expect("fetch")
            .is_empty()
    );
    let renewed = store
        .renew_activity_leases(
            vec![
                (first.id, first.lock.clone()),
                (first.id, LockToken("bogus".into())),
            ],
            at(100),
        )
        .await
        .expect("renew");
    assert_eq!(renewed, vec![first.id]);
    assert!(
        store
            .fetch_activity_work(fetch(at(50), "b"))
            .await
            .expect("fetch")
            .is_empty(),
        "renewed lease holds"
    );
    let second = store
        .fetch_activity_work(fetch(at(101), "b"))
        .await
        .expect("fetch")
        .remove(0);
    assert_eq!(second.delivery, 2);

    let completion = |lock: LockToken| ActivityCompletion {
        id: first.id,
        lock,
        result: NewMessage {
            instance_id: id("i1"),
            execution_id: Some(ExecutionId::new("i1-e1")),
            event: HistoryEvent::new(
                at(102),
                EventKind::TaskCompleted {
                    task_scheduled_id: EventId(0),
                    result: Payload::encode(&42).expect("json"),
                },
            ),
            visible_at: None,
        },
    };
    let stale = store
        .complete_activities(vec![completion(first.lock.clone())])
        .await
        .expect("call");
    assert!(matches!(stale[0], Err(StoreError::LockLost(_))));
    let ok = store
        .complete_activities(vec![completion(second.lock.clone())])
        .await
        .expect("call");
    assert!(ok[0].is_ok());
    assert!(
        store
            .fetch_activity_work(fetch(at(500), "c"))
            .await
            .expect("fetch")
            .is_empty(),
        "completed work is gone"
    );
    let item = fetch_one(store.as_ref(), at(103)).await;
    assert!(matches!(
        item.messages[0].event.kind,
        EventKind::TaskCompleted { .. }
    ));
}

/// Abandoning releases a lease at once, or makes the work visible again only at `retry_at`.
pub async fn abandon_releases_work(store: Arc<dyn Store>) {
    store
        .create_instance(new_instance("orch", "i1", t0()))
        .await
        .expect("create");
    let item = fetch_one(store.as_ref(), at(1)).await;
    store
        .abandon_orchestration(&item.instance_id, &item.lock, Some(at(10)))
        .await
        .expect("abandon");
    assert!(
        store
            .fetch_orchestration_work(fetch(at(5), "h"))
            .await
            .expect("fetch")
            .is_empty()
    );
    let again = fetch_one(store.as_ref(), at(10)).await;
    assert_eq!(again.messages[0].delivery, 2);
    let bad = store
        .abandon_orchestration(&again.instance_id, &LockToken("x".into()), None)
        .await;
    assert!(matches!(bad, Err(StoreError::LockLost(_))));
    let mut c = commit_of(&again, RuntimeStatus::Running, at(11));
    c.activities = vec![activity("i1", 0)];
    commit_ok(store.as_ref(), c).await;
    let act = store
        .fetch_activity_work(fetch(at(12), "h"))
        .await
        .expect("fetch")
        .remove(0);
    store
        .abandon_activity(act.id, &act.lock, None)
        .await
        .expect("abandon");
    let act2 = store
        .fetch_activity_work(fetch(at(13), "h"))
        .await
        .expect("fetch")
        .remove(0);
    assert_eq!((act2.id, act2.delivery), (act.id, 2));
}

/// Replacing history (continue-as-new, rewind) starts it over and resets its length.
pub async fn replace_history_resets_it(store: Arc<dyn Store>) {
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
pub async fn sub_orchestrations(store: Arc<dyn Store>) {
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
    let parent_item = items
        .iter()
        .find(|i| i.instance_id == id("p"))
        .expect("parent")
        .clone();
    let busy_item = items
        .iter()
        .find(|i| i.instance_id == id("busy-child"))
        .expect("busy")
        .clone();
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
    let to_parent = items
        .iter()
        .find(|i| i.instance_id == id("p"))
        .expect("parent told");
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

/// Listing filters by name, status, created time and id prefix, and pages with a continuation.
pub async fn list_filters_and_pages(store: Arc<dyn Store>) {
    for i in 0..7 {
        let name = if i % 2 == 0 { "even" } else { "odd" };
        store
            .create_instance(new_instance(name, &format!("job-{i}"), at(i)))
            .await
            .expect("create");
    }
    store
        .create_instance(new_instance("even", "other-1", at(3)))
        .await
        .expect("create");
    let all = InstanceFilter::default();
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = store
            .list_instances(&all, 3, token.as_deref())
            .await
            .expect("list");
        assert!(page.instances.len() <= 3);
        seen.extend(page.instances.iter().map(|r| r.instance_id.to_string()));
        match page.continuation {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    assert_eq!(
        seen,
        [
            "job-0", "job-1", "job-2", "job-3", "other-1", "job-4", "job-5", "job-6"
        ]
    );
    let filter = InstanceFilter {
        name: Some("even".into()),
        instance_id_prefix: Some("job-".into()),
        created_from: Some(at(1)),
        created_to: Some(at(5)),
        statuses: vec![RuntimeStatus::Pending],
    };
    let page = store
        .list_instances(&filter, 100, None)
        .await
        .expect("list");
    let ids: Vec<String> = page
        .instances
        .iter()
        .map(|r| r.instance_id.to_string())
        .collect();
    assert_eq!(ids, ["job-2", "job-4"]);
    assert_eq!(page.continuation, None);
    let none = InstanceFilter {
        statuses: vec![RuntimeStatus::Completed],
        ..Default::default()
    };
    assert!(
        store
            .list_instances(&none, 10, None)
            .await
            .expect("list")
            .instances
            .is_empty()
    );
    assert!(matches!(
        store.list_instances(&all, 10, Some("garbage")).await,
        Err(StoreError::InvalidInput(_))
    ));
}

/// Purging deletes terminal instances with everything they own, and refuses active ones.
pub async fn purge_one_and_many(store: Arc<dyn Store>) {
    for i in 0..4 {
        store
            .create_instance(new_instance("o", &format!("i{i}"), at(i)))
            .await
            .expect("create");
    }
    let items = store
        .fetch_orchestration_work(fetch(at(10), "h"))
        .await
        .expect("fetch");
    for item in &items {
        let status = if item.instance_id == id("i3") {
            RuntimeStatus::Running
        } else {
            RuntimeStatus::Completed
        };
        commit_ok(store.as_ref(), commit_of(item, status, at(11))).await;
    }
    assert!(matches!(
        store.purge_instance(&id("i3")).await,
        Err(StoreError::NotTerminal { .. })
    ));
    assert!(store.purge_instance(&id("i0")).await.expect("purge"));
    assert!(!store.purge_instance(&id("i0")).await.expect("purge again"));
    assert!(store.get_instance(&id("i0")).await.expect("get").is_none());
    assert!(
        store
            .get_history(&id("i0"))
            .await
            .expect("history")
            .is_empty()
    );
    let filter = InstanceFilter {
        created_from: Some(at(2)),
        ..Default::default()
    };
    assert_eq!(
        store.purge_instances(&filter).await.expect("purge many"),
        1,
        "i2 only: i3 is running"
    );
    assert!(store.get_instance(&id("i1")).await.expect("get").is_some());
    assert!(store.get_instance(&id("i3")).await.expect("get").is_some());
}

/// History and payloads come back exactly as committed.
pub async fn history_round_trips_verbatim(store: Arc<dyn Store>) {
    let mut null_input = new_instance("orch", "i1", t0());
    null_input.input = Payload::null();
    store.create_instance(null_input).await.expect("create");
    let item = fetch_one(store.as_ref(), at(1)).await;
    assert!(
        matches!(&item.messages[0].event.kind, EventKind::ExecutionStarted { input, .. } if input.is_null()),
        "a null input is kept as null"
    );
    let mut c = commit_of(&item, RuntimeStatus::Failed, at(1));
    let odd =
        Payload::from_json_text(r#"{"z": 1, "a": [1.50, "\u00e9"], "big": 12345678901234567890}"#)
            .expect("json");
    let mut failure = FailureDetails::new("Boom", "it broke");
    failure.details = Some(odd.clone());
    let extra = vec![
        HistoryEvent::scheduled(
            EventId(0),
            at(1),
            EventKind::TaskScheduled {
                name: "A".into(),
                input: odd.clone(),
            },
        ),
        HistoryEvent::new(
            at(1),
            EventKind::TaskFailed {
                task_scheduled_id: EventId(0),
                failure: failure.clone(),
            },
        ),
        HistoryEvent::new(
            at(1),
            EventKind::TaskCompleted {
                task_scheduled_id: EventId(1),
                result: Payload::null(),
            },
        ),
    ];
    if let HistoryChange::Append(events) = &mut c.history {
        events.extend(extra.clone());
    }
    c.update = c.update.map(|mut u| {
        u.failure = Some(failure.clone());
        u
    });
    commit_ok(store.as_ref(), c.clone()).await;
    let HistoryChange::Append(expected) = c.history else {
        unreachable!()
    };
    assert_eq!(
        store.get_history(&id("i1")).await.expect("history"),
        expected
    );
    let row = store
        .get_instance(&id("i1"))
        .await
        .expect("get")
        .expect("row");
    assert_eq!(row.failure, Some(failure));
    assert_eq!(row.status, RuntimeStatus::Failed);
}

/// One fetch returns up to `max_items` instances.
pub async fn fetch_batches_instances(store: Arc<dyn Store>) {
    for i in 0..5 {
        store
            .create_instance(new_instance("o", &format!("i{i}"), t0()))
            .await
            .expect("create");
    }
    let first = store
        .fetch_orchestration_work(FetchRequest {
            max_items: 3,
            ..fetch(at(1), "h")
        })
        .await
        .expect("fetch");
    assert_eq!(first.len(), 3);
    let second = store
        .fetch_orchestration_work(FetchRequest {
            max_items: 3,
            ..fetch(at(1), "h")
        })
        .await
        .expect("fetch");
    assert_eq!(second.len(), 2);
    let mut all: Vec<String> = first
        .iter()
        .chain(second.iter())
        .map(|i| i.instance_id.to_string())
        .collect();
    all.sort();
    assert_eq!(all, ["i0", "i1", "i2", "i3", "i4"]);
}

/// Messages to an instance that does not exist are fetched without a row and can be consumed.
pub async fn messages_to_unknown_instances(store: Arc<dyn Store>) {
    store
        .send_messages(vec![raised("ghost", "x", 1, t0())])
        .await
        .expect("send");
    let item = fetch_one(store.as_ref(), at(1)).await;
    assert!(item.instance.is_none());
    let c = TurnCommit {
        instance_id: item.instance_id.clone(),
        lock: item.lock.clone(),
        consumed: item.messages.iter().map(|m| m.id).collect(),
        history: HistoryChange::Append(Vec::new()),
        update: None,
        activities: Vec::new(),
        messages: Vec::new(),
        sub_orchestrations: Vec::new(),
    };
    commit_ok(store.as_ref(), c).await;
    assert!(
        store
            .fetch_orchestration_work(fetch(at(2), "h"))
            .await
            .expect("fetch")
            .is_empty()
    );
    assert!(
        store
            .get_instance(&id("ghost"))
            .await
            .expect("get")
            .is_none()
    );

    // A commit with an update creates the missing row (entities are made this way).
    store
        .send_messages(vec![raised("@counter@a", "x", 1, at(3))])
        .await
        .expect("send");
    let item = fetch_one(store.as_ref(), at(4)).await;
    let c = TurnCommit {
        instance_id: item.instance_id.clone(),
        lock: item.lock.clone(),
        consumed: item.messages.iter().map(|m| m.id).collect(),
        history: HistoryChange::Append(Vec::new()),
        update: Some(InstanceUpdate {
            status: RuntimeStatus::Running,
            name: "counter".into(),
            execution_id: ExecutionId::new(""),
            input: Payload::null(),
            output: Some(Payload::encode(&5).expect("json")),
            failure: None,
            custom_status: None,
            last_updated_at: at(4),
        }),
        activities: Vec::new(),
        messages: Vec::new(),
        sub_orchestrations: Vec::new(),
    };
    commit_ok(store.as_ref(), c).await;
    let row = store
        .get_instance(&id("@counter@a"))
        .await
        .expect("get")
        .expect("created");
    assert_eq!(
        (row.name.as_str(), row.status, row.created_at),
        ("counter", RuntimeStatus::Running, at(4))
    );
    assert_eq!(row.output, Some(Payload::encode(&5).expect("json")));
}

/// In a group commit, a turn with a lost lease fails alone.
pub async fn group_commit_results_are_independent(store: Arc<dyn Store>) {
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

/// Instances are counted by status.
pub async fn count_by_status(store: Arc<dyn Store>) {
    for i in 0..3 {
        store
            .create_instance(new_instance("o", &format!("i{i}"), t0()))
            .await
            .expect("create");
    }
    let item = store
        .fetch_orchestration_work(FetchRequest {
            max_items: 1,
            ..fetch(at(1), "h")
        })
        .await
        .expect("fetch")
        .remove(0);
    commit_ok(
        store.as_ref(),
        commit_of(&item, RuntimeStatus::Completed, at(2)),
    )
    .await;
    let counts = store.count_by_status().await.expect("count");
    let get = |s: RuntimeStatus| {
        counts
            .iter()
            .find(|(k, _)| *k == s)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    };
    assert_eq!(
        (
            get(RuntimeStatus::Pending),
            get(RuntimeStatus::Completed),
            get(RuntimeStatus::Running)
        ),
        (2, 1, 0)
    );
}

/// The version and trace context an instance is started with are kept in its row and on its
/// `ExecutionStarted` event; turns leave them alone, and a new start replaces them.
pub async fn version_and_trace_context_are_kept(store: Arc<dyn Store>) {
    let trace = TraceContext {
        trace_parent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
        trace_state: Some("rojo=00f067aa0ba902b7".into()),
    };
    let mut first = new_instance("orch", "v1", t0());
    first.version = Some("2.1".into());
    first.trace_context = Some(trace.clone());
    store.create_instance(first).await.expect("create");
    let row = store
        .get_instance(&id("v1"))
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(row.version.as_deref(), Some("2.1"));
    assert_eq!(row.trace_context.as_ref(), Some(&trace));
    let item = fetch_one(store.as_ref(), at(1)).await;
    match &item.messages[0].event.kind {
        EventKind::ExecutionStarted {
            version,
            parent_trace_context,
            ..
        } => {
            assert_eq!(version.as_deref(), Some("2.1"));
            assert_eq!(parent_trace_context.as_ref(), Some(&trace));
        }
        other => panic!("expected ExecutionStarted, got {other:?}"),
    }
    commit_ok(
        store.as_ref(),
        commit_of(&item, RuntimeStatus::Completed, at(2)),
    )
    .await;
    let row = store
        .get_instance(&id("v1"))
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(
        row.version.as_deref(),
        Some("2.1"),
        "a turn keeps the version"
    );
    assert_eq!(row.trace_context.as_ref(), Some(&trace));
    let page = store
        .list_instances(&InstanceFilter::default(), 10, None)
        .await
        .expect("list");
    assert_eq!(page.instances[0].version.as_deref(), Some("2.1"));
    store
        .create_instance(new_instance("orch", "v1", at(3)))
        .await
        .expect("replace terminal");
    let row = store
        .get_instance(&id("v1"))
        .await
        .expect("get")
        .expect("exists");
    assert_eq!((row.version, row.trace_context), (None, None));
}
