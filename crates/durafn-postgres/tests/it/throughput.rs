//! Throughput of "hello cities" (an orchestrator calling five activities one after the other)
//! through the runtime on the PostgreSQL task hub, with one host and with two hosts sharing the
//! hub (two runtimes, each with its own store and connections). Ignored by default; run with
//!
//! ```text
//! DURAFN_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test \
//!   cargo test --release -p durafn-postgres --test it throughput -- --ignored --nocapture
//! ```
//!
//! `DURAFN_BENCH_INSTANCES` (default 10000), `DURAFN_BENCH_RUNS` (default 3) and
//! `DURAFN_BENCH_HOSTS` (default "1,2") shape it; the median of the runs is reported.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common;
use durafn_core::RuntimeStatus;
use durafn_postgres::{PostgresOptions, PostgresStore};
use durafn_runtime::{Runtime, RuntimeOptions};
use durafn_store::Store;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One run: `hosts` runtimes on a fresh hub, `n` instances started at once; orchestrations/s.
async fn run(url: &str, hosts: usize, n: usize) -> f64 {
    let hub = common::TestHub::new(url, "bench", PostgresOptions::default()).await;
    let mut stores: Vec<Arc<dyn Store>> = Vec::new();
    for h in 0..hosts {
        let store = PostgresStore::connect(
            url,
            PostgresOptions {
                schema: hub.store.schema().to_string(),
                application_name: format!("durafn-bench-{h}"),
                ..PostgresOptions::default()
            },
        )
        .await
        .expect("connect");
        stores.push(Arc::new(store));
    }
    let runtimes: Vec<Runtime> = stores
        .iter()
        .enumerate()
        .map(|(h, store)| {
            Runtime::builder(store.clone(), common::hello_cities())
                .options(RuntimeOptions {
                    host_id: format!("bench-{h}"),
                    ..RuntimeOptions::default()
                })
                .start()
        })
        .collect();
    let started = Instant::now();
    let mut ids = Vec::with_capacity(n);
    let mut set = tokio::task::JoinSet::new();
    for i in 0..n {
        let client = runtimes[i % hosts].client();
        set.spawn(async move {
            client
                .start_new("hello_cities", None, &())
                .await
                .expect("start")
        });
        if set.len() >= 512 {
            ids.push(set.join_next().await.expect("a start").expect("task"));
        }
    }
    while let Some(id) = set.join_next().await {
        ids.push(id.expect("task"));
    }
    let starts = started.elapsed().as_secs_f64();
    // Completions are awaited through the client (in-process notifications, polling for the
    // other host's), in start order.
    let client = runtimes[0].client();
    for id in &ids {
        let status = client
            .wait_for_completion(id.as_str(), Duration::from_secs(600))
            .await
            .expect("completes");
        assert_eq!(status.runtime_status, RuntimeStatus::Completed);
    }
    let secs = started.elapsed().as_secs_f64();
    let rate = n as f64 / secs;
    let turns: u64 = runtimes
        .iter()
        .map(|r| r.metrics().turns.load(std::sync::atomic::Ordering::Relaxed))
        .sum();
    eprintln!(
        "  {hosts} host(s): {n} orchestrations in {secs:.2} s = {rate:.0}/s \
         (starts took {starts:.2} s; {turns} turns)"
    );
    for r in runtimes {
        r.shutdown().await;
    }
    rate
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a benchmark: run with --release -- --ignored --nocapture"]
async fn hello_cities_throughput() {
    let Some(url) = common::url() else { return };
    let n = env_or("DURAFN_BENCH_INSTANCES", 10_000);
    let runs = env_or("DURAFN_BENCH_RUNS", 3).max(1);
    let hosts: Vec<usize> = std::env::var("DURAFN_BENCH_HOSTS")
        .unwrap_or_else(|_| "1,2".into())
        .split(',')
        .filter_map(|h| h.trim().parse().ok())
        .collect();
    for h in hosts {
        let mut rates = Vec::new();
        for _ in 0..runs {
            rates.push(run(&url, h, n).await);
        }
        rates.sort_by(f64::total_cmp);
        println!(
            "throughput (hello cities, 5 sequential activities, PostgreSQL, {h} host(s)): \
             median {:.0} orchestrations/s over {runs} runs of {n} (runs: {})",
            rates[rates.len() / 2],
            rates
                .iter()
                .map(|r| format!("{r:.0}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
}
