//! Every management operation through the client, written once and run against every task
//! hub backend (see `backends.rs`), one test per operation and backend.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use durafn_core::RuntimeStatus;
use durafn_runtime::{ClientError, RuntimeOptions, StatusOptions};
use durafn_store::{InstanceFilter, Store};
use serde_json::json;

use crate::app::{WAIT, done, start, wait_status};

pub(crate) async fn hello_cities(store: Arc<dyn Store>) {
    let h = start(store, RuntimeOptions::default());
    let id = h.client.start_new("hello", None, &()).await.expect("start");
    let status = done(&h.client, id.as_str()).await;
    assert_eq!(status.runtime_status, RuntimeStatus::Completed);
    assert_eq!(
        status.output.expect("output").to_value(),
        json!([
            "Hello Tokyo!",
            "Hello Seattle!",
            "Hello London!",
            "Hello Cairo!",
            "Hello Lima!"
        ])
    );
    h.runtime.shutdown().await;
}

pub(crate) async fn start_rules(store: Arc<dyn Store>) {
    let h = start(store, RuntimeOptions::default());
    let c = &h.client;
    c.start_new("approval", Some("job-1"), &())
        .await
        .expect("start");
    let dup = c.start_new("approval", Some("job-1"), &()).await;
    assert!(
        matches!(dup, Err(ClientError::InstanceExists { .. })),
        "{dup:?}"
    );
    assert!(matches!(
        c.start_new("approval", Some("a/b"), &()).await,
        Err(ClientError::InvalidInstanceId(_))
    ));
    assert!(matches!(
        c.start_new("approval", Some(&"x".repeat(257)), &()).await,
        Err(ClientError::InvalidInstanceId(_))
    ));
    assert!(matches!(
        c.start_new("nope", None, &()).await,
        Err(ClientError::UnknownOrchestrator(_))
    ));
    c.terminate("job-1", "done testing")
        .await
        .expect("terminate");
    done(c, "job-1").await;
    c.start_new("hello", Some("job-1"), &())
        .await
        .expect("a finished id can be reused");
    assert_eq!(
        done(c, "job-1").await.runtime_status,
        RuntimeStatus::Completed
    );
    h.runtime.shutdown().await;
}

pub(crate) async fn status_options(store: Arc<dyn Store>) {
    let h = start(store, RuntimeOptions::default());
    let c = &h.client;
    c.start_new("hello", Some("s1"), &json!({"x": 1}))
        .await
        .expect("start");
    done(c, "s1").await;
    let plain = c
        .get_status("s1", StatusOptions::default())
        .await
        .expect("status")
        .expect("exists");
    assert_eq!(plain.input.expect("input").to_value(), json!({"x": 1}));
    assert!(plain.history.is_none());
    let full = c
        .get_status(
            "s1",
            StatusOptions {
                show_history: true,
                show_input: false,
            },
        )
        .await
        .expect("status")
        .expect("exists");
    assert!(full.input.is_none());
    let history = full.history.expect("history");
    assert_eq!(
        history.first().map(|e| e.kind.type_name()),
        Some("OrchestratorStarted")
    );
    let completions = history
        .iter()
        .filter(|e| e.kind.type_name() == "ExecutionCompleted")
        .count();
    assert_eq!(completions, 1);
    assert!(
        c.get_status("missing", StatusOptions::default())
            .await
            .expect("status")
            .is_none()
    );
    h.runtime.shutdown().await;
}

pub(crate) async fn events(store: Arc<dyn Store>) {
    let h = start(store, RuntimeOptions::default());
    let c = &h.client;
    c.start_new("approval", Some("e1"), &())
        .await
        .expect("start");
    c.raise_event("e1", "Approval", &"ann")
        .await
        .expect("raise");
    assert_eq!(
        done(c, "e1").await.output.expect("output").to_value(),
        json!("approved by ann")
    );
    assert!(matches!(
        c.raise_event("e1", "Approval", &"late").await,
        Err(ClientError::Finished { .. })
    ));
    assert!(matches!(
        c.raise_event("ghost", "Approval", &1).await,
        Err(ClientError::NotFound(_))
    ));
    h.runtime.shutdown().await;
}

pub(crate) async fn terminate(store: Arc<dyn Store>) {
    let h = start(store, RuntimeOptions::default());
    let c = &h.client;
    c.start_new("approval", Some("t1"), &())
        .await
        .expect("start");
    c.terminate("t1", "no longer needed")
        .await
        .expect("terminate");
    let status = done(c, "t1").await;
    assert_eq!(status.runtime_status, RuntimeStatus::Terminated);
    assert_eq!(
        status.output.expect("reason").to_value(),
        json!("no longer needed")
    );
    assert!(matches!(
        c.terminate("t1", "again").await,
        Err(ClientError::Finished { .. })
    ));
    h.runtime.shutdown().await;
}

pub(crate) async fn suspend_resume(store: Arc<dyn Store>) {
    let h = start(store, RuntimeOptions::default());
    let c = &h.client;
    c.start_new("approval", Some("s1"), &())
        .await
        .expect("start");
    wait_status(c, "s1", RuntimeStatus::Running).await;
    c.suspend("s1", Some("maintenance")).await.expect("suspend");
    wait_status(c, "s1", RuntimeStatus::Suspended).await;
    c.raise_event("s1", "Approval", &"bob")
        .await
        .expect("events queue while suspended");
    // The event is recorded but not delivered: the instance stays suspended.
    let s = c
        .wait_for_status(
            "s1",
            StatusOptions {
                show_history: true,
                show_input: true,
            },
            WAIT,
            |s| {
                s.history
                    .as_ref()
                    .is_some_and(|h| h.iter().any(|e| e.kind.type_name() == "EventRaised"))
            },
        )
        .await
        .expect("the event is recorded");
    assert_eq!(s.runtime_status, RuntimeStatus::Suspended);
    c.resume("s1", None).await.expect("resume");
    assert_eq!(
        done(c, "s1").await.output.expect("output").to_value(),
        json!("approved by bob")
    );
    h.runtime.shutdown().await;
}

pub(crate) async fn rewind(store: Arc<dyn Store>) {
    let h = start(store, RuntimeOptions::default());
    let c = &h.client;
    c.start_new("flaky", Some("r1"), &()).await.expect("start");
    let failed = done(c, "r1").await;
    assert_eq!(failed.runtime_status, RuntimeStatus::Failed);
    assert!(
        failed
            .failure
            .expect("failure")
            .message
            .contains("transient failure")
    );
    assert!(matches!(
        c.rewind("nope", None).await,
        Err(ClientError::NotFound(_))
    ));
    c.rewind("r1", Some("fixed it")).await.expect("rewind");
    // Rewind is asynchronous, like every operator request: the status stays Failed until the
    // request is processed.
    wait_status(c, "r1", RuntimeStatus::Completed).await;
    let status = done(c, "r1").await;
    assert_eq!(
        status.runtime_status,
        RuntimeStatus::Completed,
        "{status:?}"
    );
    assert_eq!(status.output.expect("output").to_value(), json!(20));
    assert!(matches!(
        c.rewind("r1", None).await,
        Err(ClientError::NotFailed { .. })
    ));
    h.runtime.shutdown().await;
}

pub(crate) async fn restart(store: Arc<dyn Store>) {
    let h = start(store, RuntimeOptions::default());
    let c = &h.client;
    c.start_new("hello", Some("r1"), &json!({"k": "v"}))
        .await
        .expect("start");
    done(c, "r1").await;
    let new_id = c.restart("r1", true).await.expect("restart new");
    assert_ne!(new_id.as_str(), "r1");
    let again = done(c, new_id.as_str()).await;
    assert_eq!(again.name, "hello");
    let same = c.restart("r1", false).await.expect("restart same");
    assert_eq!(same.as_str(), "r1");
    let s = done(c, "r1").await;
    assert_eq!(s.runtime_status, RuntimeStatus::Completed);
    let input = c
        .get_status("r1", StatusOptions::default())
        .await
        .expect("s")
        .expect("row")
        .input
        .expect("input");
    assert_eq!(input.to_value(), json!({"k": "v"}));
    c.start_new("approval", Some("busy"), &())
        .await
        .expect("start");
    assert!(matches!(
        c.restart("busy", false).await,
        Err(ClientError::InstanceExists { .. })
    ));
    h.runtime.shutdown().await;
}

pub(crate) async fn purge(store: Arc<dyn Store>) {
    let h = start(store, RuntimeOptions::default());
    let c = &h.client;
    for i in 0..3 {
        c.start_new("hello", Some(&format!("p{i}")), &())
            .await
            .expect("start");
        done(c, &format!("p{i}")).await;
    }
    c.start_new("approval", Some("running"), &())
        .await
        .expect("start");
    assert!(c.purge("p0").await.expect("purge"));
    assert!(!c.purge("p0").await.expect("purge again"));
    assert!(
        c.get_status("p0", StatusOptions::default())
            .await
            .expect("s")
            .is_none()
    );
    assert!(matches!(
        c.purge("running").await,
        Err(ClientError::InstanceExists { .. })
    ));
    let filter = InstanceFilter {
        statuses: vec![RuntimeStatus::Completed],
        ..Default::default()
    };
    assert_eq!(c.purge_where(&filter).await.expect("purge where"), 2);
    assert!(
        c.get_status("running", StatusOptions::default())
            .await
            .expect("s")
            .is_some()
    );
    h.runtime.shutdown().await;
}

pub(crate) async fn list(store: Arc<dyn Store>) {
    let h = start(store, RuntimeOptions::default());
    let c = &h.client;
    for i in 0..5 {
        c.start_new("approval", Some(&format!("wait-{i}")), &())
            .await
            .expect("start");
    }
    c.start_new("hello", Some("other"), &())
        .await
        .expect("start");
    done(c, "other").await;
    let filter = InstanceFilter {
        name: Some("approval".into()),
        instance_id_prefix: Some("wait-".into()),
        ..Default::default()
    };
    let first = c.list(&filter, 2, None).await.expect("list");
    assert_eq!(first.instances.len(), 2);
    let token = first.continuation.expect("more pages");
    let second = c.list(&filter, 10, Some(&token)).await.expect("list");
    assert_eq!(second.instances.len(), 3);
    let done_only = InstanceFilter {
        statuses: vec![RuntimeStatus::Completed],
        ..Default::default()
    };
    let completed = c.list(&done_only, 10, None).await.expect("list");
    assert_eq!(completed.instances.len(), 1);
    h.runtime.shutdown().await;
}

pub(crate) async fn timers(store: Arc<dyn Store>) {
    let h = start(store, RuntimeOptions::default());
    let c = &h.client;
    c.start_new("sleepy", Some("z"), &150).await.expect("start");
    let s = done(c, "z").await;
    assert_eq!(s.runtime_status, RuntimeStatus::Completed);
    assert!(s.output.expect("output").decode::<i64>().expect("ms") >= 150);
    h.runtime.shutdown().await;
}

pub(crate) async fn sub_orchestrations(store: Arc<dyn Store>) {
    let h = start(store, RuntimeOptions::default());
    let c = &h.client;
    c.start_new("parent", Some("ok"), &false)
        .await
        .expect("start");
    assert_eq!(
        done(c, "ok").await.output.expect("out").to_value(),
        json!({"ok": 42})
    );
    c.start_new("parent", Some("bad"), &true)
        .await
        .expect("start");
    assert_eq!(
        done(c, "bad").await.output.expect("out").to_value(),
        json!({"failed": "child gave up"})
    );
    assert_eq!(
        done(c, "bad-child").await.runtime_status,
        RuntimeStatus::Failed
    );
    h.runtime.shutdown().await;
}

pub(crate) async fn continue_as_new(store: Arc<dyn Store>) {
    let h = start(store, RuntimeOptions::default());
    let c = &h.client;
    c.start_new("counter", Some("c"), &0).await.expect("start");
    let s = done(c, "c").await;
    assert_eq!(s.output.expect("out").to_value(), json!(3));
    let s = c
        .get_status(
            "c",
            StatusOptions {
                show_history: true,
                show_input: true,
            },
        )
        .await
        .expect("s")
        .expect("row");
    assert_eq!(
        s.input.expect("input").to_value(),
        json!(3),
        "the last execution's input"
    );
    let history = s.history.expect("history");
    assert_eq!(
        history
            .iter()
            .filter(|e| e.kind.type_name() == "ExecutionStarted")
            .count(),
        1,
        "history restarts each execution"
    );
    h.runtime.shutdown().await;
}

pub(crate) async fn retries(store: Arc<dyn Store>) {
    let h = start(store, RuntimeOptions::default());
    let c = &h.client;
    c.start_new("retrying", Some("r"), &())
        .await
        .expect("start");
    let s = done(c, "r").await;
    assert_eq!(s.output.expect("out").to_value(), json!(70));
    assert_eq!(
        h.runtime.metrics().retries.load(Ordering::Relaxed),
        1,
        "the one failed attempt was retried once, and counted once"
    );
    h.runtime.shutdown().await;
}

pub(crate) async fn concurrency_limit(store: Arc<dyn Store>) {
    let options = RuntimeOptions {
        max_concurrent_activities: 2,
        ..Default::default()
    };
    let h = start(store.clone(), options);
    let c = &h.client;
    c.start_new("fan", Some("f"), &8).await.expect("start");
    // Each activity is held until let go: at every moment as many run as the limit allows, and
    // no more are leased to this host (claimed by the turn that scheduled them or fetched).
    for remaining in (1..=8).rev() {
        h.flaky.running(remaining.min(2)).await;
        let now = durafn_runtime::Clock::now(&durafn_runtime::SystemClock);
        let health = store.hub_health(now).await.expect("health");
        assert!(
            health.activities.leased <= 2,
            "{} activities leased with a limit of 2",
            health.activities.leased
        );
        h.flaky.release(1);
    }
    done(c, "f").await;
    let max = h.flaky.max_running.load(Ordering::SeqCst);
    assert_eq!(max, 2, "two activities ran at once, never more");
    h.runtime.shutdown().await;
}

pub(crate) async fn no_cache(store: Arc<dyn Store>) {
    let options = RuntimeOptions {
        instance_cache_size: 0,
        ..Default::default()
    };
    let h = start(store, options);
    let c = &h.client;
    c.start_new("hello", Some("nc"), &()).await.expect("start");
    assert_eq!(done(c, "nc").await.runtime_status, RuntimeStatus::Completed);
    assert!(
        h.runtime.metrics().cache_misses.load(Ordering::Relaxed) >= 6,
        "every turn replayed"
    );
    assert_eq!(h.runtime.cached_instances(), 0);
    h.runtime.shutdown().await;
}

/// The activities a turn schedules are leased to this host by the turn's commit, and the turns
/// their results trigger by the results' commits, and run without being fetched. Each of the
/// five runs once. (A fetch that holds every free slot at the moment a turn commits takes that
/// turn's activity instead, so on a store whose fetch takes time not every one is handed off;
/// `handoff.rs` checks the exact count where none does.)
pub(crate) async fn activities_are_handed_off(store: Arc<dyn Store>) {
    let h = start(store, RuntimeOptions::default());
    let c = &h.client;
    c.start_new("hello", Some("h"), &()).await.expect("start");
    assert_eq!(done(c, "h").await.runtime_status, RuntimeStatus::Completed);
    let metrics = h.runtime.metrics();
    assert!(metrics.activities_handed_off.load(Ordering::Relaxed) >= 1);
    assert!(metrics.turns_handed_off.load(Ordering::Relaxed) >= 1);
    assert_eq!(metrics.activities.load(Ordering::Relaxed), 5);
    h.runtime.shutdown().await;
}
