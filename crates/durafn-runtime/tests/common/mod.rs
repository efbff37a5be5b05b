//! The function app the runtime tests run, and the management-operation checks, written once
//! and run against every task hub backend.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use durafn_core::{
    ActivityContext, AppData, FunctionError, OrchestrationContext, Registry, RetryOptions,
    RuntimeStatus, TaskError, activity_fn, orchestrator_fn, when_all,
};
use durafn_runtime::{ClientError, DurableClient, Runtime, RuntimeOptions, StatusOptions};
use durafn_store::{InstanceFilter, Store};
use serde_json::{Value, json};

pub const WAIT: Duration = Duration::from_secs(20);

/// Flips after the first call, so an activity fails once and then succeeds (for rewind).
#[derive(Default)]
pub struct Flaky {
    pub failed_once: AtomicBool,
    pub running: AtomicUsize,
    pub max_running: AtomicUsize,
}

pub fn registry() -> Arc<Registry> {
    Arc::new(
        Registry::builder()
            .orchestrator(orchestrator_fn(
                "hello",
                |ctx: OrchestrationContext, _: Value| async move {
                    let mut out = Vec::new();
                    for city in ["Tokyo", "Seattle", "London", "Cairo", "Lima"] {
                        out.push(ctx.call_activity::<String>("say_hello", &city).await?);
                    }
                    Ok::<_, FunctionError>(out)
                },
            ))
            .orchestrator(orchestrator_fn(
                "approval",
                |ctx: OrchestrationContext, _: Value| async move {
                    let answer: String = ctx.wait_for_external_event("Approval").await?;
                    Ok::<_, FunctionError>(format!("approved by {answer}"))
                },
            ))
            .orchestrator(orchestrator_fn(
                "sleepy",
                |ctx: OrchestrationContext, ms: u64| async move {
                    let before = ctx.current_utc_datetime();
                    ctx.sleep(Duration::from_millis(ms)).await;
                    Ok::<_, FunctionError>((ctx.current_utc_datetime() - before).num_milliseconds())
                },
            ))
            .orchestrator(orchestrator_fn(
                "flaky",
                |ctx: OrchestrationContext, _: Value| async move {
                    let a: i64 = ctx.call_activity("add_one", &1).await?;
                    let b: i64 = ctx.call_activity("fail_once", &a).await?;
                    Ok::<_, FunctionError>(b)
                },
            ))
            .orchestrator(orchestrator_fn(
                "parent",
                |ctx: OrchestrationContext, fail: bool| async move {
                    match ctx
                        .call_sub_orchestrator::<i64>(
                            "child",
                            Some(&format!("{}-child", ctx.instance_id())),
                            &fail,
                        )
                        .await
                    {
                        Ok(v) => Ok::<_, FunctionError>(json!({"ok": v})),
                        Err(TaskError::SubOrchestrationFailed { failure, .. }) => {
                            Ok(json!({"failed": failure.message}))
                        }
                        Err(e) => Err(e.into()),
                    }
                },
            ))
            .orchestrator(orchestrator_fn(
                "child",
                |ctx: OrchestrationContext, fail: bool| async move {
                    let v: i64 = ctx.call_activity("add_one", &41).await?;
                    if fail {
                        return Err(FunctionError::msg("child gave up"));
                    }
                    Ok(v)
                },
            ))
            .orchestrator(orchestrator_fn(
                "counter",
                |ctx: OrchestrationContext, n: u32| async move {
                    if n < 3 {
                        ctx.continue_as_new(&(n + 1), false);
                    }
                    Ok::<_, FunctionError>(n)
                },
            ))
            .orchestrator(orchestrator_fn(
                "retrying",
                |ctx: OrchestrationContext, _: Value| async move {
                    let options = RetryOptions::new(Duration::from_millis(20), 3);
                    Ok::<_, FunctionError>(
                        ctx.call_activity_with_retry::<i64>("fail_once", &7, options)
                            .await?,
                    )
                },
            ))
            .orchestrator(orchestrator_fn(
                "fan",
                |ctx: OrchestrationContext, n: u32| async move {
                    let tasks = (0..n)
                        .map(|_| ctx.call_activity::<()>("slow", &()))
                        .collect();
                    when_all(tasks).await?;
                    Ok::<_, FunctionError>(n)
                },
            ))
            .activity(activity_fn(
                "say_hello",
                |_ctx: ActivityContext, city: String| async move {
                    Ok::<_, FunctionError>(format!("Hello {city}!"))
                },
            ))
            .activity(activity_fn(
                "add_one",
                |_ctx: ActivityContext, n: i64| async move { Ok::<_, FunctionError>(n + 1) },
            ))
            .activity(activity_fn(
                "fail_once",
                |ctx: ActivityContext, n: i64| async move {
                    let flaky = ctx.data::<Flaky>().expect("app data");
                    if !flaky.failed_once.swap(true, Ordering::SeqCst) {
                        return Err(FunctionError::msg("transient failure"));
                    }
                    Ok(n * 10)
                },
            ))
            .activity(activity_fn(
                "slow",
                |ctx: ActivityContext, _: ()| async move {
                    let flaky = ctx.data::<Flaky>().expect("app data");
                    let now = flaky.running.fetch_add(1, Ordering::SeqCst) + 1;
                    flaky.max_running.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(30)).await;
                    flaky.running.fetch_sub(1, Ordering::SeqCst);
                    Ok::<_, FunctionError>(())
                },
            ))
            .build()
            .expect("registry builds"),
    )
}

pub struct Harness {
    pub runtime: Runtime,
    pub client: DurableClient,
    pub flaky: Arc<Flaky>,
}

pub fn start(store: Arc<dyn Store>, options: RuntimeOptions) -> Harness {
    let flaky = Arc::new(Flaky::default());
    let mut data = AppData::default();
    data.insert_arc(flaky.clone());
    let runtime = Runtime::builder(store, registry())
        .options(options)
        .app_data(data)
        .start();
    let client = runtime.client();
    Harness {
        runtime,
        client,
        flaky,
    }
}

pub async fn done(client: &DurableClient, id: &str) -> durafn_runtime::InstanceStatus {
    client
        .wait_for_completion(id, WAIT)
        .await
        .expect("completes in time")
}

/// Every management operation, through the client, against one backend.
pub async fn management_operations(make: impl Fn() -> Arc<dyn Store>) {
    hello_cities(make()).await;
    start_rules(make()).await;
    status_options(make()).await;
    events(make()).await;
    terminate(make()).await;
    suspend_resume(make()).await;
    rewind(make()).await;
    restart(make()).await;
    purge(make()).await;
    list(make()).await;
    timers(make()).await;
    sub_orchestrations(make()).await;
    continue_as_new(make()).await;
    retries(make()).await;
    concurrency_limit(make()).await;
    no_cache(make()).await;
}

async fn hello_cities(store: Arc<dyn Store>) {
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

async fn start_rules(store: Arc<dyn Store>) {
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

async fn status_options(store: Arc<dyn Store>) {
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

async fn events(store: Arc<dyn Store>) {
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

async fn terminate(store: Arc<dyn Store>) {
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

async fn wait_status(c: &DurableClient, id: &str, want: RuntimeStatus) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let s = c
            .get_status(id, StatusOptions::default())
            .await
            .expect("status")
            .expect("exists");
        if s.runtime_status == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{id} never became {want}; it is {}",
            s.runtime_status
        );
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn suspend_resume(store: Arc<dyn Store>) {
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
    let history_len = |s: durafn_runtime::InstanceStatus| s.history.map(|h| h.len()).unwrap_or(0);
    // The event is recorded but not delivered: the instance stays suspended.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let s = c
            .get_status(
                "s1",
                StatusOptions {
                    show_history: true,
                    show_input: true,
                },
            )
            .await
            .expect("status")
            .expect("row");
        let has_event = s
            .history
            .as_ref()
            .is_some_and(|h| h.iter().any(|e| e.kind.type_name() == "EventRaised"));
        if has_event {
            assert_eq!(s.runtime_status, RuntimeStatus::Suspended);
            assert!(history_len(s) > 0);
            break;
        }
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    c.resume("s1", None).await.expect("resume");
    assert_eq!(
        done(c, "s1").await.output.expect("output").to_value(),
        json!("approved by bob")
    );
    h.runtime.shutdown().await;
}

async fn rewind(store: Arc<dyn Store>) {
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

async fn restart(store: Arc<dyn Store>) {
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

async fn purge(store: Arc<dyn Store>) {
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

async fn list(store: Arc<dyn Store>) {
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

async fn timers(store: Arc<dyn Store>) {
    let h = start(store, RuntimeOptions::default());
    let c = &h.client;
    c.start_new("sleepy", Some("z"), &150).await.expect("start");
    let s = done(c, "z").await;
    assert_eq!(s.runtime_status, RuntimeStatus::Completed);
    assert!(s.output.expect("output").decode::<i64>().expect("ms") >= 150);
    h.runtime.shutdown().await;
}

async fn sub_orchestrations(store: Arc<dyn Store>) {
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

async fn continue_as_new(store: Arc<dyn Store>) {
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

async fn retries(store: Arc<dyn Store>) {
    let h = start(store, RuntimeOptions::default());
    let c = &h.client;
    c.start_new("retrying", Some("r"), &())
        .await
        .expect("start");
    let s = done(c, "r").await;
    assert_eq!(s.output.expect("out").to_value(), json!(70));
    h.runtime.shutdown().await;
}

async fn concurrency_limit(store: Arc<dyn Store>) {
    let options = RuntimeOptions {
        max_concurrent_activities: 2,
        ..Default::default()
    };
    let h = start(store, options);
    let c = &h.client;
    c.start_new("fan", Some("f"), &8).await.expect("start");
    done(c, "f").await;
    let max = h.flaky.max_running.load(Ordering::SeqCst);
    assert!(
        (1..=2).contains(&max),
        "at most 2 activities ran at once, saw {max}"
    );
    h.runtime.shutdown().await;
}

async fn no_cache(store: Arc<dyn Store>) {
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
