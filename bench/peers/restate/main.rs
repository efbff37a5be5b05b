//! The Restate side of the comparison: the five workloads of bench/peers/README.md as Restate
//! workflows written with the Rust SDK, served by this process and driven through the Restate
//! server's ingress over HTTP, the way a Restate application's client calls them.
//!
//! `restate-worker <w1|w2|w3|w4|w5> <size>`; the server's ingress and admin addresses come from
//! `BENCH_INGRESS` and `BENCH_ADMIN`, this endpoint listens on `BENCH_ENDPOINT_PORT`. An
//! activity is a `ctx.run` step (Restate's journaled side effect); the fan-out calls a separate
//! `Activity` service, since `ctx.run` futures cannot be awaited together. The workloads
//! themselves are `workload.rs`, shared with durafn's and duroxide's workers (setup.sh copies it
//! here from `bench/src/workload.rs`).

mod workload;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use restate_sdk::prelude::*;
use workload::{CITIES, Driver, Flow};

/// Requests the ingress client had to send again (a sign of an overloaded server).
static RETRIES: AtomicU64 = AtomicU64::new(0);

/// Attempts of one ingress request before the worker gives up.
const ATTEMPTS: usize = 50;

fn hello(city: &str) -> String {
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
        for city in CITIES {
            out.push(ctx.run(|| async move { Ok(hello(city)) }).await?);
        }
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
            // A replayed step is not run again, so each step is timed once.
            ctx.run(|| async move {
                workload::step_ran(i);
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
        workload::reached_wait(ctx.key());
        Ok(ctx.promise::<u32>("go").await?)
    }

    #[handler]
    async fn go(&self, ctx: SharedWorkflowContext<'_>, value: u32) -> Result<(), HandlerError> {
        ctx.resolve_promise::<u32>("go", value);
        Ok(())
    }
}

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

/// The ingress client, as a Restate application calls its workflows over HTTP.
#[derive(Clone)]
struct Ingress {
    http: reqwest::Client,
    base: String,
}

/// A flow's Restate workflow: the struct above of the same name in camel case.
fn workflow(flow: Flow) -> String {
    flow.name()
        .split('_')
        .map(|word| word[..1].to_uppercase() + &word[1..])
        .collect()
}

impl Ingress {
    /// POSTs to the ingress, retrying on a connection error or a server error; returns the body.
    async fn post(&self, path: &str, body: Option<String>) -> Result<String, String> {
        let mut last = String::new();
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                RETRIES.fetch_add(1, Ordering::Relaxed);
                eprintln!("  POST {path}: {last}; retrying");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            let mut request = self.http.post(format!("{}/{path}", self.base));
            if let Some(body) = &body {
                request = request
                    .header("content-type", "application/json")
                    .body(body.clone());
            }
            match request.send().await {
                Ok(r) if r.status().is_success() => {
                    return r.text().await.map_err(|e| e.to_string());
                }
                Ok(r) if r.status().is_server_error() => last = r.status().to_string(),
                Ok(r) => {
                    let status = r.status();
                    return Err(format!("{status} {}", r.text().await.unwrap_or_default()));
                }
                Err(e) => last = e.to_string(),
            }
        }
        Err(format!("POST {path}: {last} after {ATTEMPTS} attempts"))
    }
}

fn input(flow: Flow, n: u64) -> Option<String> {
    matches!(flow, Flow::FanOut | Flow::LongChain).then(|| n.to_string())
}

impl Driver for Ingress {
    async fn start(&self, flow: Flow, key: &str, n: u64) -> Result<(), String> {
        let path = format!("{}/{key}/run/send", workflow(flow));
        self.post(&path, input(flow, n)).await.map(drop)
    }

    async fn call(&self, flow: Flow, key: &str, n: u64) -> Result<String, String> {
        let path = format!("{}/{key}/run", workflow(flow));
        self.post(&path, input(flow, n)).await
    }
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
    workload::run(&ingress, &workload, n)
        .await
        .with("retries", RETRIES.load(Ordering::Relaxed) as f64)
        .print();
}
