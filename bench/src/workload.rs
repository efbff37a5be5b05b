//! The five workloads of `bench/peers/README.md`, written once for every Rust worker of the
//! side-by-side comparison: durafn's own and the duroxide and Restate workers.
//!
//! A worker implements [`Driver`] for its system (how to start an instance, and how to start
//! one and wait for its result, the way the system's users do it), registers the five flows,
//! and hands over to [`run`]. The peers' workers are built outside this workspace:
//! `bench/peers/setup.sh` copies this file next to their `main.rs`, so it depends on nothing but
//! the standard library and tokio, and the workloads cannot drift apart between systems.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The cities "hello cities" greets, one activity each, in order.
pub const CITIES: [&str; 5] = ["Tokyo", "Seattle", "London", "Cairo", "Lima"];

/// Warm-up samples W3 runs before it measures.
const WARMUP: usize = 10;

/// Client requests in flight at once when `BENCH_IN_FLIGHT` is not set (see the README).
const DEFAULT_IN_FLIGHT: usize = 200;

/// How long W5 waits after its last start for the instances to reach their wait.
const SETTLE: Duration = Duration::from_secs(15);

/// An orchestration (workflow) of the workloads; every worker registers all five.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// W1: five activities one after another, one per city.
    HelloCities,
    /// W2: `n` activities at once, then waits for all of them.
    FanOut,
    /// W3: a single activity.
    OneActivity,
    /// W4: `n` activities one after another, each calling [`step_ran`].
    LongChain,
    /// W5: calls [`reached_wait`], then waits for an event named `go`.
    Waiter,
}

impl Flow {
    /// The flow's name in snake case, as durafn and duroxide register it.
    pub fn name(self) -> &'static str {
        match self {
            Self::HelloCities => "hello_cities",
            Self::FanOut => "fan_out",
            Self::OneActivity => "one_activity",
            Self::LongChain => "long_chain",
            Self::Waiter => "waiter",
        }
    }
}

/// What a system offers the workloads, used the way its own users would use it.
pub trait Driver: Clone + Send + Sync + 'static {
    /// Starts instance `key` of `flow` with input `n` (a count for [`Flow::FanOut`] and
    /// [`Flow::LongChain`], ignored by the others) and returns once the system accepted it.
    fn start(
        &self,
        flow: Flow,
        key: &str,
        n: u64,
    ) -> impl Future<Output = Result<(), String>> + Send;

    /// Starts instance `key` of `flow` and waits for its output.
    fn call(
        &self,
        flow: Flow,
        key: &str,
        n: u64,
    ) -> impl Future<Output = Result<String, String>> + Send;
}

/// A workload's numbers, printed as the worker's one `RESULT {json}` line.
#[derive(Debug, Default)]
pub struct Measured(Vec<(&'static str, Option<f64>)>);

impl Measured {
    /// Adds a number; one that is not finite, or `None`, is written as JSON `null`.
    pub fn with(mut self, key: &'static str, value: impl Into<Option<f64>>) -> Self {
        self.0.push((key, value.into().filter(|v| v.is_finite())));
        self
    }

    /// The numbers as a JSON object.
    pub fn json(&self) -> String {
        let mut out = String::from("{");
        for (i, (key, value)) in self.0.iter().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            match value {
                Some(v) => write!(out, "{sep}\"{key}\":{v}"),
                None => write!(out, "{sep}\"{key}\":null"),
            }
            .expect("writing to a string");
        }
        out.push('}');
        out
    }

    /// Prints the `RESULT` line the runner reads.
    pub fn print(&self) {
        use std::io::Write as _;
        println!("RESULT {}", self.json());
        let _ = std::io::stdout().flush();
    }
}

/// Records that W4's step `i` ran (the W4 activity calls it).
pub fn step_ran(i: usize) {
    if let Some(slot) = steps().lock().expect("step times").get_mut(i) {
        *slot = Some(Instant::now());
    }
}

/// Records that W5's instance `key` reached its wait (the W5 flow calls it before waiting; a
/// replay calls it again, hence a set).
pub fn reached_wait(key: &str) {
    waiting()
        .lock()
        .expect("waiting set")
        .insert(key.to_string());
}

/// When each W4 step ran, by step.
fn steps() -> &'static Mutex<Vec<Option<Instant>>> {
    static T: OnceLock<Mutex<Vec<Option<Instant>>>> = OnceLock::new();
    T.get_or_init(|| Mutex::new(Vec::new()))
}

/// W5 instances that reached their wait.
fn waiting() -> &'static Mutex<HashSet<String>> {
    static W: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    W.get_or_init(|| Mutex::new(HashSet::new()))
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// When the measurement stops waiting: `BENCH_DEADLINE` seconds from now (the cap).
fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(env_number("BENCH_DEADLINE", 300))
}

/// Client requests in flight at once (`BENCH_IN_FLIGHT`) in W1 and W5.
fn in_flight() -> usize {
    (env_number("BENCH_IN_FLIGHT", DEFAULT_IN_FLIGHT as u64) as usize).max(1)
}

/// Resident memory of a process (`self` or a pid) in MB.
pub fn rss_mb(pid: &str) -> Option<f64> {
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

/// The key of an instance: unique within the worker, and across workers on one server.
fn key(workload: &str, i: usize) -> String {
    format!("{workload}-{}-{i}", std::process::id())
}

/// Runs workload `w1`..`w5` of size `n` on `driver`.
pub async fn run<D: Driver>(driver: &D, workload: &str, n: usize) -> Measured {
    match workload {
        "w1" => throughput(driver, n).await,
        "w2" => fan_out(driver, n).await,
        "w3" => latency(driver, n).await,
        "w4" => chain(driver, n).await,
        "w5" => parked(driver, n).await,
        other => panic!("unknown workload {other:?}"),
    }
}

/// How a bounded run of jobs went.
struct Bounded {
    finished: usize,
    last: Instant,
    capped: bool,
}

/// Runs `job(i)` for `i` in `0..n` with at most `limit` running at once, as a client with a
/// bounded number of requests in flight does; none starts after `stop_starting`, and none is
/// waited for past `stop_waiting`.
async fn bounded<F, Fut>(
    n: usize,
    limit: usize,
    stop_starting: Instant,
    stop_waiting: Instant,
    job: F,
) -> Bounded
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicUsize::new(0));
    let last = Arc::new(Mutex::new(Instant::now()));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..limit.min(n) {
        let (next, finished, last, job) =
            (next.clone(), finished.clone(), last.clone(), job.clone());
        set.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n || Instant::now() > stop_starting {
                    return;
                }
                job(i).await;
                finished.fetch_add(1, Ordering::Relaxed);
                *last.lock().expect("last finish") = Instant::now();
            }
        });
    }
    let all = async {
        while let Some(joined) = set.join_next().await {
            if let Err(e) = joined {
                std::panic::resume_unwind(e.into_panic());
            }
        }
    };
    let capped = tokio::time::timeout_at(stop_waiting.into(), all)
        .await
        .is_err();
    let finished = finished.load(Ordering::Relaxed);
    Bounded {
        capped: capped || finished < n,
        finished,
        last: *last.lock().expect("last finish"),
    }
}

/// W1: `n` "hello cities", each started and awaited by one of `BENCH_IN_FLIGHT` clients;
/// instances completed per second, from the first start to the last completion (or the cap).
async fn throughput<D: Driver>(driver: &D, n: usize) -> Measured {
    let (limit, end) = (in_flight(), deadline());
    let started = Instant::now();
    let driver = driver.clone();
    let done = bounded(n, limit, end, end, move |i| {
        let driver = driver.clone();
        async move {
            if let Err(e) = driver.call(Flow::HelloCities, &key("w1", i), 0).await {
                panic!("hello cities {i}: {e}");
            }
        }
    })
    .await;
    let secs = if done.capped {
        started.elapsed()
    } else {
        done.last - started
    }
    .as_secs_f64();
    Measured::default()
        .with("per_sec", done.finished as f64 / secs)
        .with("secs", secs)
        .with("completed", done.finished as f64)
        .with("in_flight", limit as f64)
}

/// W2: one orchestration starting `n` activities at once; start to completed.
async fn fan_out<D: Driver>(driver: &D, n: usize) -> Measured {
    let started = Instant::now();
    let out = driver
        .call(Flow::FanOut, &key("w2", 0), n as u64)
        .await
        .unwrap_or_else(|e| panic!("fan-out: {e}"));
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(
        out.trim().trim_matches('"'),
        n.to_string(),
        "every activity of the fan-out completed"
    );
    Measured::default().with("secs", secs)
}

/// W3: one-activity orchestrations started and awaited one at a time after a warm-up, until
/// `n` samples or the cap; p50 and p99 of start to completed.
async fn latency<D: Driver>(driver: &D, n: usize) -> Measured {
    let end = deadline();
    let mut ms = Vec::with_capacity(n);
    for i in 0..n + WARMUP {
        if i > WARMUP + 5 && Instant::now() > end {
            break;
        }
        let started = Instant::now();
        driver
            .call(Flow::OneActivity, &key("w3", i), 0)
            .await
            .unwrap_or_else(|e| panic!("one activity {i}: {e}"));
        if i >= WARMUP {
            ms.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    ms.sort_by(f64::total_cmp);
    let p = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
    Measured::default()
        .with("p50_ms", p(0.5))
        .with("p99_ms", p(0.99))
        .with("samples", ms.len() as f64)
}

/// W4: one orchestration of `n` sequential activities, awaited until the cap; time per step
/// over the first and the last steps run.
async fn chain<D: Driver>(driver: &D, n: usize) -> Measured {
    *steps().lock().expect("step times") = vec![None; n];
    let started = Instant::now();
    let key = key("w4", 0);
    let call = driver.call(Flow::LongChain, &key, n as u64);
    // Past the cap the chain is left running; the steps run so far are summarized.
    if let Ok(Err(e)) = tokio::time::timeout_at(deadline().into(), call).await {
        panic!("long chain: {e}");
    }
    step_summary(
        &steps().lock().expect("step times"),
        started.elapsed().as_secs_f64(),
    )
}

/// Time per step over the first and the last k steps run (k = n/10, at most 100).
fn step_summary(times: &[Option<Instant>], secs: f64) -> Measured {
    let t: Vec<Instant> = times.iter().map_while(|t| *t).collect();
    let n = t.len();
    let measured = Measured::default()
        .with("secs", secs)
        .with("steps", n as f64);
    if n < 3 {
        return measured;
    }
    let k = (times.len() / 10).clamp(1, 100).min(n / 2);
    let per_step = |from: Instant, to: Instant| (to - from).as_secs_f64() * 1000.0 / k as f64;
    measured
        .with("first_ms", per_step(t[0], t[k]))
        .with("last_ms", per_step(t[n - 1 - k], t[n - 1]))
}

/// W5: starts `n` instances that wait for an event (`BENCH_IN_FLIGHT` starts in flight, none
/// after the cap), waits for them to reach their wait, and reads the resident memory of this
/// worker and of the peer's server (`BENCH_SERVER_PID`).
async fn parked<D: Driver>(driver: &D, n: usize) -> Measured {
    let before = rss_mb("self");
    let (limit, end) = (in_flight(), deadline());
    let started = Instant::now();
    let starter = driver.clone();
    let done = bounded(n, limit, end, end + SETTLE, move |i| {
        let driver = starter.clone();
        async move {
            if let Err(e) = driver.start(Flow::Waiter, &key("w5", i), 0).await {
                panic!("waiter {i}: {e}");
            }
        }
    })
    .await;
    let settle = end.max(Instant::now()) + SETTLE;
    let reached = || waiting().lock().expect("waiting set").len();
    let mut said = Instant::now();
    while reached() < done.finished && Instant::now() < settle {
        if said.elapsed() > Duration::from_secs(5) {
            eprintln!("  {}/{} waiting", reached(), done.finished);
            said = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let server = std::env::var("BENCH_SERVER_PID").ok();
    Measured::default()
        .with("started", done.finished as f64)
        .with("reached", reached() as f64)
        .with("secs", started.elapsed().as_secs_f64())
        .with("in_flight", limit as f64)
        .with("worker_rss_mb", rss_mb("self"))
        .with("worker_rss_before_mb", before)
        .with("server_rss_mb", server.as_deref().and_then(rss_mb))
}
