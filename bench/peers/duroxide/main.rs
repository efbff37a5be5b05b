//! The duroxide side of the comparison: the five workloads of bench/peers/README.md on
//! duroxide's SQLite provider or its PostgreSQL provider (duroxide-pg).
//!
//! `duroxide-worker <w1|w2|w3|w4|w5> <size>`; `BENCH_STORE` is `sqlite` (file under
//! `BENCH_DIR`) or `postgres` (`BENCH_PG_URL`, schema `BENCH_PG_SCHEMA`). The workloads
//! themselves are `workload.rs`, shared with durafn's and Restate's workers (setup.sh copies it
//! here from `bench/src/workload.rs`).

mod workload;

use std::sync::Arc;
use std::time::Duration;

use duroxide::providers::Provider;
use duroxide::providers::sqlite::SqliteProvider;
use duroxide::runtime::registry::ActivityRegistry;
use duroxide::runtime::{Runtime, RuntimeOptions};
use duroxide::{
    ActivityContext, Client, OrchestrationContext, OrchestrationRegistry, OrchestrationStatus,
};
use workload::{CITIES, Driver, Flow};

async fn open() -> Arc<dyn Provider> {
    match std::env::var("BENCH_STORE").as_deref() {
        Ok("postgres") => {
            let url = std::env::var("BENCH_PG_URL").expect("BENCH_PG_URL");
            let schema =
                std::env::var("BENCH_PG_SCHEMA").unwrap_or_else(|_| "duroxide_bench".into());
            Arc::new(
                duroxide_pg::PostgresProvider::new_with_schema(&url, Some(&schema))
                    .await
                    .expect("connect"),
            )
        }
        _ => {
            let dir = std::env::var("BENCH_DIR").expect("BENCH_DIR");
            let path = format!("{dir}/duroxide.db");
            std::fs::File::create(&path).expect("create the database file");
            Arc::new(
                SqliteProvider::new(&format!("sqlite:{path}"), None)
                    .await
                    .expect("open"),
            )
        }
    }
}

fn number(input: &str) -> Result<usize, String> {
    input.parse().map_err(|e| format!("{e}"))
}

fn registries() -> (ActivityRegistry, OrchestrationRegistry) {
    let activities = ActivityRegistry::builder()
        .register("say_hello", |_: ActivityContext, city: String| async move {
            Ok(format!("Hello {city}!"))
        })
        .register("step", |_: ActivityContext, i: String| async move {
            workload::step_ran(number(&i)?);
            Ok(i)
        })
        .build();
    let orchestrations = OrchestrationRegistry::builder()
        .register(
            Flow::HelloCities.name(),
            |ctx: OrchestrationContext, _: String| async move {
                let mut out = Vec::new();
                for city in CITIES {
                    out.push(ctx.schedule_activity("say_hello", city).await?);
                }
                Ok(out.join(","))
            },
        )
        .register(
            Flow::FanOut.name(),
            |ctx: OrchestrationContext, n: String| async move {
                let calls = (0..number(&n)?)
                    .map(|i| ctx.schedule_activity("say_hello", i.to_string()))
                    .collect();
                let results = ctx.join(calls).await;
                let ok = results.into_iter().filter(|r| r.is_ok()).count();
                Ok(ok.to_string())
            },
        )
        .register(
            Flow::OneActivity.name(),
            |ctx: OrchestrationContext, _: String| async move {
                ctx.schedule_activity("say_hello", "you").await
            },
        )
        .register(
            Flow::LongChain.name(),
            |ctx: OrchestrationContext, n: String| async move {
                for i in 0..number(&n)? {
                    ctx.schedule_activity("step", i.to_string()).await?;
                }
                Ok(n)
            },
        )
        .register(
            Flow::Waiter.name(),
            |ctx: OrchestrationContext, _: String| async move {
                workload::reached_wait(&ctx.instance_id());
                Ok(ctx.schedule_wait("go").await)
            },
        )
        .build();
    (activities, orchestrations)
}

/// duroxide as the workloads use it: its client on the same provider as the runtime.
#[derive(Clone)]
struct Duroxide {
    client: Client,
}

impl Driver for Duroxide {
    async fn start(&self, flow: Flow, key: &str, n: u64) -> Result<(), String> {
        self.client
            .start_orchestration(key, flow.name(), n.to_string())
            .await
            .map_err(|e| e.to_string())
    }

    async fn call(&self, flow: Flow, key: &str, n: u64) -> Result<String, String> {
        self.start(flow, key, n).await?;
        match self
            .client
            .wait_for_orchestration(key, Duration::from_secs(3600))
            .await
        {
            Ok(OrchestrationStatus::Completed { output, .. }) => Ok(output),
            other => Err(format!("instance {key} did not complete: {other:?}")),
        }
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let workload = args.get(1).cloned().unwrap_or_default();
    let n: usize = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(10);
    let store = open().await;
    let (activities, orchestrations) = registries();
    // Dispatcher slots (the default is 2; 8 was the fastest of 2, 8 and 32 on SQLite here).
    let slots = std::env::var("BENCH_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let options = RuntimeOptions {
        orchestration_concurrency: slots,
        worker_concurrency: slots,
        ..RuntimeOptions::default()
    };
    let runtime =
        Runtime::start_with_options(store.clone(), activities, orchestrations, options).await;
    let driver = Duroxide {
        client: Client::new(store),
    };
    workload::run(&driver, &workload, n).await.print();
    runtime.shutdown(Some(1000)).await;
}
