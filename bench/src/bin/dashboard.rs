//! The dashboard's instance list over a task hub of 1,000,000 instances: how long a filtered
//! page takes through the dashboard's own route (query, render, response), and the plans the
//! database chooses for it.
//!
//! ```text
//! cargo run --release -p durafn-bench --bin dashboard -- sqlite [--instances 1000000] [--samples 200] [--db PATH]
//! cargo run --release -p durafn-bench --bin dashboard -- postgres [--instances 1000000] [--samples 200]
//! ```
//!
//! The hub is filled with bulk SQL inserts through the task hub's own schema (opening the store
//! first creates and migrates it): instances of five orchestrators created over the last 90
//! days, 70 % Completed, 10 % Running, 8 % Failed, 8 % Terminated, 4 % Pending, a third with a
//! custom status. A filled SQLite file (`--db`, default under `target/`) or PostgreSQL schema
//! (`durafn_bench_dashboard`) is reused when it already holds that many instances. PostgreSQL
//! is found through `DURAFN_TEST_POSTGRES_URL` (or `--url`).
//!
//! Each scenario is a list address a user would open (a status, a time preset, a name, an id
//! prefix, the second page, a custom-status search) and the counts fragment of the same
//! filter; the report gives p50 and p99 over `--samples` requests after a warm-up, and the
//! plans (`EXPLAIN QUERY PLAN` for SQLite, `EXPLAIN (ANALYZE)` with costs for PostgreSQL).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use chrono::{DateTime, TimeDelta, Utc};
use durafn_dashboard::{DashboardOptions, Role};
use durafn_runtime::DurableClient;
use durafn_store::Store;
use durafn_store::inspect::InstanceQuery;
use http_body_util::BodyExt;
use tower::ServiceExt;

const KEY: &str = "bench-key-0123456789";
const NAMES: [&str; 5] = [
    "orchestrator-function",
    "fulfil-order",
    "nightly-report",
    "refund",
    "sync-warehouse",
];

use durafn_bench::arg;

/// A deterministic stream of numbers (splitmix64), so every run fills the same hub.
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The `i`-th instance: id, name, status, created (micros), custom status.
fn instance(i: u64, now: i64) -> (String, &'static str, &'static str, i64, Option<String>) {
    let r = mix(i);
    let id = format!("{:016x}{:016x}", r, mix(r));
    let name = NAMES[(r % 5) as usize];
    let status = match (r >> 8) % 100 {
        0..70 => "Completed",
        70..80 => "Running",
        80..88 => "Failed",
        88..96 => "Terminated",
        _ => "Pending",
    };
    let age = ((r >> 16) % (90 * 86_400_000_000)) as i64;
    let custom = ((r >> 40) % 3 == 0).then(|| format!("{{\"stage\":\"step-{}\"}}", (r >> 44) % 20));
    (id, name, status, now - age, custom)
}

fn now() -> DateTime<Utc> {
    DateTime::<Utc>::from(std::time::SystemTime::now())
}

fn fill_sqlite(path: &std::path::Path, n: u64) -> Result<(), Box<dyn std::error::Error>> {
    let conn = rusqlite::Connection::open(path)?;
    let have: i64 = conn.query_row("SELECT COUNT(*) FROM instances", [], |r| r.get(0))?;
    if u64::try_from(have) == Ok(n) {
        println!(
            "reusing {} with {n} instances",
            path.file_name().unwrap_or_default().to_string_lossy()
        );
        return Ok(());
    }
    conn.execute_batch("DELETE FROM instances; PRAGMA synchronous = OFF;")?;
    let started = Instant::now();
    let now = now().timestamp_micros();
    conn.execute_batch("BEGIN")?;
    {
        let mut stmt = conn.prepare(
            "INSERT INTO instances (instance_id, name, execution_id, status, input, output, \
             failure, custom_status, created_at, last_updated_at, parent, history_len) \
             VALUES (?1, ?2, ?1, ?3, '{\"order\":1}', NULL, NULL, ?4, ?5, ?5 + 4200000, NULL, 9)",
        )?;
        for i in 0..n {
            let (id, name, status, created, custom) = instance(i, now);
            stmt.execute(rusqlite::params![id, name, status, custom, created])?;
        }
    }
    conn.execute_batch("COMMIT; ANALYZE;")?;
    println!(
        "filled {} with {n} instances in {:.1} s",
        path.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn fill_postgres(url: &str, schema: &str, n: u64) -> Result<(), Box<dyn std::error::Error>> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    let have: i64 = client
        .query_one(&format!("SELECT count(*) FROM \"{schema}\".instances"), &[])
        .await?
        .get(0);
    // Autovacuum would do this in production: the visibility map lets counts read the
    // indexes alone.
    let vacuum = format!("VACUUM (ANALYZE) \"{schema}\".instances");
    if u64::try_from(have) == Ok(n) {
        client.batch_execute(&vacuum).await?;
        println!("reusing schema {schema} with {n} instances");
        return Ok(());
    }
    let started = Instant::now();
    let now = now().timestamp_micros();
    client
        .batch_execute(&format!("TRUNCATE \"{schema}\".instances"))
        .await?;
    // The same distribution as SQLite's fill, computed in SQL from a hash of the row number.
    let names = NAMES.map(|n| format!("'{n}'")).join(",");
    let sql = format!(
        "INSERT INTO \"{schema}\".instances (instance_id, name, execution_id, status, input, \
         custom_status, created_at, last_updated_at, history_len) \
         SELECT md5(i::text), (ARRAY[{names}])[1 + h % 5], md5(i::text), \
           CASE WHEN (h / 7) % 100 < 70 THEN 'Completed' WHEN (h / 7) % 100 < 80 THEN 'Running' \
                WHEN (h / 7) % 100 < 88 THEN 'Failed' WHEN (h / 7) % 100 < 96 THEN 'Terminated' \
                ELSE 'Pending' END, \
           '{{\"order\":1}}', \
           CASE WHEN (h / 11) % 3 = 0 THEN '{{\"stage\":\"step-' || ((h / 13) % 20) || '\"}}' END, \
           {now} - (h % (90::bigint * 86400000000)), \
           {now} - (h % (90::bigint * 86400000000)) + 4200000, 9 \
         FROM (SELECT i, abs(hashtextextended(i::text, 7)) AS h FROM generate_series(1, {n}) AS i) AS s"
    );
    client.batch_execute(&sql).await?;
    client.batch_execute(&vacuum).await?;
    println!(
        "filled schema {schema} with {n} instances in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// What a scenario opens: the list address, and the store query it runs (for the plans).
fn scenarios(now: DateTime<Utc>) -> Vec<(&'static str, String, InstanceQuery)> {
    use durafn_core::RuntimeStatus as S;
    let q = |statuses: Vec<S>, name: Option<&str>, prefix: Option<&str>, days: Option<i64>| {
        let mut query = InstanceQuery {
            orchestrations_only: true,
            order: durafn_store::inspect::SortOrder::NewestFirst,
            ..InstanceQuery::default()
        };
        query.filter.statuses = statuses;
        query.filter.name = name.map(String::from);
        query.filter.instance_id_prefix = prefix.map(String::from);
        query.filter.created_from = days.map(|d| now - TimeDelta::days(d));
        query
    };
    let mut search = q(vec![], None, None, None);
    search.custom_status_contains = Some("step-7".into());
    vec![
        ("newest, no filter", "".into(), q(vec![], None, None, None)),
        (
            "Running",
            "status=Running".into(),
            q(vec![S::Running], None, None, None),
        ),
        (
            "Failed, last 24 hours",
            "status=Failed&range=24h".into(),
            q(vec![S::Failed], None, None, Some(1)),
        ),
        (
            "Completed or Failed, last 7 days",
            "status=Completed&status=Failed&range=7d".into(),
            q(vec![S::Completed, S::Failed], None, None, Some(7)),
        ),
        (
            "one orchestrator, last 30 days",
            "name=refund&range=30d".into(),
            q(vec![], Some("refund"), None, Some(30)),
        ),
        (
            "Pending of one orchestrator",
            "status=Pending&name=nightly-report".into(),
            q(vec![S::Pending], Some("nightly-report"), None, None),
        ),
        (
            "id prefix",
            "prefix=ab".into(),
            q(vec![], None, Some("ab"), None),
        ),
        ("custom status contains", "q=step-7".into(), search),
    ]
}

async fn get(router: &axum::Router, uri: &str) -> (u16, String) {
    let req = Request::get(uri)
        .header("x-functions-key", KEY)
        .header("hx-request", "true")
        .body(Body::empty())
        .expect("request");
    let response = router.clone().oneshot(req).await.expect("answer");
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

async fn measure(router: &axum::Router, uri: &str, samples: usize) -> (f64, f64, String) {
    let (status, body) = get(router, uri).await;
    assert_eq!(status, 200, "{uri}: {body}");
    for _ in 0..5 {
        get(router, uri).await;
    }
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples {
        let t = Instant::now();
        let (status, _) = get(router, uri).await;
        times.push(t.elapsed());
        assert_eq!(status, 200);
    }
    times.sort();
    (percentile(&times, 0.5), percentile(&times, 0.99), body)
}

/// The address of the second page of `uri`, from the "Next page" link of its first page.
fn next_page(body: &str) -> Option<String> {
    let at = body.find("rel=\"next\" href=\"")? + 17;
    Some(body[at..].split('"').next()?.replace("&amp;", "&"))
}

async fn run(
    label: &str,
    store: Arc<dyn Store>,
    samples: usize,
    explain: impl AsyncFn(&InstanceQuery) -> (Vec<String>, Vec<String>),
) {
    let client = DurableClient::detached(store, None);
    let authorize = Arc::new(|k: &str| (k == KEY).then_some(Role::Operator));
    let router = axum::Router::new().nest(
        durafn_dashboard::BASE,
        durafn_dashboard::router(client, authorize, DashboardOptions::default()),
    );
    println!("\n## {label}\n");
    println!("| scenario | list page p50 | p99 | counts p50 | p99 |");
    println!("|---|---|---|---|---|");
    let mut plans = Vec::new();
    for (name, filter, query) in scenarios(now()) {
        let sep = if filter.is_empty() { "" } else { "?" };
        let list = format!("/dashboard/instances{sep}{filter}");
        let counts = format!("/dashboard/instances/counts{sep}{filter}");
        let (p50, p99, body) = measure(&router, &list, samples).await;
        let (c50, c99, _) = measure(&router, &counts, samples.div_ceil(4)).await;
        println!("| {name} | {p50:.1} ms | {p99:.1} ms | {c50:.1} ms | {c99:.1} ms |");
        if name == "Running" {
            if let Some(next) = next_page(&body) {
                let (p50, p99, _) = measure(&router, &next, samples).await;
                println!("| Running, second page | {p50:.1} ms | {p99:.1} ms | | |");
            }
        }
        // The counts fragment counts every status of the filter (so each can be switched on).
        let mut any_status = query.clone();
        any_status.filter.statuses.clear();
        let (listing, _) = explain(&query).await;
        let (_, counting) = explain(&any_status).await;
        plans.push((name, (listing, counting)));
    }
    println!("\n### Plans ({label})\n");
    for (name, (listing, counting)) in plans {
        println!("{name}:\n  listing:");
        for l in listing {
            println!("    {l}");
        }
        println!("  counts:");
        for l in counting {
            println!("    {l}");
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "sqlite".into());
    let n: u64 = arg("--instances", 1_000_000);
    let samples: usize = arg("--samples", 200);
    match mode.as_str() {
        "sqlite" => {
            let default = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../target/bench-dashboard")
                .join(format!("hub-{n}.db"));
            let path: PathBuf = arg("--db", default);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            // Opening creates and migrates the schema; the fill writes into it.
            drop(durafn_sqlite::SqliteStore::open(&path, Default::default())?);
            fill_sqlite(&path, n)?;
            let store = Arc::new(durafn_sqlite::SqliteStore::open(&path, Default::default())?);
            let explain = async |q: &InstanceQuery| {
                durafn_sqlite::inspect::explain_query(&path, q).expect("plans")
            };
            run(&format!("SQLite, {n} instances"), store, samples, explain).await;
        }
        "postgres" => {
            let url: String = arg(
                "--url",
                std::env::var("DURAFN_TEST_POSTGRES_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into()),
            );
            let schema = "durafn_bench_dashboard";
            let options = durafn_postgres::PostgresOptions {
                schema: schema.into(),
                notifications: false,
                ..Default::default()
            };
            let store = durafn_postgres::PostgresStore::connect(&url, options).await?;
            fill_postgres(&url, schema, n).await?;
            let store = Arc::new(store);
            let explaining = store.clone();
            let explain =
                async move |q: &InstanceQuery| explaining.explain_query(q).await.expect("plans");
            run(
                &format!("PostgreSQL, {n} instances"),
                store,
                samples,
                explain,
            )
            .await;
        }
        other => return Err(format!("unknown mode {other:?} (sqlite or postgres)").into()),
    }
    Ok(())
}
