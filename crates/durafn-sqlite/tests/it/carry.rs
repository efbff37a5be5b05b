//! A transaction that handed a turn back to this host stays open for the turn's commit: an
//! activity's result and the turn it triggers are one commit and one flush.

use std::time::Duration;

use crate::common::{activity, at, fetch, id, new_instance, turn};
use durafn_core::{EventKind, HistoryEvent, Payload, RuntimeStatus};
use durafn_sqlite::{Durability, SqliteOptions, SqliteStore};
use durafn_store::{
    ActivityCompletion, ActivityQueue, ActivityWorkItem, Committed, InstanceClaim, InstanceStore,
    LockToken, NewMessage, OrchestrationQueue, OrchestrationWorkItem, StoreError,
};

fn options(claimed_turn_wait: Duration) -> SqliteOptions {
    SqliteOptions {
        durability: Durability::Fsync,
        claimed_turn_wait,
        ..SqliteOptions::default()
    }
}

/// Runs instance "a" up to one scheduled activity and fetches that activity.
async fn scheduled(store: &SqliteStore) -> ActivityWorkItem {
    store
        .create_instance(new_instance("a", at(0)))
        .await
        .expect("create");
    let item = store
        .fetch_orchestration_work(fetch(at(1), 1))
        .await
        .expect("fetch")
        .remove(0);
    let mut c = turn(&item, RuntimeStatus::Running, at(1));
    c.activities = vec![activity("a", 0)];
    assert_eq!(
        store.commit_turns(vec![c]).await.expect("commit"),
        vec![Ok(Committed::default())]
    );
    store
        .fetch_activity_work(fetch(at(2), 1))
        .await
        .expect("fetch activity")
        .remove(0)
}

/// Completes `work` with a claim on its instance; returns the claimed turn.
async fn complete_claiming(store: &SqliteStore, work: &ActivityWorkItem) -> OrchestrationWorkItem {
    let completion = ActivityCompletion {
        id: work.id,
        lock: work.lock.clone(),
        result: NewMessage {
            instance_id: id("a"),
            execution_id: Some(work.activity.execution_id.clone()),
            event: HistoryEvent::new(
                at(3),
                EventKind::TaskCompleted {
                    task_scheduled_id: work.activity.task_id,
                    result: Payload::encode(&"done").expect("json"),
                },
            ),
            visible_at: None,
        },
        claim: Some(InstanceClaim {
            owner: "test-host".into(),
            until: at(60),
            now: at(3),
        }),
    };
    let mut done = store
        .complete_activities(vec![completion])
        .await
        .expect("complete");
    done.remove(0)
        .expect("completion")
        .turn
        .expect("the instance is claimed")
}

/// The history of "a" ends with the activity's result, and the activity is gone.
async fn assert_result_recorded(store: &SqliteStore) {
    let history = store.get_history(&id("a")).await.expect("history");
    assert!(
        history
            .iter()
            .any(|e| matches!(e.kind, EventKind::TaskCompleted { .. })),
        "{history:?}"
    );
    let left = store
        .fetch_activity_work(fetch(at(100), 10))
        .await
        .expect("fetch activity");
    assert!(left.is_empty(), "the completed activity is gone: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_and_the_turn_it_claimed_are_one_commit() {
    let dir = tempfile::tempdir().expect("dir");
    // Long enough that only the turn's commit can end the carry.
    let options = options(Duration::from_secs(3600));
    let store = SqliteStore::open(dir.path().join("hub.db"), options).expect("open");
    let work = scheduled(&store).await;
    let before = store.stats();
    let item = complete_claiming(&store, &work).await;
    assert_eq!(
        store.stats().batches,
        before.batches,
        "the result is answered before its commit"
    );
    // A turn that finishes the instance must be flushed, so it ends the carry.
    let c = turn(&item, RuntimeStatus::Completed, at(4));
    assert_eq!(
        store.commit_turns(vec![c]).await.expect("commit"),
        vec![Ok(Committed::default())]
    );
    let after = store.stats();
    assert_eq!(
        (
            after.batches - before.batches,
            after.flushes - before.flushes
        ),
        (1, 1),
        "one commit and one flush for the result and its turn"
    );
    assert_result_recorded(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_request_leaves_the_carried_result_committed() {
    let dir = tempfile::tempdir().expect("dir");
    let store = SqliteStore::open(
        dir.path().join("hub.db"),
        options(Duration::from_secs(3600)),
    )
    .expect("open");
    let work = scheduled(&store).await;
    let item = complete_claiming(&store, &work).await;
    // A turn under a stale lease fails while the result is carried.
    let mut stale = turn(&item, RuntimeStatus::Running, at(4));
    stale.lock = LockToken("stale".into());
    let results = store.commit_turns(vec![stale]).await.expect("call");
    assert!(
        matches!(results[0], Err(StoreError::LockLost(_))),
        "{results:?}"
    );
    // The result survived the failure, and the claimed turn still commits on it.
    let c = turn(&item, RuntimeStatus::Running, at(5));
    assert_eq!(
        store.commit_turns(vec![c]).await.expect("commit"),
        vec![Ok(Committed::default())]
    );
    assert_result_recorded(&store).await;
    assert_eq!(store.stats().failed_batches, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_carry_no_turn_joins_commits_by_itself() {
    let dir = tempfile::tempdir().expect("dir");
    let store = SqliteStore::open(dir.path().join("hub.db"), options(Duration::from_millis(1)))
        .expect("open");
    let work = scheduled(&store).await;
    let before = store.stats().batches;
    let _item = complete_claiming(&store, &work).await;
    // Without a turn to join it the carry ends on its own, within about a millisecond.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while store.stats().batches == before {
        assert!(
            std::time::Instant::now() < deadline,
            "the carried result was never committed"
        );
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_store_commits_what_it_carries() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("hub.db");
    let store = SqliteStore::open(&path, options(Duration::from_secs(3600))).expect("open");
    let work = scheduled(&store).await;
    let _item = complete_claiming(&store, &work).await;
    drop(store);

    // The result is there after a reopen, and the instance's lease was recorded with it: a
    // fetch before the lease runs out finds nothing, one after it the result.
    let store = SqliteStore::open(&path, SqliteOptions::default()).expect("reopen");
    let early = store
        .fetch_orchestration_work(fetch(at(4), 10))
        .await
        .expect("fetch");
    assert!(early.is_empty(), "the claim's lease holds: {early:?}");
    let late = store
        .fetch_orchestration_work(fetch(at(61), 10))
        .await
        .expect("fetch")
        .remove(0);
    assert!(
        late.messages
            .iter()
            .any(|m| matches!(m.event.kind, EventKind::TaskCompleted { .. })),
        "{late:?}"
    );
}
