//! Scale-out on one PostgreSQL task hub: "hello cities" throughput with 1, 2 and 3 host
//! processes sharing the hub, measured in the same run, alternating, so the ratios compare like
//! with like on a shared machine.
//!
//! ```text
//! DURAFN_BENCH_POSTGRES_URL=postgres://... cargo run --release -p durafn-bench --bin scale -- \
//!     [--instances 5000] [--hosts 1,2,3] [--runs 3]
//! ```
//!
//! Each measurement makes a fresh schema, starts the hosts (this binary again, `--serve`: a
//! runtime on the hub and nothing else, so every instance is fetched by whichever host gets it
//! first), starts the instances from a client of no host, 200 in flight as a user's callers
//! would, and times from the first start until every instance completed. The hosts are then
//! killed and the schema dropped. Reports orchestrations per second per host count (median of
//! the runs) and each count's ratio to one host.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use durafn_bench::backend::{drop_schema, postgres_url};
use durafn_bench::{arg, flag, median};
use durafn_core::{Registry, RuntimeStatus};
use durafn_postgres::{PostgresOptions, PostgresStore};
use durafn_runtime::{DurableClient, Runtime};
use durafn_store::Store;

fn registry() -> Arc<Registry> {
    Arc::new(
        durafn_bench::hello_cities(Registry::builder())
            .build()
            .expect("unique names"),
    )
}

async fn open(url: &str, schema: &str) -> Arc<dyn Store> {
    let options = PostgresOptions {
        schema: schema.to_string(),
        application_name: "durafn-bench-scale".into(),
        ..PostgresOptions::default()
    };
    Arc::new(
        PostgresStore::connect(url, options)
            .await
            .expect("connect to PostgreSQL"),
    )
}

/// `--serve`: one host on the hub until stdin closes.
async fn serve(url: &str, schema: &str) {
    let runtime = Runtime::builder(open(url, schema).await, registry()).start();
    println!("ready");
    tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        while std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {
            line.clear();
        }
    })
    .await
    .expect("stdin");
    runtime.shutdown().await;
}

/// Starts a host process and waits until its runtime runs.
fn host(url: &str, schema: &str) -> Child {
    let mut child = Command::new(std::env::current_exe().expect("this binary"))
        .args(["--serve", "--url", url, "--schema", schema])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start a host");
    let mut ready = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut ready)
        .expect("the host says it is ready");
    assert_eq!(ready.trim(), "ready", "the host did not start");
    child
}

/// One measurement: `hosts` processes, `n` instances; orchestrations per second.
async fn measure(url: &str, hosts: usize, n: usize, tag: usize) -> f64 {
    let schema = format!("bench_scale_{}_{tag}", std::process::id());
    drop_schema(url, &schema).await;
    let store = open(url, &schema).await;
    let mut children: Vec<Child> = (0..hosts).map(|_| host(url, &schema)).collect();
    let client = DurableClient::detached(store.clone(), None);
    let started = Instant::now();
    durafn_bench::start_many(&client, "hello_cities", n, 200).await;
    loop {
        let counts = store.count_by_status().await.expect("count");
        let done = counts
            .iter()
            .find(|(s, _)| *s == RuntimeStatus::Completed)
            .map_or(0, |(_, c)| *c);
        if done as usize >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    for child in &mut children {
        drop(child.stdin.take());
    }
    for child in &mut children {
        let _ = child.wait();
    }
    drop(client);
    drop(store);
    drop_schema(url, &schema).await;
    rate
}

#[tokio::main]
async fn main() {
    if flag("--serve") {
        let url = arg::<String>("--url", String::new());
        let schema = arg::<String>("--schema", String::new());
        serve(&url, &schema).await;
        return;
    }
    let Some(url) = postgres_url() else {
        eprintln!("no PostgreSQL: set DURAFN_BENCH_POSTGRES_URL or DURAFN_TEST_POSTGRES_URL");
        std::process::exit(2);
    };
    let n = arg("--instances", 5000usize);
    let runs = arg("--runs", 3usize);
    let counts: Vec<usize> = arg::<String>("--hosts", "1,2,3".into())
        .split(',')
        .filter_map(|h| h.trim().parse().ok())
        .collect();
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); counts.len()];
    let mut tag = 0;
    for run in 0..runs {
        for (i, &hosts) in counts.iter().enumerate() {
            tag += 1;
            let rate = measure(&url, hosts, n, tag).await;
            println!(
                "run {}: {hosts} host(s): {rate:.0} orchestrations/s",
                run + 1
            );
            rates[i].push(rate);
        }
    }
    let base = median(rates[0].clone());
    println!(
        "\n| hosts | orchestrations/s (median of {runs}) | runs | vs {} host(s) |",
        counts[0]
    );
    println!("|---:|---:|---|---:|");
    for (i, &hosts) in counts.iter().enumerate() {
        let m = median(rates[i].clone());
        let all: Vec<String> = rates[i].iter().map(|r| format!("{r:.0}")).collect();
        println!(
            "| {hosts} | {m:.0} | {} | {:.2}× |",
            all.join(", "),
            m / base
        );
    }
}
