//! Build 1 of the orders app (see `durafn_chaos::orders`): a function app, so
//! `orders-v1 replay-check --hub PATH` works as in every app, plus
//! `orders-v1 seed --db PATH --instances N`, which starts N orders and N/10 refunds and exits
//! once every one of them waits for its approval.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use durafn_chaos::orders::{Order, is_express, registry};
use durafn_host::App;
use durafn_runtime::{Runtime, RuntimeOptions};
use durafn_sqlite::{SqliteOptions, SqliteStore};
use durafn_store::Store;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

async fn seed(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let db = arg(args, "--db").ok_or("--db PATH is required")?;
    let n: u64 = arg(args, "--instances")
        .unwrap_or_else(|| "1000".into())
        .parse()?;
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db, SqliteOptions::default())?);
    let runtime = Runtime::builder(store, Arc::new(registry(1)))
        .options(RuntimeOptions {
            default_version: Some("1.0".into()),
            ..RuntimeOptions::default()
        })
        .start();
    let client = runtime.client();
    let mut ids = Vec::new();
    for i in 0..n {
        let id = format!("order-{i:05}");
        let order = Order {
            n: i,
            express: is_express(i),
        };
        client.start_new("order", Some(&id), &order).await?;
        ids.push(id);
        if i % 10 == 0 {
            let id = format!("refund-{i:05}");
            client.start_new("refund", Some(&id), &i).await?;
            ids.push(id);
        }
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    let mut pending = ids;
    while !pending.is_empty() {
        let mut still = Vec::new();
        for id in pending {
            if client.awaited_events(&id).await? != ["approve"] {
                still.push(id);
            }
        }
        pending = still;
        if tokio::time::Instant::now() > deadline {
            return Err(format!("{} instances never waited for approval", pending.len()).into());
        }
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    runtime.shutdown().await;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("seed") {
        return match seed(&args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("orders-v1 seed: {e}");
                ExitCode::FAILURE
            }
        };
    }
    match App::new().registry(&registry(1)).run_with_args(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("orders-v1: {e}");
            ExitCode::FAILURE
        }
    }
}
