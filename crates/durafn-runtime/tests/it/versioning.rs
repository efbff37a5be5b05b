//! Orchestration versions on the SQLite task hub: every combination of match and failure
//! strategy, work a host rejects run by a host of the right version, sub-orchestrations
//! inheriting their parent's version, listings by version, and patch markers carrying an
//! instance started on old code through a deploy of new code.

use std::sync::Arc;
use std::time::Duration;

use durafn_core::{
    EventKind, FunctionError, OrchestrationContext, Registry, RuntimeStatus, SystemFailure,
    VersionFailureStrategy, VersionMatchStrategy, activity_fn, orchestrator_fn,
};
use durafn_runtime::{DurableClient, Runtime, RuntimeOptions, StartOptions, StatusOptions};
use durafn_sqlite::{SqliteOptions, SqliteStore};
use durafn_store::{InstanceFilter, Store};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);

/// An app whose one orchestrator says which host ran it and with which version.
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

fn sqlite(dir: &tempfile::TempDir) -> Arc<dyn Store> {
    Arc::new(SqliteStore::open(dir.path().join("hub.db"), SqliteOptions::default()).expect("open"))
}

fn host(
    store: &Arc<dyn Store>,
    name: &'static str,
    version: &str,
    matching: VersionMatchStrategy,
    failure: VersionFailureStrategy,
) -> Runtime {
    Runtime::builder(store.clone(), tagged(name))
        .options(RuntimeOptions {
            default_version: Some(version.into()),
            version_match: matching,
            version_failure: failure,
            version_reject_delay: Duration::from_millis(100),
            max_poll_interval: Duration::from_millis(50),
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

/// Whether the 2.0 host may run an instance of `version` under `matching`.
fn may_run(matching: VersionMatchStrategy, version: &str) -> bool {
    match matching {
        VersionMatchStrategy::None => true,
        VersionMatchStrategy::Strict => version == "2.0",
        VersionMatchStrategy::CurrentOrOlder => version != "3.0",
    }
}

const STRATEGIES: [VersionMatchStrategy; 3] = [
    VersionMatchStrategy::None,
    VersionMatchStrategy::Strict,
    VersionMatchStrategy::CurrentOrOlder,
];

/// Waits until the host has turned an instance away: its messages were sent again for later.
async fn rejected(client: &DurableClient, id: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let d = client
            .diagnose(id)
            .await
            .expect("diagnose")
            .expect("exists");
        let later = !d.work.messages.is_empty()
            && d.work
                .messages
                .iter()
                .all(|m| m.visible_at.is_some() && m.delivery == 0);
        if later && d.status == RuntimeStatus::Pending {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "instance {id} was never rejected: {d:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_fails_exactly_the_versions_each_strategy_refuses() {
    for matching in STRATEGIES {
        let dir = tempfile::tempdir().expect("dir");
        let store = sqlite(&dir);
        let runtime = host(&store, "two", "2.0", matching, VersionFailureStrategy::Fail);
        let client = runtime.client();
        for version in ["1.0", "2.0", "3.0"] {
            let id = start(&client, version).await;
            let done = client.wait_for_completion(&id, WAIT).await.expect("ends");
            if may_run(matching, version) {
                assert_eq!(
                    done.runtime_status,
                    RuntimeStatus::Completed,
                    "{matching:?} {version}"
                );
                assert_eq!(
                    done.output.expect("output").to_value(),
                    json!({"host": "two", "version": version})
                );
            } else {
                assert_eq!(
                    done.runtime_status,
                    RuntimeStatus::Failed,
                    "{matching:?} {version}"
                );
                let failure = done.failure.expect("failure");
                assert!(failure.is(SystemFailure::VersionMismatch), "{failure:?}");
                assert_eq!(failure.error_type, "VersionMismatch");
                assert!(
                    failure.message.contains(&format!("\"{version}\""))
                        && failure.message.contains("\"2.0\"")
                        && failure.message.contains(&format!("{matching:?}")),
                    "the message names both versions and the rule: {}",
                    failure.message
                );
            }
        }
        runtime.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reject_leaves_refused_work_to_a_host_of_a_matching_version() {
    for matching in STRATEGIES {
        let dir = tempfile::tempdir().expect("dir");
        let store = sqlite(&dir);
        let two = host(
            &store,
            "two",
            "2.0",
            matching,
            VersionFailureStrategy::Reject,
        );
        let client = two.client();
        let mut refused = Vec::new();
        for version in ["1.0", "2.0", "3.0"] {
            let id = start(&client, version).await;
            if may_run(matching, version) {
                let done = client.wait_for_completion(&id, WAIT).await.expect("ends");
                assert_eq!(
                    done.output.expect("output").to_value(),
                    json!({"host": "two", "version": version}),
                    "{matching:?}"
                );
            } else {
                rejected(&client, &id).await;
                refused.push((id, version));
            }
        }
        // Hosts of the refused versions join the hub and take their instances over.
        let mut others = Vec::new();
        for (id, version) in &refused {
            let name: &'static str = if *version == "1.0" { "one" } else { "three" };
            let other = host(
                &store,
                name,
                version,
                VersionMatchStrategy::Strict,
                VersionFailureStrategy::Reject,
            );
            let done = other
                .client()
                .wait_for_completion(id, WAIT)
                .await
                .expect("the matching host runs it");
            assert_eq!(
                done.output.expect("output").to_value(),
                json!({"host": name, "version": version}),
                "{matching:?}"
            );
            others.push(other);
        }
        for other in others {
            other.shutdown().await;
        }
        two.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sub_orchestrations_inherit_the_parent_version_unless_given_one() {
    let registry =
        Arc::new(
            Registry::builder()
                .orchestrator(orchestrator_fn(
                    "parent",
                    |ctx: OrchestrationContext, _: ()| async move {
                        let inherited: Option<String> = ctx
                            .call_sub_orchestrator("child", Some("kid-inherits"), &())
                            .await?;
                        let chosen: Option<String> = ctx
                            .call_sub_orchestrator_with_version(
                                "child",
                                Some("kid-chosen"),
                                "9.9",
                                &(),
                            )
                            .await?;
                        Ok::<_, FunctionError>(json!([ctx.version(), inherited, chosen]))
                    },
                ))
                .orchestrator(orchestrator_fn(
                    "child",
                    |ctx: OrchestrationContext, _: ()| async move {
                        Ok::<_, FunctionError>(ctx.version())
                    },
                ))
                .build()
                .expect("registry"),
        );
    let dir = tempfile::tempdir().expect("dir");
    let runtime = Runtime::builder(sqlite(&dir), registry)
        .options(RuntimeOptions {
            default_version: Some("1.5".into()),
            version_match: VersionMatchStrategy::None,
            ..RuntimeOptions::default()
        })
        .start();
    let client = runtime.client();
    let id = client.start_new("parent", None, &()).await.expect("start");
    let done = client
        .wait_for_completion(id.as_str(), WAIT)
        .await
        .expect("done");
    assert_eq!(
        done.output.expect("output").to_value(),
        json!(["1.5", "1.5", "9.9"])
    );
    let kid = client
        .get_status("kid-inherits", StatusOptions::default())
        .await
        .expect("status")
        .expect("exists");
    assert_eq!(
        kid.version.as_deref(),
        Some("1.5"),
        "shown in the child's status"
    );
    let listed = |version: &str| InstanceFilter {
        version: Some(version.into()),
        ..InstanceFilter::default()
    };
    let page = client.list(&listed("9.9"), 10, None).await.expect("list");
    let ids: Vec<_> = page
        .instances
        .iter()
        .map(|r| r.instance_id.to_string())
        .collect();
    assert_eq!(ids, ["kid-chosen"], "listings filter by version");
    assert_eq!(
        client
            .list(&listed("1.5"), 10, None)
            .await
            .expect("list")
            .instances
            .len(),
        2
    );
    assert!(
        client
            .list(&listed(""), 10, None)
            .await
            .expect("list")
            .instances
            .is_empty()
    );
    runtime.shutdown().await;
}

/// The app before and after an in-place change guarded by a patch marker.
fn order_app(patched: bool) -> Arc<Registry> {
    Arc::new(
        Registry::builder()
            .orchestrator(orchestrator_fn(
                "order",
                move |ctx: OrchestrationContext, _: ()| async move {
                    ctx.call_activity::<()>("reserve", &()).await?;
                    let receipts = patched && ctx.is_patched("send-receipt");
                    let _: Value = ctx.wait_for_external_event("approved").await?;
                    let step = if receipts { "send_receipt" } else { "ship" };
                    Ok::<_, FunctionError>(ctx.call_activity::<String>(step, &()).await?)
                },
            ))
            .activity(activity_fn("reserve", |_ctx, _: ()| async move {
                Ok::<_, FunctionError>(())
            }))
            .activity(activity_fn("ship", |_ctx, _: ()| async move {
                Ok::<_, FunctionError>("old path".to_string())
            }))
            .activity(activity_fn("send_receipt", |_ctx, _: ()| async move {
                Ok::<_, FunctionError>("new path".to_string())
            }))
            .build()
            .expect("registry"),
    )
}

async fn waiting_for_approval(client: &DurableClient, id: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while client.awaited_events(id).await.expect("replay") != ["approved"] {
        assert!(tokio::time::Instant::now() < deadline, "{id} never waited");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patch_keeps_old_instances_on_the_old_path_and_sends_new_ones_down_the_new() {
    let dir = tempfile::tempdir().expect("dir");
    let store = sqlite(&dir);
    let v1 = Runtime::builder(store.clone(), order_app(false)).start();
    let old = v1
        .client()
        .start_new("order", None, &())
        .await
        .expect("start");
    waiting_for_approval(&v1.client(), old.as_str()).await;
    v1.shutdown().await;

    // The deploy: v2 code, and no cache, so every turn replays the whole history.
    let v2 = Runtime::builder(store.clone(), order_app(true))
        .options(RuntimeOptions {
            instance_cache_size: 0,
            ..RuntimeOptions::default()
        })
        .start();
    let client = v2.client();
    let new = client.start_new("order", None, &()).await.expect("start");
    waiting_for_approval(&client, new.as_str()).await;
    for id in [&old, &new] {
        client
            .raise_event(id.as_str(), "approved", &true)
            .await
            .expect("raise");
    }
    let output = |id: &durafn_core::InstanceId| {
        let client = client.clone();
        let id = id.clone();
        async move {
            let done = client
                .wait_for_completion(id.as_str(), WAIT)
                .await
                .expect("done");
            assert_eq!(done.runtime_status, RuntimeStatus::Completed, "{done:?}");
            done.output.expect("output").to_value()
        }
    };
    assert_eq!(
        output(&old).await,
        json!("old path"),
        "started on v1: the old path"
    );
    assert_eq!(
        output(&new).await,
        json!("new path"),
        "started on v2: the new path"
    );
    let markers = |history: Vec<durafn_core::HistoryEvent>| {
        history
            .into_iter()
            .filter_map(|e| match e.kind {
                EventKind::PatchMarker { patch_id } => Some(patch_id),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let history = |id: &durafn_core::InstanceId| {
        let store = store.clone();
        let id = id.clone();
        async move { store.get_history(&id).await.expect("history") }
    };
    assert!(markers(history(&old).await).is_empty());
    assert_eq!(markers(history(&new).await), ["send-receipt"]);
    v2.shutdown().await;
}
