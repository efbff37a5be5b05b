//! Large work: a 100,000-event history (built, loaded, replayed, reloaded after eviction) and
//! a 10,000-way fan-out, with time and peak resident memory, on SQLite with fsync and on
//! PostgreSQL when `DURAFN_BENCH_POSTGRES_URL` (or `DURAFN_TEST_POSTGRES_URL`) is set.
//!
//! ```text
//! cargo run --release -p durafn-bench --bin large -- history [--events 100000] [--runs 3] [--backend sqlite|postgres]
//! cargo run --release -p durafn-bench --bin large -- fanout [--activities 10000] [--runs 3]
//! ```
//!
//! `history` runs one orchestration of sequential activities until its history holds
//! `--events` events (four per step), then parks it on an external event. It reports the time
//! per step over the first and the last 1,000 steps (a rise would show work growing with the
//! history), then, with the instance cache holding one instance, a turn of the big instance
//! while it is cached, the same after another instance evicted it (the turn loads the whole
//! history and replays it), and on its own the store's `get_history` and a replay in a fresh
//! executor. `fanout` runs `when_all` over `--activities` activities. Peak resident memory is
//! the process's `VmHWM`, reset before each phase. Medians over `--runs`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use durafn_bench::backend::{Backend, Hub, backends, peak_rss_mb, reset_peak_rss};
use durafn_bench::{arg, median};
use durafn_core::{
    ActivityContext, FunctionError, InstanceId, OrchestrationContext, OrchestrationExecutor,
    Registry, RuntimeStatus, activity_fn, orchestrator_fn, when_all,
};
use durafn_runtime::{Runtime, RuntimeOptions};
use durafn_store::Store;
use tokio::sync::Notify;

/// Steps the chain has run, and a wake-up when it reaches its wait.
#[derive(Default)]
struct Progress {
    steps: AtomicUsize,
    step_times: std::sync::Mutex<Vec<Instant>>,
    parked: Notify,
}

fn registry(progress: Arc<Progress>) -> Arc<Registry> {
    let (p1, p2) = (progress.clone(), progress);
    Arc::new(
        Registry::builder()
            .orchestrator(orchestrator_fn(
                "chain",
                |ctx: OrchestrationContext, steps: usize| async move {
                    for i in 0..steps {
                        ctx.call_activity::<usize>("step", &i).await?;
                    }
                    ctx.call_activity::<()>("parked", &()).await?;
                    for _ in 0..2 {
                        ctx.wait_for_external_event::<()>("poke").await?;
                    }
                    Ok::<_, FunctionError>(steps)
                },
            ))
            .orchestrator(orchestrator_fn(
                "waiter",
                |ctx: OrchestrationContext, _: ()| async move {
                    ctx.wait_for_external_event::<()>("go").await?;
                    Ok::<_, FunctionError>(())
                },
            ))
            .orchestrator(orchestrator_fn(
                "fan_out",
                |ctx: OrchestrationContext, n: usize| async move {
                    let calls = (0..n)
                        .map(|i| ctx.call_activity::<usize>("echo", &i))
                        .collect();
                    Ok::<_, FunctionError>(when_all(calls).await?.len())
                },
            ))
            .activity(activity_fn("step", move |_: ActivityContext, i: usize| {
                let p = p1.clone();
                async move {
                    p.steps.fetch_add(1, Ordering::Relaxed);
                    p.step_times.lock().expect("times").push(Instant::now());
                    Ok::<_, FunctionError>(i)
                }
            }))
            .activity(activity_fn("parked", move |_: ActivityContext, _: ()| {
                let p = p2.clone();
                async move {
                    p.parked.notify_one();
                    Ok::<_, FunctionError>(())
                }
            }))
            .activity(activity_fn(
                "echo",
                |_: ActivityContext, i: usize| async move { Ok::<_, FunctionError>(i) },
            ))
            .build()
            .expect("unique names"),
    )
}

fn start(store: &Arc<dyn Store>, registry: &Arc<Registry>, cache: usize) -> Runtime {
    let options = RuntimeOptions {
        instance_cache_size: cache,
        ..RuntimeOptions::default()
    };
    Runtime::builder(store.clone(), registry.clone())
        .options(options)
        .start()
}

/// Waits until the instance's history is longer than `than` events.
async fn history_grows(store: &Arc<dyn Store>, id: &InstanceId, than: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let len = store
            .get_instance(id)
            .await
            .expect("read the instance")
            .map(|r| r.history_len)
            .unwrap_or(0);
        if len > than {
            return len;
        }
        assert!(Instant::now() < deadline, "the instance never moved on");
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

/// The numbers of one history run.
struct HistoryRun {
    events: u64,
    build_s: f64,
    first_step_ms: f64,
    last_step_ms: f64,
    build_peak_mb: f64,
    cached_turn_ms: f64,
    evicted_turn_ms: f64,
    evicted_peak_mb: f64,
    load_ms: f64,
    replay_ms: f64,
    replay_peak_mb: f64,
}

async fn history_run(backend: Backend, events: usize, run: usize) -> HistoryRun {
    let progress = Arc::new(Progress::default());
    let registry = registry(progress.clone());
    let hub = Hub::open(backend, &format!("history{run}")).await;
    let store = hub.store.clone();
    let runtime = start(&store, &registry, 1);
    let client = runtime.client();
    let steps = events / 4;
    let id = InstanceId::parse("big").expect("id");

    reset_peak_rss();
    let started = Instant::now();
    client
        .start_new("chain", Some(id.as_str()), &steps)
        .await
        .expect("start");
    let mut said = Instant::now();
    loop {
        let parked = progress.parked.notified();
        if tokio::time::timeout(Duration::from_secs(5), parked)
            .await
            .is_ok()
        {
            break;
        }
        if said.elapsed() > Duration::from_secs(5) {
            eprintln!(
                "  {} of {steps} steps",
                progress.steps.load(Ordering::Relaxed)
            );
            said = Instant::now();
        }
    }
    // The first turn (4 events), one turn of 4 per step, and the turn that records `parked`'s
    // result and waits (3).
    let len = history_grows(&store, &id, 4 * steps as u64 + 6).await;
    let build_s = started.elapsed().as_secs_f64();
    let build_peak_mb = peak_rss_mb();
    let (first_step_ms, last_step_ms) = {
        let t = progress.step_times.lock().expect("times");
        let k = (t.len() / 2).clamp(1, 1000);
        let per = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1000.0 / k as f64;
        (per(t[0], t[k]), per(t[t.len() - 1 - k], t[t.len() - 1]))
    };

    // A turn while the instance is cached.
    let before = store
        .get_instance(&id)
        .await
        .expect("row")
        .expect("row")
        .history_len;
    let t = Instant::now();
    client
        .raise_event(id.as_str(), "poke", &())
        .await
        .expect("poke");
    history_grows(&store, &id, before).await;
    let cached_turn_ms = t.elapsed().as_secs_f64() * 1000.0;

    // Another instance takes the cache's one place; the next turn of the big one loads and
    // replays its whole history.
    client
        .start_new("waiter", Some("small"), &())
        .await
        .expect("start");
    let small = InstanceId::parse("small").expect("id");
    history_grows(&store, &small, 0).await;
    reset_peak_rss();
    let t = Instant::now();
    client
        .raise_event(id.as_str(), "poke", &())
        .await
        .expect("poke");
    let status = client
        .wait_for_completion(id.as_str(), Duration::from_secs(600))
        .await
        .expect("completes");
    let evicted_turn_ms = t.elapsed().as_secs_f64() * 1000.0;
    let evicted_peak_mb = peak_rss_mb();
    assert_eq!(status.runtime_status, RuntimeStatus::Completed);
    client.raise_event("small", "go", &()).await.expect("go");
    runtime.shutdown().await;

    // Loading and replaying on their own.
    let t = Instant::now();
    let history = store.get_history(&id).await.expect("history");
    let load_ms = t.elapsed().as_secs_f64() * 1000.0;
    reset_peak_rss();
    let t = Instant::now();
    let mut executor = OrchestrationExecutor::new(registry.clone());
    executor.replay(&history);
    let replay_ms = t.elapsed().as_secs_f64() * 1000.0;
    let replay_peak_mb = peak_rss_mb();
    drop((executor, history));
    hub.remove().await;
    HistoryRun {
        events: len,
        build_s,
        first_step_ms,
        last_step_ms,
        build_peak_mb,
        cached_turn_ms,
        evicted_turn_ms,
        evicted_peak_mb,
        load_ms,
        replay_ms,
        replay_peak_mb,
    }
}

async fn history() {
    let events: usize = arg("--events", 100_000);
    let runs: usize = arg("--runs", 3);
    for backend in backends() {
        let mut all = Vec::new();
        for run in 1..=runs {
            let r = history_run(backend, events, run).await;
            eprintln!(
                "{} run {run}: {} events built in {:.1} s (step {:.2} ms first, {:.2} ms last, peak {:.0} MB); turn cached {:.1} ms, evicted {:.1} ms (peak {:.0} MB); get_history {:.1} ms, replay {:.1} ms (peak {:.0} MB)",
                backend.name(),
                r.events,
                r.build_s,
                r.first_step_ms,
                r.last_step_ms,
                r.build_peak_mb,
                r.cached_turn_ms,
                r.evicted_turn_ms,
                r.evicted_peak_mb,
                r.load_ms,
                r.replay_ms,
                r.replay_peak_mb
            );
            all.push(r);
        }
        let m = |f: fn(&HistoryRun) -> f64| median(all.iter().map(f).collect());
        println!(
            "history ({}, {} events, median of {runs}): build {:.1} s, per step {:.2} ms first / {:.2} ms last, build peak RSS {:.0} MB | turn cached {:.1} ms | turn after eviction (load + replay) {:.0} ms, peak RSS {:.0} MB | get_history {:.0} ms | replay {:.0} ms, peak RSS {:.0} MB",
            backend.name(),
            m(|r| r.events as f64),
            m(|r| r.build_s),
            m(|r| r.first_step_ms),
            m(|r| r.last_step_ms),
            m(|r| r.build_peak_mb),
            m(|r| r.cached_turn_ms),
            m(|r| r.evicted_turn_ms),
            m(|r| r.evicted_peak_mb),
            m(|r| r.load_ms),
            m(|r| r.replay_ms),
            m(|r| r.replay_peak_mb),
        );
    }
}

async fn fanout() {
    let n: usize = arg("--activities", 10_000);
    let runs: usize = arg("--runs", 3);
    for backend in backends() {
        let (mut secs, mut peaks) = (Vec::new(), Vec::new());
        for run in 1..=runs {
            let registry = registry(Arc::default());
            let hub = Hub::open(backend, &format!("fanout{run}")).await;
            let runtime = start(&hub.store, &registry, 10_000);
            let client = runtime.client();
            reset_peak_rss();
            let started = Instant::now();
            client
                .start_new("fan_out", Some("fan"), &n)
                .await
                .expect("start");
            let status = client
                .wait_for_completion("fan", Duration::from_secs(1200))
                .await
                .expect("completes");
            let s = started.elapsed().as_secs_f64();
            let peak = peak_rss_mb();
            assert_eq!(
                status.runtime_status,
                RuntimeStatus::Completed,
                "{:?}",
                status.failure
            );
            assert_eq!(status.output.expect("output").as_json(), n.to_string());
            let events = hub
                .store
                .get_instance(&InstanceId::parse("fan").expect("id"))
                .await
                .expect("row")
                .map(|r| r.history_len)
                .unwrap_or(0);
            eprintln!(
                "{} run {run}: {n}-way fan-out in {s:.2} s ({events} events), peak RSS {peak:.0} MB",
                backend.name()
            );
            secs.push(s);
            peaks.push(peak);
            runtime.shutdown().await;
            hub.remove().await;
        }
        println!(
            "fan-out ({}, when_all over {n} activities, median of {runs}): {:.2} s, peak RSS {:.0} MB",
            backend.name(),
            median(secs),
            median(peaks)
        );
    }
}

#[tokio::main]
async fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("history") => history().await,
        Some("fanout") => fanout().await,
        _ => eprintln!("usage: large history|fanout [options]; see the file's docs"),
    }
}
