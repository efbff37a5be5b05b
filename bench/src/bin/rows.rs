//! Rows and bytes the task hub writes per orchestration, for the peer comparison's W1 (hello
//! cities) and W4 (sequential steps), on SQLite and on PostgreSQL when
//! `DURAFN_BENCH_POSTGRES_URL` (or `DURAFN_TEST_POSTGRES_URL`) is set.
//!
//! ```text
//! cargo run --release -p durafn-bench --bin rows -- [--orchestrations 1000] [--chains 10] [--steps 100] [--padding 65536] [--runs 3] [--backend sqlite|postgres]
//! ```
//!
//! W4 runs twice: as in the peer bench, and with its input padded to `--padding` bytes, which
//! shows what a large input costs on every turn.
//!
//! SQLite: rows are counted by triggers on every task hub table (a run of its own, since the
//! triggers write too), with the bytes of the rows inserted and updated (the sum of their
//! columns' lengths); the bytes the process then writes to disk in a run without triggers
//! (`wchar` of `/proc/self/io`: WAL frames and checkpoints) are the physical cost.
//! PostgreSQL: `n_tup_ins`, `n_tup_upd` and `n_tup_del` of the hub's tables from
//! `pg_stat_user_tables` (read after the store's connections closed, so every backend has
//! flushed its counts), and the WAL the server wrote meanwhile (`pg_current_wal_lsn`), which
//! includes anything else the server did at the same time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use durafn_bench::backend::{Backend, Hub, backends, connect, drop_schema, postgres_url};
use durafn_bench::{arg, median};
use durafn_core::{
    ActivityContext, FunctionError, OrchestrationContext, Registry, RuntimeStatus, activity_fn,
    orchestrator_fn,
};
use durafn_runtime::Runtime;

/// The task hub's tables.
const TABLES: [&str; 5] = [
    "instances",
    "history",
    "messages",
    "activities",
    "instance_locks",
];

fn registry() -> Arc<Registry> {
    Arc::new(
        durafn_bench::hello_cities(Registry::builder())
            .orchestrator(orchestrator_fn(
                "long_chain",
                // The steps and a padding, which makes the input as large as a test asks.
                |ctx: OrchestrationContext, (n, _padding): (usize, String)| async move {
                    for i in 0..n {
                        ctx.call_activity::<usize>("step", &i).await?;
                    }
                    Ok::<_, FunctionError>(n)
                },
            ))
            .activity(activity_fn(
                "step",
                |_: ActivityContext, i: usize| async move { Ok::<_, FunctionError>(i) },
            ))
            .build()
            .expect("unique names"),
    )
}

/// A workload: its name, the orchestrator, how many instances, the steps of W4 and the size
/// of the padding in its input.
#[derive(Clone, Copy)]
struct Workload {
    name: &'static str,
    orchestrator: &'static str,
    instances: usize,
    steps: usize,
    padding: usize,
}

/// `n` characters that do not compress (PostgreSQL compresses large values), the same in
/// every run.
fn padding(n: usize) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(ALPHABET[(x % 64) as usize])
        })
        .collect()
}

impl Workload {
    fn input(&self) -> serde_json::Value {
        if self.orchestrator == "long_chain" {
            serde_json::json!([self.steps, padding(self.padding)])
        } else {
            serde_json::Value::Null
        }
    }
}

/// Runs the workload to completion, 200 instances in flight at most (as the peer bench does).
async fn run(runtime: &Runtime, w: Workload) {
    let client = runtime.client();
    let input = Arc::new(w.input());
    let mut set = tokio::task::JoinSet::new();
    for i in 0..w.instances {
        let (client, input) = (client.clone(), input.clone());
        set.spawn(async move {
            let id = format!("{}-{i}", w.name);
            client
                .start_new(w.orchestrator, Some(&id), &*input)
                .await
                .expect("start");
            let s = client
                .wait_for_completion(&id, Duration::from_secs(600))
                .await
                .expect("completes");
            assert_eq!(
                s.runtime_status,
                RuntimeStatus::Completed,
                "{:?}",
                s.failure
            );
        });
        if set.len() >= 200 {
            if let Some(r) = set.join_next().await {
                r.expect("instance");
            }
        }
    }
    while let Some(r) = set.join_next().await {
        r.expect("instance");
    }
}

/// Rows written per table (inserted, updated, deleted) and bytes, per orchestration.
#[derive(Default, Clone)]
struct Writes {
    /// (table, inserted, updated, deleted).
    tables: Vec<(String, f64, f64, f64)>,
    /// Bytes of the rows inserted and updated (SQLite) or of the WAL (PostgreSQL).
    logical_bytes: f64,
    /// Bytes the process wrote (SQLite).
    physical_bytes: f64,
}

impl Writes {
    fn rows(&self) -> f64 {
        self.tables.iter().map(|(_, i, u, d)| i + u + d).sum()
    }
}

/// Bytes written by this process so far (`wchar`).
fn written_bytes() -> f64 {
    std::fs::read_to_string("/proc/self/io")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("wchar:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

/// Counting triggers on every table: rows per operation, and the bytes of the rows written.
fn install_triggers(db: &std::path::Path) {
    let conn = rusqlite::Connection::open(db).expect("open the hub file");
    conn.execute_batch(
        "CREATE TABLE bench_writes (tbl TEXT, op TEXT, n INTEGER, bytes INTEGER, \
         PRIMARY KEY (tbl, op))",
    )
    .expect("counting table");
    for table in TABLES {
        let mut stmt = conn
            .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .expect("columns");
        let columns: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .expect("columns")
            .map(|c| c.expect("column"))
            .collect();
        let size = columns
            .iter()
            .map(|c| format!("COALESCE(LENGTH(CAST(NEW.{c} AS BLOB)), 0)"))
            .collect::<Vec<_>>()
            .join(" + ");
        for op in ["INSERT", "UPDATE", "DELETE"] {
            let bytes = if op == "DELETE" {
                "0".to_string()
            } else {
                size.clone()
            };
            conn.execute_batch(&format!(
                "INSERT INTO bench_writes VALUES ('{table}', '{op}', 0, 0);
                 CREATE TRIGGER bench_{table}_{op} AFTER {op} ON {table} BEGIN
                   UPDATE bench_writes SET n = n + 1, bytes = bytes + ({bytes})
                   WHERE tbl = '{table}' AND op = '{op}';
                 END;"
            ))
            .expect("trigger");
        }
    }
}

fn read_triggers(db: &std::path::Path, per: f64) -> Writes {
    let conn = rusqlite::Connection::open(db).expect("open the hub file");
    let mut w = Writes::default();
    for table in TABLES {
        let get = |op: &str| -> (f64, f64) {
            conn.query_row(
                "SELECT n, bytes FROM bench_writes WHERE tbl = ?1 AND op = ?2",
                [table, op],
                |r| Ok((r.get::<_, i64>(0)? as f64, r.get::<_, i64>(1)? as f64)),
            )
            .expect("count")
        };
        let (ins, ib) = get("INSERT");
        let (upd, ub) = get("UPDATE");
        let (del, _) = get("DELETE");
        w.tables
            .push((table.to_string(), ins / per, upd / per, del / per));
        w.logical_bytes += (ib + ub) / per;
    }
    w
}

async fn sqlite(w: Workload, runs: usize) -> Vec<Writes> {
    let mut out = Vec::new();
    for _ in 0..runs {
        let per = w.instances as f64;
        // Counting run, with triggers.
        let hub = Hub::open(Backend::Sqlite, "rows").await;
        let db = hub.dir.as_ref().expect("dir").path().join("hub.db");
        install_triggers(&db);
        let runtime = Runtime::builder(hub.store.clone(), registry()).start();
        run(&runtime, w).await;
        runtime.shutdown().await;
        let mut writes = read_triggers(&db, per);
        hub.remove().await;
        // Physical run, without.
        let hub = Hub::open(Backend::Sqlite, "rows").await;
        let runtime = Runtime::builder(hub.store.clone(), registry()).start();
        let before = written_bytes();
        run(&runtime, w).await;
        runtime.shutdown().await;
        hub.remove().await;
        writes.physical_bytes = (written_bytes() - before) / per;
        out.push(writes);
    }
    out
}

/// `(table, inserted, updated, deleted)` of the hub's tables in `schema`.
async fn pg_counts(client: &tokio_postgres::Client, schema: &str) -> Vec<(String, f64, f64, f64)> {
    client
        .batch_execute("SELECT pg_stat_clear_snapshot()")
        .await
        .expect("clear");
    let mut out = Vec::new();
    for table in TABLES {
        let row = client
            .query_opt(
                "SELECT n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables \
                 WHERE schemaname = $1 AND relname = $2",
                &[&schema, &table],
            )
            .await
            .expect("stats");
        let (i, u, d) = row.map_or((0, 0, 0), |r| {
            (r.get::<_, i64>(0), r.get::<_, i64>(1), r.get::<_, i64>(2))
        });
        out.push((table.to_string(), i as f64, u as f64, d as f64));
    }
    out
}

async fn wal_lsn(client: &tokio_postgres::Client) -> f64 {
    let row = client
        .query_one(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::float8",
            &[],
        )
        .await
        .expect("lsn");
    row.get(0)
}

async fn postgres(w: Workload, runs: usize) -> Vec<Writes> {
    let url = postgres_url().expect("url");
    let stats = connect(&url).await;
    let mut out = Vec::new();
    for _ in 0..runs {
        let per = w.instances as f64;
        let hub = Hub::open(Backend::Postgres, "rows").await;
        let schema = hub.schema.clone().expect("schema");
        // Let the migration's counts arrive before the baseline is read.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let before = pg_counts(&stats, &schema).await;
        let lsn = wal_lsn(&stats).await;
        let runtime = Runtime::builder(hub.store.clone(), registry()).start();
        run(&runtime, w).await;
        runtime.shutdown().await;
        let wal = wal_lsn(&stats).await - lsn;
        drop(hub.store);
        // The store's backends flush their counts when their connections close.
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut after = pg_counts(&stats, &schema).await;
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let again = pg_counts(&stats, &schema).await;
            let same = again == after;
            after = again;
            if same || Instant::now() > deadline {
                break;
            }
        }
        drop_schema(&url, &schema).await;
        let tables = after
            .into_iter()
            .zip(before)
            .map(|((t, i, u, d), (_, i0, u0, d0))| {
                (t, (i - i0) / per, (u - u0) / per, (d - d0) / per)
            })
            .collect();
        out.push(Writes {
            tables,
            logical_bytes: wal / per,
            physical_bytes: 0.0,
        });
    }
    out
}

/// The median run by total rows.
fn median_run(mut runs: Vec<Writes>) -> Writes {
    runs.sort_by(|a, b| a.rows().total_cmp(&b.rows()));
    let bytes = median(runs.iter().map(|r| r.logical_bytes).collect());
    let physical = median(runs.iter().map(|r| r.physical_bytes).collect());
    let mut m = runs[runs.len() / 2].clone();
    m.logical_bytes = bytes;
    m.physical_bytes = physical;
    m
}

#[tokio::main]
async fn main() {
    let runs: usize = arg("--runs", 3);
    let workloads = [
        Workload {
            name: "w1",
            orchestrator: "hello_cities",
            instances: arg("--orchestrations", 1000),
            steps: 0,
            padding: 0,
        },
        Workload {
            name: "w4",
            orchestrator: "long_chain",
            instances: arg("--chains", 10),
            steps: arg("--steps", 100),
            padding: 0,
        },
        Workload {
            name: "w4-padded",
            orchestrator: "long_chain",
            instances: arg("--chains", 10),
            steps: arg("--steps", 100),
            padding: arg("--padding", 64 * 1024),
        },
    ];
    println!("| workload | task hub | rows per orchestration | per table (ins/upd/del) | bytes |");
    println!("|---|---|---:|---|---|");
    for backend in backends() {
        for w in workloads {
            let m = match backend {
                Backend::Sqlite => median_run(sqlite(w, runs).await),
                Backend::Postgres => median_run(postgres(w, runs).await),
            };
            let tables = m
                .tables
                .iter()
                .filter(|(_, i, u, d)| i + u + d > 0.0)
                .map(|(t, i, u, d)| format!("{t} {i:.1}/{u:.1}/{d:.1}"))
                .collect::<Vec<_>>()
                .join(", ");
            let bytes = match backend {
                Backend::Sqlite => format!(
                    "{:.0} B of rows, {:.0} B written to disk",
                    m.logical_bytes, m.physical_bytes
                ),
                Backend::Postgres => format!("{:.0} B of WAL", m.logical_bytes),
            };
            let what = match w.name {
                "w4" => format!("W4 ({} steps)", w.steps),
                "w4-padded" => format!("W4 ({} steps, {} B input)", w.steps, w.padding),
                _ => "W1 (hello cities)".to_string(),
            };
            println!(
                "| {what} | {} | {:.1} | {tables} | {bytes} |",
                backend.name(),
                m.rows()
            );
        }
    }
}
