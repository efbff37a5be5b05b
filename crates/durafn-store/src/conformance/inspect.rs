//! The operator queries ([`InspectStore`](crate::InspectStore)): listings in both orders with
//! text search and counts, an instance's queued work and leases, and the hub's health.

use std::sync::Arc;

use chrono::TimeDelta;
use durafn_core::{EventId, EventKind, HistoryEvent, Payload, RuntimeStatus};

use super::fixture::Fixture;
use super::support::*;
use crate::inspect::{InstanceQuery, SortOrder};
use crate::{InstanceFilter, NewMessage, Store, StoreError};

async fn ids(store: &dyn Store, query: &InstanceQuery, page: usize) -> Vec<String> {
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let p = store
            .query_instances(query, page, token.as_deref())
            .await
            .expect("query");
        assert!(p.instances.len() <= page);
        seen.extend(p.instances.iter().map(|r| r.instance_id.to_string()));
        match p.continuation {
            Some(t) => token = Some(t),
            None => return seen,
        }
    }
}

/// Listings run in either order with continuation, leave entities out on request, search the
/// custom status ignoring case, and count per status for the same query.
pub async fn inspect_queries_order_search_and_count(hub: &Fixture) {
    let store: Arc<dyn Store> = hub.store().clone();
    for i in 0..6 {
        let name = if i % 2 == 0 { "even" } else { "odd" };
        store
            .create_instance(new_instance(name, &format!("job-{i}"), at(i)))
            .await
            .expect("create");
    }
    store
        .create_instance(new_instance("counter", "@counter@k", at(2)))
        .await
        .expect("create an entity-like row");
    // job-0 completes with a custom status that the search finds; job-1 runs.
    for (instance, status, custom) in [
        (
            "job-0",
            RuntimeStatus::Completed,
            "{\"Stage\":\"Copying files\"}",
        ),
        ("job-1", RuntimeStatus::Running, "{\"stage\":\"waiting\"}"),
    ] {
        let mut items = store
            .fetch_orchestration_work(fetch(at(10), "host-a"))
            .await
            .expect("fetch");
        let item = items
            .iter()
            .position(|w| w.instance_id.as_str() == instance)
            .map(|i| items.swap_remove(i))
            .expect("the instance is fetched");
        for other in items {
            store
                .abandon_orchestration(&other.instance_id, &other.lock, None)
                .await
                .expect("abandon");
        }
        let mut c = commit_of(&item, status, at(10));
        if let Some(u) = c.update.as_mut() {
            u.custom_status = Some(Payload::from_json_text(custom).expect("json"));
        }
        commit_ok(store.as_ref(), c).await;
    }

    let all = InstanceQuery::default();
    let oldest = ids(store.as_ref(), &all, 2).await;
    assert_eq!(
        oldest,
        [
            "job-0",
            "job-1",
            "@counter@k",
            "job-2",
            "job-3",
            "job-4",
            "job-5"
        ]
    );
    let newest = InstanceQuery {
        order: SortOrder::NewestFirst,
        orchestrations_only: true,
        ..InstanceQuery::default()
    };
    assert_eq!(
        ids(store.as_ref(), &newest, 2).await,
        ["job-5", "job-4", "job-3", "job-2", "job-1", "job-0"]
    );
    let search = InstanceQuery {
        custom_status_contains: Some("COPYING".into()),
        ..InstanceQuery::default()
    };
    assert_eq!(ids(store.as_ref(), &search, 10).await, ["job-0"]);
    let stage = InstanceQuery {
        custom_status_contains: Some("\"stage\"".into()),
        order: SortOrder::NewestFirst,
        ..InstanceQuery::default()
    };
    assert_eq!(ids(store.as_ref(), &stage, 1).await, ["job-1", "job-0"]);

    let counts = store.count_instances(&newest).await.expect("count");
    assert_eq!(counts.len(), RuntimeStatus::ALL.len());
    let count = |s: RuntimeStatus| counts.iter().find(|(x, _)| *x == s).map(|(_, n)| *n);
    assert_eq!(count(RuntimeStatus::Pending), Some(4));
    assert_eq!(count(RuntimeStatus::Running), Some(1));
    assert_eq!(count(RuntimeStatus::Completed), Some(1));
    assert_eq!(count(RuntimeStatus::Failed), Some(0));
    let even_recent = InstanceQuery {
        filter: InstanceFilter {
            name: Some("even".into()),
            created_from: Some(at(1)),
            statuses: vec![RuntimeStatus::Pending, RuntimeStatus::Completed],
            ..InstanceFilter::default()
        },
        ..InstanceQuery::default()
    };
    let counts = store.count_instances(&even_recent).await.expect("count");
    let total: u64 = counts.iter().map(|(_, n)| n).sum();
    assert_eq!(total, 2, "job-2 and job-4: {counts:?}");
    assert!(matches!(
        store.query_instances(&all, 10, Some("garbage")).await,
        Err(StoreError::InvalidInput(_))
    ));
}

/// An instance's work shows its lease with the holder, its messages with visibility and
/// delivery counts, and its activity items with their leases; the hub's health counts them and
/// tallies leases per host.
pub async fn inspect_instance_work_and_hub_health(hub: &Fixture) {
    let store: Arc<dyn Store> = hub.store().clone();
    let now = at(0);
    let empty = store.hub_health(now).await.expect("health");
    assert_eq!(empty.orchestrations.ready, 0);
    assert!(empty.hosts.is_empty());
    let unknown = store.instance_work(&id("nobody")).await.expect("work");
    assert!(unknown.lease.is_none() && unknown.messages.is_empty());

    store
        .create_instance(new_instance("Flow", "flow-1", now))
        .await
        .expect("create");
    let health = store.hub_health(at(1)).await.expect("health");
    assert_eq!(health.orchestrations.ready, 1);
    assert_eq!(health.orchestrations.oldest_ready_since, Some(now));

    let item = fetch_one(store.as_ref(), at(1)).await;
    let work = store.instance_work(&id("flow-1")).await.expect("work");
    let lease = work.lease.expect("the instance is leased");
    assert_eq!(lease.owner, "host-a");
    assert_eq!(lease.until, at(31));
    assert_eq!(work.messages.len(), 1);
    assert_eq!(work.messages[0].delivery, 1);
    assert!(matches!(
        work.messages[0].event.kind,
        EventKind::ExecutionStarted { .. }
    ));
    let health = store.hub_health(at(2)).await.expect("health");
    assert_eq!(health.orchestrations.leased, 1);
    assert_eq!(health.hosts.len(), 1);
    assert_eq!(
        (health.hosts[0].owner.as_str(), health.hosts[0].instances),
        ("host-a", 1)
    );
    // After the lease ends, the host that held it shows an expired lease.
    let later = store.hub_health(at(40)).await.expect("health");
    assert_eq!(later.orchestrations.leased, 0);
    assert_eq!(later.hosts.first().map(|h| h.expired), Some(1));

    let mut c = commit_of(&item, RuntimeStatus::Running, at(2));
    c.activities = vec![activity("flow-1", 0), activity("flow-1", 1)];
    c.messages = vec![NewMessage {
        instance_id: id("flow-1"),
        execution_id: Some(durafn_core::ExecutionId::new("flow-1-e1")),
        event: HistoryEvent::new(
            at(2),
            EventKind::TimerFired {
                timer_id: EventId(2),
                fire_at: at(100),
            },
        ),
        visible_at: Some(at(100)),
    }];
    commit_ok(store.as_ref(), c).await;
    store
        .send_messages(vec![raised("flow-1", "Approval", 1, at(3))])
        .await
        .expect("send");

    let leased = store
        .fetch_activity_work(crate::FetchRequest {
            max_items: 1,
            ..fetch(at(4), "host-b")
        })
        .await
        .expect("fetch activity");
    assert_eq!(leased.len(), 1);
    let work = store.instance_work(&id("flow-1")).await.expect("work");
    assert!(work.lease.is_none(), "the turn released the lease");
    assert_eq!(work.messages.len(), 2);
    let timer = work
        .messages
        .iter()
        .find(|m| matches!(m.event.kind, EventKind::TimerFired { .. }))
        .expect("the timer is queued");
    assert_eq!(timer.visible_at, Some(at(100)));
    assert_eq!(timer.delivery, 0);
    let event = work
        .messages
        .iter()
        .find(|m| matches!(m.event.kind, EventKind::EventRaised { .. }))
        .expect("the event is queued");
    assert_eq!(event.visible_at, None);
    assert_eq!(work.activities.len(), 2);
    let held = work
        .activities
        .iter()
        .find(|a| a.id == leased[0].id)
        .expect("the leased activity");
    assert_eq!(
        held.lease.as_ref().map(|l| l.owner.as_str()),
        Some("host-b")
    );
    assert_eq!(held.lease.as_ref().map(|l| l.until), Some(at(34)));
    assert_eq!(held.delivery, 1);
    assert_eq!(held.name, "Work");
    let free = work
        .activities
        .iter()
        .find(|a| a.id != leased[0].id)
        .expect("the other activity");
    assert!(free.lease.is_none());
    assert_eq!(free.delivery, 0);

    let health = store.hub_health(at(5)).await.expect("health");
    assert_eq!(health.orchestrations.ready, 1, "the raised event");
    assert_eq!(health.orchestrations.scheduled, 1, "the timer");
    assert_eq!(health.orchestrations.oldest_ready_since, Some(at(3)));
    assert_eq!(health.activities.ready, 1);
    assert_eq!(health.activities.leased, 1);
    assert_eq!(
        health
            .oldest_ready_activity
            .as_ref()
            .map(|(i, _)| i.as_str()),
        Some("flow-1")
    );
    let owners: Vec<(&str, u64, u64)> = health
        .hosts
        .iter()
        .map(|h| (h.owner.as_str(), h.instances, h.activities))
        .collect();
    assert_eq!(owners, [("host-b", 0, 1)]);
    let due = store
        .hub_health(at(100) + TimeDelta::seconds(1))
        .await
        .expect("health");
    assert_eq!(due.orchestrations.ready, 2, "the timer is due");
    assert_eq!(due.orchestrations.scheduled, 0);
}
