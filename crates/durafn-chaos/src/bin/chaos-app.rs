//! The crash-test app: starts `--instances N` chaos orchestrations on a SQLite task hub (idempotently),
//! raises their events, and exits with status 0 once all are completed. It is meant to be killed.
//!
//! Usage: `chaos-app --db PATH --log PATH --instances N`, or `chaos-app --db PATH --entities` for
//! the entity workload (50 orchestrations signalling a counter 20 times each, and transfers between
//! accounts under locks).

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
    if std::env::args().any(|a| a == "--entities") {
        return entities(&db).await;
    }
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

/// Starts `name` under `id` unless an instance with that id exists (a finished one included).
async fn start_once(
    client: &durafn_runtime::DurableClient,
    name: &str,
    id: &str,
    input: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    if client
        .get_status(id, StatusOptions::default())
        .await?
        .is_some()
    {
        return Ok(());
    }
    match client.start_new(name, Some(id), &input).await {
        Ok(_) | Err(ClientError::InstanceExists { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

async fn entities(db: &str) -> Result<(), Box<dyn std::error::Error>> {
    use durafn_chaos::{SIGNALLERS, SIGNALS_PER_SIGNALLER, TRANSFERS};
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(db, SqliteOptions::default())?);
    let options = RuntimeOptions {
        lease: Duration::from_secs(2),
        max_poll_interval: Duration::from_millis(200),
        ..Default::default()
    };
    let runtime = Runtime::builder(store.clone(), registry())
        .options(options)
        .start();
    let client = runtime.client();
    for i in 0..SIGNALLERS {
        start_once(
            &client,
            "signaller",
            &format!("signaller-{i}"),
            SIGNALS_PER_SIGNALLER,
        )
        .await?;
    }
    start_once(&client, "fund", "fund", 0).await?;
    let funded = client
        .wait_for_completion("fund", Duration::from_secs(600))
        .await?;
    if funded.runtime_status != RuntimeStatus::Completed {
        return Err(format!("funding the accounts failed: {:?}", funded.failure).into());
    }
    for t in 0..TRANSFERS {
        start_once(&client, "transfer", &format!("transfer-{t}"), t).await?;
    }
    for t in 0..TRANSFERS {
        client
            .wait_for_completion(&format!("transfer-{t}"), Duration::from_secs(600))
            .await?;
    }
    loop {
        let value: Option<u64> = client.read_entity_state(&durafn_chaos::counter()).await?;
        if value == Some(SIGNALLERS * SIGNALS_PER_SIGNALLER) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A transfer completes once it has sent the release of its locks; the accounts apply those
    // releases a moment later, so the run is done only when no account is locked any more. A lock
    // that a crash left behind for good would keep this loop going until the deadline.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let page = client.list_entities(Some("account"), 100, None).await?;
        if page.entities.iter().all(|e| e.locked_by.is_none()) {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            return Err("an account is still locked two minutes after every transfer ended".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    runtime.shutdown().await;
    println!("ALL DONE");
    Ok(())
}
