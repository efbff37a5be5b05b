//! The Restate side of the comparison: the five workloads of bench/peers/README.md as Restate
//! workflows written with the Rust SDK, served by this process and driven through the Restate
//! server's ingress.
//!
//! `restate-worker <w1|w2|w3|w4|w5> <size>`; the server's ingress and admin addresses come from
//! `BENCH_INGRESS` and `BENCH_ADMIN`, this endpoint listens on `BENCH_ENDPOINT_PORT`. An
//! activity is a `ctx.run` step (Restate's journaled side effect); the fan-out calls a separate
//! `Activity` service, since `ctx.run` futures cannot be awaited together. Prints one line
//! `RESULT {json}` on stdout; progress goes to stderr.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use restate_sdk::prelude::*;

/// Activities run (W1).
static ACTIVITIES: AtomicU64 = AtomicU64::new(0);

/// When each W4 step ran, by step (a replayed step is not run again).
fn step_times() -> &'static Mutex<Vec<Option<Instant>>> {
    static T: OnceLock<Mutex<Vec<Option<Instant>>>> = OnceLock::new();
    T.get_or_init(|| Mutex::new(Vec::new()))
}

/// W1 workflows whose handler has returned (a replay inserts again: it is a set).
fn done() -> &'static Mutex<HashSet<String>> {
    static D: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    D.get_or_init(|| Mutex::new(HashSet::new()))
}

/// Workflows that reached their wait for the event (W5).
fn waiting() -> &'static Mutex<HashSet<String>> {
    static W: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    W.get_or_init(|| Mutex::new(HashSet::new()))
}

fn hello(city: &str) -> String {
    ACTIVITIES.fetch_add(1, Ordering::Relaxed);
    format!("Hello {city}!")
}

struct Activity;

#[restate_sdk::service]
impl Activity {
    #[handler]
    async fn say_hello(&self, _ctx: Context<'_>, city: String) -> Result<String, HandlerError> {
        Ok(hello(&city))
    }
}

struct HelloCities;

#[restate_sdk::workflow]
impl HelloCities {
    #[handler]
    async fn run(&self, ctx: WorkflowContext<'_>) -> Result<String, HandlerError> {
        let mut out = Vec::new();
        for city in ["Tokyo", "Seattle", "London", "Cairo", "Lima"] {
            out.push(ctx.run(|| async move { Ok(hello(city)) }).await?);
        }
        done().lock().unwrap().insert(ctx.key().to_string());
        Ok(out.join(","))
    }
}

struct FanOut;

#[restate_sdk::workflow]
impl FanOut {
    #[handler]
    async fn run(&self, ctx: WorkflowContext<'_>, n: u64) -> Result<u64, HandlerError> {
        let mut calls: DurableFuturesUnordered<_> = (0..n)
            .map(|i| {
                ctx.service_client::<ActivityClient>()
                    .say_hello(i.to_string())
                    .call()
            })
            .collect();
        let mut ok = 0;
        while let Some((_, result)) = calls.next().await? {
            result?;
            ok += 1;
        }
        Ok(ok)
    }
}

struct OneActivity;

#[restate_sdk::workflow]
impl OneActivity {
    #[handler]
    async fn run(&self, ctx: WorkflowContext<'_>) -> Result<String, HandlerError> {
        Ok(ctx.run(|| async { Ok(hello("you")) }).await?)
    }
}

struct LongChain;

#[restate_sdk::workflow]
impl LongChain {
    #[handler]
    async fn run(&self, ctx: WorkflowContext<'_>, n: u64) -> Result<u64, HandlerError> {
        for i in 0..n as usize {
            ctx.run(|| async move {
                if let Some(slot) = step_times().lock().unwrap().get_mut(i) {
                    *slot = Some(Instant::now());
                }
                Ok(i as u64)
            })
            .await?;
        }
        Ok(n)
    }
}

struct Waiter;

#[restate_sdk::workflow]
impl Waiter {
    #[handler]
    async fn run(&self, ctx: WorkflowContext<'_>) -> Result<u32, HandlerError> {
        waiting().lock().unwrap().insert(ctx.key().to_string());
        Ok(ctx.promise::<u32>("go").await?)
    }

    #[handler]
    async fn go(&self, ctx: SharedWorkflowContext<'_>, value: u32) -> Result<(), HandlerError> {
        ctx.resolve_promise::<u32>("go", value);
        Ok(())
    }
}

/// When the measurement stops waiting (`BENCH_DEADLINE` seconds from now): W1 counts the
/// instances completed by then, W3 stops sampling, W4 summarizes the steps run, W5 reads memory.
fn deadline() -> Instant {
    let secs: u64 = env("BENCH_DEADLINE", "300").parse().unwrap_or(300);
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

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
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

/// The ingress client: starts workflows and waits for their results.
#[derive(Clone)]
struct Ingress {
    http: reqwest::Client,
    base: String,
}

impl Ingress {
    async fn post(&self, path: &str, body: String) -> String {
        for attempt in 0.. {
            let mut request = self.http.post(format!("{}/{path}", self.base));
            if !body.is_empty() {
                request = request
                    .header("content-type", "application/json")
                    .body(body.clone());
            }
            match request.send().await {
                Ok(r) if r.status().is_success() => return r.text().await.expect("body"),
                Ok(r) if attempt < 50 => {
                    let status = r.status();
                    eprintln!(
                        "  POST {path}: {status} {}; retrying",
                        r.text().await.unwrap_or_default()
                    )
                }
                Err(e) if attempt < 50 => eprintln!("  POST {path}: {e}; retrying"),
                other => panic!("POST {path} failed: {other:?}"),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        unreachable!()
    }

    async fn start(&self, workflow: &str, key: &str, input: &str) {
        self.post(&format!("{workflow}/{key}/run/send"), input.to_string())
            .await;
    }

    async fn attach(&self, workflow: &str, key: &str) -> String {
        for attempt in 0.. {
            let url = format!("{}/restate/workflow/{workflow}/{key}/attach", self.base);
            match self.http.get(url).send().await {
                Ok(r) if r.status().is_success() => return r.text().await.expect("body"),
                Ok(r) if attempt < 50 => {
                    eprintln!("  attach {workflow}/{key}: {}; retrying", r.status())
                }
                Err(e) if attempt < 50 => eprintln!("  attach {workflow}/{key}: {e}; retrying"),
                other => panic!("attach {workflow}/{key} failed: {other:?}"),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        unreachable!()
    }
}

/// Starts `n` workflows, 512 requests at a time, until `until`; returns the keys started.
async fn start_many(
    ingress: &Ingress,
    workflow: &str,
    n: usize,
    until: Option<Instant>,
) -> Vec<String> {
    let run = std::process::id();
    let keys: Vec<String> = (0..n).map(|i| format!("{run}-{i}")).collect();
    let mut set = tokio::task::JoinSet::new();
    for (k, key) in keys.iter().enumerate() {
        if k > 0 && k % 512 == 0 && until.is_some_and(|u| Instant::now() > u) {
            while set.join_next().await.is_some() {}
            return keys[..k].to_vec();
        }
        let (ingress, key, workflow) = (ingress.clone(), key.clone(), workflow.to_string());
        set.spawn(async move { ingress.start(&workflow, &key, "").await });
        if set.len() >= 512 {
            set.join_next().await;
        }
    }
    while set.join_next().await.is_some() {}
    keys
}

/// Waits for the workflows in start order, 64 at a time, until `deadline`; returns how many
/// completed.
async fn attach_all(
    ingress: &Ingress,
    workflow: &str,
    keys: &[String],
    deadline: Instant,
) -> usize {
    let mut completed = 0;
    for chunk in keys.chunks(64) {
        let mut set = tokio::task::JoinSet::new();
        for key in chunk {
            let (ingress, key, workflow) = (ingress.clone(), key.clone(), workflow.to_string());
            set.spawn(async move { ingress.attach(&workflow, &key).await });
        }
        let all = async { while set.join_next().await.is_some() {} };
        if tokio::time::timeout_at(deadline.into(), all).await.is_err() {
            break;
        }
        completed += chunk.len();
    }
    completed
}

/// Registers this endpoint with the server (again, so a changed worker replaces the old one).
async fn register(http: &reqwest::Client, admin: &str, endpoint: &str) {
    let body = format!(r#"{{"uri":"{endpoint}","force":true}}"#);
    for attempt in 0.. {
        let r = http
            .post(format!("{admin}/deployments"))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await;
        match r {
            Ok(r) if r.status().is_success() => return,
            Ok(r) if attempt < 100 => eprintln!("  registering: {}", r.status()),
            Err(e) if attempt < 100 => eprintln!("  registering: {e}"),
            Ok(r) => panic!(
                "cannot register the endpoint: {} {}",
                r.status(),
                r.text().await.unwrap_or_default()
            ),
            Err(e) => panic!("cannot register the endpoint: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let workload = args.get(1).cloned().unwrap_or_default();
    let n: usize = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(10);
    let port = env("BENCH_ENDPOINT_PORT", "9080");
    let endpoint = Endpoint::builder()
        .bind(Activity)
        .bind(HelloCities)
        .bind(FanOut)
        .bind(OneActivity)
        .bind(LongChain)
        .bind(Waiter)
        .build();
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}"))
        .await
        .expect("bind the endpoint port");
    tokio::spawn(HttpServer::new(endpoint).serve(listener));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .build()
        .expect("client");
    register(
        &http,
        &env("BENCH_ADMIN", "http://127.0.0.1:9070"),
        &format!("http://127.0.0.1:{port}"),
    )
    .await;
    let ingress = Ingress {
        http,
        base: env("BENCH_INGRESS", "http://127.0.0.1:8080"),
    };

    let result = match workload.as_str() {
        "w1" => {
            let started = Instant::now();
            let end = deadline();
            let keys = start_many(&ingress, "HelloCities", n, Some(end)).await;
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
                let completed = attach_all(
                    &ingress,
                    "HelloCities",
                    &keys,
                    end + Duration::from_secs(60),
                )
                .await;
                let secs = started.elapsed().as_secs_f64();
                format!(
                    r#"{{"secs":{secs},"per_sec":{},"completed":{completed}}}"#,
                    completed as f64 / secs
                )
            }
        }
        "w2" => {
            let key = format!("{}", std::process::id());
            let started = Instant::now();
            ingress.start("FanOut", &key, &n.to_string()).await;
            let out = ingress.attach("FanOut", &key).await;
            assert_eq!(out.trim(), n.to_string(), "every activity completed");
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
                let key = format!("{}-{i}", std::process::id());
                let started = Instant::now();
                ingress
                    .post(&format!("OneActivity/{key}/run"), String::new())
                    .await;
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
            let key = format!("{}", std::process::id());
            let started = Instant::now();
            ingress.start("LongChain", &key, &n.to_string()).await;
            let _ =
                tokio::time::timeout_at(deadline().into(), ingress.attach("LongChain", &key)).await;
            step_summary(
                &step_times().lock().unwrap(),
                started.elapsed().as_secs_f64(),
            )
        }
        "w5" => {
            let before = rss_mb("self").unwrap_or(0.0);
            let started = Instant::now();
            let end = deadline();
            let n = start_many(&ingress, "Waiter", n, Some(end)).await.len();
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
            let server = std::env::var("BENCH_SERVER_PID")
                .ok()
                .and_then(|pid| rss_mb(&pid));
            format!(
                r#"{{"started":{n},"reached":{reached},"secs":{},"worker_rss_mb":{worker},"worker_rss_before_mb":{before},"server_rss_mb":{}}}"#,
                started.elapsed().as_secs_f64(),
                server.map_or("null".to_string(), |s| s.to_string())
            )
        }
        other => panic!("unknown workload {other:?}"),
    };
    println!("RESULT {result}");
}
