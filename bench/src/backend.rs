//! The task hubs the large-work and row-count benchmarks run on: SQLite with fsync in a
//! temporary directory, and PostgreSQL in a schema of its own (dropped afterwards) when
//! `DURAFN_BENCH_POSTGRES_URL` or `DURAFN_TEST_POSTGRES_URL` names a server.

use std::sync::Arc;

use durafn_postgres::{PostgresOptions, PostgresStore};
use durafn_store::Store;

/// Which task hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, fsync per commit batch.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Backend {
    /// The name the reports use.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite (fsync)",
            Self::Postgres => "PostgreSQL",
        }
    }
}

/// The PostgreSQL server to measure, if one is configured.
pub fn postgres_url() -> Option<String> {
    ["DURAFN_BENCH_POSTGRES_URL", "DURAFN_TEST_POSTGRES_URL"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
}

/// The backends to measure: SQLite always, PostgreSQL when configured (and `--backend` picks
/// one: `sqlite` or `postgres`).
pub fn backends() -> Vec<Backend> {
    let only = crate::arg::<String>("--backend", String::new());
    let mut out = Vec::new();
    if only.is_empty() || only == "sqlite" {
        out.push(Backend::Sqlite);
    }
    if (only.is_empty() || only == "postgres") && postgres_url().is_some() {
        out.push(Backend::Postgres);
    } else if only == "postgres" {
        eprintln!("no PostgreSQL: set DURAFN_BENCH_POSTGRES_URL or DURAFN_TEST_POSTGRES_URL");
    }
    out
}

/// A fresh task hub and what it lives in; [`Hub::remove`] deletes it.
pub struct Hub {
    /// The store.
    pub store: Arc<dyn Store>,
    /// Where the SQLite file lives (kept until the hub is removed).
    pub dir: Option<tempfile::TempDir>,
    /// The PostgreSQL schema.
    pub schema: Option<String>,
}

impl Hub {
    /// Opens a fresh hub on `backend`; `tag` keeps the schemas of concurrent runs apart.
    pub async fn open(backend: Backend, tag: &str) -> Hub {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let store = crate::open_sqlite(dir.path(), true);
                Hub {
                    store,
                    dir: Some(dir),
                    schema: None,
                }
            }
            Backend::Postgres => {
                let url = postgres_url().expect("a PostgreSQL URL");
                let schema = format!("bench_{tag}_{}", std::process::id());
                drop_schema(&url, &schema).await;
                let options = PostgresOptions {
                    schema: schema.clone(),
                    application_name: "durafn-bench".into(),
                    ..PostgresOptions::default()
                };
                let store = PostgresStore::connect(&url, options)
                    .await
                    .expect("connect to PostgreSQL");
                Hub {
                    store: Arc::new(store),
                    dir: None,
                    schema: Some(schema),
                }
            }
        }
    }

    /// Drops the store and deletes what it lived in.
    pub async fn remove(self) {
        let Hub { store, dir, schema } = self;
        drop(store);
        drop(dir);
        if let (Some(schema), Some(url)) = (schema, postgres_url()) {
            drop_schema(&url, &schema).await;
        }
    }
}

/// A plain connection to the server, for statistics and clean-up.
pub async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to PostgreSQL");
    tokio::spawn(connection);
    client
}

/// Drops a schema and everything in it.
pub async fn drop_schema(url: &str, schema: &str) {
    let client = connect(url).await;
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .await
        .expect("drop the schema");
}

/// Resets the process's peak resident memory (`VmHWM`), so the next [`peak_rss_mb`] is the
/// peak of what runs in between.
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The process's peak resident memory since the last [`reset_peak_rss`], in MB.
pub fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}
