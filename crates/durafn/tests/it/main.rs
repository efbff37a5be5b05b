//! The replay tester against recorded histories: the histories in `tests/histories/` (recorded
//! from real runs of `replay_app` by `record_histories` below) replay clean with the build that
//! recorded them, and each kind of breaking change to that build is reported where it breaks.
//!
//! To record them again (after changing `replay_app`):
//! `cargo test -p durafn --test it -- --ignored record_histories`

mod replay_app;

use std::path::{Path, PathBuf};
use std::time::Duration;

use durafn::host::HostConfig;
use durafn::host::config::StorageProvider;
use durafn::testing::{Replayer, assert_histories_replay};
use durafn::{Action, App, DurableClient, EventKind, RuntimeStatus, StatusOptions};
use replay_app::{Change, app};

fn histories() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/histories")
}

/// The one-line test an app writes.
#[test]
fn every_recorded_history_still_replays() {
    assert_histories_replay(app(Change::None), histories());
}

#[test]
fn the_recorded_set_covers_every_action_kind_entities_continue_as_new_and_rewind() {
    let reports = Replayer::new(app(Change::None))
        .replay_dir(histories())
        .expect("histories");
    assert!(reports.len() >= 20, "{} histories", reports.len());
    let mut kinds = std::collections::BTreeSet::new();
    for file in std::fs::read_dir(histories()).expect("dir") {
        let text = std::fs::read_to_string(file.expect("entry").path()).expect("read");
        for kind in [
            "TaskScheduled",
            "TimerCreated",
            "SubOrchestrationInstanceCreated",
            "EventSent",
            "EntityOperationCalled",
            "EntityOperationSignaled",
            "EntityLockRequested",
            "EntityUnlockSent",
            "ContinueAsNew",
            "ExecutionRewound",
            "EventRaised",
            "ExecutionSuspended",
            "ExecutionTerminated",
            "PatchMarker",
            "TaskFailed",
        ] {
            if text.contains(&format!("\"EventType\": \"{kind}\""))
                || text.contains(&format!("\"EventType\":\"{kind}\""))
            {
                kinds.insert(kind);
            }
        }
    }
    assert_eq!(kinds.len(), 15, "covered: {kinds:?}");
    let condensed = std::fs::read_dir(histories())
        .expect("dir")
        .filter(|f| {
            f.as_ref()
                .is_ok_and(|f| f.file_name().to_string_lossy().starts_with("api-"))
        })
        .count();
    assert!(
        condensed >= 4,
        "histories as the management API shows them: {condensed}"
    );
}

/// Replays everything with a changed build; returns the files that diverged, with the
/// divergence of each.
fn diverging(change: Change) -> Vec<(String, durafn::core::Divergence)> {
    Replayer::new(app(change))
        .replay_dir(histories())
        .expect("histories")
        .into_iter()
        .filter_map(|r| {
            let file = Path::new(&r.source)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            r.verdict.divergence().cloned().map(|d| (file, d))
        })
        .collect()
}

fn files(found: &[(String, durafn::core::Divergence)]) -> Vec<&str> {
    let mut files: Vec<&str> = found.iter().map(|(f, _)| f.as_str()).collect();
    files.sort_unstable();
    files
}

fn activity(a: &Option<Action>) -> Option<&str> {
    match a {
        Some(Action::ScheduleActivity { name, .. }) => Some(name),
        _ => None,
    }
}

fn recorded_activity(d: &durafn::core::Divergence) -> Option<&str> {
    match d.recorded.as_ref().map(|e| &e.kind) {
        Some(EventKind::TaskScheduled { name, .. }) => Some(name),
        _ => None,
    }
}

#[test]
fn a_renamed_activity_is_reported_beside_the_recorded_one() {
    let found = diverging(Change::ActivityRenamed);
    assert_eq!(files(&found), ["api-chain.json", "chain.json"]);
    for (file, d) in &found {
        assert_eq!(recorded_activity(d), Some("charge"), "{file}");
        assert_eq!(activity(&d.issued), Some("charge_card"), "{file}");
        assert!(d.message.contains("'charge'") && d.message.contains("'charge_card'"));
        let location = d.location.as_deref().expect("the call site");
        assert!(location.contains("replay_app"), "{location}");
    }
    let (_, full) = found
        .iter()
        .find(|(f, _)| f == "chain.json")
        .expect("chain");
    assert_eq!(full.event_id, 1, "the second call");
    let index = full.history_index.expect("an index");
    let text = std::fs::read_to_string(histories().join("chain.json")).expect("read");
    let events: Vec<durafn::HistoryEvent> = serde_json::from_str(&text).expect("events");
    assert!(
        matches!(&events[index].kind, EventKind::TaskScheduled { name, .. } if name == "charge"),
        "index {index} is the recorded call"
    );
}

#[test]
fn swapped_calls_are_reported_at_the_first_step() {
    let found = diverging(Change::OrderSwapped);
    assert_eq!(files(&found), ["api-chain.json", "chain.json"]);
    for (file, d) in &found {
        assert_eq!(recorded_activity(d), Some("reserve"), "{file}");
        assert_eq!(activity(&d.issued), Some("charge"), "{file}");
    }
}

#[test]
fn an_added_timer_is_reported_where_the_recorded_call_was() {
    let found = diverging(Change::TimerAdded);
    assert_eq!(files(&found), ["api-chain.json", "chain.json"]);
    for (file, d) in &found {
        assert_eq!(recorded_activity(d), Some("charge"), "{file}");
        assert!(
            matches!(d.issued, Some(Action::CreateTimer { .. })),
            "{file}: {:?}",
            d.issued
        );
    }
}

#[test]
fn a_replaced_sub_orchestration_is_reported() {
    let found = diverging(Change::SubOrchestrationReplaced);
    assert_eq!(files(&found), ["api-parent.json", "parent.json"]);
    for (file, d) in &found {
        assert!(
            matches!(
                d.recorded.as_ref().map(|e| &e.kind),
                Some(EventKind::SubOrchestrationInstanceCreated { name, .. }) if name == "child"
            ),
            "{file}: {:?}",
            d.recorded
        );
        assert!(
            matches!(&d.issued, Some(Action::StartSubOrchestration { name, .. }) if name == "child_v2"),
            "{file}: {:?}",
            d.issued
        );
    }
}

#[test]
fn reports_say_ok_or_show_both_sides() {
    let replayer = Replayer::new(app(Change::ActivityRenamed));
    let reports = replayer
        .replay_file(histories().join("chain.json"))
        .expect("read");
    let text = reports[0].to_string();
    assert!(
        text.contains("recorded: activity 'charge'")
            && text.contains("new code: activity 'charge_card'"),
        "{text}"
    );
    let bad = replayer.replay_json("inline", "{\"name\": \"chain\"}");
    assert!(
        bad.is_err_and(|e| e.message.contains("showHistory")),
        "a status object without history is refused with a reason"
    );
}

// ---------------------------------------------------------------------------------------------
// The generator.

const WAIT: Duration = Duration::from_secs(30);

async fn done(client: &DurableClient, id: &str) {
    let status = client.wait_for_completion(id, WAIT).await.expect("ends");
    assert!(
        status.runtime_status.is_terminal(),
        "{id}: {:?}",
        status.runtime_status
    );
}

async fn waiting(client: &DurableClient, id: &str, event: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !client
        .awaited_events(id)
        .await
        .expect("replay")
        .iter()
        .any(|e| e == event)
    {
        assert!(tokio::time::Instant::now() < deadline, "{id} never waited");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn write_full(client: &DurableClient, id: &str, file: &str) {
    let status = client
        .get_status(
            id,
            StatusOptions {
                show_history: true,
                show_input: true,
            },
        )
        .await
        .expect("status")
        .expect("exists");
    let history = status.history.expect("history");
    let text = serde_json::to_string_pretty(&history).expect("json");
    std::fs::write(histories().join(file), text + "\n").expect("write");
}

async fn write_api(host: &durafn::host::Host, id: &str, file: &str) {
    use tower::ServiceExt;
    let uri = format!(
        "/runtime/webhooks/durabletask/instances/{id}?showHistory=true&showHistoryOutput=true&showInput=true"
    );
    let request = axum::http::Request::get(uri)
        .header("x-functions-key", host.keys().master_key())
        .body(axum::body::Body::empty())
        .expect("request");
    let response = host.router().oneshot(request).await.expect("answer");
    assert!(
        matches!(response.status().as_u16(), 200 | 202),
        "{}",
        response.status()
    );
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .expect("body")
        .to_bytes();
    let value: serde_json::Value = serde_json::from_slice(&body).expect("json");
    let text = serde_json::to_string_pretty(&value).expect("json");
    std::fs::write(histories().join(file), text + "\n").expect("write");
}

/// Records `tests/histories/` from real runs of `replay_app` on a SQLite task hub: the
/// histories as the task hub keeps them, and a few as the management API shows them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes tests/histories; run it after changing replay_app"]
async fn record_histories() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::create_dir_all(histories()).expect("histories dir");
    let config = HostConfig {
        root: dir.path().to_path_buf(),
        data_dir: dir.path().join(".durafn"),
        storage: StorageProvider::Sqlite {
            path: None,
            durability: Default::default(),
        },
        ..HostConfig::default()
    };
    let host = App::new()
        .registry(&app(Change::None))
        .config(config)
        .start()
        .await
        .expect("host");
    let c = host.client();
    let start = |name: &'static str, id: &'static str, input: serde_json::Value| {
        let c = c.clone();
        async move {
            c.start_new(name, Some(id), &input).await.expect("start");
            id
        }
    };
    let mut full: Vec<(&str, &str)> = Vec::new();
    let mut api: Vec<(&str, &str)> = Vec::new();

    for (name, id, input) in [
        ("chain", "chain", serde_json::json!("order-7")),
        ("fan_out", "fan_out", serde_json::json!(4)),
        ("race", "race", serde_json::json!(null)),
        ("nap", "nap", serde_json::json!(null)),
        (
            "approval_timeout",
            "approval_timeout",
            serde_json::json!(null),
        ),
        ("retry", "retry", serde_json::json!("r1")),
        ("failing", "failing", serde_json::json!(null)),
        ("parent", "parent", serde_json::json!("parent")),
        ("counter_user", "counter_user", serde_json::json!("c1")),
        ("transfer", "transfer", serde_json::json!(["c1", "c2"])),
        ("countdown", "countdown", serde_json::json!(2)),
        ("patched", "patched", serde_json::json!(null)),
    ] {
        let id = start(name, id, input).await;
        done(&c, id).await;
        full.push((id, id));
    }
    full.push(("parent-child", "child"));
    for id in ["chain", "fan_out", "parent"] {
        api.push((id, id));
    }

    // Approvals: completed, still waiting, suspended and resumed, terminated, answered by
    // another orchestration.
    let approved = start("approval", "approval", serde_json::json!("o1")).await;
    waiting(&c, approved, "approve").await;
    c.raise_event(approved, "approve", &true)
        .await
        .expect("raise");
    done(&c, approved).await;
    full.push((approved, "approval"));

    let open = start("approval", "approval_waiting", serde_json::json!("o2")).await;
    waiting(&c, open, "approve").await;
    full.push((open, "approval_waiting"));
    api.push((open, "approval_waiting"));

    let paused = start("approval", "approval_suspended", serde_json::json!("o3")).await;
    waiting(&c, paused, "approve").await;
    c.suspend(paused, Some("checking")).await.expect("suspend");
    c.raise_event(paused, "approve", &false)
        .await
        .expect("raise");
    c.resume(paused, Some("checked")).await.expect("resume");
    done(&c, paused).await;
    full.push((paused, "approval_suspended"));

    let stopped = start("approval", "approval_terminated", serde_json::json!("o4")).await;
    waiting(&c, stopped, "approve").await;
    c.terminate(stopped, "not needed").await.expect("terminate");
    done(&c, stopped).await;
    full.push((stopped, "approval_terminated"));

    let target = start("approval", "approval_notified", serde_json::json!("o5")).await;
    waiting(&c, target, "approve").await;
    let notifier = start(
        "notifier",
        "notifier",
        serde_json::json!("approval_notified"),
    )
    .await;
    done(&c, notifier).await;
    done(&c, target).await;
    full.push((notifier, "notifier"));
    full.push((target, "approval_notified"));

    // A rewind: the first attempt fails, the rewound instance completes.
    let rewound = start("rewound", "rewound", serde_json::json!("w1")).await;
    let failed = c.wait_for_completion(rewound, WAIT).await.expect("ends");
    assert_eq!(failed.runtime_status, RuntimeStatus::Failed);
    c.rewind(rewound, Some("fixed")).await.expect("rewind");
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let s = c.wait_for_completion(rewound, WAIT).await.expect("ends");
        if s.runtime_status == RuntimeStatus::Completed {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the rewind never completed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    full.push((rewound, "rewound"));

    for (id, file) in &full {
        write_full(&c, id, &format!("{file}.json")).await;
    }
    for (id, file) in &api {
        write_api(&host, id, &format!("api-{file}.json")).await;
    }
    host.shutdown().await;

    // Continue-as-new: a task hub keeps only the current execution, so the execution that
    // ends by continuing is recorded by running the engine itself, turn by turn, with the
    // activity's answer as the run above got it.
    let mut run =
        durafn::core::testkit::TestOrchestration::start(app(Change::None), "countdown", 1);
    run.advance(Duration::from_millis(3));
    let answer = run.completed(0, serde_json::json!({"step": "work", "input": 1}));
    let last = run.turn(vec![answer]);
    assert_eq!(last.status, RuntimeStatus::ContinuedAsNew);
    let text = serde_json::to_string_pretty(run.history()).expect("json");
    std::fs::write(histories().join("countdown_continued.json"), text + "\n").expect("write");
}
