//! Concurrent calls share transactions, and each still gets its own result.

use std::sync::Arc;

use crate::common::{activity, at, fetch, id, new_instance, started, turn};
use durafn_core::{EventKind, RuntimeStatus};
use durafn_sqlite::{Durability, SqliteOptions, SqliteStore};
use durafn_store::{
    ActivityQueue, AdminStore, Committed, InstanceClaim, InstanceFilter, InstanceStore, LockToken,
    OrchestrationQueue, StoreError,
};

const N: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_are_group_committed() {
    let dir = tempfile::tempdir().expect("dir");
    let options = SqliteOptions {
        durability: Durability::Fsync,
        ..SqliteOptions::default()
    };
    let store = Arc::new(SqliteStore::open(dir.path().join("hub.db"), options).expect("open"));

    // N concurrent creates.
    let creates: Vec<_> = (0..N)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .create_instance(new_instance(&format!("i{i:03}"), at(0)))
                    .await
            })
        })
        .collect();
    for task in creates {
        task.await.expect("task").expect("create");
    }
    let items = store
        .fetch_orchestration_work(fetch(at(1), 10 * N))
        .await
        .expect("fetch");
    assert_eq!(items.len(), N);

    // N concurrent commits; every tenth under a stale lease.
    let commits: Vec<_> = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let store = Arc::clone(&store);
            let mut c = turn(item, RuntimeStatus::Running, at(2));
            c.activities = vec![activity(item.instance_id.as_str(), 0)];
            if i % 10 == 0 {
                c.lock = LockToken("stale".into());
            }
            tokio::spawn(async move { (i, store.commit_turns(vec![c]).await) })
        })
        .collect();
    for task in commits {
        let (i, results) = task.await.expect("task");
        let results = results.expect("call");
        if i % 10 == 0 {
            assert!(
                matches!(results[0], Err(StoreError::LockLost(_))),
                "{results:?}"
            );
        } else {
            assert_eq!(results, vec![Ok(Committed::default())]);
        }
    }

    for (i, item) in items.iter().enumerate() {
        let row = store
            .get_instance(&item.instance_id)
            .await
            .expect("get")
            .expect("row");
        let history = store.get_history(&item.instance_id).await.expect("history");
        if i % 10 == 0 {
            assert_eq!(
                (row.status, row.history_len, history.len()),
                (RuntimeStatus::Pending, 0, 0)
            );
        } else {
            assert_eq!(
                (row.status, row.history_len, history.len()),
                (RuntimeStatus::Running, 3, 3)
            );
            assert!(matches!(
                history[1].kind,
                EventKind::ExecutionStarted { .. }
            ));
        }
    }
    let acts = store
        .fetch_activity_work(fetch(at(3), 10 * N))
        .await
        .expect("fetch");
    assert_eq!(acts.len(), N - N / 10);

    let stats = store.stats();
    assert_eq!(stats.failed_batches, 0);
    assert_eq!(stats.requests, (2 * N + 2) as u64);
    assert!(
        stats.batches < stats.requests,
        "concurrent requests should share transactions: {stats:?}"
    );
    assert!(
        stats.flushes > 0 && stats.flushes <= stats.batches,
        "one flush covers one batch or more: {stats:?}"
    );
}

/// Under `Durability::Fsync` a write is answered only after a flush of the log has made it
/// durable, while a batch of fetches alone is answered without one; without that durability
/// nothing is flushed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_wait_for_a_flush_and_fetches_do_not() {
    let dir = tempfile::tempdir().expect("dir");
    let options = SqliteOptions {
        durability: Durability::Fsync,
        ..SqliteOptions::default()
    };
    let store = SqliteStore::open(dir.path().join("hub.db"), options).expect("open");
    store
        .create_instance(new_instance("a", at(0)))
        .await
        .expect("create");
    assert_eq!(store.stats().flushes, 1, "the create was flushed");
    let item = store
        .fetch_orchestration_work(fetch(at(1), 1))
        .await
        .expect("fetch")
        .remove(0);
    assert_eq!(store.stats().flushes, 1, "a fetch needs no flush");
    let c = turn(&item, RuntimeStatus::Completed, at(2));
    assert_eq!(
        store.commit_turns(vec![c]).await.expect("commit"),
        vec![Ok(Committed::default())]
    );
    assert_eq!(store.stats().flushes, 2, "the finishing turn was flushed");
    drop(store);

    let relaxed =
        SqliteStore::open(dir.path().join("other.db"), SqliteOptions::default()).expect("open");
    relaxed
        .create_instance(new_instance("b", at(0)))
        .await
        .expect("create");
    assert_eq!(relaxed.stats().flushes, 0);
}

/// Under `Durability::Fsync` a claiming start hands its first turn back at its commit, and the
/// turn's flush is the one that makes the creation durable: one flush for both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claimed_start_shares_its_first_turns_flush() {
    let dir = tempfile::tempdir().expect("dir");
    let options = SqliteOptions {
        durability: Durability::Fsync,
        // Long enough that only the turn's commit can flush the creation.
        start_flush_wait: std::time::Duration::from_secs(3600),
        ..SqliteOptions::default()
    };
    let store = SqliteStore::open(dir.path().join("hub.db"), options).expect("open");
    let claim = InstanceClaim {
        owner: "host".into(),
        until: at(60),
        now: at(0),
    };
    let start = store
        .create_and_claim(new_instance("a", at(0)), claim)
        .await
        .expect("create");
    let item = start.turn.expect("the first turn is claimed");
    assert_eq!(store.stats().flushes, 0, "the turn came before any flush");
    let mut durable = std::pin::pin!(start.durable.wait());
    assert!(
        poll_once(&mut durable).await.is_none(),
        "the creation is not yet said to be durable"
    );
    let c = turn(&item, RuntimeStatus::Completed, at(2));
    assert_eq!(
        store.commit_turns(vec![c]).await.expect("commit"),
        vec![Ok(Committed::default())]
    );
    durable.await.expect("the creation is durable");
    assert_eq!(
        store.stats().flushes,
        1,
        "one flush for the creation and the turn"
    );
}

/// Under `Durability::Fsync` a turn that finishes no instance is answered at its commit, before
/// any flush, and the flush of a turn that finishes one makes both durable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_that_finishes_nothing_is_answered_before_its_flush() {
    let dir = tempfile::tempdir().expect("dir");
    // Long enough that only the finishing turn can flush the running one.
    let store = fsync_store(dir.path(), std::time::Duration::from_secs(3600));
    let items = started(&store, &["a", "b"]).await;
    let before = store.stats().flushes;
    commit_ok(&store, turn(&items[0], RuntimeStatus::Running, at(2))).await;
    assert_eq!(store.stats().flushes, before, "answered before a flush");
    commit_ok(&store, turn(&items[1], RuntimeStatus::Completed, at(3))).await;
    assert_eq!(
        store.stats().flushes,
        before + 1,
        "one flush for the running turn and the finishing one"
    );
}

/// A turn answered before its flush is flushed within `start_flush_wait` all the same, with no
/// other write to share a flush with.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_turns_flush_follows_within_the_wait() {
    let dir = tempfile::tempdir().expect("dir");
    let store = fsync_store(dir.path(), SqliteOptions::default().start_flush_wait);
    let items = started(&store, &["a"]).await;
    let before = store.stats().flushes;
    commit_ok(&store, turn(&items[0], RuntimeStatus::Running, at(2))).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while store.stats().flushes == before {
        assert!(
            std::time::Instant::now() < deadline,
            "the running turn was never flushed"
        );
        tokio::task::yield_now().await;
    }
}

/// A store that flushes its log, with the given wait for deferred durability.
fn fsync_store(dir: &std::path::Path, start_flush_wait: std::time::Duration) -> SqliteStore {
    let options = SqliteOptions {
        durability: Durability::Fsync,
        start_flush_wait,
        ..SqliteOptions::default()
    };
    SqliteStore::open(dir.join("hub.db"), options).expect("open")
}

/// Commits one turn, which must succeed.
async fn commit_ok(store: &SqliteStore, commit: durafn_store::TurnCommit) {
    assert_eq!(
        store.commit_turns(vec![commit]).await.expect("commit"),
        vec![Ok(Committed::default())]
    );
}

/// Polls `future` once: its output if it is ready, else `None`.
async fn poll_once<F: Future + Unpin>(future: &mut F) -> Option<F::Output> {
    std::future::poll_fn(|cx| match std::pin::Pin::new(&mut *future).poll(cx) {
        std::task::Poll::Ready(out) => std::task::Poll::Ready(Some(out)),
        std::task::Poll::Pending => std::task::Poll::Ready(None),
    })
    .await
}

/// Many turns of one instance appended in sequence keep a gap-free history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_continue_the_sequence() {
    let dir = tempfile::tempdir().expect("dir");
    let store =
        SqliteStore::open(dir.path().join("hub.db"), SqliteOptions::default()).expect("open");
    store
        .create_instance(new_instance("a", at(0)))
        .await
        .expect("create");
    for step in 1..=20 {
        let item = store
            .fetch_orchestration_work(fetch(at(step), 1))
            .await
            .expect("fetch")
            .remove(0);
        let mut c = turn(&item, RuntimeStatus::Running, at(step));
        c.messages = vec![crate::common::raised("a", "next", at(step))];
        assert_eq!(
            store.commit_turns(vec![c]).await.expect("commit"),
            vec![Ok(Committed::default())]
        );
    }
    let history = store.get_history(&id("a")).await.expect("history");
    assert_eq!(history.len(), 60);
    let row = store
        .get_instance(&id("a"))
        .await
        .expect("get")
        .expect("row");
    assert_eq!(row.history_len, 60);
    let page = store
        .list_instances(&InstanceFilter::default(), 10, None)
        .await
        .expect("list");
    assert_eq!(page.instances, vec![row]);
}

/// Two handles on one file (as two processes would be) never hand out the same work twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_handles_on_one_file_share_the_leases() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("hub.db");
    let a = Arc::new(SqliteStore::open(&path, SqliteOptions::default()).expect("open a"));
    let b = Arc::new(SqliteStore::open(&path, SqliteOptions::default()).expect("open b"));
    let creates: Vec<_> = (0..50)
        .map(|i| {
            let store = if i % 2 == 0 {
                Arc::clone(&a)
            } else {
                Arc::clone(&b)
            };
            tokio::spawn(async move {
                store
                    .create_instance(new_instance(&format!("x{i:02}"), at(0)))
                    .await
            })
        })
        .collect();
    for task in creates {
        task.await.expect("task").expect("create");
    }
    let (from_a, from_b) = tokio::join!(
        a.fetch_orchestration_work(fetch(at(1), 30)),
        b.fetch_orchestration_work(fetch(at(1), 30)),
    );
    let (from_a, from_b) = (from_a.expect("fetch a"), from_b.expect("fetch b"));
    let mut ids: Vec<String> = from_a
        .iter()
        .chain(from_b.iter())
        .map(|i| i.instance_id.to_string())
        .collect();
    assert_eq!(ids.len(), 50);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 50, "no instance was handed out twice");
    // A lease taken through one handle is honoured by the other.
    let item = &from_a[0];
    let c = turn(item, RuntimeStatus::Running, at(2));
    assert_eq!(
        b.commit_turns(vec![c]).await.expect("commit"),
        vec![Ok(Committed::default())]
    );
    assert_eq!(
        a.get_instance(&item.instance_id)
            .await
            .expect("get")
            .expect("row")
            .status,
        RuntimeStatus::Running
    );
}
