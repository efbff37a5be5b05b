//! Contract clause 1b: a committed turn hands the committing host the instances it gave work
//! that is due at once ([`TurnCommit::claim_turns`](crate::TurnCommit::claim_turns)).

use std::sync::Arc;

use chrono::TimeDelta;
use durafn_core::{EventKind, HistoryEvent, RuntimeStatus};

use crate::{InstanceClaim, NewMessage, OrchestrationWorkItem, Store, TurnClaim};

use super::fixture::Fixture;
use super::support::*;

fn claim_at(now: chrono::DateTime<chrono::Utc>, max_items: usize) -> TurnClaim {
    TurnClaim {
        lease: InstanceClaim {
            owner: "host-a".into(),
            until: now + TimeDelta::seconds(30),
            now,
        },
        max_items,
    }
}

fn timer_to(instance: &str, fire_at: chrono::DateTime<chrono::Utc>) -> NewMessage {
    NewMessage {
        instance_id: id(instance),
        execution_id: None,
        event: HistoryEvent::new(
            fire_at,
            EventKind::TimerFired {
                fire_at,
                timer_id: durafn_core::EventId(0),
            },
        ),
        visible_at: Some(fire_at),
    }
}

fn ids(items: &[OrchestrationWorkItem]) -> Vec<&str> {
    let mut ids: Vec<&str> = items.iter().map(|i| i.instance_id.as_str()).collect();
    ids.sort_unstable();
    ids
}

/// The commits of one call lease to their host, in the same transaction, the sub-orchestrations
/// they create, free instances they send a message due now and themselves when a timer they set
/// is already due or a message reached them meanwhile; not an instance another fetcher holds nor
/// one whose message is not yet due, each instance once across the call, and no more candidates
/// per commit than its claim allows. What they hand back is leased as a fetch leases: hidden
/// from other hosts, and committed with its lock.
pub async fn commit_claims_the_turns_it_makes_due(hub: &Fixture) {
    let store: Arc<dyn Store> = hub.store().clone();
    let items = started(store.as_ref(), &["busy", "p", "peer", "later"]).await;
    let item = |name: &str| item_of(&items, name);
    // peer and later are committed (free, nothing left to do); held is another host's.
    for free in ["peer", "later"] {
        commit_ok(
            store.as_ref(),
            commit_of(&item(free), RuntimeStatus::Running, at(2)),
        )
        .await;
    }
    store
        .create_instance(new_instance("orch", "held", at(2)))
        .await
        .expect("create");
    let held = store
        .fetch_orchestration_work(fetch(at(2), "host-b"))
        .await
        .expect("fetch");
    assert_eq!(ids(&held), vec!["held"]);

    let now = at(3);
    let mut parent = commit_of(&item("p"), RuntimeStatus::Running, now);
    parent.sub_orchestrations = vec![new_instance("child", "child", now)];
    parent.messages = vec![
        timer_to("p", now),
        raised("peer", "go", 1, now),
        raised("held", "go", 2, now),
        raised("busy", "go", 3, now),
        timer_to("later", now + TimeDelta::seconds(60)),
    ];
    parent.claim_turns = Some(claim_at(now, 10));
    let mut busy = commit_of(&item("busy"), RuntimeStatus::Running, now);
    busy.messages = vec![raised("peer", "again", 4, now)];
    busy.claim_turns = Some(claim_at(now, 10));
    let results: Vec<_> = store
        .commit_turns(vec![parent, busy])
        .await
        .expect("call")
        .into_iter()
        .map(|r| r.expect("commits"))
        .collect();
    let turns: Vec<OrchestrationWorkItem> = results.iter().flat_map(|r| r.turns.clone()).collect();
    assert_eq!(
        ids(&turns),
        vec!["busy", "child", "p", "peer"],
        "each once; held is another host's, later's timer is not due: {results:?}"
    );
    let turn = |name: &str| item_of(&turns, name);
    assert!(
        matches!(
            turn("p").messages[0].event.kind,
            EventKind::TimerFired { .. }
        ),
        "its due timer comes with it"
    );
    assert!(
        turn("peer")
            .messages
            .iter()
            .any(|m| matches!(&m.event.kind, EventKind::EventRaised { name, .. } if name == "go")),
        "the event it was claimed for comes with it"
    );
    let started = turn("child");
    assert!(matches!(
        started.messages[0].event.kind,
        EventKind::ExecutionStarted { .. }
    ));
    assert!(started.instance.is_some(), "the child's row comes with it");
    assert!(
        store
            .fetch_orchestration_work(fetch(at(4), "host-c"))
            .await
            .expect("fetch")
            .is_empty(),
        "everything due is leased"
    );

    // A claimed item commits with its lock, as a fetched one does. The cap counts candidates in
    // order (itself first), so with 2 only the first of its two children is claimed.
    let mut again = commit_of(&turn("p"), RuntimeStatus::Running, at(5));
    again.sub_orchestrations = vec![
        new_instance("child", "c2", at(5)),
        new_instance("child", "c3", at(5)),
    ];
    again.claim_turns = Some(claim_at(at(5), 2));
    let capped = store
        .commit_turns(vec![again])
        .await
        .expect("call")
        .remove(0)
        .expect("commits");
    assert_eq!(ids(&capped.turns), vec!["c2"]);
    let rest = fetch_one(store.as_ref(), at(6)).await;
    assert_eq!(rest.instance_id, id("c3"), "the one not claimed is fetched");
}
