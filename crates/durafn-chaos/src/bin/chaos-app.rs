//! The crash-test app: starts `--instances N` chaos orchestrations on a SQLite task hub (idempotently),
//! raises their events, and exits with status 0 once all are completed. It is meant to be killed.
//!
//! Usage: `chaos-app --db PATH --log PATH --instances N`

use std::sync::Arc;
use std::time::Duration;

use durafn_chaos::{ActivityLog, registry};
use durafn_core::{AppData, RuntimeStatus};
use durafn_runtime::{ClientError, Runtime, RuntimeOptions, StatusOptions};
use durafn_sqlite::{SqliteOptions, SqliteStore};
use durafn_store::{InstanceFilter, Store};

fn arg(name: &str) -> Option<String> {
    let mut args = std::env::args();
    while let Some(a) = args.next() {
        if a == name {
            return args.next();
        }
    }
    None
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let db = arg("--db").ok_or("--db PATH is required")?;
    let log = arg("--log").ok_or("--log PATH is required")?;
    let n: u64 = arg("--instances").unwrap_or_else(|| "500".into()).parse()?;
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db, SqliteOptions::default())?);
    let mut data = AppData::default();
    data.insert(ActivityLog(log.into()));
    let options = RuntimeOptions {
        lease: Duration::from_secs(2),
        max_poll_interval: Duration::from_millis(200),
        ..Default::default()
    };
    let runtime = Runtime::builder(store.clone(), registry())
        .options(options)
        .app_data(data)
        .start();
    let client = runtime.client();
    for i in 0..n {
        let id = format!("chaos-{i}");
        // Start only what does not exist yet: starting a finished instance's id would replace it.
        if client
            .get_status(&id, StatusOptions::default())
            .await?
            .is_some()
        {
            continue;
        }
        match client.start_new("chaos", Some(&id), &i).await {
            Ok(_) | Err(ClientError::InstanceExists { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    for i in 0..n {
        match client.raise_event(&format!("chaos-{i}"), "go", &i).await {
            Ok(()) | Err(ClientError::Finished { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let done = InstanceFilter {
        statuses: vec![RuntimeStatus::Completed],
        ..Default::default()
    };
    loop {
        let mut completed = 0;
        let mut token: Option<String> = None;
        loop {
            let page = client.list(&done, 1000, token.as_deref()).await?;
            completed += page.instances.len() as u64;
            match page.continuation {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        if completed >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    runtime.shutdown().await;
    println!("ALL DONE");
    Ok(())
}
