//! With a seeded `IdGen` and a `ManualClock` under paused time, a whole workload (activities,
//! timers, sub-orchestrations, events, entities) runs the same way every time: two runs give
//! byte-identical histories, instance ids and entity states.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use durafn_core::{
    ActivityContext, EntityContext, EntityId, FunctionError, OrchestrationContext, Registry,
    RuntimeStatus, activity_fn, entity_fn, orchestrator_fn, when_all,
};
use durafn_runtime::{ManualClock, Runtime, SeededIds, StatusOptions};
use durafn_store::memory::MemoryStore;
use durafn_store::{InstanceFilter, Store};
use serde_json::json;

/// Time is virtual here: waiting costs nothing, and a durable timer takes no real time.
const WAIT: Duration = Duration::from_secs(3600);

fn registry() -> Arc<Registry> {
    let registry = Registry::builder()
        .orchestrator(orchestrator_fn(
            "workload",
            |ctx: OrchestrationContext, city: String| async move {
                let hello: String = ctx.call_activity("greet", &city).await?;
                ctx.sleep(Duration::from_secs(60)).await;
                let child: i64 = ctx.call_sub_orchestrator("child", None, &20).await?;
                let counter = EntityId::new("counter", &city);
                ctx.signal_entity(&counter, "add", &1)?;
                let total: i64 = ctx.call_entity(&counter, "add", &child).await?;
                let approval: String = ctx.wait_for_external_event("approval").await?;
                let pair = when_all(vec![
                    ctx.call_activity::<i64>("double", &1),
                    ctx.call_activity::<i64>("double", &2),
                ])
                .await?;
                Ok::<_, FunctionError>(json!([
                    hello,
                    child,
                    total,
                    approval,
                    pair,
                    ctx.new_guid().to_string()
                ]))
            },
        ))
        .orchestrator(orchestrator_fn(
            "child",
            |ctx: OrchestrationContext, n: i64| async move {
                let doubled: i64 = ctx.call_activity("double", &n).await?;
                Ok::<_, FunctionError>(doubled + 1)
            },
        ))
        .activity(activity_fn(
            "greet",
            |_: ActivityContext, city: String| async move {
                Ok::<_, FunctionError>(format!("Hello {city}!"))
            },
        ))
        .activity(activity_fn(
            "double",
            |_: ActivityContext, n: i64| async move { Ok::<_, FunctionError>(n * 2) },
        ))
        .entity(entity_fn("counter", |ctx: &mut EntityContext| {
            let value = ctx.get_state::<i64>()?.unwrap_or(0) + ctx.input::<i64>()?;
            ctx.set_state(&value)?;
            Ok(value)
        }))
        .build()
        .expect("registry builds");
    Arc::new(registry)
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0)
        .single()
        .expect("valid")
}

/// Runs the workload once and returns everything the task hub recorded, as text.
async fn run(seed: u64) -> String {
    let store = Arc::new(MemoryStore::new());
    let runtime = Runtime::builder(store.clone(), registry())
        .clock(Arc::new(ManualClock::new(start())))
        .ids(Arc::new(SeededIds::new(seed)))
        .start();
    let client = runtime.client();
    let mut ids = Vec::new();
    for city in ["Tokyo", "Lima", "Oslo"] {
        ids.push(
            client
                .start_new("workload", None, &city)
                .await
                .expect("start"),
        );
    }
    let history = StatusOptions {
        show_history: true,
        show_input: false,
    };
    for id in &ids {
        // Raise the event once the orchestration waits for it.
        client
            .wait_for_status(id.as_str(), history, WAIT, |s| {
                s.history.as_ref().is_some_and(|h| {
                    h.iter()
                        .any(|e| e.kind.type_name() == "EntityOperationCompleted")
                })
            })
            .await
            .expect("reaches the event");
        client
            .raise_event(id.as_str(), "approval", &"yes")
            .await
            .expect("raise");
    }
    for id in &ids {
        let status = client
            .wait_for_completion(id.as_str(), WAIT)
            .await
            .expect("completes");
        assert_eq!(
            status.runtime_status,
            RuntimeStatus::Completed,
            "{status:?}"
        );
    }
    runtime.shutdown().await;

    let store: Arc<dyn Store> = store;
    let page = store
        .list_instances(&InstanceFilter::default(), 100, None)
        .await
        .expect("list");
    let mut record = String::new();
    for row in page.instances {
        let events = store.get_history(&row.instance_id).await.expect("history");
        record.push_str(&format!(
            "{} {} {} output={} history={}\n",
            row.instance_id,
            row.execution_id,
            row.status,
            row.output.map(|p| p.to_string()).unwrap_or_default(),
            serde_json::to_string(&events).expect("json")
        ));
    }
    record
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_seeded_run_repeats_exactly() {
    let first = run(7).await;
    let second = run(7).await;
    // 3 workloads, 3 children, 3 counters.
    assert_eq!(first.lines().count(), 9, "{first}");
    assert!(first.contains("TimerFired") && first.contains("EntityOperationCompleted"));
    assert!(
        first == second,
        "two runs with the same seed differ:\n{first}\n---\n{second}"
    );
    let other = run(8).await;
    assert_ne!(first, other, "the ids come from the seed");
    assert_eq!(
        first.lines().filter(|l| l.starts_with('@')).count(),
        3,
        "entities keep their ids"
    );
}
