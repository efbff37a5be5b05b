//! End-to-end benchmarks of the runtime on the SQLite task hub.
//!
//! ```text
//! cargo run --release -p durafn-bench --bin hub -- throughput [--instances 10000] [--runs 3] [--no-fsync]
//! cargo run --release -p durafn-bench --bin hub -- latency [--samples 300]
//! cargo run --release -p durafn-bench --bin hub -- memory [--instances 100000]
//! cargo run --release -p durafn-bench --bin hub -- entities [--operations 20000] [--entities 10]
//! cargo run --release -p durafn-bench --bin hub -- children [--children 500] [--runs 3]
//! ```
//!
//! `throughput` runs "hello cities" (an orchestrator calling 5 sequential activities) over N
//! instances started at once; `latency` measures start-to-completed of a one-activity
//! orchestration, one at a time; `memory` parks N instances on an external event and reports the
//! process's resident memory; `children` runs one orchestration that calls N one-activity
//! sub-orchestrations one after another and reports the time per child call. Medians are
//! reported over `--runs`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use durafn_bench::{arg, flag, median, open_sqlite as open};
use durafn_core::{
    EntityContext, EntityId, FunctionError, OrchestrationContext, Registry, RuntimeStatus,
    entity_fn, orchestrator_fn,
};
use durafn_runtime::{Runtime, RuntimeOptions};
use durafn_store::Store;

fn registry() -> Arc<Registry> {
    Arc::new(
        durafn_bench::hello_cities(Registry::builder())
            .orchestrator(orchestrator_fn(
                "one_activity",
                |ctx: OrchestrationContext, _: ()| async move {
                    Ok::<_, FunctionError>(ctx.call_activity::<String>("say_hello", &"you").await?)
                },
            ))
            .orchestrator(orchestrator_fn(
                "sequential_children",
                |ctx: OrchestrationContext, n: u32| async move {
                    for _ in 0..n {
                        ctx.call_sub_orchestrator::<String>("one_activity", None, &())
                            .await?;
                    }
                    Ok::<_, FunctionError>(n)
                },
            ))
            .orchestrator(orchestrator_fn(
                "waiter",
                |ctx: OrchestrationContext, _: ()| async move {
                    Ok::<_, FunctionError>(ctx.wait_for_external_event::<u32>("go").await?)
                },
            ))
            .orchestrator(orchestrator_fn(
                "signaller",
                |ctx: OrchestrationContext, (entities, n): (u32, u32)| async move {
                    for i in 0..n {
                        let counter = EntityId::new("counter", (i % entities).to_string());
                        ctx.signal_entity(&counter, "add", &1)?;
                    }
                    Ok::<_, FunctionError>(())
                },
            ))
            .entity(entity_fn("counter", |ctx: &mut EntityContext| {
                let value: u64 = ctx.get_state()?.unwrap_or(0);
                ctx.set_state(&(value + ctx.input::<u64>()?))?;
                Ok(())
            }))
            .build()
            .expect("unique names"),
    )
}

async fn count(store: &Arc<dyn Store>, status: RuntimeStatus) -> u64 {
    let counts = store.count_by_status().await.expect("count");
    counts
        .iter()
        .find(|(s, _)| *s == status)
        .map(|(_, n)| *n)
        .unwrap_or(0)
}

/// Starts `n` instances of `name`, 512 at a time, so their creation is group-committed.
async fn start_many(runtime: &Runtime, name: &str, n: usize) {
    durafn_bench::start_many(&runtime.client(), name, n, 512).await;
}

async fn wait_for(store: &Arc<dyn Store>, status: RuntimeStatus, n: u64, progress: &str) {
    let mut last = Instant::now();
    loop {
        let done = count(store, status).await;
        if done >= n {
            return;
        }
        if last.elapsed() > Duration::from_secs(2) {
            eprintln!("  {progress}: {done}/{n}");
            last = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn throughput() {
    let n: usize = arg("--instances", 10_000);
    let runs: usize = arg("--runs", 3);
    let fsync = !flag("--no-fsync");
    let mut rates = Vec::new();
    for run in 1..=runs {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = open(dir.path(), fsync);
        let runtime = Runtime::builder(store.clone(), registry())
            .options(RuntimeOptions::default())
            .start();
        let started = Instant::now();
        start_many(&runtime, "hello_cities", n).await;
        wait_for(&store, RuntimeStatus::Completed, n as u64, "completed").await;
        let secs = started.elapsed().as_secs_f64();
        let rate = n as f64 / secs;
        let m = runtime.metrics().snapshot();
        eprintln!(
            "run {run}: {n} hello-cities orchestrations in {secs:.2} s = {rate:.0}/s ({m:?})"
        );
        rates.push(rate);
        runtime.shutdown().await;
    }
    println!(
        "throughput (hello cities, 5 sequential activities, SQLite, {}): median {:.0} orchestrations/s over {runs} runs of {n}",
        if fsync {
            "fsync per commit batch"
        } else {
            "no fsync (process-crash safe)"
        },
        median(rates)
    );
}

async fn latency() {
    let samples: usize = arg("--samples", 300);
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path(), !flag("--no-fsync"));
    let runtime = Runtime::builder(store, registry()).start();
    let client = runtime.client();
    let mut micros = Vec::with_capacity(samples);
    for i in 0..samples + 20 {
        let started = Instant::now();
        let id = client
            .start_new("one_activity", None, &())
            .await
            .expect("start");
        client
            .wait_for_completion(id.as_str(), Duration::from_secs(30))
            .await
            .expect("completes");
        if i >= 20 {
            micros.push(started.elapsed().as_secs_f64() * 1e6);
        }
    }
    micros.sort_by(|a, b| a.total_cmp(b));
    let p = |q: f64| micros[((micros.len() as f64 - 1.0) * q) as usize] / 1000.0;
    println!(
        "latency (one-activity orchestration, start to completed, SQLite, low load): p50 {:.2} ms, p99 {:.2} ms over {samples} samples",
        p(0.5),
        p(0.99)
    );
    runtime.shutdown().await;
}

async fn children() {
    let n: u32 = arg("--children", 500);
    let runs: usize = arg("--runs", 3);
    let mut per_child = Vec::new();
    for run in 1..=runs {
        let dir = tempfile::tempdir().expect("temp dir");
        let runtime = Runtime::builder(open(dir.path(), !flag("--no-fsync")), registry()).start();
        let client = runtime.client();
        let started = Instant::now();
        let id = client
            .start_new("sequential_children", None, &n)
            .await
            .expect("start");
        client
            .wait_for_completion(id.as_str(), Duration::from_secs(600))
            .await
            .expect("completes");
        let ms = started.elapsed().as_secs_f64() * 1000.0 / f64::from(n);
        eprintln!("run {run}: {n} children in sequence, {ms:.3} ms per child");
        per_child.push(ms);
        runtime.shutdown().await;
    }
    println!(
        "sub-orchestrations (one activity each) called one after another, SQLite: median {:.3} ms per child over {runs} runs of {n}",
        median(per_child)
    );
}

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

async fn memory() {
    let n: usize = arg("--instances", 100_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path(), false);
    let runtime = Runtime::builder(store.clone(), registry()).start();
    let before = rss_mb();
    start_many(&runtime, "waiter", n).await;
    wait_for(&store, RuntimeStatus::Running, n as u64, "waiting").await;
    let after = rss_mb();
    println!(
        "memory ({n} instances waiting for an external event, SQLite): resident {after:.0} MB (before starting them: {before:.0} MB; instance cache holds {} live orchestrations)",
        runtime.cached_instances()
    );
    runtime.shutdown().await;
}

/// Entity operations per second: 20 orchestrations signal `--entities` counters, and the clock
/// stops when every signal has been applied.
async fn entities() {
    let operations: u32 = arg("--operations", 20_000);
    let entities: u32 = arg("--entities", 10);
    let runs: usize = arg("--runs", 3);
    let fsync = !flag("--no-fsync");
    let senders = 20u32;
    let mut rates = Vec::new();
    for run in 1..=runs {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = open(dir.path(), fsync);
        let runtime = Runtime::builder(store, registry()).start();
        let client = runtime.client();
        let started = Instant::now();
        for _ in 0..senders {
            client
                .start_new("signaller", None, &(entities, operations / senders))
                .await
                .expect("start");
        }
        loop {
            let mut applied = 0u64;
            for e in 0..entities {
                let v: Option<u64> = client
                    .read_entity_state(&EntityId::new("counter", e.to_string()))
                    .await
                    .expect("read");
                applied += v.unwrap_or(0);
            }
            if applied >= u64::from(operations / senders * senders) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let secs = started.elapsed().as_secs_f64();
        let rate = f64::from(operations) / secs;
        eprintln!(
            "run {run}: {operations} entity operations on {entities} entities in {secs:.2} s = {rate:.0}/s"
        );
        rates.push(rate);
        runtime.shutdown().await;
    }
    println!(
        "entities ({operations} signals from {senders} orchestrations to {entities} counters, SQLite, {}): median {:.0} operations/s over {runs} runs",
        if fsync {
            "fsync per commit batch"
        } else {
            "no fsync"
        },
        median(rates)
    );
}

#[tokio::main]
async fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("throughput") => throughput().await,
        Some("latency") => latency().await,
        Some("memory") => memory().await,
        Some("entities") => entities().await,
        Some("children") => children().await,
        _ => eprintln!(
            "usage: hub throughput|latency|memory|entities|children [options]; see the file's docs"
        ),
    }
}
