//! Contract clause 2: leases and lock tokens.

use std::sync::Arc;

use durafn_core::{EventKind, RuntimeStatus};

use crate::{LockToken, Store, StoreError};

use super::fixture::Fixture;
use super::support::*;

/// A leased instance is not handed to anyone else until its lease expires; then it is, with
/// the delivery count raised.
pub async fn instance_lease_is_exclusive_until_it_expires(hub: &Fixture) {
    let store: Arc<dyn Store> = hub.store().clone();
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

/// A commit under a lost lease fails and changes nothing.
pub async fn stale_lock_commit_changes_nothing(hub: &Fixture) {
    let store: Arc<dyn Store> = hub.store().clone();
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
pub async fn messages_during_lease_wait_for_next_fetch(hub: &Fixture) {
    let store: Arc<dyn Store> = hub.store().clone();
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

/// Abandoning releases a lease at once, or makes the work visible again only at `retry_at`.
pub async fn abandon_releases_work(hub: &Fixture) {
    let store: Arc<dyn Store> = hub.store().clone();
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
    assert_eq!(
        act2.expired_lease, None,
        "a lease given back did not run out"
    );
}
