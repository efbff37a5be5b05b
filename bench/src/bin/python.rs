//! Python orchestrations on durafn, against the same workloads written in Rust.
//!
//! ```text
//! cargo run --release -p durafn-bench --bin python -- throughput [--instances 1000] [--runs 3] [--no-fsync]
//! cargo run --release -p durafn-bench --bin python -- turn [--samples 30]
//! ```
//!
//! `throughput` runs "hello cities" (five sequential activities) over N instances started at
//! once, on the SQLite task hub, once with the Python app `bench/python/hello-cities` (its
//! functions in a worker process, the orchestrator through the out-of-process protocol) and
//! once with the same orchestrator and activity in Rust, and reports both rates and their ratio.
//! `turn` measures the per-turn cost of the protocol (building the SDK's view of the history,
//! the worker replaying the orchestrator over it, mapping its actions back) at 10, 100 and
//! 1,000 history events, beside the Rust engine's cost for a turn over the same history.
//!
//! The Python interpreter is `DURAFN_BENCH_PYTHON`, else `DURAFN_TEST_PYTHON`, else `python3`;
//! it needs `azure-functions` and `azure-functions-durable`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use durafn_bench::{
    SEQUENTIAL, arg, completion, executor_at, flag, median, open_sqlite as open,
    sequential_registry,
};
use durafn_core::testkit::epoch;
use durafn_core::{EventKind, HistoryEvent, InstanceId, Registry, RuntimeStatus};
use durafn_host::{HostArgs, HostConfig};
use durafn_python::PythonApp;
use durafn_runtime::{Runtime, RuntimeOptions};
use durafn_store::Store;

fn python() -> String {
    ["DURAFN_BENCH_PYTHON", "DURAFN_TEST_PYTHON"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|p| !p.is_empty()))
        .unwrap_or_else(|| "python3".into())
}

/// The Python app, loaded with its worker (data in `data`).
async fn python_app(data: &Path) -> PythonApp {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python/hello-cities");
    let args = HostArgs {
        root: Some(root),
        data_dir: Some(data.to_path_buf()),
        ..HostArgs::default()
    };
    let env = [
        (
            "languageWorkers__python__defaultExecutablePath".to_string(),
            python(),
        ),
        ("PYTHONDONTWRITEBYTECODE".to_string(), "1".to_string()),
    ];
    let config = HostConfig::load(&args, env).expect("the app's configuration");
    PythonApp::load(&config)
        .await
        .expect("the Python app loads")
}

async fn completed(store: &Arc<dyn Store>) -> u64 {
    let counts = store.count_by_status().await.expect("count");
    counts
        .iter()
        .filter(|(s, _)| *s == RuntimeStatus::Completed)
        .map(|(_, n)| *n)
        .sum()
}

/// Runs `n` hello-cities over `registry`; returns orchestrations per second.
async fn run_hello_cities(registry: Registry, dir: &Path, n: usize, fsync: bool) -> f64 {
    let store = open(dir, fsync);
    let runtime = Runtime::builder(store.clone(), Arc::new(registry))
        .options(RuntimeOptions::default())
        .start();
    let client = runtime.client();
    let started = Instant::now();
    durafn_bench::start_many(&client, "hello_cities", n, 512).await;
    let mut last = Instant::now();
    loop {
        let done = completed(&store).await;
        if done >= n as u64 {
            break;
        }
        if last.elapsed() > Duration::from_secs(5) {
            eprintln!("  {done}/{n} completed");
            last = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    runtime.shutdown().await;
    rate
}

async fn throughput() {
    let n: usize = arg("--instances", 1000);
    let runs: usize = arg("--runs", 3);
    let fsync = !flag("--no-fsync");
    let (mut py, mut rs) = (Vec::new(), Vec::new());
    for run in 1..=runs {
        let dir = tempfile::tempdir().expect("temp dir");
        let app = python_app(&dir.path().join("data")).await;
        let registry = app.add_to(Registry::builder()).build().expect("names");
        let rate = run_hello_cities(registry, dir.path(), n, fsync).await;
        app.shutdown(Duration::from_secs(5)).await;
        eprintln!("run {run}: Python {rate:.0} orchestrations/s");
        py.push(rate);
        let dir = tempfile::tempdir().expect("temp dir");
        let rate = run_hello_cities(
            durafn_bench::hello_cities(Registry::builder())
                .build()
                .expect("unique names"),
            dir.path(),
            n,
            fsync,
        )
        .await;
        eprintln!("run {run}: Rust {rate:.0} orchestrations/s");
        rs.push(rate);
    }
    let (py, rs) = (median(py), median(rs));
    println!(
        "throughput (hello cities, 5 sequential activities, SQLite, {}, {n} instances, median of {runs}): Python {py:.0}/s, Rust {rs:.0}/s; Rust is {:.1}x Python",
        if fsync {
            "fsync per commit batch"
        } else {
            "no fsync"
        },
        rs / py
    );
}

/// The history of a finished `sequential` instance, and where each of its turns ends.
async fn sequential_history(app: &PythonApp, dir: &Path, steps: u32) -> Vec<HistoryEvent> {
    let store = open(dir, false);
    let registry = app.add_to(Registry::builder()).build().expect("names");
    let runtime = Runtime::builder(store.clone(), Arc::new(registry)).start();
    let client = runtime.client();
    let id = client
        .start_new(SEQUENTIAL, Some("seq"), &steps)
        .await
        .expect("start");
    let status = client
        .wait_for_completion(id.as_str(), Duration::from_secs(600))
        .await
        .expect("it completes");
    assert_eq!(status.runtime_status, RuntimeStatus::Completed);
    let history = store
        .get_history(&InstanceId::from_trusted("seq"))
        .await
        .expect("history");
    runtime.shutdown().await;
    history
}

async fn turn_cost() {
    let samples: usize = arg("--samples", 30);
    let dir = tempfile::tempdir().expect("temp dir");
    let app = python_app(&dir.path().join("data")).await;
    let history = sequential_history(&app, dir.path(), 340).await;
    let orchestrator = app.orchestrator(SEQUENTIAL).expect("the orchestrator");
    println!(
        "per-turn cost of a Python orchestrator (sequential activities), median of {samples} turns:"
    );
    println!(
        "| history events | Python turn (protocol + SDK) | Rust turn, cached executor | Rust turn, full replay |"
    );
    println!("|---|---|---|---|");
    let registry = sequential_registry();
    for target in [10usize, 100, 1000] {
        // The end of the first turn whose history reaches the target.
        let end = history
            .iter()
            .enumerate()
            .filter(|(_, e)| matches!(e.kind, EventKind::OrchestratorCompleted))
            .map(|(i, _)| i + 1)
            .find(|&i| i >= target)
            .expect("the history is long enough");
        let prefix = &history[..end];
        let next: Vec<HistoryEvent> = history[end..]
            .iter()
            .skip(1)
            .take_while(|e| {
                !e.kind.is_scheduling() && !matches!(e.kind, EventKind::OrchestratorCompleted)
            })
            .cloned()
            .collect();
        let now = history[end].timestamp;
        let mut times = Vec::with_capacity(samples);
        for _ in 0..=samples {
            let started = Instant::now();
            orchestrator
                .prepare("seq", prefix, &next, now)
                .await
                .expect("the turn is prepared");
            times.push(started.elapsed().as_secs_f64() * 1e3);
        }
        times.remove(0);
        let python_ms = median(times);
        // The Rust engine over a history of the same length: a live executor's next turn, and
        // a turn that replays the whole history first.
        let mut completed_steps = 0;
        while executor_at(&registry, 10_000, completed_steps).1.len() < end {
            completed_steps += 1;
        }
        let (cached, rust_history) = executor_at(&registry, 10_000, completed_steps);
        let mut live = Vec::new();
        let mut replayed = Vec::new();
        for _ in 0..samples {
            let mut executor = executor_at(&registry, 10_000, completed_steps).0;
            let started = Instant::now();
            executor.run_turn(vec![completion(completed_steps)], epoch());
            live.push(started.elapsed().as_secs_f64() * 1e3);
            let started = Instant::now();
            let (_, _) = durafn_core::engine::run_turn(
                registry.clone(),
                &rust_history,
                vec![completion(completed_steps)],
                epoch(),
            );
            replayed.push(started.elapsed().as_secs_f64() * 1e3);
        }
        drop(cached);
        println!(
            "| {end} | {python_ms:.2} ms | {:.4} ms | {:.4} ms |",
            median(live),
            median(replayed)
        );
    }
    app.shutdown(Duration::from_secs(5)).await;
}

#[tokio::main]
async fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("throughput") => throughput().await,
        Some("turn") => turn_cost().await,
        _ => {
            eprintln!(
                "usage: python (throughput [--instances N] [--runs R] [--no-fsync] | turn [--samples N])"
            );
            std::process::exit(2);
        }
    }
}
