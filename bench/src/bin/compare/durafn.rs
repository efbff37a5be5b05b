//! durafn's worker: `compare durafn <sqlite|sqlite-nofsync|postgres> <workload> <size>`, the
//! five workloads on durafn in this process, driven through `DurableClient` as an app embedding
//! durafn would.

use std::path::PathBuf;
use std::sync::Arc;

use durafn_bench::workload::{self, CITIES, Flow};
use durafn_core::{
    ActivityContext, FunctionError, OrchestrationContext, Registry, activity_fn, orchestrator_fn,
};
use durafn_postgres::{PostgresOptions, PostgresStore};
use durafn_runtime::Runtime;
use durafn_sqlite::{Durability, SqliteOptions, SqliteStore};
use durafn_store::Store;

fn registry() -> Arc<Registry> {
    let registry = Registry::builder()
        .orchestrator(orchestrator_fn(
            Flow::HelloCities.name(),
            |ctx: OrchestrationContext, _: ()| async move {
                let mut out = Vec::with_capacity(CITIES.len());
                for city in CITIES {
                    out.push(ctx.call_activity::<String>("say_hello", &city).await?);
                }
                Ok::<_, FunctionError>(out)
            },
        ))
        .orchestrator(orchestrator_fn(
            Flow::FanOut.name(),
            |ctx: OrchestrationContext, n: usize| async move {
                let calls = (0..n)
                    .map(|i| ctx.call_activity::<String>("say_hello", &i.to_string()))
                    .collect();
                Ok::<_, FunctionError>(ctx.when_all(calls).await?.len())
            },
        ))
        .orchestrator(orchestrator_fn(
            Flow::OneActivity.name(),
            |ctx: OrchestrationContext, _: ()| async move {
                Ok::<_, FunctionError>(ctx.call_activity::<String>("say_hello", &"you").await?)
            },
        ))
        .orchestrator(orchestrator_fn(
            Flow::LongChain.name(),
            |ctx: OrchestrationContext, n: usize| async move {
                for i in 0..n {
                    ctx.call_activity::<usize>("step", &i).await?;
                }
                Ok::<_, FunctionError>(n)
            },
        ))
        .orchestrator(orchestrator_fn(
            Flow::Waiter.name(),
            |ctx: OrchestrationContext, _: ()| async move {
                workload::reached_wait(ctx.instance_id().as_str());
                Ok::<_, FunctionError>(ctx.wait_for_external_event::<u32>("go").await?)
            },
        ))
        .activity(activity_fn(
            "say_hello",
            |_: ActivityContext, city: String| async move {
                Ok::<_, FunctionError>(format!("Hello {city}!"))
            },
        ))
        .activity(activity_fn(
            "step",
            |_: ActivityContext, i: usize| async move {
                workload::step_ran(i);
                Ok::<_, FunctionError>(i)
            },
        ))
        .build()
        .expect("unique names");
    Arc::new(registry)
}

/// The task hub a worker runs on, from the store argument and the `BENCH_*` environment.
async fn open(store: &str) -> Arc<dyn Store> {
    if store == "postgres" {
        let url = std::env::var("BENCH_PG_URL").expect("BENCH_PG_URL");
        let options = PostgresOptions {
            schema: std::env::var("BENCH_PG_SCHEMA").expect("BENCH_PG_SCHEMA"),
            application_name: "durafn-bench".into(),
            ..PostgresOptions::default()
        };
        let store = PostgresStore::connect(&url, options).await;
        return Arc::new(store.expect("connect to PostgreSQL"));
    }
    let durability = if store == "sqlite-nofsync" {
        Durability::ProcessCrashSafe
    } else {
        Durability::Fsync
    };
    let dir = PathBuf::from(std::env::var("BENCH_DIR").expect("BENCH_DIR"));
    let options = SqliteOptions {
        durability,
        ..SqliteOptions::default()
    };
    Arc::new(SqliteStore::open(dir.join("hub.db"), options).expect("open the task hub"))
}

/// Runs one workload and prints its `RESULT` line.
pub(crate) async fn worker(store: &str, workload: &str, n: usize) {
    let runtime = Runtime::builder(open(store).await, registry()).start();
    let driver = durafn_bench::InProcess(runtime.client());
    let mut measured = workload::run(&driver, workload, n).await;
    if workload == "w5" {
        measured = measured.with("cached_instances", runtime.cached_instances() as f64);
        measured.print();
        // Parked instances would make a graceful shutdown wait for nothing; exit at once.
        std::process::exit(0);
    }
    measured.print();
    runtime.shutdown().await;
}
