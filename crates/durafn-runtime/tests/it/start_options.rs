//! Start options (version, trace context) kept with the instance, and the activity timeout.

use std::sync::Arc;
use std::time::Duration;

use durafn_core::{
    EventKind, FunctionError, OrchestrationContext, Registry, RuntimeStatus, TraceContext,
    activity_fn, orchestrator_fn,
};
use durafn_runtime::{Runtime, RuntimeOptions, StartOptions, StatusOptions};
use durafn_store::Store;
use durafn_store::memory::MemoryStore;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(20);

fn registry() -> Arc<Registry> {
    Arc::new(
        Registry::builder()
            .orchestrator(orchestrator_fn(
                "countdown",
                |ctx: OrchestrationContext, n: u32| async move {
                    if n > 0 {
                        ctx.continue_as_new(&(n - 1), false);
                    }
                    Ok::<_, FunctionError>(n)
                },
            ))
            .orchestrator(orchestrator_fn(
                "patient",
                |ctx: OrchestrationContext, _: ()| async move {
                    match ctx.call_activity::<String>("slow", &()).await {
                        Ok(s) => Ok::<_, FunctionError>(s),
                        Err(e) => Ok(format!("caught: {e}")),
                    }
                },
            ))
            .activity(activity_fn("slow", |_ctx, _: ()| async move {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok::<_, FunctionError>("finished".to_string())
            }))
            .build()
            .expect("registry"),
    )
}

fn start(options: RuntimeOptions) -> Runtime {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    Runtime::builder(store, registry()).options(options).start()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_and_trace_context_stay_with_the_instance() {
    let runtime = start(RuntimeOptions::default());
    let client = runtime.client();
    let trace = TraceContext {
        trace_parent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
        trace_state: None,
        span_id: None,
        span_start_time: None,
    };
    let id = client
        .start_new_with(
            "countdown",
            &2,
            StartOptions {
                instance_id: None,
                version: Some("1.4".into()),
                trace_context: Some(trace.clone()),
            },
        )
        .await
        .expect("start");
    let done = client
        .wait_for_completion(id.as_str(), WAIT)
        .await
        .expect("done");
    assert_eq!(done.runtime_status, RuntimeStatus::Completed);
    assert_eq!(
        done.version.as_deref(),
        Some("1.4"),
        "kept across continue-as-new"
    );
    let status = client
        .get_status(
            id.as_str(),
            StatusOptions {
                show_history: true,
                show_input: true,
            },
        )
        .await
        .expect("status")
        .expect("exists");
    let started = status
        .history
        .expect("history")
        .into_iter()
        .find_map(|e| match e.kind {
            EventKind::ExecutionStarted {
                version,
                parent_trace_context,
                ..
            } => Some((version, parent_trace_context)),
            _ => None,
        })
        .expect("the last execution's ExecutionStarted");
    assert_eq!(started, (Some("1.4".into()), Some(trace)));

    // A restart starts the same version again.
    let again = client.restart(id.as_str(), true).await.expect("restart");
    let restarted = client
        .wait_for_completion(again.as_str(), WAIT)
        .await
        .expect("done");
    assert_eq!(restarted.version.as_deref(), Some("1.4"));
    assert_eq!(restarted.output.expect("output").to_value(), json!(0));
    runtime.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_without_a_version_take_the_default() {
    let runtime = start(RuntimeOptions {
        default_version: Some("2".into()),
        ..RuntimeOptions::default()
    });
    let client = runtime.client();
    let plain = client
        .start_new("countdown", None, &0)
        .await
        .expect("start");
    let pinned = client
        .start_new_with(
            "countdown",
            &0,
            StartOptions {
                version: Some("1".into()),
                ..StartOptions::default()
            },
        )
        .await
        .expect("start");
    for (id, version) in [(plain, "2"), (pinned, "1")] {
        let done = client
            .wait_for_completion(id.as_str(), WAIT)
            .await
            .expect("done");
        assert_eq!(done.version.as_deref(), Some(version));
    }
    runtime.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_activity_over_the_function_timeout_fails_as_a_task() {
    let runtime = start(RuntimeOptions {
        activity_timeout: Some(Duration::from_millis(200)),
        ..RuntimeOptions::default()
    });
    let client = runtime.client();
    let id = client.start_new("patient", None, &()).await.expect("start");
    let done = client
        .wait_for_completion(id.as_str(), WAIT)
        .await
        .expect("the timeout ends the activity long before it would finish");
    assert_eq!(done.runtime_status, RuntimeStatus::Completed);
    let output = done.output.expect("output").to_value();
    let text = output.as_str().expect("a message");
    assert!(
        text.starts_with("caught: ")
            && text.contains("activity 'slow' was stopped")
            && text.contains("function timeout of 00:00:00.200"),
        "{text}"
    );
    runtime.shutdown().await;
}
