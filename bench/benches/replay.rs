//! Replay versus incremental execution of an orchestration of N sequential activities.
//!
//! `full_replay`: rebuild an executor from the whole history (what a cache miss costs), reported
//! per history event. `incremental_turns`: feed a live executor its last 100 completions one turn
//! at a time (what the instance cache costs), reported per new event; it should not grow with N.
//!
//! Run: `cargo bench -p durafn-bench --bench replay`

use divan::counter::ItemsCount;
use divan::{Bencher, black_box};
use durafn_bench::{completion, executor_at, sequential_registry};
use durafn_core::OrchestrationExecutor;

fn main() {
    divan::main();
}

const SIZES: [u32; 3] = [100, 1_000, 10_000];

#[divan::bench(args = SIZES, sample_count = 20)]
fn full_replay(bencher: Bencher<'_, '_>, n: u32) {
    let registry = sequential_registry();
    let (_, history) = executor_at(&registry, n, n - 1);
    bencher.counter(ItemsCount::new(history.len())).bench(|| {
        let mut executor = OrchestrationExecutor::new(registry.clone());
        executor.replay(black_box(&history));
        executor
    });
}

#[divan::bench(args = SIZES, sample_count = 20, sample_size = 1)]
fn incremental_turns(bencher: Bencher<'_, '_>, n: u32) {
    const TURNS: u32 = 100;
    let registry = sequential_registry();
    let (_, history) = executor_at(&registry, n, n - TURNS);
    // Each turn appends OrchestratorStarted, the completion, TaskScheduled, OrchestratorCompleted.
    bencher
        .counter(ItemsCount::new(TURNS as usize * 4))
        .with_inputs(|| {
            let mut executor = OrchestrationExecutor::new(registry.clone());
            executor.replay(&history);
            executor
        })
        .bench_local_values(|mut executor| {
            for i in n - TURNS..n {
                black_box(executor.run_turn(vec![completion(i)], durafn_core::testkit::epoch()));
            }
            executor
        });
}
