//! Contract clauses 3 and 5: activity work items, their leases, delivery counts and completions.

use std::sync::Arc;

use durafn_core::{EventId, EventKind, ExecutionId, HistoryEvent, Payload, RuntimeStatus};

use crate::{ActivityCompletion, LockToken, NewMessage, Store, StoreError};

use super::fixture::Fixture;
use super::support::*;

/// Activity work is leased, redelivered after expiry, renewable, and completes into a message.
pub async fn activity_lease_and_completion(hub: &Fixture) {
    let store: Arc<dyn Store> = hub.store().clone();
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
    assert_eq!(
        first.expired_lease, None,
        "a first delivery follows no lease"
    );
    assert_eq!(
        second.expired_lease,
        Some(at(100)),
        "a redelivery after expiry says when the lost lease ran out"
    );

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

/// An activity work item keeps the trace context it was enqueued with, so the attempt's span
/// is a child of the orchestration's call on whichever host runs it; one without comes back
/// without.
pub async fn activity_trace_context_is_kept(hub: &Fixture) {
    let store: Arc<dyn Store> = hub.store().clone();
    store
        .create_instance(new_instance("orch", "i1", t0()))
        .await
        .expect("create");
    let item = fetch_one(store.as_ref(), at(1)).await;
    let mut c = commit_of(&item, RuntimeStatus::Running, at(1));
    let trace = durafn_core::TraceContext {
        trace_parent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
        trace_state: Some("rojo=00f067aa0ba902b7".into()),
        span_id: None,
        span_start_time: None,
    };
    let mut traced = activity("i1", 0);
    traced.trace_context = Some(trace.clone());
    c.activities = vec![traced, activity("i1", 1)];
    commit_ok(store.as_ref(), c).await;
    let mut items = store
        .fetch_activity_work(fetch(at(2), "a"))
        .await
        .expect("fetch");
    items.sort_by_key(|i| i.activity.task_id.0);
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].activity.trace_context.as_ref(), Some(&trace));
    assert_eq!(items[1].activity.trace_context, None);
}
