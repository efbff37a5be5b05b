//! Database faults lose nothing: a workload runs through the runtime on the PostgreSQL task hub
//! while the store's connections are terminated again and again (`pg_terminate_backend`); every
//! instance still completes exactly once with the right output. Needs
//! `DURAFN_TEST_POSTGRES_URL` (skipped without it, except in CI).
//!
//! `DURAFN_FAULT_INSTANCES` (default 300) and `DURAFN_FAULT_KILLS` (default 6) size the run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common;
use durafn_core::{
    ActivityContext, EventKind, FunctionError, InstanceId, OrchestrationContext, Registry,
    RuntimeStatus, activity_fn, orchestrator_fn,
};
use durafn_postgres::PostgresOptions;
use durafn_runtime::{ClientError, DurableClient, Runtime, RuntimeOptions, StatusOptions};
use durafn_store::{InstanceStore, Store};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn step(i: u64, step: u64, acc: u64) -> u64 {
    acc.wrapping_mul(7).wrapping_add(step + i)
}

fn expected(i: u64) -> u64 {
    (0..3).fold(i, |acc, s| step(i, s, acc))
}

fn registry() -> Arc<Registry> {
    Arc::new(
        Registry::builder()
            .orchestrator(orchestrator_fn(
                "faulty",
                |ctx: OrchestrationContext, i: u64| async move {
                    let mut acc = i;
                    for s in 0..3u64 {
                        acc = ctx.call_activity("step", &(i, s, acc)).await?;
                    }
                    ctx.sleep(Duration::from_millis(20)).await;
                    Ok::<_, FunctionError>(acc)
                },
            ))
            .activity(activity_fn(
                "step",
                |_: ActivityContext, (i, s, acc): (u64, u64, u64)| async move {
                    Ok::<_, FunctionError>(step(i, s, acc))
                },
            ))
            .build()
            .expect("unique names"),
    )
}

/// Retries a client call while it fails with a retryable store error.
async fn retry<T, F, Fut>(what: &str, mut call: F) -> Result<T, ClientError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ClientError>>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match call().await {
            Err(ClientError::Store(e)) if e.is_retryable() && Instant::now() < deadline => {
                // The pool has dropped the broken connection; the next call opens a new one.
                eprintln!("{what}: {e}; retrying");
                tokio::task::yield_now().await;
            }
            other => return other,
        }
    }
}

async fn start(client: &DurableClient, i: u64) {
    let id = format!("fault-{i}");
    loop {
        // A start whose reply was lost may have happened: never start (replace) it twice.
        let exists = retry("status", || {
            client.get_status(&id, StatusOptions::default())
        })
        .await
        .expect("status");
        if exists.is_some() {
            return;
        }
        match client.start_new("faulty", Some(&id), &i).await {
            Ok(_) | Err(ClientError::InstanceExists { .. }) => return,
            Err(ClientError::Store(e)) if e.is_retryable() => tokio::task::yield_now().await,
            Err(e) => panic!("start {id}: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminated_connections_lose_nothing() {
    let Some(url) = common::url() else { return };
    let instances = env_or("DURAFN_FAULT_INSTANCES", 300);
    let kills = env_or("DURAFN_FAULT_KILLS", 6);
    let app = format!("durafn-fault-{}", std::process::id());
    let hub = common::TestHub::new(
        &url,
        "fault",
        PostgresOptions {
            application_name: app.clone(),
            pool_size: 6,
            ..PostgresOptions::default()
        },
    )
    .await;
    let store: Arc<dyn Store> = hub.store.clone();
    let runtime = Runtime::builder(store.clone(), registry())
        .options(RuntimeOptions {
            lease: Duration::from_secs(2),
            max_poll_interval: Duration::from_millis(100),
            host_id: "fault-host".into(),
            ..RuntimeOptions::default()
        })
        .start();
    let client = runtime.client();

    let (killer, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("killer connection");
    tokio::spawn(connection);
    let kill_sql = format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid() \
         AND application_name = '{app}'"
    );

    // The kills are spread over the starts, so they hit the store while its runtime works.
    let started = Instant::now();
    let every = (instances / kills.max(1)).max(1);
    let mut terminated = 0;
    for i in 0..instances {
        start(&client, i).await;
        if (i + 1) % every == 0 && i / every < kills {
            terminated += killer.query(&kill_sql, &[]).await.expect("terminate").len();
        }
    }
    for i in 0..instances {
        let id = format!("fault-{i}");
        let status = retry("wait", || {
            client.wait_for_completion(&id, Duration::from_secs(180))
        })
        .await
        .expect("completes in time");
        assert_eq!(status.runtime_status, RuntimeStatus::Completed, "{id}");
    }
    println!(
        "fault test: {instances} instances completed in {:.1} s with {kills} rounds of \
         pg_terminate_backend ({terminated} connections terminated); metrics {:?}",
        started.elapsed().as_secs_f64(),
        runtime.metrics().snapshot()
    );
    assert!(
        terminated >= kills as usize,
        "the kills hit the store's connections"
    );
    runtime.shutdown().await;

    for i in 0..instances {
        let id = InstanceId::from_trusted(format!("fault-{i}"));
        let row = hub
            .store
            .get_instance(&id)
            .await
            .expect("get")
            .expect("instance exists");
        assert_eq!(row.status, RuntimeStatus::Completed, "{id}");
        let out: u64 = row.output.expect("output").decode().expect("number");
        assert_eq!(out, expected(i), "{id} output");
        let history = hub.store.get_history(&id).await.expect("history");
        let completions = history
            .iter()
            .filter(|e| matches!(e.kind, EventKind::ExecutionCompleted { .. }))
            .count();
        assert_eq!(completions, 1, "{id} has exactly one ExecutionCompleted");
    }
}
