//! Contract clause 4: visibility (durable timers) and fetching in batches.

use std::sync::Arc;

use durafn_core::{EventId, EventKind, ExecutionId, HistoryEvent, RuntimeStatus};

use crate::{FetchRequest, NewMessage, Store};

use super::fixture::Fixture;
use super::support::*;

/// A message with a future `visible_at` is not fetched before then, and `next_visible_at` says when.
pub async fn timers_are_invisible_until_due(hub: &Fixture) {
    let store: Arc<dyn Store> = hub.store().clone();
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

/// One fetch returns up to `max_items` instances.
pub async fn fetch_batches_instances(hub: &Fixture) {
    let store: Arc<dyn Store> = hub.store().clone();
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
