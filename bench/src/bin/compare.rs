//! Side-by-side comparison of durafn with other durable-execution systems.
//!
//! ```text
//! bench/peers/run.sh [--smoke|--full] [--runs N] [--only ID,ID..] [--no-install]
//! cargo run --release -p durafn-bench --bin compare -- [same options]
//! ```
//!
//! Runs the five workloads of `bench/peers/README.md` on durafn (SQLite with and without fsync,
//! PostgreSQL) and on each peer (duroxide, DBOS, Temporal, Restate), installing the peers into a
//! cache directory first, and writes `bench/results/latest.{md,csv,svg}` (`smoke.*` in smoke
//! mode). Every system runs in its own worker process, which prints one `RESULT {json}` line;
//! `compare durafn <store> <workload> <size>` is durafn's worker. The process fails when a durafn
//! measurement fails; a peer that cannot be installed or run is reported, not fatal.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use durafn_core::{
    ActivityContext, FunctionError, OrchestrationContext, Registry, RuntimeStatus, activity_fn,
    orchestrator_fn,
};
use durafn_postgres::{PostgresOptions, PostgresStore, drop_task_hub};
use durafn_runtime::{DurableClient, Runtime};
use durafn_sqlite::{Durability, SqliteOptions, SqliteStore};
use durafn_store::Store;
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// The systems and the workloads
// ---------------------------------------------------------------------------------------------

/// Which program runs a system's workloads.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Engine {
    Durafn,
    Duroxide,
    Dbos,
    Temporal,
    Restate,
}

/// Where a system keeps its state.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Backend {
    Sqlite,
    Postgres,
    /// Its own server process, started for each workload.
    Server,
}

/// One system under test.
struct System {
    id: &'static str,
    label: &'static str,
    engine: Engine,
    backend: Backend,
    /// Whether a commit is fsynced before it is acknowledged (picks durafn's matching variant).
    fsync: bool,
    durability: &'static str,
    worker: &'static str,
}

const SYSTEMS: &[System] = &[
    System {
        id: "durafn-sqlite",
        label: "durafn · SQLite (fsync)",
        engine: Engine::Durafn,
        backend: Backend::Sqlite,
        fsync: true,
        durability: "SQLite WAL, fsync per commit batch (`Durability::Fsync`)",
        worker: "Rust, in process",
    },
    System {
        id: "durafn-sqlite-nofsync",
        label: "durafn · SQLite (no fsync)",
        engine: Engine::Durafn,
        backend: Backend::Sqlite,
        fsync: false,
        durability: "SQLite WAL, no fsync (`Durability::ProcessCrashSafe`)",
        worker: "Rust, in process",
    },
    System {
        id: "durafn-postgres",
        label: "durafn · PostgreSQL",
        engine: Engine::Durafn,
        backend: Backend::Postgres,
        fsync: true,
        durability: "PostgreSQL, `synchronous_commit=on` (WAL flushed per commit)",
        worker: "Rust, in process",
    },
    System {
        id: "duroxide-sqlite",
        label: "duroxide · SQLite",
        engine: Engine::Duroxide,
        backend: Backend::Sqlite,
        fsync: false,
        durability: "SQLite WAL, `synchronous` NORMAL (fixed by the provider: no fsync per commit)",
        worker: "Rust, in process",
    },
    System {
        id: "duroxide-postgres",
        label: "duroxide · PostgreSQL",
        engine: Engine::Duroxide,
        backend: Backend::Postgres,
        fsync: true,
        durability: "PostgreSQL, `synchronous_commit=on`",
        worker: "Rust, in process",
    },
    System {
        id: "dbos-sqlite",
        label: "DBOS · SQLite",
        engine: Engine::Dbos,
        backend: Backend::Sqlite,
        fsync: true,
        durability: "SQLite rollback journal, `synchronous=FULL` (SQLite's defaults, which DBOS keeps)",
        worker: "Python, in process (async workflows)",
    },
    System {
        id: "dbos-postgres",
        label: "DBOS · PostgreSQL",
        engine: Engine::Dbos,
        backend: Backend::Postgres,
        fsync: true,
        durability: "PostgreSQL, `synchronous_commit=on`",
        worker: "Python, in process (async workflows)",
    },
    System {
        id: "temporal",
        label: "Temporal dev server",
        engine: Engine::Temporal,
        backend: Backend::Server,
        fsync: true,
        durability: "dev server on a SQLite file, WAL with `synchronous=FULL` (set by pragma flags)",
        worker: "Python SDK worker + client, one process",
    },
    System {
        id: "restate",
        label: "Restate",
        engine: Engine::Restate,
        backend: Backend::Server,
        fsync: true,
        durability: "single node, default config (RocksDB WAL fsync on)",
        worker: "Rust SDK endpoint + ingress client, one process",
    },
];

const WORKLOADS: [&str; 5] = ["w1", "w2", "w3", "w4", "w5"];

fn workload_title(w: &str) -> &'static str {
    match w {
        "w1" => "hello cities (5 sequential activities), throughput",
        "w2" => "fan-out/fan-in, one orchestration, time to complete",
        "w3" => "one-activity orchestration, start to completed, one at a time",
        "w4" => "one orchestration of sequential activities, time per step",
        _ => "instances waiting for an event, resident memory",
    }
}

/// Sizes, caps and repetitions of one mode.
struct Plan {
    smoke: bool,
    runs: usize,
    sizes: [usize; 5],
    /// Seconds after which a worker stops waiting and reports what it has (see the README).
    deadlines: [u64; 5],
    /// Seconds after which a worker is killed.
    timeouts: [u64; 5],
}

impl Plan {
    fn new(smoke: bool, runs: Option<usize>) -> Self {
        if smoke {
            Self {
                smoke,
                runs: runs.unwrap_or(1),
                sizes: [50, 20, 20, 50, 500],
                deadlines: [20, 20, 10, 20, 20],
                timeouts: [90, 60, 60, 60, 90],
            }
        } else {
            Self {
                smoke,
                runs: runs.unwrap_or(1),
                sizes: [10_000, 1_000, 200, 5_000, 100_000],
                deadlines: [40, 60, 15, 30, 40],
                timeouts: [150, 120, 90, 90, 150],
            }
        }
    }

    fn index(w: &str) -> usize {
        WORKLOADS.iter().position(|x| *x == w).expect("a workload")
    }
}

// ---------------------------------------------------------------------------------------------
// durafn's worker: `compare durafn <sqlite|sqlite-nofsync|postgres> <workload> <size>`
// ---------------------------------------------------------------------------------------------

const CITIES: [&str; 5] = ["Tokyo", "Seattle", "London", "Cairo", "Lima"];

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

fn registry() -> Arc<Registry> {
    Arc::new(
        Registry::builder()
            .orchestrator(orchestrator_fn(
                "hello_cities",
                |ctx: OrchestrationContext, _: ()| async move {
                    let mut out = Vec::with_capacity(5);
                    for city in CITIES {
                        out.push(ctx.call_activity::<String>("say_hello", &city).await?);
                    }
                    done()
                        .lock()
                        .expect("lock")
                        .insert(ctx.instance_id().to_string());
                    Ok::<_, FunctionError>(out)
                },
            ))
            .orchestrator(orchestrator_fn(
                "fan_out",
                |ctx: OrchestrationContext, n: usize| async move {
                    let calls = (0..n)
                        .map(|i| ctx.call_activity::<String>("say_hello", &i.to_string()))
                        .collect();
                    Ok::<_, FunctionError>(ctx.when_all(calls).await?.len())
                },
            ))
            .orchestrator(orchestrator_fn(
                "one_activity",
                |ctx: OrchestrationContext, _: ()| async move {
                    Ok::<_, FunctionError>(ctx.call_activity::<String>("say_hello", &"you").await?)
                },
            ))
            .orchestrator(orchestrator_fn(
                "long_chain",
                |ctx: OrchestrationContext, n: usize| async move {
                    for i in 0..n {
                        ctx.call_activity::<usize>("step", &i).await?;
                    }
                    Ok::<_, FunctionError>(n)
                },
            ))
            .orchestrator(orchestrator_fn(
                "waiter",
                |ctx: OrchestrationContext, _: ()| async move {
                    waiting()
                        .lock()
                        .expect("lock")
                        .insert(ctx.instance_id().to_string());
                    Ok::<_, FunctionError>(ctx.wait_for_external_event::<u32>("go").await?)
                },
            ))
            .activity(activity_fn(
                "say_hello",
                |_: ActivityContext, city: String| async move {
                    ACTIVITIES.fetch_add(1, Ordering::Relaxed);
                    Ok::<_, FunctionError>(format!("Hello {city}!"))
                },
            ))
            .activity(activity_fn(
                "step",
                |_: ActivityContext, i: usize| async move {
                    if let Some(slot) = step_times().lock().expect("lock").get_mut(i) {
                        *slot = Some(Instant::now());
                    }
                    Ok::<_, FunctionError>(i)
                },
            ))
            .build()
            .expect("unique names"),
    )
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

/// When the measurement stops waiting: `BENCH_DEADLINE` seconds from now.
fn deadline() -> Instant {
    let secs = std::env::var("BENCH_DEADLINE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    Instant::now() + Duration::from_secs(secs)
}

/// Time per step over the first and the last k steps run (k = n/10, at most 100).
fn step_summary(times: &[Option<Instant>], secs: f64) -> Value {
    let t: Vec<Instant> = times.iter().map_while(|t| *t).collect();
    let n = t.len();
    if n < 3 {
        return serde_json::json!({ "secs": secs, "steps": n });
    }
    let k = (times.len() / 10).clamp(1, 100).min(n / 2);
    let first = (t[k] - t[0]).as_secs_f64() * 1000.0 / k as f64;
    let last = (t[n - 1] - t[n - 1 - k]).as_secs_f64() * 1000.0 / k as f64;
    serde_json::json!({ "secs": secs, "first_ms": first, "last_ms": last, "steps": n })
}

/// Starts `n` instances of `name`, 512 start calls in flight, stopping early once `until` has
/// passed; returns their ids.
async fn start_many(
    client: &DurableClient,
    name: &str,
    n: usize,
    until: Option<Instant>,
) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    let mut set = tokio::task::JoinSet::new();
    for k in 0..n {
        if k > 0 && k % 512 == 0 && until.is_some_and(|u| Instant::now() > u) {
            break;
        }
        let (client, name) = (client.clone(), name.to_string());
        set.spawn(async move { client.start_new(&name, None, &()).await.expect("start") });
        if set.len() >= 512
            && let Some(id) = set.join_next().await
        {
            ids.push(id.expect("start task").to_string());
        }
    }
    while let Some(id) = set.join_next().await {
        ids.push(id.expect("start task").to_string());
    }
    ids
}

async fn wait_completed(client: &DurableClient, id: &str) {
    let status = client
        .wait_for_completion(id, Duration::from_secs(3600))
        .await
        .expect("wait for completion");
    assert_eq!(
        status.runtime_status,
        RuntimeStatus::Completed,
        "instance {id} did not complete"
    );
}

/// Waits for the instances in start order, 64 at a time, until `deadline`; returns how many
/// completed.
async fn wait_in_order(client: &DurableClient, ids: &[String], deadline: Instant) -> usize {
    let mut completed = 0;
    for chunk in ids.chunks(64) {
        let mut set = tokio::task::JoinSet::new();
        for id in chunk {
            let (client, id) = (client.clone(), id.clone());
            set.spawn(async move { wait_completed(&client, &id).await });
        }
        let all = async {
            while let Some(r) = set.join_next().await {
                r.expect("wait task");
            }
        };
        if tokio::time::timeout_at(deadline.into(), all).await.is_err() {
            break;
        }
        completed += chunk.len();
    }
    completed
}

async fn durafn_open(store: &str) -> Arc<dyn Store> {
    match store {
        "postgres" => {
            let url = std::env::var("BENCH_PG_URL").expect("BENCH_PG_URL");
            let options = PostgresOptions {
                schema: std::env::var("BENCH_PG_SCHEMA").expect("BENCH_PG_SCHEMA"),
                application_name: "durafn-bench".into(),
                ..PostgresOptions::default()
            };
            Arc::new(
                PostgresStore::connect(&url, options)
                    .await
                    .expect("connect to PostgreSQL"),
            )
        }
        _ => {
            let durability = if store == "sqlite-nofsync" {
                Durability::ProcessCrashSafe
            } else {
                Durability::Fsync
            };
            let dir = PathBuf::from(std::env::var("BENCH_DIR").expect("BENCH_DIR"));
            let options = SqliteOptions {
                durability,
                ..SqliteOptions::default()
            };
            Arc::new(SqliteStore::open(dir.join("hub.db"), options).expect("open the task hub"))
        }
    }
}

async fn durafn_worker(store: &str, workload: &str, n: usize) -> Value {
    let store = durafn_open(store).await;
    let runtime = Runtime::builder(store, registry()).start();
    let client = runtime.client();
    let result = match workload {
        "w1" => {
            let started = Instant::now();
            let end = deadline();
            let ids = start_many(&client, "hello_cities", n, Some(end)).await;
            let returned = || done().lock().expect("lock").len();
            while returned() < n && Instant::now() < end {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            if returned() < n {
                // Capped: the work done, as activities run ÷ 5 per second.
                let secs = started.elapsed().as_secs_f64();
                let ran = ACTIVITIES.load(Ordering::Relaxed);
                serde_json::json!({
                    "secs": secs,
                    "per_sec": ran as f64 / 5.0 / secs,
                    "completed": returned(),
                    "activities": ran,
                })
            } else {
                // All returned: count the completions the store acknowledges.
                let completed = wait_in_order(&client, &ids, end + Duration::from_secs(60)).await;
                let secs = started.elapsed().as_secs_f64();
                serde_json::json!({ "secs": secs, "per_sec": completed as f64 / secs, "completed": completed })
            }
        }
        "w2" => {
            let started = Instant::now();
            let id = client.start_new("fan_out", None, &n).await.expect("start");
            wait_completed(&client, id.as_str()).await;
            serde_json::json!({ "secs": started.elapsed().as_secs_f64() })
        }
        "w3" => {
            let (warmup, end) = (10, deadline());
            let mut ms = Vec::with_capacity(n);
            for i in 0..n + warmup {
                if i > warmup + 5 && Instant::now() > end {
                    break;
                }
                let started = Instant::now();
                let id = client
                    .start_new("one_activity", None, &())
                    .await
                    .expect("start");
                wait_completed(&client, id.as_str()).await;
                if i >= warmup {
                    ms.push(started.elapsed().as_secs_f64() * 1000.0);
                }
            }
            ms.sort_by(|a, b| a.total_cmp(b));
            let p = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
            serde_json::json!({ "p50_ms": p(0.5), "p99_ms": p(0.99), "samples": ms.len() })
        }
        "w4" => {
            *step_times().lock().expect("lock") = vec![None; n];
            let started = Instant::now();
            let id = client
                .start_new("long_chain", None, &n)
                .await
                .expect("start");
            let _ =
                tokio::time::timeout_at(deadline().into(), wait_completed(&client, id.as_str()))
                    .await;
            step_summary(
                &step_times().lock().expect("lock"),
                started.elapsed().as_secs_f64(),
            )
        }
        "w5" => {
            let before = rss_mb("self").unwrap_or(0.0);
            let started = Instant::now();
            let end = deadline();
            let n = start_many(&client, "waiter", n, Some(end)).await.len();
            let settle = end.max(Instant::now()) + Duration::from_secs(15);
            let mut last = Instant::now();
            while waiting().lock().expect("lock").len() < n && Instant::now() < settle {
                if last.elapsed() > Duration::from_secs(5) {
                    eprintln!("  {}/{n} waiting", waiting().lock().expect("lock").len());
                    last = Instant::now();
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let reached = waiting().lock().expect("lock").len();
            serde_json::json!({
                "started": n,
                "reached": reached,
                "secs": started.elapsed().as_secs_f64(),
                "worker_rss_mb": rss_mb("self").unwrap_or(0.0),
                "worker_rss_before_mb": before,
                "cached_instances": runtime.cached_instances(),
            })
        }
        other => panic!("unknown workload {other:?}"),
    };
    println!("RESULT {result}");
    std::io::stdout().flush().ok();
    // Parked W5 instances would make a graceful shutdown wait for nothing; exit at once.
    if workload == "w5" {
        std::process::exit(0);
    }
    runtime.shutdown().await;
    result
}

// ---------------------------------------------------------------------------------------------
// Installing peers, starting servers, running workers
// ---------------------------------------------------------------------------------------------

/// Where the repository's `bench/` directory is.
fn bench_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The cache directory peers are installed into.
fn cache_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("DURAFN_BENCH_CACHE") {
        return PathBuf::from(dir);
    }
    let base = std::env::var("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache")
        });
    base.join("durafn-bench")
}

/// Runs `bench/peers/setup.sh [--check] <component>`; on failure returns the end of its output.
fn setup(component: &str, check_only: bool, log: &Path) -> Result<(), String> {
    let mut cmd = Command::new("bash");
    cmd.arg(bench_dir().join("peers/setup.sh"));
    if check_only {
        cmd.arg("--check");
    }
    cmd.arg(component).env("DURAFN_BENCH_CACHE", cache_dir());
    let out = std::fs::File::create(log).map_err(|e| e.to_string())?;
    let status = cmd
        .stdout(out.try_clone().map_err(|e| e.to_string())?)
        .stderr(out)
        .status()
        .map_err(|e| format!("cannot run setup.sh: {e}"))?;
    if status.success() {
        return Ok(());
    }
    Err(tail(log, 3).unwrap_or_else(|| format!("setup.sh {component} failed ({status})")))
}

/// `text` without this machine's paths (error messages go into committed reports).
fn anonymize(text: &str) -> String {
    let mut out = text.replace(&cache_dir().display().to_string(), "$CACHE");
    if let Some(repo) = bench_dir().parent() {
        out = out.replace(&repo.display().to_string(), ".");
    }
    if let Ok(home) = std::env::var("HOME")
        && !home.is_empty()
    {
        out = out.replace(&home, "$HOME");
    }
    out
}

/// The last `n` non-empty lines of a file, joined.
fn tail(path: &Path, n: usize) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return None;
    }
    Some(lines[lines.len().saturating_sub(n)..].join(" / "))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn wait_for_port(port: u16, within: Duration) -> bool {
    let end = Instant::now() + within;
    while Instant::now() < end {
        if TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200))
            .is_ok()
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// A server process of a peer, stopped when dropped.
struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a peer's server with its data in `dir`; returns it and the worker's environment.
fn start_server(
    engine: Engine,
    dir: &Path,
    log: &Path,
) -> Result<(Server, Vec<(String, String)>), String> {
    let cache = cache_dir();
    let out = std::fs::File::create(log).map_err(|e| e.to_string())?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    let (mut cmd, ports, env) = match engine {
        Engine::Temporal => {
            let port = free_port();
            let mut cmd = Command::new(cache.join("py/bin/temporal"));
            cmd.args(["server", "start-dev", "--headless", "--log-level", "error"])
                .args(["--port", &port.to_string()])
                .args(["--http-port", &free_port().to_string()])
                .args(["--metrics-port", &free_port().to_string()])
                .arg("--db-filename")
                .arg(dir.join("temporal.db"))
                .args(["--sqlite-pragma", "journal_mode=wal"])
                .args(["--sqlite-pragma", "synchronous=full"]);
            let env = vec![("BENCH_TEMPORAL".to_string(), format!("127.0.0.1:{port}"))];
            (cmd, vec![port], env)
        }
        Engine::Restate => {
            let (ingress, admin, node, endpoint) =
                (free_port(), free_port(), free_port(), free_port());
            let mut cmd = Command::new(cache.join(
                "restate/node_modules/@restatedev/restate-server-linux-x64/bin/restate-server",
            ));
            cmd.arg("--base-dir")
                .arg(dir.join("restate"))
                .arg("--no-logo")
                .env(
                    "RESTATE_INGRESS__BIND_ADDRESS",
                    format!("127.0.0.1:{ingress}"),
                )
                .env("RESTATE_ADMIN__BIND_ADDRESS", format!("127.0.0.1:{admin}"))
                .env("RESTATE_BIND_ADDRESS", format!("127.0.0.1:{node}"))
                .env(
                    "RESTATE_ADVERTISED_ADDRESS",
                    format!("http://127.0.0.1:{node}"),
                )
                .env("RESTATE_DISABLE_TELEMETRY", "true")
                .env("RESTATE_LOG_FILTER", "warn");
            let env = vec![
                (
                    "BENCH_INGRESS".to_string(),
                    format!("http://127.0.0.1:{ingress}"),
                ),
                (
                    "BENCH_ADMIN".to_string(),
                    format!("http://127.0.0.1:{admin}"),
                ),
                ("BENCH_ENDPOINT_PORT".to_string(), endpoint.to_string()),
            ];
            (cmd, vec![ingress, admin], env)
        }
        _ => unreachable!("only Temporal and Restate have servers"),
    };
    let child = cmd
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("cannot start the server: {e}"))?;
    let server = Server { child };
    for port in ports {
        if !wait_for_port(port, Duration::from_secs(60)) {
            return Err(format!(
                "the server did not listen on port {port} within 60 s: {}",
                tail(log, 3).unwrap_or_default()
            ));
        }
    }
    let mut env = env;
    env.push(("BENCH_SERVER_PID".into(), server.child.id().to_string()));
    Ok((server, env))
}

/// The worker command of a system.
fn worker_command(system: &System, workload: &str, n: usize) -> Command {
    let cache = cache_dir();
    let store = match system.backend {
        Backend::Postgres => "postgres",
        _ => "sqlite",
    };
    let mut cmd = match system.engine {
        Engine::Durafn => {
            let mut cmd = Command::new(std::env::current_exe().expect("this program"));
            let variant = if system.id == "durafn-sqlite-nofsync" {
                "sqlite-nofsync"
            } else {
                store
            };
            cmd.args(["durafn", variant]);
            cmd
        }
        Engine::Duroxide => Command::new(cache.join("rust-target/release/duroxide-worker")),
        Engine::Restate => Command::new(cache.join("rust-target/release/restate-worker")),
        Engine::Dbos | Engine::Temporal => {
            let mut cmd = Command::new(cache.join("py/bin/python"));
            let script = if system.engine == Engine::Dbos {
                "peers/dbos/worker.py"
            } else {
                "peers/temporal/worker.py"
            };
            cmd.arg(bench_dir().join(script));
            cmd
        }
    };
    cmd.args([workload, &n.to_string()])
        .env("BENCH_STORE", store)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    cmd
}

/// Runs a worker until it prints its result, exits or times out.
fn run_worker(mut cmd: Command, timeout: Duration, log: &Path) -> Result<Value, String> {
    let err = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| e.to_string())?;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(err)
        .spawn()
        .map_err(|e| format!("cannot start the worker: {e}"))?;
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(json) = line.strip_prefix("RESULT ") {
                let _ = tx.send(json.to_string());
            }
        }
    });
    let end = Instant::now() + timeout;
    let mut result = None;
    loop {
        if let Ok(json) = rx.recv_timeout(Duration::from_millis(100)) {
            result = Some(json);
        }
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(status) => {
                // Take a result printed just before the exit.
                if let Ok(json) = rx.recv_timeout(Duration::from_millis(500)) {
                    result = Some(json);
                }
                return match result {
                    Some(json) => {
                        serde_json::from_str(&json).map_err(|e| format!("bad result: {e}"))
                    }
                    None => Err(format!(
                        "worker exited ({status}) without a result: {}",
                        tail(log, 2).unwrap_or_default()
                    )),
                };
            }
            None if result.is_some() => {
                // The result is in; give the worker a moment to exit, then stop it.
                let grace = Instant::now() + Duration::from_secs(10);
                while Instant::now() < grace && child.try_wait().ok().flatten().is_none() {
                    std::thread::sleep(Duration::from_millis(50));
                }
                let _ = child.kill();
                let _ = child.wait();
                let json = result.take().expect("a result");
                return serde_json::from_str(&json).map_err(|e| format!("bad result: {e}"));
            }
            None if Instant::now() > end => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("timed out after {} s", timeout.as_secs()));
            }
            None => {}
        }
    }
}

/// One measurement.
struct Record {
    run: usize,
    system: &'static System,
    workload: &'static str,
    size: usize,
    outcome: Result<BTreeMap<String, f64>, String>,
}

/// The run's context: where things go and what is available.
struct Harness {
    plan: Plan,
    pg_url: Option<String>,
    logs: PathBuf,
    tokio: tokio::runtime::Runtime,
}

impl Harness {
    fn run_one(&self, run: usize, system: &'static System, workload: &'static str) -> Record {
        let i = Plan::index(workload);
        let size = self.plan.sizes[i];
        let stem = format!("{}-{workload}-run{run}", system.id);
        let log = self.logs.join(format!("{stem}.log"));
        let outcome = self
            .measure(system, workload, size, &stem, &log)
            .map_err(|e| anonymize(&e));
        Record {
            run,
            system,
            workload,
            size,
            outcome,
        }
    }

    fn measure(
        &self,
        system: &'static System,
        workload: &str,
        size: usize,
        stem: &str,
        log: &Path,
    ) -> Result<BTreeMap<String, f64>, String> {
        let i = Plan::index(workload);
        std::fs::create_dir_all(cache_dir().join("tmp")).map_err(|e| e.to_string())?;
        let dir = tempfile::Builder::new()
            .prefix("run-")
            .tempdir_in(cache_dir().join("tmp"))
            .map_err(|e| e.to_string())?;
        let mut cmd = worker_command(system, workload, size);
        cmd.current_dir(dir.path())
            .env("BENCH_DIR", dir.path())
            .env("BENCH_DEADLINE", self.plan.deadlines[i].to_string());
        let mut schema = None;
        if system.backend == Backend::Postgres {
            let url = self.pg_url.clone().ok_or("no PostgreSQL")?;
            let name = format!(
                "durafn_bench_{}_{}",
                stem.replace('-', "_"),
                std::process::id()
            );
            cmd.env("BENCH_PG_URL", &url).env("BENCH_PG_SCHEMA", &name);
            schema = Some((url, name));
        }
        let _server = if system.backend == Backend::Server {
            let (server, env) =
                start_server(system.engine, dir.path(), &log.with_extension("server.log"))?;
            cmd.envs(env);
            Some(server)
        } else {
            None
        };
        let result = run_worker(cmd, Duration::from_secs(self.plan.timeouts[i]), log);
        if let Some((url, name)) = schema
            && let Err(e) = self.tokio.block_on(drop_task_hub(&url, &name))
        {
            eprintln!("    (could not drop schema {name}: {e})");
        }
        let value = result?;
        let mut map: BTreeMap<String, f64> = value
            .as_object()
            .ok_or("the result is not an object")?
            .iter()
            .filter_map(|(k, v)| v.as_f64().map(|v| (k.clone(), v)))
            .collect();
        if workload == "w2"
            && let Some(secs) = map.get("secs").copied()
        {
            map.insert("ms".into(), secs * 1000.0);
        }
        // Memory per parked instance, so that systems that parked different numbers compare.
        if let (Some(rss), Some(before), Some(reached)) = (
            map.get("worker_rss_mb").copied(),
            map.get("worker_rss_before_mb").copied(),
            map.get("reached").copied(),
        ) && reached > 0.0
        {
            map.insert(
                "worker_kb_per_instance".into(),
                (rss - before) * 1024.0 / reached,
            );
        }
        Ok(map)
    }
}

// ---------------------------------------------------------------------------------------------
// Reporting
// ---------------------------------------------------------------------------------------------

/// A reported number.
struct Metric {
    workload: &'static str,
    key: &'static str,
    header: &'static str,
    higher_is_better: bool,
}

const METRICS: &[Metric] = &[
    Metric {
        workload: "w1",
        key: "per_sec",
        header: "W1 orch/s",
        higher_is_better: true,
    },
    Metric {
        workload: "w2",
        key: "ms",
        header: "W2 ms",
        higher_is_better: false,
    },
    Metric {
        workload: "w3",
        key: "p50_ms",
        header: "W3 p50 ms",
        higher_is_better: false,
    },
    Metric {
        workload: "w3",
        key: "p99_ms",
        header: "W3 p99 ms",
        higher_is_better: false,
    },
    Metric {
        workload: "w4",
        key: "first_ms",
        header: "W4 ms/step start",
        higher_is_better: false,
    },
    Metric {
        workload: "w4",
        key: "last_ms",
        header: "W4 ms/step end",
        higher_is_better: false,
    },
    Metric {
        workload: "w5",
        key: "worker_rss_mb",
        header: "W5 worker MB",
        higher_is_better: false,
    },
    Metric {
        workload: "w5",
        key: "worker_kb_per_instance",
        header: "W5 worker KB/instance",
        higher_is_better: false,
    },
    Metric {
        workload: "w5",
        key: "server_rss_mb",
        header: "W5 server MB",
        higher_is_better: false,
    },
];

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    Some(v[v.len() / 2])
}

/// An integer with thousands separators.
fn fmt_int(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A measurement with three significant digits or so.
fn fmt_num(v: f64) -> String {
    let a = v.abs();
    if a >= 1000.0 {
        fmt_int(v.round() as usize)
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// The durafn variant a peer is compared with: same backend kind and same durability.
fn baseline(peer: &System, available: &[&'static System]) -> Option<&'static System> {
    let want = if peer.backend == Backend::Postgres {
        "durafn-postgres"
    } else if peer.fsync {
        "durafn-sqlite"
    } else {
        "durafn-sqlite-nofsync"
    };
    available.iter().copied().find(|s| s.id == want)
}

struct Report<'a> {
    plan: &'a Plan,
    records: &'a [Record],
    ran: Vec<&'static System>,
    skipped: Vec<(&'static System, String)>,
    started: chrono::DateTime<chrono::Utc>,
    load: String,
    commit: String,
}

impl Report<'_> {
    fn values(&self, system: &System, m: &Metric) -> Vec<(usize, f64)> {
        self.records
            .iter()
            .filter(|r| r.system.id == system.id && r.workload == m.workload)
            .filter_map(|r| {
                let map = r.outcome.as_ref().ok()?;
                Some((r.run, *map.get(m.key)?))
            })
            .collect()
    }

    fn failure(&self, system: &System, workload: &str) -> Option<String> {
        self.records
            .iter()
            .filter(|r| r.system.id == system.id && r.workload == workload)
            .find_map(|r| r.outcome.as_ref().err().cloned())
    }

    /// Notes on a partial measurement (capped by the deadline).
    fn partial(&self, system: &System, workload: &str) -> Option<String> {
        let size = self.plan.sizes[Plan::index(workload)];
        let (key, what) = match workload {
            "w1" => (
                "completed",
                "instances completed (the rate is activities run ÷ 5 per second)",
            ),
            "w3" => ("samples", "samples"),
            "w4" => ("steps", "steps run"),
            "w5" => ("reached", "instances parked"),
            _ => return None,
        };
        let got: Vec<f64> = self
            .records
            .iter()
            .filter(|r| r.system.id == system.id && r.workload == workload)
            .filter_map(|r| r.outcome.as_ref().ok()?.get(key).copied())
            .collect();
        let least = got.iter().copied().fold(f64::INFINITY, f64::min);
        (least.is_finite() && (least as usize) < size).then(|| {
            format!(
                "{}: {} of {} {what} within the {} s cap",
                workload.to_uppercase(),
                fmt_int(least as usize),
                fmt_int(size),
                self.plan.deadlines[Plan::index(workload)]
            )
        })
    }

    fn cell(&self, system: &System, m: &Metric, notes: &mut Vec<String>) -> String {
        let values: Vec<f64> = self.values(system, m).into_iter().map(|(_, v)| v).collect();
        match median(values) {
            Some(v) => {
                let mut s = fmt_num(v);
                if self.partial(system, m.workload).is_some() {
                    s.push('*');
                }
                s
            }
            None => {
                if m.key == "server_rss_mb" && system.backend != Backend::Server {
                    return match system.backend {
                        Backend::Postgres => "(PostgreSQL)".into(),
                        _ => "none".into(),
                    };
                }
                match self.failure(system, m.workload) {
                    Some(e) => {
                        let note = format!("{} {}: {e}", system.label, m.workload.to_uppercase());
                        if !notes.contains(&note) {
                            notes.push(note);
                        }
                        if e.starts_with("timed out") {
                            "timeout".into()
                        } else {
                            "failed".into()
                        }
                    }
                    None => "—".into(),
                }
            }
        }
    }

    /// durafn ÷ peer per run, medians over the runs where both measured.
    fn ratio(&self, durafn: &System, peer: &System, m: &Metric) -> Option<f64> {
        let ours: BTreeMap<usize, f64> = self.values(durafn, m).into_iter().collect();
        let ratios = self
            .values(peer, m)
            .into_iter()
            .filter_map(|(run, theirs)| Some(ours.get(&run)? / theirs))
            .filter(|r| r.is_finite())
            .collect();
        median(ratios)
    }

    fn markdown(&self) -> String {
        let p = self.plan;
        let mut md = String::new();
        let mode = if p.smoke { "smoke" } else { "full" };
        let _ = writeln!(md, "# durafn side by side ({mode} run)\n");
        let _ = writeln!(
            md,
            "Generated by `bench/peers/run.sh{}` on {} (commit {}). {} run{} of each workload; \
             medians where there are several. Machine: {} cores, load average before the run {}. \
             Every system ran alone, one workload at a time, each in a fresh process, store and \
             server. Compare systems within this table only.\n",
            if p.smoke { " --smoke" } else { "" },
            self.started.format("%Y-%m-%d %H:%M UTC"),
            self.commit,
            p.runs,
            if p.runs == 1 { "" } else { "s" },
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            self.load
        );
        let _ = writeln!(md, "## Workloads\n");
        for (i, w) in WORKLOADS.iter().enumerate() {
            let _ = writeln!(
                md,
                "- **{}** {}: size {}, cap {} s.",
                w.to_uppercase(),
                workload_title(w),
                fmt_int(p.sizes[i]),
                p.deadlines[i]
            );
        }
        let _ = writeln!(md, "\n## Results\n");
        let mut notes = Vec::new();
        let _ = write!(md, "| system |");
        for m in METRICS {
            let _ = write!(md, " {} |", m.header);
        }
        let _ = write!(md, "\n|---|");
        for _ in METRICS {
            let _ = write!(md, "---:|");
        }
        md.push('\n');
        for s in &self.ran {
            let _ = write!(md, "| {} |", s.label);
            for m in METRICS {
                let _ = write!(md, " {} |", self.cell(s, m, &mut notes));
            }
            md.push('\n');
        }
        let partial: Vec<String> = self
            .ran
            .iter()
            .flat_map(|s| {
                WORKLOADS
                    .iter()
                    .filter_map(|w| self.partial(s, w).map(|n| format!("{}, {n}", s.label)))
            })
            .collect();
        if !partial.is_empty() {
            let _ = writeln!(md, "\n\\* Measured on what finished within the cap:\n");
            for n in partial {
                let _ = writeln!(md, "- {n}");
            }
        }
        if !notes.is_empty() {
            let _ = writeln!(md, "\nFailures:\n");
            for n in notes {
                let _ = writeln!(md, "- {n}");
            }
        }
        let _ = writeln!(
            md,
            "\nW1 is higher-is-better; every other column is lower-is-better. W5 \"server\" is the \
             peer's own server process; systems on PostgreSQL share the database server, which is \
             not counted.\n"
        );

        let _ = writeln!(md, "## durafn ÷ peer\n");
        let _ = writeln!(
            md,
            "Each peer is divided into the durafn variant with the same kind of store and the same \
             durability (named in the second column), run by run. Above 1 is better for durafn in \
             W1, below 1 in the other columns; **bold** marks where durafn is behind. Memory is \
             compared per parked instance (RSS growth ÷ instances parked), since the slower \
             systems parked fewer within the cap.\n"
        );
        let _ = write!(md, "| peer | durafn variant |");
        let ratio_metrics: Vec<&Metric> = METRICS
            .iter()
            .filter(|m| m.key != "server_rss_mb" && m.key != "worker_rss_mb")
            .collect();
        for m in &ratio_metrics {
            let _ = write!(md, " {} |", m.header);
        }
        let _ = write!(md, "\n|---|---|");
        for _ in &ratio_metrics {
            let _ = write!(md, "---:|");
        }
        md.push('\n');
        let mut behind = Vec::new();
        for peer in self.ran.iter().filter(|s| s.engine != Engine::Durafn) {
            let Some(ours) = baseline(peer, &self.ran) else {
                continue;
            };
            let _ = write!(md, "| {} | {} |", peer.label, ours.label);
            for m in &ratio_metrics {
                match self.ratio(ours, peer, m) {
                    Some(r) => {
                        let is_behind = if m.higher_is_better { r < 1.0 } else { r > 1.0 };
                        if is_behind {
                            let _ = write!(md, " **{}** |", fmt_ratio(r));
                            behind.push(format!(
                                "{} vs {}: {} ({})",
                                m.header,
                                peer.label,
                                fmt_ratio(r),
                                ours.label
                            ));
                        } else {
                            let _ = write!(md, " {} |", fmt_ratio(r));
                        }
                    }
                    None => {
                        let _ = write!(md, " — |");
                    }
                }
            }
            md.push('\n');
        }
        if !behind.is_empty() {
            let _ = writeln!(
                md,
                "\ndurafn is behind on: {}. See bench/peers/README.md for why.",
                behind.join("; ")
            );
        }

        let _ = writeln!(md, "\n## Systems\n");
        let _ = writeln!(md, "| system | durability | worker |\n|---|---|---|");
        for s in &self.ran {
            let _ = writeln!(md, "| {} | {} | {} |", s.label, s.durability, s.worker);
        }
        if !self.skipped.is_empty() {
            let _ = writeln!(md, "\nNot run:\n");
            for (s, why) in &self.skipped {
                let _ = writeln!(md, "- {}: {why}", s.label);
            }
        }
        let _ = writeln!(
            md,
            "\nChart of W1 and W3: `{}.svg`. Every number of every run: `{}.csv`.",
            self.stem(),
            self.stem()
        );
        md
    }

    fn stem(&self) -> &'static str {
        if self.plan.smoke { "smoke" } else { "latest" }
    }

    fn csv(&self) -> String {
        let mut csv =
            String::from("run,system,engine,backend,fsync,workload,size,metric,value,error\n");
        for r in self.records {
            let head = format!(
                "{},{},{:?},{:?},{},{},{}",
                r.run,
                r.system.id,
                r.system.engine,
                r.system.backend,
                r.system.fsync,
                r.workload,
                r.size
            );
            match &r.outcome {
                Ok(map) => {
                    for (k, v) in map {
                        let _ = writeln!(csv, "{head},{k},{v},");
                    }
                }
                Err(e) => {
                    let _ = writeln!(csv, "{head},,,\"{}\"", e.replace('"', "'"));
                }
            }
        }
        csv
    }

    /// Two log-scale bar charts: W1 throughput, and W3 latency (p50 and p99).
    fn svg(&self) -> String {
        let w1 = &METRICS[0];
        let (p50, p99) = (&METRICS[2], &METRICS[3]);
        let rows: Vec<&System> = self.ran.to_vec();
        let med = |s: &System, m: &Metric| {
            median(self.values(s, m).into_iter().map(|(_, v)| v).collect())
        };
        let row_h = 26.0;
        let top = 60.0;
        let label_w = 215.0;
        let panel_w = 330.0;
        let gap = 40.0;
        let height = top + row_h * rows.len() as f64 + 50.0;
        let width = label_w + 2.0 * panel_w + gap + 80.0;
        let mut svg = String::new();
        let _ = writeln!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
        let panels = [
            (
                label_w,
                "W1: orchestrations/s (higher is better)",
                vec![(w1, "#2b6cb0")],
            ),
            (
                label_w + panel_w + gap,
                "W3: latency ms (dark p50, light p99; lower is better)",
                vec![(p50, "#2f855a"), (p99, "#9ae6b4")],
            ),
        ];
        for (x0, title, series) in &panels {
            let all: Vec<f64> = rows
                .iter()
                .flat_map(|s| series.iter().filter_map(|(m, _)| med(s, m)))
                .filter(|v| *v > 0.0)
                .collect();
            if all.is_empty() {
                continue;
            }
            let lo = all
                .iter()
                .copied()
                .fold(f64::INFINITY, f64::min)
                .log10()
                .floor();
            let hi = all
                .iter()
                .copied()
                .fold(0.0, f64::max)
                .log10()
                .ceil()
                .max(lo + 1.0);
            let x = |v: f64| x0 + (v.log10() - lo) / (hi - lo) * (panel_w - 20.0);
            let _ = writeln!(
                svg,
                r#"<text x="{x0}" y="20" font-weight="bold">{title}</text>"#
            );
            let bottom = top + row_h * rows.len() as f64;
            let mut e = lo;
            while e <= hi {
                let gx = x(10f64.powf(e));
                let _ = writeln!(
                    svg,
                    r##"<line x1="{gx:.1}" y1="{}" x2="{gx:.1}" y2="{bottom}" stroke="#ddd"/><text x="{gx:.1}" y="{}" text-anchor="middle" fill="#555">{}</text>"##,
                    top - 10.0,
                    bottom + 16.0,
                    if e >= 0.0 {
                        fmt_int(10f64.powf(e).round() as usize)
                    } else {
                        fmt_num(10f64.powf(e))
                    }
                );
                e += 1.0;
            }
            for (i, s) in rows.iter().enumerate() {
                let y = top + row_h * i as f64;
                let bar_h = (row_h - 8.0) / series.len() as f64;
                for (j, (m, color)) in series.iter().enumerate() {
                    let by = y + 2.0 + bar_h * j as f64;
                    match med(s, m) {
                        Some(v) if v > 0.0 => {
                            let w = (x(v) - x0).max(1.0);
                            let _ = writeln!(
                                svg,
                                r#"<rect x="{x0}" y="{by:.1}" width="{w:.1}" height="{:.1}" fill="{color}"/><text x="{:.1}" y="{:.1}" font-size="10">{}</text>"#,
                                bar_h - 1.0,
                                x0 + w + 4.0,
                                by + bar_h - 2.0,
                                fmt_num(v)
                            );
                        }
                        _ => {
                            let _ = writeln!(
                                svg,
                                r##"<text x="{}" y="{:.1}" font-size="10" fill="#999">n/a</text>"##,
                                x0 + 4.0,
                                by + bar_h - 2.0
                            );
                        }
                    }
                }
            }
        }
        for (i, s) in rows.iter().enumerate() {
            let y = top + row_h * i as f64 + row_h / 2.0 + 4.0;
            let weight = if s.engine == Engine::Durafn {
                "bold"
            } else {
                "normal"
            };
            let _ = writeln!(
                svg,
                r#"<text x="{}" y="{y:.1}" text-anchor="end" font-weight="{weight}">{}</text>"#,
                label_w - 10.0,
                s.label.replace('&', "&amp;")
            );
        }
        let _ = writeln!(
            svg,
            r##"<text x="10" y="{}" fill="#555" font-size="10">Log scales. {} run, {}; see {}.md for sizes, caps and durability.</text>"##,
            height - 10.0,
            if self.plan.smoke { "Smoke" } else { "Full" },
            self.started.format("%Y-%m-%d"),
            self.stem()
        );
        svg.push_str("</svg>\n");
        svg
    }
}

fn fmt_ratio(r: f64) -> String {
    if r >= 10.0 {
        format!("{r:.0}×")
    } else {
        format!("{r:.2}×")
    }
}

// ---------------------------------------------------------------------------------------------
// The runner
// ---------------------------------------------------------------------------------------------

struct Options {
    smoke: bool,
    runs: Option<usize>,
    only: Option<Vec<String>>,
    install: bool,
}

fn parse_options(args: &[String]) -> Options {
    let mut o = Options {
        smoke: false,
        runs: None,
        only: None,
        install: true,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--smoke" => o.smoke = true,
            "--full" => o.smoke = false,
            "--runs" => o.runs = it.next().and_then(|v| v.parse().ok()),
            "--only" => {
                o.only = it
                    .next()
                    .map(|v| v.split(',').map(str::to_string).collect())
            }
            "--no-install" => o.install = false,
            "-h" | "--help" => {
                eprintln!(
                    "usage: compare [--smoke|--full] [--runs N] [--only ID,..] [--no-install]\nsystems: {}",
                    SYSTEMS.iter().map(|s| s.id).collect::<Vec<_>>().join(", ")
                );
                std::process::exit(0);
            }
            other => {
                eprintln!("unknown option {other:?}; see --help");
                std::process::exit(2);
            }
        }
    }
    o
}

/// The PostgreSQL to use: `DURAFN_BENCH_POSTGRES_URL`, else `DURAFN_TEST_POSTGRES_URL`, else (full
/// runs only) the local default; checked by connecting.
fn postgres_url(smoke: bool, tokio: &tokio::runtime::Runtime) -> Result<String, String> {
    let url = std::env::var("DURAFN_BENCH_POSTGRES_URL")
        .or_else(|_| std::env::var("DURAFN_TEST_POSTGRES_URL"))
        .ok()
        .filter(|u| !u.trim().is_empty());
    let url = match url {
        Some(url) => url,
        None if smoke => return Err("DURAFN_TEST_POSTGRES_URL is not set".into()),
        None => "postgres://postgres@127.0.0.1:5432/test".into(),
    };
    tokio
        .block_on(drop_task_hub(&url, "durafn_bench_probe"))
        .map_err(|e| format!("PostgreSQL at the configured URL is unavailable: {e}"))?;
    Ok(url)
}

fn git_commit() -> String {
    let out = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(bench_dir())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let head = out(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty = out(&["status", "--porcelain"]).is_some_and(|s| !s.is_empty());
    if dirty {
        format!("{head}, with local changes")
    } else {
        head
    }
}

fn runner(options: Options) -> i32 {
    let plan = Plan::new(options.smoke, options.runs);
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let started = chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now());
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into());
    let logs = cache_dir()
        .join("logs")
        .join(started.format("%Y%m%d-%H%M%S").to_string());
    std::fs::create_dir_all(&logs).expect("create the log directory");
    eprintln!(
        "durafn comparison, {} run; peers in {}, logs in {}",
        if plan.smoke { "smoke" } else { "full" },
        cache_dir().display(),
        logs.display()
    );

    // What can run.
    let wanted: Vec<&'static System> = SYSTEMS
        .iter()
        .filter(|s| {
            options
                .only
                .as_ref()
                .is_none_or(|o| o.iter().any(|id| id == s.id))
        })
        .collect();
    let wanted_durafn = wanted.iter().any(|s| s.engine == Engine::Durafn);
    let pg = if wanted.iter().any(|s| s.backend == Backend::Postgres) {
        postgres_url(plan.smoke, &tokio)
    } else {
        Err("not asked for".into())
    };
    let mut installed: BTreeMap<&str, Result<(), String>> = BTreeMap::new();
    let pg_named = ["DURAFN_BENCH_POSTGRES_URL", "DURAFN_TEST_POSTGRES_URL"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|u| !u.trim().is_empty()));
    let mut durafn_unavailable = Vec::new();
    let mut ran = Vec::new();
    let mut skipped = Vec::new();
    for s in wanted {
        if s.backend == Backend::Postgres
            && let Err(e) = &pg
        {
            // A database that was named but cannot be reached fails durafn's own run.
            if s.engine == Engine::Durafn && pg_named {
                durafn_unavailable.push(format!("{}: {e}", s.id));
            }
            skipped.push((s, anonymize(e)));
            continue;
        }
        let component = match s.engine {
            Engine::Durafn => None,
            Engine::Duroxide => Some("duroxide"),
            Engine::Restate => Some("restate"),
            Engine::Dbos | Engine::Temporal => Some("python"),
        };
        if let Some(c) = component {
            // Smoke runs build nothing: the Rust peers take minutes to compile.
            let check_only = !options.install || (plan.smoke && c != "python");
            let state = installed.entry(c).or_insert_with(|| {
                eprintln!(
                    "{} {c} ...",
                    if check_only { "checking" } else { "installing" }
                );
                let r = setup(c, check_only, &logs.join(format!("setup-{c}.log")));
                match &r {
                    Ok(()) => eprintln!("  {c}: ready"),
                    Err(e) => eprintln!("  {c}: not available: {e}"),
                }
                r
            });
            if let Err(e) = state {
                let why = if check_only && plan.smoke {
                    format!("not installed in the cache (smoke runs do not build it): {e}")
                } else {
                    format!("could not be installed: {e}")
                };
                skipped.push((s, anonymize(&why)));
                continue;
            }
        }
        ran.push(s);
    }
    let harness = Harness {
        plan,
        pg_url: pg.ok(),
        logs,
        tokio,
    };

    // Measure.
    let mut records = Vec::new();
    let total = harness.plan.runs * ran.len() * WORKLOADS.len();
    let clock = Instant::now();
    for run in 1..=harness.plan.runs {
        for s in &ran {
            for w in WORKLOADS {
                eprint!(
                    "[{}/{total} {:>4.0}s] run {run}: {:<22} {} (size {}) ... ",
                    records.len() + 1,
                    clock.elapsed().as_secs_f64(),
                    s.id,
                    w.to_uppercase(),
                    harness.plan.sizes[Plan::index(w)]
                );
                let record = harness.run_one(run, s, w);
                match &record.outcome {
                    Ok(map) => eprintln!(
                        "{}",
                        map.iter()
                            .map(|(k, v)| format!("{k}={}", fmt_num(*v)))
                            .collect::<Vec<_>>()
                            .join(" ")
                    ),
                    Err(e) => eprintln!("FAILED: {e}"),
                }
                records.push(record);
            }
        }
    }

    // Report.
    let report = Report {
        plan: &harness.plan,
        records: &records,
        ran: ran.clone(),
        skipped,
        started,
        load,
        commit: git_commit(),
    };
    let dir = bench_dir().join("results");
    std::fs::create_dir_all(&dir).expect("create bench/results");
    let stem = report.stem();
    let md = report.markdown();
    std::fs::write(dir.join(format!("{stem}.md")), &md).expect("write the table");
    std::fs::write(dir.join(format!("{stem}.csv")), report.csv()).expect("write the CSV");
    std::fs::write(dir.join(format!("{stem}.svg")), report.svg()).expect("write the chart");
    println!("{md}");
    eprintln!(
        "wrote bench/results/{stem}.md, .csv and .svg in {:.0} s",
        clock.elapsed().as_secs_f64()
    );
    let mut durafn_failed: Vec<String> = records
        .iter()
        .filter(|r| r.system.engine == Engine::Durafn)
        .filter_map(|r| {
            r.outcome
                .as_ref()
                .err()
                .map(|e| format!("{} {}: {e}", r.system.id, r.workload))
        })
        .collect();
    durafn_failed.extend(durafn_unavailable);
    if !durafn_failed.is_empty() {
        eprintln!("durafn failed: {}", durafn_failed.join("; "));
        return 1;
    }
    if wanted_durafn && !ran.iter().any(|s| s.engine == Engine::Durafn) {
        eprintln!("durafn did not run");
        return 1;
    }
    0
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("durafn") {
        let (store, workload) = (
            args.get(1).cloned().unwrap_or_default(),
            args.get(2).cloned().unwrap_or_default(),
        );
        let n: usize = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(10);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        rt.block_on(durafn_worker(&store, &workload, n));
        return;
    }
    std::process::exit(runner(parse_options(&args)));
}
