//! Contract clauses 2, 3 and 5: activity work items, their leases (taken by a fetch or claimed
//! by the commit that creates them), delivery counts and completions.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use durafn_core::{EventId, EventKind, ExecutionId, HistoryEvent, Payload, RuntimeStatus};

use crate::{
    ActivityClaim, ActivityCompletion, InstanceClaim, LockToken, NewMessage, Store, StoreError,
};

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
        result: task_completed("i1", 0, 42, at(102)),
        claim: None,
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

/// The `TaskCompleted` message of task `task` of `instance`'s first execution, with `value`.
fn task_completed(instance: &str, task: i64, value: i64, now: DateTime<Utc>) -> NewMessage {
    NewMessage {
        instance_id: id(instance),
        execution_id: Some(ExecutionId::new(format!("{instance}-e1"))),
        event: HistoryEvent::new(
            now,
            EventKind::TaskCompleted {
                task_scheduled_id: EventId(task),
                result: Payload::encode(&value).expect("json"),
            },
        ),
        visible_at: None,
    }
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

/// A commit that claims its activities leases the first `max_items` of them to the claimant
/// and returns them as a fetch would (first delivery); the rest are fetchable at once, the
/// claimed ones only after their lease runs out. A claim on a commit that fails takes nothing.
pub async fn commit_claims_its_activities(hub: &Fixture) {
    let store: Arc<dyn Store> = hub.store().clone();
    let items = started(store.as_ref(), &["i1", "i2"]).await;
    let claim = ActivityClaim {
        owner: "host-a".into(),
        until: at(60),
        max_items: 2,
    };
    let mut claiming = commit_of(&items[0], RuntimeStatus::Running, at(2));
    claiming.activities = vec![activity("i1", 0), activity("i1", 1), activity("i1", 2)];
    claiming.claim = Some(claim.clone());
    let mut lost = commit_of(&items[1], RuntimeStatus::Running, at(2));
    lost.lock = LockToken("someone-else".into());
    lost.activities = vec![activity("i2", 0)];
    lost.claim = Some(claim);
    let mut results = store
        .commit_turns(vec![claiming, lost])
        .await
        .expect("call");
    assert!(
        matches!(results[1], Err(StoreError::LockLost(_))),
        "{results:?}"
    );
    let claimed = results.remove(0).expect("commit succeeds").claimed;
    let tasks: Vec<i64> = claimed.iter().map(|w| w.activity.task_id.0).collect();
    assert_eq!(tasks, vec![0, 1], "the first max_items, in order");
    assert!(
        claimed
            .iter()
            .all(|w| w.delivery == 1 && w.expired_lease.is_none()),
        "{claimed:?}"
    );
    assert_eq!(claimed[0].activity.instance_id, id("i1"));

    let rest = store
        .fetch_activity_work(fetch(at(3), "host-b"))
        .await
        .expect("fetch");
    let rest: Vec<i64> = rest.iter().map(|w| w.activity.task_id.0).collect();
    assert_eq!(
        rest,
        vec![2],
        "unclaimed work is fetchable, claimed work is leased"
    );
    let renewed = store
        .renew_activity_leases(vec![(claimed[0].id, claimed[0].lock.clone())], at(90))
        .await
        .expect("renew");
    assert_eq!(
        renewed,
        vec![claimed[0].id],
        "a claimed lease renews as a fetched one"
    );
    let done = store
        .complete_activities(vec![ActivityCompletion {
            id: claimed[0].id,
            lock: claimed[0].lock.clone(),
            result: task_completed("i1", 0, 1, at(4)),
            claim: None,
        }])
        .await
        .expect("call");
    assert!(done[0].is_ok(), "{done:?}");
    // The claimant died: its second claimed item comes back once the lease ran out.
    let again = store
        .fetch_activity_work(fetch(at(61), "host-b"))
        .await
        .expect("fetch");
    let again = again
        .iter()
        .find(|w| w.id == claimed[1].id)
        .expect("the claimed item is fetched again");
    assert_eq!(again.delivery, 2);
    assert_eq!(again.expired_lease, Some(at(60)));
    assert!(
        store
            .fetch_activity_work(fetch(at(200), "host-c"))
            .await
            .expect("fetch")
            .iter()
            .all(|w| w.activity.instance_id != id("i2")),
        "the failed commit enqueued nothing"
    );
}

/// Completions that claim their instance lease it to the claimant where no one holds it and
/// return it with every message visible, the results of the whole call included; one instance
/// claimed twice comes back once. An instance another fetcher holds is not claimed, and its
/// result waits for a fetch.
pub async fn completion_claims_the_next_turn(hub: &Fixture) {
    let store: Arc<dyn Store> = hub.store().clone();
    let items = started(store.as_ref(), &["i1", "i2"]).await;
    let mut first = commit_of(&items[0], RuntimeStatus::Running, at(1));
    first.activities = vec![activity("i1", 0), activity("i1", 1)];
    let mut second = commit_of(&items[1], RuntimeStatus::Running, at(1));
    second.activities = vec![activity("i2", 0)];
    for result in store
        .commit_turns(vec![first, second])
        .await
        .expect("commit")
    {
        result.expect("commit succeeds");
    }
    let mut work = store
        .fetch_activity_work(fetch(at(2), "host-a"))
        .await
        .expect("fetch");
    work.sort_by_key(|w| (w.activity.instance_id.clone(), w.activity.task_id.0));
    assert_eq!(work.len(), 3);
    // Another host holds i2 (an event arrived and it fetched it).
    store
        .send_messages(vec![raised("i2", "go", 1, at(2))])
        .await
        .expect("raise");
    let held = fetch_one(store.as_ref(), at(3)).await;
    assert_eq!(held.instance_id, id("i2"));

    let claim = InstanceClaim {
        owner: "host-a".into(),
        until: at(60),
        now: at(4),
    };
    let completions = work
        .iter()
        .map(|w| ActivityCompletion {
            id: w.id,
            lock: w.lock.clone(),
            result: task_completed(
                w.activity.instance_id.as_str(),
                w.activity.task_id.0,
                7,
                at(4),
            ),
            claim: Some(claim.clone()),
        })
        .collect();
    let mut results = store.complete_activities(completions).await.expect("call");
    let completed: Vec<_> = results.drain(..).map(|r| r.expect("completes")).collect();
    let turn = completed[0].turn.clone().expect("i1 is claimed");
    assert_eq!(turn.instance_id, id("i1"));
    assert_eq!(turn.messages.len(), 2, "both results of the call: {turn:?}");
    assert!(completed[1].turn.is_none(), "an instance comes back once");
    assert!(completed[2].turn.is_none(), "i2 is held by another fetcher");
    assert!(
        store
            .fetch_orchestration_work(fetch(at(5), "host-b"))
            .await
            .expect("fetch")
            .is_empty(),
        "the claimed instance is leased, the held one still held"
    );
    // The claimed work item is a lease like a fetched one: its turn commits with it.
    commit_ok(
        store.as_ref(),
        commit_of(&turn, RuntimeStatus::Running, at(6)),
    )
    .await;
    // i2's result waits for a fetch once its holder's lease ran out.
    let later = fetch_one(store.as_ref(), at(40)).await;
    assert_eq!(later.instance_id, id("i2"));
    assert!(
        later
            .messages
            .iter()
            .any(|m| matches!(m.event.kind, EventKind::TaskCompleted { .. }))
    );
}
