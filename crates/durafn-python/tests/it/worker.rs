//! The worker process with the real SDK: invocations of every kind, concurrency, a worker
//! killed with SIGKILL while an invocation runs, an activity that takes its worker down, and
//! load errors that name the file and the field.

use crate::common;

use std::io::Write;
use std::os::unix::net::UnixListener;
use std::time::Duration;

use durafn_core::{Activity, ActivityContext, AppData, EntityId, EventId, InstanceId, Payload};
use durafn_python::protocol::{FunctionKind, Invocation, Outcome};
use durafn_python::worker::Label;
use durafn_python::{Operation, PythonActivity, PythonApp, WORKER_CRASHED};

fn label(function: &str) -> Label {
    Label::new(function, Some("inst-1".into()))
}

async fn activity(app: &PythonApp, name: &str, input: &str) -> Outcome {
    app.worker()
        .invoke(
            name,
            &Invocation::Activity {
                input: input.into(),
            },
            label(name),
        )
        .await
        .expect("the worker answers")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_fails_what_it_ran_and_is_replaced() {
    let Some(python) = common::python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = common::app_config("workers/python/tests/apps/probe", dir.path(), &python);
    let app = PythonApp::load(&config).await.expect("the probe app loads");
    let kinds: Vec<FunctionKind> = app.functions().map(|(_, k)| k).collect();
    assert!(kinds.contains(&FunctionKind::Orchestrator) && kinds.contains(&FunctionKind::Entity));
    assert_eq!(
        activity(&app, "echo-activity", r#"{"a": [1, 2]}"#).await,
        Outcome::Output(r#"{"a": [1, 2]}"#.into())
    );

    // An invocation provably running (it waits at a gate the test holds) when the worker dies.
    let gate = dir.path().join("gate.sock");
    let listener = UnixListener::bind(&gate).unwrap();
    let worker = app.worker().clone();
    let input = serde_json::json!({ "path": gate }).to_string();
    let running = tokio::spawn(async move {
        worker
            .invoke(
                "gate-sync",
                &Invocation::Activity { input },
                label("gate-sync"),
            )
            .await
    });
    let (_held, _) = tokio::task::spawn_blocking(move || listener.accept())
        .await
        .unwrap()
        .unwrap();
    let pid = app.worker().pid();
    std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    let crashed = running.await.unwrap();
    assert!(
        matches!(crashed, Err(durafn_python::worker::InvokeError::Crashed { pid: p }) if p == pid),
        "{crashed:?}"
    );
    // Invocations made while the worker restarts wait for the new one.
    assert_eq!(
        activity(&app, "echo-activity", "2").await,
        Outcome::Output("2".into())
    );
    assert_ne!(app.worker().pid(), pid);
    assert_eq!(app.worker().restarts(), 1);
    app.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activities_entities_and_crashing_activities() {
    let Some(python) = common::python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = common::app_config("examples/python/v2-showcase", dir.path(), &python);
    let app = PythonApp::load(&config).await.expect("the v2 app loads");
    assert_eq!(
        activity(&app, "say_hello", "\"Tokyo\"").await,
        Outcome::Output("\"Hello Tokyo!\"".into())
    );
    let counter = dir.path().join("calls");
    let job = serde_json::json!({"counter": counter, "failures": 1}).to_string();
    match activity(&app, "flaky", &job).await {
        Outcome::Failed(e) => {
            assert_eq!(
                (e.error_type.as_str(), e.message.as_str()),
                ("RuntimeError", "attempt 1 failed")
            );
            assert!(e.traceback.contains("function_app.py"), "{}", e.traceback);
        }
        other => panic!("{other:?}"),
    }

    // A batch with a failing operation keeps the state of the ones before it and rolls the
    // failed one back (the Python SDK alone would keep its change).
    let entity = app.entity("counter").expect("the counter entity");
    let id = EntityId::new("counter", "k1");
    let op = |name: &str, input: &str| Operation {
        name: name.into(),
        input: Payload::from_json_text(input).unwrap(),
        signal: false,
    };
    let batch = entity
        .run_batch(
            &id,
            None,
            &[op("add", "5"), op("add", "1"), op("get", "null")],
        )
        .await
        .unwrap();
    assert_eq!(batch.state, Some(Payload::from_json_text("6").unwrap()));
    assert_eq!(batch.results[1], Ok(Payload::from_json_text("6").unwrap()));
    assert_eq!(batch.results[2], Ok(Payload::from_json_text("6").unwrap()));
    let batch = entity
        .run_batch(
            &id,
            batch.state,
            &[op("add", "1"), op("oops", "null"), op("get", "null")],
        )
        .await
        .unwrap();
    assert_eq!(batch.results[0], Ok(Payload::from_json_text("7").unwrap()));
    assert_eq!(
        batch.results[1].as_ref().unwrap_err().message,
        "unknown operation 'oops'"
    );
    assert_eq!(batch.results[2], Ok(Payload::from_json_text("7").unwrap()));
    assert_eq!(batch.state, Some(Payload::from_json_text("7").unwrap()));
    app.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_activity_that_kills_its_worker_fails_after_a_few_workers() {
    let Some(python) = common::python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = common::app_config("workers/python/tests/apps/probe", dir.path(), &python);
    let app = PythonApp::load(&config).await.expect("the probe app loads");
    let exit: PythonActivity = app.activity("exit-activity").expect("exit-activity");
    let ctx = ActivityContext::new(
        InstanceId::from_trusted("inst-1"),
        "exit-activity",
        EventId(0),
        1,
        AppData::default(),
    );
    let failure = exit
        .run(ctx, Payload::null())
        .await
        .expect_err("it fails")
        .into_failure();
    assert_eq!(failure.error_type, WORKER_CRASHED, "{failure:?}");
    assert!(app.worker().restarts() >= 10);
    assert_eq!(
        activity(&app, "echo-activity", "3").await,
        Outcome::Output("3".into())
    );
    app.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_errors_name_the_file_and_the_field() {
    let Some(python) = common::python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = common::app_config("workers/python/tests/apps/broken", dir.path(), &python);
    let error = PythonApp::load(&config)
        .await
        .expect_err("the broken app is refused")
        .to_string();
    for expected in [
        "no-entry/function.json: entryPoint:",
        "no-script/function.json: scriptFile:",
        "import-error/__init__.py:",
        "param-mismatch/function.json: bindings:",
        "unsupported/function.json: bindings[0].type: binding type \"queueTrigger\" is not supported",
    ] {
        assert!(error.contains(expected), "{expected:?} in:\n{error}");
    }
    // A function.json the host refuses before the worker starts.
    let dir = tempfile::tempdir().unwrap();
    let config = common::app_config("examples/python/audit-query", dir.path(), &python);
    let file = config.root.join("orchestrator-function/function.json");
    let mut f = std::fs::File::create(&file).unwrap();
    write!(f, r#"{{"bindings": [{{"type": "orchestrationTrigger", "direction": "in", "name": "context"}}, {{"type": "queue", "direction": "out", "name": "q"}}]}}"#).unwrap();
    let error = PythonApp::load(&config)
        .await
        .expect_err("refused")
        .to_string();
    assert!(error.contains("orchestrator-function/function.json: bindings[1].type: binding type \"queue\" is not supported"), "{error}");
}
