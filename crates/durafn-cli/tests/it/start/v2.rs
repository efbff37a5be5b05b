//! The v2 showcase (`examples/python/v2-showcase`) on `durafn start`, each pattern end to end
//! through its HTTP starter, the management API and the task hub: fan-out/fan-in, human
//! interaction (the event wins; the timer wins), a retrying activity, sub-orchestrations, a
//! counter entity, and the orchestration context's deterministic facts.

use serde_json::{Value, json};

use crate::start::common::{self, M, Started, eventually};

/// Starts `name` through the app's HTTP starter; returns the instance id.
fn start(host: &Started, name: &str, input: &str) -> String {
    let r = host.post(&format!("/api/orchestrators/{name}"), input);
    assert_eq!(r.status, 202, "{r:?}");
    let links = r.json();
    let status_uri = links["statusQueryGetUri"].as_str().unwrap();
    assert!(
        status_uri.starts_with(&format!("http://localhost:{}{M}/instances/", host.port)),
        "links use the request's origin: {status_uri}"
    );
    assert_eq!(r.header("location"), Some(status_uri));
    links["id"].as_str().unwrap().to_string()
}

fn output(host: &Started, id: &str) -> Value {
    let status = host.finished(id, 120);
    assert_eq!(
        status["runtimeStatus"],
        "Completed",
        "{status}\n{}",
        host.output()
    );
    status["output"].clone()
}

#[test]
fn every_pattern_of_the_v2_showcase_runs_to_its_end() {
    let Some(python) = common::python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = common::copy_app("examples/python/v2-showcase", dir.path());
    let host = Started::new(&root, &dir.path().join("data"), &python, &[]);

    // Fan-out/fan-in: the greetings in input order.
    let id = start(&host, "fan_out_fan_in", r#"["Tokyo", "Lima", "Oslo"]"#);
    assert_eq!(
        output(&host, &id),
        json!(["Hello Tokyo!", "Hello Lima!", "Hello Oslo!"])
    );

    // Human interaction, the event first: the app's own endpoint raises it.
    let id = start(&host, "approval_workflow", r#"{"timeoutHours": 1}"#);
    eventually(60, "the workflow to wait", || {
        let s = host.api(&format!("/instances/{id}")).json();
        (s["customStatus"] == "waiting for approval").then_some(())
    });
    let r = host.post(&format!("/api/approvals/{id}"), r#"{"by": "ann"}"#);
    assert_eq!(r.status, 202, "{r:?}");
    assert_eq!(output(&host, &id), json!({"approved": true, "by": "ann"}));
    let s = host.api(&format!("/instances/{id}")).json();
    assert_eq!(s["customStatus"], "approved");
    // ... and the timer first (two seconds): the escalation runs.
    let id = start(
        &host,
        "approval_workflow",
        r#"{"timeoutHours": 0.00055, "manager": "bo"}"#,
    );
    assert_eq!(
        output(&host, &id),
        json!({"approved": false, "escalation": "escalated to bo"})
    );

    // A retrying activity that fails twice, then succeeds on its third attempt.
    let counter = dir.path().join("calls");
    let job = json!({"counter": counter, "failures": 2}).to_string();
    let id = start(&host, "flaky_workflow", &job);
    assert_eq!(output(&host, &id), json!("succeeded on attempt 3"));
    let s = host
        .api(&format!("/instances/{id}?showHistory=true"))
        .json();
    // The API's history shows each attempt as its outcome (as Durable Functions does), with the
    // retry timers between them.
    let kinds: Vec<&str> = s["historyEvents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["EventType"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "ExecutionStarted",
            "TaskFailed",
            "TimerCreated",
            "TimerFired",
            "TaskFailed",
            "TimerCreated",
            "TimerFired",
            "TaskCompleted",
            "ExecutionCompleted"
        ],
        "{s}"
    );

    // Sub-orchestrations under the ids the code gives them.
    let id = start(&host, "tour", r#"[["Tokyo", "Osaka"], ["Seattle"]]"#);
    assert_eq!(
        output(&host, &id),
        json!([["Hello Tokyo!", "Hello Osaka!"], ["Hello Seattle!"]])
    );
    for leg in 0..2 {
        let child = host.api(&format!("/instances/{id}:leg{leg}")).json();
        assert_eq!(child["runtimeStatus"], "Completed", "{child}");
        assert_eq!(child["name"], "fan_out_fan_in");
    }

    // The counter entity: a signal, then two calls, then its state through the API.
    let id = start(&host, "counter_workflow", r#""k1""#);
    assert_eq!(output(&host, &id), json!({"afterAdd": 6, "value": 6}));
    let entity = host.api("/entities/counter/k1");
    assert_eq!(
        (entity.status, entity.json()),
        (200, json!(6)),
        "{entity:?}"
    );

    // The deterministic facts across two turns.
    let id = start(&host, "context_facts", "");
    let facts = output(&host, &id);
    assert_eq!(facts["instanceId"], id);
    assert_eq!(facts["parent"], Value::Null);
    assert_eq!(facts["first"]["replaying"], true);
    assert_eq!(facts["second"]["replaying"], false);
    assert_ne!(facts["first"]["uuid"], facts["second"]["uuid"]);
    assert!(facts["first"]["time"].as_str().unwrap() <= facts["second"]["time"].as_str().unwrap());
    host.stop();
}

#[test]
fn a_python_app_runs_on_a_postgresql_task_hub_from_host_json() {
    let Some(python) = common::python() else {
        return;
    };
    let Some(url) = durafn_testenv::postgres_url() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = common::copy_app("examples/python/v2-showcase", dir.path());
    // A task hub (and so a schema) of this run's own.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let hub = format!("Py{}x{nanos}", std::process::id());
    std::fs::write(
        root.join("host.json"),
        json!({"version": "2.0", "extensions": {"durableTask": {"hubName": hub,
            "storageProvider": {"type": "postgres", "connectionStringName": "TaskHubConnection"}}}})
        .to_string(),
    )
    .unwrap();
    let host = Started::new(
        &root,
        &dir.path().join("data"),
        &python,
        &[("TaskHubConnection", url.as_str())],
    );
    assert!(host.output().contains("(postgres)"), "{}", host.output());
    let id = start(&host, "fan_out_fan_in", r#"["Tokyo", "Lima"]"#);
    assert_eq!(output(&host, &id), json!(["Hello Tokyo!", "Hello Lima!"]));
    host.stop();
}
