//! Dead-lettering of work delivered too often, and graceful shutdown.

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use durafn_core::RuntimeStatus;
use durafn_runtime::{Clock, RuntimeOptions, StatusOptions, SystemClock};
use durafn_store::memory::MemoryStore;
use durafn_store::{FetchRequest, Store};

/// Takes work with leases that are already over, as a host that crashed repeatedly would leave
/// it: each call happens "a second later" in the past, with a one-millisecond lease.
fn crashed_fetch() -> FetchRequest {
    static CALLS: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    FetchRequest {
        owner: "crashed-host".into(),
        max_items: 100,
        lease: TimeDelta::milliseconds(1),
        now: SystemClock.now() - TimeDelta::hours(1) + TimeDelta::seconds(n),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_activity_delivered_too_often_fails_instead_of_looping() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    // An orchestration-only host queues the activity; a host that keeps crashing takes it.
    let orchestrator_only = RuntimeOptions {
        run_activities: false,
        ..Default::default()
    };
    let h = common::start(store.clone(), orchestrator_only);
    h.client
        .start_new("flaky", Some("poison"), &())
        .await
        .expect("start");
    let deadline = tokio::time::Instant::now() + common::WAIT;
    let mut crashes = 0;
    while crashes < 3 {
        let taken = store
            .fetch_activity_work(crashed_fetch())
            .await
            .expect("fetch");
        crashes += taken.len();
        assert!(
            tokio::time::Instant::now() < deadline,
            "the activity was never queued"
        );
        if taken.is_empty() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    h.runtime.shutdown().await;
    let h = common::start(
        store.clone(),
        RuntimeOptions {
            max_deliveries: 2,
            ..Default::default()
        },
    );
    let status = common::done(&h.client, "poison").await;
    assert_eq!(status.runtime_status, RuntimeStatus::Failed);
    let message = status.failure.expect("failure").message;
    assert!(
        message.contains("delivered 4 times") && message.contains("add_one"),
        "{message}"
    );
    h.runtime.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_whose_turns_keep_crashing_is_failed() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let client = durafn_runtime::DurableClient::detached(store.clone(), None);
    client
        .start_new("hello", Some("stuck"), &())
        .await
        .expect("start");
    for _ in 0..3 {
        let items = store
            .fetch_orchestration_work(crashed_fetch())
            .await
            .expect("fetch");
        assert_eq!(items.len(), 1);
    }
    let h = common::start(
        store.clone(),
        RuntimeOptions {
            max_deliveries: 2,
            ..Default::default()
        },
    );
    let status = common::done(&h.client, "stuck").await;
    assert_eq!(status.runtime_status, RuntimeStatus::Failed);
    assert_eq!(status.failure.expect("failure").error_type, "PoisonMessage");
    h.runtime.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_running_activities_finish_and_commit() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let h = common::start(store.clone(), RuntimeOptions::default());
    h.client
        .start_new("fan", Some("drain"), &4)
        .await
        .expect("start");
    // Wait until activities are running, then shut down in the middle of them.
    let deadline = tokio::time::Instant::now() + common::WAIT;
    while h.flaky.running.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "activities never started"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let metrics_before = h
        .runtime
        .metrics()
        .activities
        .load(std::sync::atomic::Ordering::SeqCst);
    h.runtime.shutdown().await;
    // Nothing is left leased: the work that was running has been committed.
    let leftover = store
        .fetch_activity_work(FetchRequest {
            now: SystemClock.now(),
            ..crashed_fetch()
        })
        .await
        .expect("fetch");
    assert!(
        leftover.is_empty(),
        "running activities were committed before shutdown returned: {leftover:?} (committed before: {metrics_before})"
    );
    let h = common::start(store, RuntimeOptions::default());
    assert_eq!(
        common::done(&h.client, "drain").await.runtime_status,
        RuntimeStatus::Completed
    );
    let s = h
        .client
        .get_status("drain", StatusOptions::default())
        .await
        .expect("s")
        .expect("row");
    assert_eq!(s.output.expect("out").to_value(), serde_json::json!(4));
    h.runtime.shutdown().await;
}

#[tokio::test(flavor = "current_thread")]
async fn shutdown_right_after_start_returns() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let h = common::start(store, RuntimeOptions::default());
    h.client.start_new("hello", None, &()).await.expect("start");
    tokio::time::timeout(Duration::from_secs(20), h.runtime.shutdown())
        .await
        .expect("shutdown returns even when no dispatcher was waiting at that moment");
}
