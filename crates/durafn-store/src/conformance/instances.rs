//! Instances and their history: creation, reads, messages to instances that do not exist.

use std::sync::Arc;

use durafn_core::{
    EventId, EventKind, ExecutionId, FailureDetails, HistoryEvent, Payload, RuntimeStatus,
    SystemFailure, TraceContext,
};

use crate::{
    HistoryChange, InstanceClaim, InstanceFilter, InstanceUpdate, Store, StoreError, TurnCommit,
};

use super::fixture::Fixture;
use super::support::*;

/// A new instance is Pending, has no history, and its `ExecutionStarted` message is fetchable.
pub async fn create_and_fetch(hub: &Fixture) {
    let store: Arc<dyn Store> = hub.store().clone();
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
pub async fn create_refuses_active_and_replaces_terminal(hub: &Fixture) {
    let store: Arc<dyn Store> = hub.store().clone();
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

/// Messages to an instance that does not exist are fetched without a row and can be consumed.
pub async fn messages_to_unknown_instances(hub: &Fixture) {
    let store: Arc<dyn Store> = hub.store().clone();
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
        claim: None,
        claim_turns: None,
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
        claim: None,
        claim_turns: None,
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

/// History and payloads come back exactly as committed.
pub async fn history_round_trips_verbatim(hub: &Fixture) {
    let store: Arc<dyn Store> = hub.store().clone();
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
    let mut failure = FailureDetails::system(SystemFailure::DeadLettered, "it broke");
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

/// `get_histories` answers for several instances at once, in the order asked, exactly as
/// `get_history` does for each (an unknown instance has an empty history).
pub async fn histories_come_back_in_the_order_asked(hub: &Fixture) {
    let store: Arc<dyn Store> = hub.store().clone();
    let items = started(store.as_ref(), &["a", "b", "c"]).await;
    assert_eq!(items.len(), 3);
    let mut commits = Vec::new();
    for item in &items {
        if item.instance_id == id("b") {
            continue;
        }
        let mut c = commit_of(item, RuntimeStatus::Running, at(1));
        if item.instance_id == id("c") {
            if let HistoryChange::Append(events) = &mut c.history {
                events.push(raised("c", "only-c", 7, at(1)).event);
            }
        }
        commits.push(c);
    }
    for result in store.commit_turns(commits).await.expect("commit") {
        result.expect("commit succeeds");
    }
    let ids = [id("c"), id("a"), id("unknown"), id("b"), id("a")];
    let histories = store.get_histories(&ids).await.expect("histories");
    assert_eq!(histories.len(), ids.len());
    for (i, history) in ids.iter().zip(&histories) {
        assert_eq!(
            history,
            &store.get_history(i).await.expect("history"),
            "the history of {i}"
        );
    }
    assert_eq!(
        histories[0].len(),
        histories[1].len() + 1,
        "c has one event more"
    );
    assert!(histories[2].is_empty() && histories[3].is_empty());
    assert_eq!(histories[1], histories[4]);
    assert!(store.get_histories(&[]).await.expect("no ids").is_empty());
}

/// The version and trace context an instance is started with are kept in its row and on its
/// `ExecutionStarted` event; turns leave them alone, and a new start replaces them.
pub async fn version_and_trace_context_are_kept(hub: &Fixture) {
    let store: Arc<dyn Store> = hub.store().clone();
    let trace = TraceContext {
        trace_parent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
        trace_state: Some("rojo=00f067aa0ba902b7".into()),
        span_id: None,
        span_start_time: None,
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

/// A start that claims its instance gets it back leased, with its `ExecutionStarted` message,
/// as a fetch would return it; a fetch does not see it until that lease ends, and the lease
/// commits the first turn. A claiming start of an id that is taken fails and leases nothing.
/// The start's durability resolves on its own, when no other commit follows it.
pub async fn create_and_claim_leases_the_first_turn(hub: &Fixture) {
    let store: Arc<dyn Store> = hub.store().clone();
    let claim = InstanceClaim {
        owner: "host-a".into(),
        until: at(60),
        now: t0(),
    };
    let start = store
        .create_and_claim(new_instance("orch", "i1", t0()), claim.clone())
        .await
        .expect("create");
    // The creation becomes durable by itself, with no other commit to share a flush with.
    start
        .durable
        .wait()
        .await
        .expect("the creation is made durable");
    let item = start.turn.expect("a new id is free to lease");
    assert_eq!(item.instance_id, id("i1"));
    assert_eq!(
        item.instance.as_ref().map(|r| r.status),
        Some(RuntimeStatus::Pending)
    );
    assert_eq!(item.messages.len(), 1, "{item:?}");
    assert_eq!(item.messages[0].delivery, 1);
    assert!(matches!(
        item.messages[0].event.kind,
        EventKind::ExecutionStarted { .. }
    ));
    assert!(
        store
            .fetch_orchestration_work(fetch(at(1), "host-b"))
            .await
            .expect("fetch")
            .is_empty(),
        "the claimed instance is leased"
    );
    let taken = store
        .create_and_claim(new_instance("orch", "i1", t0()), claim)
        .await;
    assert!(
        matches!(taken, Err(StoreError::InstanceExists { .. })),
        "{taken:?}"
    );
    commit_ok(
        store.as_ref(),
        commit_of(&item, RuntimeStatus::Running, at(2)),
    )
    .await;
    let row = store
        .get_instance(&id("i1"))
        .await
        .expect("get")
        .expect("row");
    assert_eq!(row.status, RuntimeStatus::Running);
}
