//! Shared fixtures for durafn's benchmarks, and the workloads of the side-by-side comparison.

pub mod workload;

use std::sync::Arc;

use durafn_core::testkit::{epoch, msg};
use durafn_core::{
    FunctionError, HistoryEvent, OrchestrationContext, OrchestrationExecutor, Registry,
    orchestrator_fn,
};

/// The value after `name` on the command line, parsed, or `default`.
pub fn arg<T: std::str::FromStr>(name: &str, default: T) -> T {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

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
