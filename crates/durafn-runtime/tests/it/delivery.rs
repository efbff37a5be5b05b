//! Dead-lettering of work delivered too often, and graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use chrono::TimeDelta;
use durafn_core::RuntimeStatus;
use durafn_runtime::{Clock, RuntimeOptions, StatusOptions, SystemClock};

use crate::app::{self as common, WAIT};
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
    // Once the turn that schedules the activity is committed, its work item is queued.
    let history = StatusOptions {
        show_history: true,
        show_input: false,
    };
    h.client
        .wait_for_status("poison", history, WAIT, |s| {
            s.history
                .as_ref()
                .is_some_and(|h| h.iter().any(|e| e.kind.type_name() == "TaskScheduled"))
        })
        .await
        .expect("the activity is scheduled");
    for _ in 0..3 {
        let taken = store
            .fetch_activity_work(crashed_fetch())
            .await
            .expect("fetch");
        assert_eq!(taken.len(), 1, "the crashed host takes the activity again");
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
    let failure = status.failure.expect("failure");
    assert!(
        failure.is(durafn_core::SystemFailure::DeadLettered),
        "{failure:?}"
    );
    let message = failure.message;
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
    let failure = status.failure.expect("failure");
    assert_eq!(failure.error_type, "PoisonMessage");
    assert!(failure.is(durafn_core::SystemFailure::PoisonMessage));
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
    // Once all four activities run, shut down in the middle of them; they finish while the
    // runtime drains.
    h.flaky.running(4).await;
    let metrics_before = h
        .runtime
        .metrics()
        .activities
        .load(std::sync::atomic::Ordering::SeqCst);
    // The first poll of `shutdown` asks the dispatchers to stop; it cannot return while the
    // activities are held.
    let flaky = h.flaky.clone();
    let mut shutdown = std::pin::pin!(h.runtime.shutdown());
    let pending =
        std::future::poll_fn(|cx| Poll::Ready(shutdown.as_mut().poll(cx).is_pending())).await;
    assert!(pending, "shutdown waits for the running activities");
    flaky.release(4);
    shutdown.await;
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
