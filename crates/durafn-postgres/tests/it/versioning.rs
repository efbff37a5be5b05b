//! Hosts of different versions sharing one PostgreSQL task hub: with `Reject`, each instance
//! is run by a host of its version (a host of another version leaves it alone); with `Fail`, a
//! host that may not run an instance fails it with a clear error. Needs
//! `DURAFN_TEST_POSTGRES_URL` (skipped without it, except in CI).

use std::sync::Arc;
use std::time::Duration;

use crate::common::{TestHub, url};
use durafn_core::{
    FunctionError, OrchestrationContext, Registry, RuntimeStatus, SystemFailure,
    VersionFailureStrategy, VersionMatchStrategy, orchestrator_fn,
};
use durafn_postgres::{PostgresOptions, PostgresStore};
use durafn_runtime::{DurableClient, Runtime, RuntimeOptions, StartOptions};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(60);

fn tagged(host: &'static str) -> Arc<Registry> {
    Arc::new(
        Registry::builder()
            .orchestrator(orchestrator_fn(
                "versioned",
                move |ctx: OrchestrationContext, _: ()| async move {
                    Ok::<_, FunctionError>(json!({"host": host, "version": ctx.version()}))
                },
            ))
            .build()
            .expect("registry"),
    )
}

/// A host of `version` on its own connections to the hub.
async fn host(
    url: &str,
    schema: &str,
    name: &'static str,
    version: &str,
    matching: VersionMatchStrategy,
    failure: VersionFailureStrategy,
) -> Runtime {
    let store = PostgresStore::connect(
        url,
        PostgresOptions {
            schema: schema.to_string(),
            ..PostgresOptions::default()
        },
    )
    .await
    .expect("connect");
    Runtime::builder(Arc::new(store), tagged(name))
        .options(RuntimeOptions {
            default_version: Some(version.into()),
            version_match: matching,
            version_failure: failure,
            version_reject_delay: Duration::from_millis(200),
            max_poll_interval: Duration::from_millis(100),
            ..RuntimeOptions::default()
        })
        .start()
}

async fn start(client: &DurableClient, version: &str) -> String {
    client
        .start_new_with(
            "versioned",
            &(),
            StartOptions {
                version: Some(version.into()),
                ..StartOptions::default()
            },
        )
        .await
        .expect("start")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reject_leaves_old_version_work_to_the_old_host() {
    let Some(url) = url() else { return };
    let hub = TestHub::new(&url, "versions", PostgresOptions::default()).await;
    let strict = VersionMatchStrategy::Strict;
    let reject = VersionFailureStrategy::Reject;
    let new = host(&url, hub.schema(), "new", "2.0", strict, reject).await;
    let client = new.client();
    let old_ids: Vec<String> = {
        let mut ids = Vec::new();
        for _ in 0..10 {
            ids.push(start(&client, "1.0").await);
        }
        ids
    };
    // Only the new host runs: it turns every old-version instance away, over and over.
    for id in &old_ids {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let d = client
                .diagnose(id)
                .await
                .expect("diagnose")
                .expect("exists");
            if d.status == RuntimeStatus::Pending
                && !d.work.messages.is_empty()
                && d.work
                    .messages
                    .iter()
                    .all(|m| m.visible_at.is_some() && m.delivery == 0)
            {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{id} not rejected: {d:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let old = host(&url, hub.schema(), "old", "1.0", strict, reject).await;
    let mut new_ids = Vec::new();
    for _ in 0..10 {
        new_ids.push(start(&old.client(), "2.0").await);
    }
    for (ids, name, version) in [(&old_ids, "old", "1.0"), (&new_ids, "new", "2.0")] {
        for id in ids {
            let done = client.wait_for_completion(id, WAIT).await.expect("done");
            assert_eq!(
                done.output.expect("output").to_value(),
                json!({"host": name, "version": version}),
                "instance {id} ran on the host of its version"
            );
        }
    }
    old.shutdown().await;
    new.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_fails_work_of_a_version_the_host_may_not_run() {
    let Some(url) = url() else { return };
    let hub = TestHub::new(&url, "versions_fail", PostgresOptions::default()).await;
    let two = host(
        &url,
        hub.schema(),
        "two",
        "2.0",
        VersionMatchStrategy::CurrentOrOlder,
        VersionFailureStrategy::Fail,
    )
    .await;
    let client = two.client();
    let older = start(&client, "1.0").await;
    let newer = start(&client, "3.0").await;
    let done = client
        .wait_for_completion(&older, WAIT)
        .await
        .expect("done");
    assert_eq!(
        done.output.expect("output").to_value(),
        json!({"host": "two", "version": "1.0"})
    );
    let failed = client
        .wait_for_completion(&newer, WAIT)
        .await
        .expect("done");
    assert_eq!(failed.runtime_status, RuntimeStatus::Failed);
    let failure = failed.failure.expect("failure");
    assert!(failure.is(SystemFailure::VersionMismatch), "{failure:?}");
    assert!(
        failure.message.contains("\"3.0\"") && failure.message.contains("\"2.0\""),
        "{}",
        failure.message
    );
    two.shutdown().await;
}
