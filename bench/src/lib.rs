//! Shared fixtures for durafn's benchmarks, and the workloads of the side-by-side comparison.

pub mod backend;
pub mod workload;

use std::sync::Arc;

use durafn_core::testkit::{epoch, msg};
use durafn_core::{
    ActivityContext, FunctionError, HistoryEvent, OrchestrationContext, OrchestrationExecutor,
    Registry, RegistryBuilder, activity_fn, orchestrator_fn,
};

/// The orchestrator of the replay benchmark: `n` sequential activities.
pub const SEQUENTIAL: &str = "sequential";

/// A registry with an orchestrator that calls `input` activities one after another.
pub fn sequential_registry() -> Arc<Registry> {
    Arc::new(
        Registry::builder()
            .orchestrator(orchestrator_fn(
                SEQUENTIAL,
                |ctx: OrchestrationContext, n: u32| async move {
                    let mut sum = 0u64;
                    for i in 0..n {
                        sum += ctx.call_activity::<u64>("Step", &i).await?;
                    }
                    Ok::<_, FunctionError>(sum)
                },
            ))
            .build()
            .expect("one orchestrator"),
    )
}

/// Runs the first `completed` activities of an `n`-step orchestration incrementally and returns
/// the live executor with its history.
pub fn executor_at(
    registry: &Arc<Registry>,
    n: u32,
    completed: u32,
) -> (OrchestrationExecutor, Vec<HistoryEvent>) {
    let mut executor = OrchestrationExecutor::new(registry.clone());
    let mut history = Vec::new();
    let start = msg::execution_started(SEQUENTIAL, "bench", n, epoch());
    history.extend(executor.run_turn(vec![start], epoch()).new_events);
    for i in 0..completed {
        let turn = executor.run_turn(vec![msg::task_completed(i.into(), 1, epoch())], epoch());
        history.extend(turn.new_events);
    }
    (executor, history)
}

/// One activity's completion message.
pub fn completion(i: u32) -> HistoryEvent {
    msg::task_completed(i.into(), 1, epoch())
}

/// The value of the command-line option `name` (`--instances 100`), or `default`.
pub fn arg<T: std::str::FromStr>(name: &str, default: T) -> T {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Whether the command-line flag `name` was given.
pub fn flag(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

/// The median of the samples.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// A SQLite task hub in `dir`: fsync per commit batch, or only safe against process crashes.
pub fn open_sqlite(dir: &std::path::Path, fsync: bool) -> Arc<dyn durafn_store::Store> {
    let durability = if fsync {
        durafn_sqlite::Durability::Fsync
    } else {
        durafn_sqlite::Durability::ProcessCrashSafe
    };
    let options = durafn_sqlite::SqliteOptions {
        durability,
        ..durafn_sqlite::SqliteOptions::default()
    };
    Arc::new(
        durafn_sqlite::SqliteStore::open(dir.join("hub.db"), options).expect("open the task hub"),
    )
}

/// "Hello cities": an orchestrator calling `say_hello` for five cities one after another, and
/// the activity.
pub fn hello_cities(builder: RegistryBuilder) -> RegistryBuilder {
    builder
        .orchestrator(orchestrator_fn(
            "hello_cities",
            |ctx: OrchestrationContext, _: ()| async move {
                let mut out = Vec::with_capacity(workload::CITIES.len());
                for city in workload::CITIES {
                    out.push(ctx.call_activity::<String>("say_hello", &city).await?);
                }
                Ok::<_, FunctionError>(out)
            },
        ))
        .activity(activity_fn(
            "say_hello",
            |_: ActivityContext, city: String| async move {
                Ok::<_, FunctionError>(format!("Hello {city}!"))
            },
        ))
}

/// durafn as the workloads drive it: the [`DurableClient`](durafn_runtime::DurableClient) of a
/// runtime or host in this process, as an app embedding durafn uses it.
#[derive(Clone)]
pub struct InProcess(pub durafn_runtime::DurableClient);

impl workload::Driver for InProcess {
    async fn start(&self, flow: workload::Flow, key: &str, n: u64) -> Result<(), String> {
        let input = match flow {
            workload::Flow::FanOut | workload::Flow::LongChain => Some(n),
            _ => None,
        };
        self.0
            .start_new(flow.name(), Some(key), &input)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    async fn call(&self, flow: workload::Flow, key: &str, n: u64) -> Result<String, String> {
        self.start(flow, key, n).await?;
        let status = self
            .0
            .wait_for_completion(key, std::time::Duration::from_secs(3600))
            .await
            .map_err(|e| e.to_string())?;
        match (status.runtime_status, status.output) {
            (durafn_core::RuntimeStatus::Completed, Some(output)) => {
                Ok(output.as_json().to_string())
            }
            (durafn_core::RuntimeStatus::Completed, None) => Ok(String::new()),
            (other, _) => Err(format!("instance {key} ended {other:?}")),
        }
    }
}

/// Starts `n` instances of `name` (input `null`) through `client`, at most `in_flight` starts
/// waiting at once, as a caller with a bounded pool of requests would; returns once all started.
pub async fn start_many(
    client: &durafn_runtime::DurableClient,
    name: &str,
    n: usize,
    in_flight: usize,
) {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..n {
        let client = client.clone();
        let name = name.to_string();
        set.spawn(async move { client.start_new(&name, None, &()).await.expect("start") });
        if set.len() >= in_flight {
            set.join_next().await;
        }
    }
    while set.join_next().await.is_some() {}
}
