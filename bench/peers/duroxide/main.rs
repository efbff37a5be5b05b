//! The duroxide side of the comparison: the five workloads of bench/peers/README.md on
//! duroxide's SQLite provider or its PostgreSQL provider (duroxide-pg).
//!
//! `duroxide-worker <w1|w2|w3|w4|w5> <size>`; `BENCH_STORE` is `sqlite` (file under
//! `BENCH_DIR`) or `postgres` (`BENCH_PG_URL`, schema `BENCH_PG_SCHEMA`). Prints one line
//! `RESULT {json}` on stdout; progress goes to stderr.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use duroxide::providers::Provider;
use duroxide::providers::sqlite::SqliteProvider;
use duroxide::runtime::registry::ActivityRegistry;
use duroxide::runtime::{Runtime, RuntimeOptions};
use duroxide::{
    ActivityContext, Client, OrchestrationContext, OrchestrationRegistry, OrchestrationStatus,
};

/// Activities run (W1).
static ACTIVITIES: AtomicU64 = AtomicU64::new(0);

/// When each W4 step's activity ran, by step.
fn step_times() -> &'static Mutex<Vec<Option<Instant>>> {
    static T: OnceLock<Mutex<Vec<Option<Instant>>>> = OnceLock::new();
    T.get_or_init(|| Mutex::new(Vec::new()))
}

/// W1 instances whose orchestrator has returned (a replay inserts again: it is a set).
fn done() -> &'static Mutex<HashSet<String>> {
    static D: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    D.get_or_init(|| Mutex::new(HashSet::new()))
}

/// Instances that reached their wait for the event (W5).
fn waiting() -> &'static Mutex<HashSet<String>> {
    static W: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    W.get_or_init(|| Mutex::new(HashSet::new()))
}

fn rss_mb(pid: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

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

fn registries() -> (ActivityRegistry, OrchestrationRegistry) {
    let activities = ActivityRegistry::builder()
        .register("say_hello", |_: ActivityContext, city: String| async move {
            ACTIVITIES.fetch_add(1, Ordering::Relaxed);
            Ok(format!("Hello {city}!"))
        })
        .register("step", |_: ActivityContext, i: String| async move {
            let i: usize = i.parse().map_err(|e| format!("{e}"))?;
            if let Some(slot) = step_times().lock().unwrap().get_mut(i) {
                *slot = Some(Instant::now());
            }
            Ok(i.to_string())
        })
        .build();
    let orchestrations = OrchestrationRegistry::builder()
        .register(
            "hello_cities",
            |ctx: OrchestrationContext, _: String| async move {
                let mut out = Vec::new();
                for city in ["Tokyo", "Seattle", "London", "Cairo", "Lima"] {
                    out.push(ctx.schedule_activity("say_hello", city).await?);
                }
                done().lock().unwrap().insert(ctx.instance_id());
                Ok(out.join(","))
            },
        )
        .register(
            "fan_out",
            |ctx: OrchestrationContext, n: String| async move {
                let n: usize = n.parse().map_err(|e| format!("{e}"))?;
                let calls = (0..n)
                    .map(|i| ctx.schedule_activity("say_hello", i.to_string()))
                    .collect();
                let results = ctx.join(calls).await;
                let ok = results.into_iter().filter(|r| r.is_ok()).count();
                Ok(ok.to_string())
            },
        )
        .register(
            "one_activity",
            |ctx: OrchestrationContext, _: String| async move {
                ctx.schedule_activity("say_hello", "you").await
            },
        )
        .register(
            "long_chain",
            |ctx: OrchestrationContext, n: String| async move {
                let n: usize = n.parse().map_err(|e| format!("{e}"))?;
                for i in 0..n {
                    ctx.schedule_activity("step", i.to_string()).await?;
                }
                Ok(n.to_string())
            },
        )
        .register(
            "waiter",
            |ctx: OrchestrationContext, _: String| async move {
                waiting().lock().unwrap().insert(ctx.instance_id());
                Ok(ctx.schedule_wait("go").await)
            },
        )
        .build();
    (activities, orchestrations)
}

async fn wait(client: &Client, id: &str) {
    match client
        .wait_for_orchestration(id, Duration::from_secs(3600))
        .await
    {
        Ok(OrchestrationStatus::Completed { .. }) => {}
        other => panic!("instance {id} did not complete: {other:?}"),
    }
}

/// Starts `n` instances of `name`, 512 at a time, until `until`; returns the ids started.
async fn start_many(
    client: &Client,
    name: &str,
    n: usize,
    input: &str,
    until: Option<Instant>,
) -> Vec<String> {
    let ids: Vec<String> = (0..n).map(|i| format!("{name}-{i}")).collect();
    let mut set = tokio::task::JoinSet::new();
    for (k, id) in ids.iter().enumerate() {
        if k > 0 && k % 512 == 0 && until.is_some_and(|u| Instant::now() > u) {
            while set.join_next().await.is_some() {}
            return ids[..k].to_vec();
        }
        let (client, id, name, input) = (
            client.clone(),
            id.clone(),
            name.to_string(),
            input.to_string(),
        );
        set.spawn(async move {
            client
                .start_orchestration(id, name, input)
                .await
                .expect("start")
        });
        if set.len() >= 512 {
            set.join_next().await;
        }
    }
    while set.join_next().await.is_some() {}
    ids
}

/// Waits for the instances in start order, 64 at a time, until `deadline`; returns how many
/// completed.
async fn wait_all(client: &Client, ids: &[String], deadline: Instant) -> usize {
    let mut completed = 0;
    for chunk in ids.chunks(64) {
        let mut set = tokio::task::JoinSet::new();
        for id in chunk {
            let (client, id) = (client.clone(), id.clone());
            set.spawn(async move { wait(&client, &id).await });
        }
        let all = async { while set.join_next().await.is_some() {} };
        if tokio::time::timeout_at(deadline.into(), all).await.is_err() {
            break;
        }
        completed += chunk.len();
    }
    completed
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
    let client = Client::new(store);
    let result = match workload.as_str() {
        "w1" => {
            let started = Instant::now();
            let end = deadline();
            let ids = start_many(&client, "hello_cities", n, "", Some(end)).await;
            while done().lock().unwrap().len() < n && Instant::now() < end {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let returned = done().lock().unwrap().len();
            if returned < n {
                // Capped: the work done, as activities run ÷ 5 per second.
                let secs = started.elapsed().as_secs_f64();
                let ran = ACTIVITIES.load(Ordering::Relaxed);
                format!(
                    r#"{{"secs":{secs},"per_sec":{},"completed":{returned},"activities":{ran}}}"#,
                    ran as f64 / 5.0 / secs
                )
            } else {
                let completed = wait_all(&client, &ids, end + Duration::from_secs(60)).await;
                let secs = started.elapsed().as_secs_f64();
                format!(
                    r#"{{"secs":{secs},"per_sec":{},"completed":{completed}}}"#,
                    completed as f64 / secs
                )
            }
        }
        "w2" => {
            let started = Instant::now();
            client
                .start_orchestration("fan-out", "fan_out", n.to_string())
                .await
                .expect("start");
            wait(&client, "fan-out").await;
            format!(r#"{{"secs":{}}}"#, started.elapsed().as_secs_f64())
        }
        "w3" => {
            let warmup = 10;
            let mut ms = Vec::new();
            let end = deadline();
            for i in 0..n + warmup {
                if i > warmup + 5 && Instant::now() > end {
                    break;
                }
                let id = format!("latency-{i}");
                let started = Instant::now();
                client
                    .start_orchestration(id.clone(), "one_activity", "")
                    .await
                    .expect("start");
                wait(&client, &id).await;
                if i >= warmup {
                    ms.push(started.elapsed().as_secs_f64() * 1000.0);
                }
            }
            ms.sort_by(|a, b| a.total_cmp(b));
            let p = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
            format!(
                r#"{{"p50_ms":{},"p99_ms":{},"samples":{}}}"#,
                p(0.5),
                p(0.99),
                ms.len()
            )
        }
        "w4" => {
            *step_times().lock().unwrap() = vec![None; n];
            let started = Instant::now();
            client
                .start_orchestration("long", "long_chain", n.to_string())
                .await
                .expect("start");
            let _ = tokio::time::timeout_at(deadline().into(), wait(&client, "long")).await;
            step_summary(
                &step_times().lock().unwrap(),
                started.elapsed().as_secs_f64(),
            )
        }
        "w5" => {
            let before = rss_mb("self").unwrap_or(0.0);
            let started = Instant::now();
            let end = deadline();
            let n = start_many(&client, "waiter", n, "", Some(end)).await.len();
            let settle = end.max(Instant::now()) + Duration::from_secs(15);
            let mut last = Instant::now();
            loop {
                let reached = waiting().lock().unwrap().len();
                if reached >= n || Instant::now() > settle {
                    break;
                }
                if last.elapsed() > Duration::from_secs(5) {
                    eprintln!("  {reached}/{n} waiting");
                    last = Instant::now();
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let reached = waiting().lock().unwrap().len();
            let worker = rss_mb("self").unwrap_or(0.0);
            format!(
                r#"{{"started":{n},"reached":{reached},"secs":{},"worker_rss_mb":{worker},"worker_rss_before_mb":{before}}}"#,
                started.elapsed().as_secs_f64()
            )
        }
        other => panic!("unknown workload {other:?}"),
    };
    println!("RESULT {result}");
    runtime.shutdown(Some(1000)).await;
}

/// When the measurement stops waiting (`BENCH_DEADLINE` seconds from now): W1 counts the
/// instances completed by then, W3 stops sampling, W4 summarizes the steps run, W5 reads memory.
fn deadline() -> Instant {
    let secs = std::env::var("BENCH_DEADLINE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    Instant::now() + Duration::from_secs(secs)
}

/// Time per step over the first and the last k steps run (k = n/10, at most 100).
fn step_summary(times: &[Option<Instant>], secs: f64) -> String {
    let t: Vec<Instant> = times.iter().map_while(|t| *t).collect();
    let n = t.len();
    if n < 3 {
        return format!(r#"{{"secs":{secs},"steps":{n}}}"#);
    }
    let k = (times.len() / 10).clamp(1, 100).min(n / 2);
    let first = (t[k] - t[0]).as_secs_f64() * 1000.0 / k as f64;
    let last = (t[n - 1] - t[n - 1 - k]).as_secs_f64() * 1000.0 / k as f64;
    format!(r#"{{"secs":{secs},"first_ms":{first},"last_ms":{last},"steps":{n}}}"#)
}
