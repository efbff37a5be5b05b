//! The scale-out app: one host of a PostgreSQL task hub shared by several. It runs the chaos
//! orchestrations (see the crate docs) until `--instances N` of them are Completed, then exits
//! with status 0 and prints `ALL DONE`. It starts nothing itself: the test (or an operator)
//! starts the instances and raises their events with a client on the same hub. It is meant to
//! be run several times at once and to be killed.
//!
//! Usage: `scale-app --url URL --schema NAME --host-id ID --log PATH --instances N [--lease-ms MS]`
//!
//! Each host appends one line per activity execution to its own `--log`, so the test can tell
//! which host ran what.

use std::sync::Arc;
use std::time::Duration;

use durafn_chaos::{ActivityLog, registry};
use durafn_core::{AppData, RuntimeStatus};
use durafn_postgres::{PostgresOptions, PostgresStore};
use durafn_runtime::{Runtime, RuntimeOptions};
use durafn_store::Store;

fn arg(name: &str) -> Option<String> {
    let mut args = std::env::args();
    while let Some(a) = args.next() {
        if a == name {
            return args.next();
        }
    }
    None
}

async fn completed(store: &Arc<dyn Store>) -> u64 {
    match store.count_by_status().await {
        Ok(counts) => counts
            .iter()
            .find(|(s, _)| *s == RuntimeStatus::Completed)
            .map_or(0, |(_, n)| *n),
        // The database may be briefly unreachable; the next poll tries again.
        Err(_) => 0,
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = arg("--url").ok_or("--url URL is required")?;
    let schema = arg("--schema").ok_or("--schema NAME is required")?;
    let host_id = arg("--host-id").ok_or("--host-id ID is required")?;
    let log = arg("--log").ok_or("--log PATH is required")?;
    let n: u64 = arg("--instances")
        .unwrap_or_else(|| "1000".into())
        .parse()?;
    let lease_ms: u64 = arg("--lease-ms").unwrap_or_else(|| "2000".into()).parse()?;
    let store = PostgresStore::connect(
        &url,
        PostgresOptions {
            schema,
            application_name: format!("durafn-scale-{host_id}"),
            ..PostgresOptions::default()
        },
    )
    .await?;
    let store: Arc<dyn Store> = Arc::new(store);
    let mut data = AppData::default();
    data.insert(ActivityLog(log.into()));
    let options = RuntimeOptions {
        lease: Duration::from_millis(lease_ms),
        max_poll_interval: Duration::from_millis(200),
        host_id,
        ..Default::default()
    };
    let runtime = Runtime::builder(store.clone(), registry())
        .options(options)
        .app_data(data)
        .start();
    while completed(&store).await < n {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    runtime.shutdown().await;
    println!("ALL DONE");
    Ok(())
}
