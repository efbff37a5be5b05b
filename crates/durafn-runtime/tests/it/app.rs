//! The function app the runtime tests run, and how to start a runtime over it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use std::time::Duration;
use tokio::sync::{Semaphore, watch};

use durafn_core::{
    ActivityContext, AppData, FunctionError, OrchestrationContext, Registry, RetryOptions,
    RuntimeStatus, TaskError, activity_fn, orchestrator_fn, when_all,
};
use durafn_runtime::{DurableClient, Runtime, RuntimeOptions, StatusOptions};
use durafn_store::Store;
use serde_json::{Value, json};

pub(crate) const WAIT: Duration = Duration::from_secs(20);

/// What the app's activities share with the test: `fail_once` fails its first call (for rewind
/// and retries); `slow` holds until the test lets it go (`release`), so the test sees how many
/// run at once (`running`, `max_running`) without waiting for any time to pass.
pub(crate) struct Flaky {
    pub(crate) failed_once: AtomicBool,
    pub(crate) running: watch::Sender<usize>,
    pub(crate) max_running: AtomicUsize,
    gate: Semaphore,
}

impl Default for Flaky {
    fn default() -> Self {
        Self {
            failed_once: AtomicBool::new(false),
            running: watch::channel(0).0,
            max_running: AtomicUsize::new(0),
            gate: Semaphore::new(0),
        }
    }
}

impl Flaky {
    /// Waits until `n` `slow` activities are running at once.
    pub(crate) async fn running(&self, n: usize) {
        let mut running = self.running.subscribe();
        tokio::time::timeout(WAIT, running.wait_for(|r| *r == n))
            .await
            .expect("activities start in time")
            .expect("open");
    }

    /// Lets `n` held `slow` activities finish.
    pub(crate) fn release(&self, n: usize) {
        self.gate.add_permits(n);
    }
}

pub(crate) fn registry() -> Arc<Registry> {
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
            .orchestrator(orchestrator_fn(
                "big",
                |ctx: OrchestrationContext, (text, copies, n, k): (String, usize, usize, usize)| async move {
                    // The activity gets `copies` of the text and returns `n` bytes; the output
                    // repeats them `k` times. A failed activity's code and message are the output.
                    let call = ctx.call_activity::<String>("blob", &(text.repeat(copies), n));
                    match call.await {
                        Ok(blob) => Ok::<_, FunctionError>(json!(blob.repeat(k))),
                        Err(TaskError::ActivityFailed { failure, .. }) => Ok(json!({
                            "code": failure.system.map(|s| s.code()),
                            "message": failure.message,
                        })),
                        Err(e) => Err(e.into()),
                    }
                },
            ))
            .activity(activity_fn(
                "blob",
                |_ctx: ActivityContext, (text, n): (String, usize)| async move {
                    assert!(text.bytes().all(|b| b == b'i'), "the input arrived intact");
                    Ok::<_, FunctionError>("o".repeat(n))
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
                    let mut now = 0;
                    flaky.running.send_modify(|r| {
                        *r += 1;
                        now = *r;
                    });
                    flaky.max_running.fetch_max(now, Ordering::SeqCst);
                    flaky.gate.acquire().await.expect("open").forget();
                    flaky.running.send_modify(|r| *r -= 1);
                    Ok::<_, FunctionError>(())
                },
            ))
            .build()
            .expect("registry builds"),
    )
}

pub(crate) struct Harness {
    pub(crate) runtime: Runtime,
    pub(crate) client: DurableClient,
    pub(crate) flaky: Arc<Flaky>,
}

pub(crate) fn start(store: Arc<dyn Store>, options: RuntimeOptions) -> Harness {
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

/// Waits until instance `id` finished. What the wait answers (in process, from the finishing
/// turn) must be what the task hub then says.
pub(crate) async fn done(client: &DurableClient, id: &str) -> durafn_runtime::InstanceStatus {
    let status = client
        .wait_for_completion(id, WAIT)
        .await
        .expect("completes in time");
    let stored = client
        .get_status(
            id,
            StatusOptions {
                show_input: true,
                ..StatusOptions::default()
            },
        )
        .await
        .expect("status")
        .expect("the instance exists");
    assert_eq!(status, stored, "the waited status is the stored one");
    status
}

/// Waits until instance `id` is in status `want`.
pub(crate) async fn wait_status(c: &DurableClient, id: &str, want: RuntimeStatus) {
    c.wait_for_status(id, StatusOptions::default(), WAIT, |s| {
        s.runtime_status == want
    })
    .await
    .unwrap_or_else(|e| panic!("{id} never became {want}: {e}"));
}
