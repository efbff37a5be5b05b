//! `durafn instances …` against the test app: the JSON output is the API's JSON, the tables
//! show the facts, and each operation does what the API does.

use serde_json::{Value, json};

use crate::cli::common::App;

#[test]
fn start_show_and_list_print_the_api_s_json() {
    let app = App::start();
    let id = app.start_instance("greet", &["--input", "\"Tokyo\""]);
    app.wait_done(&id);

    // show -o json is the status object exactly as the API sends it.
    let show = app.ok(&["instances", "show", &id, "-o", "json"]);
    assert_eq!(
        show.trim_end(),
        app.api(&format!("/instances/{id}?showInput=true")).body
    );
    let with_history = app.ok(&["instances", "show", &id, "--history", "-o", "json"]);
    assert_eq!(
        with_history.trim_end(),
        app.api(&format!("/instances/{id}?showInput=true&showHistory=true"))
            .body
    );

    // The human view has the facts.
    let human = app.ok(&["instances", "show", &id]);
    for fact in [
        id.as_str(),
        "greet",
        "Completed",
        "\"Tokyo\"",
        "\"Hello Tokyo!\"",
        "{\"step\":\"greeting\"}",
    ] {
        assert!(human.contains(fact), "{fact} in\n{human}");
    }
    let steps = app.ok(&["instances", "show", &id, "--history"]);
    let activity = steps
        .lines()
        .find(|l| l.contains("activity"))
        .unwrap_or_else(|| panic!("an activity step in\n{steps}"));
    assert!(
        activity.contains("hello") && activity.contains("Completed"),
        "{activity}"
    );
    assert!(
        activity.contains("ms") || activity.contains("µs"),
        "a duration: {activity}"
    );

    // list -o json is the API's listing; -o jsonl one object a line.
    let other = app.start_instance("approval", &["--id", "order-42"]);
    let listed = app.ok(&["instances", "list", "-o", "json"]);
    let api: Value = app.api("/instances?top=100").json();
    assert_eq!(serde_json::from_str::<Value>(&listed).unwrap(), api);
    let api_text = app.api("/instances?top=100").body;
    assert_eq!(listed.trim_end(), api_text, "byte for byte");
    let lines: Vec<Value> = app
        .ok(&["instances", "list", "-o", "jsonl"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(Value::Array(lines), api);

    let table = app.ok(&["instances", "list"]);
    assert!(table.starts_with("INSTANCE"), "{table}");
    let row = table.lines().find(|l| l.starts_with("order-42")).unwrap();
    assert!(row.contains("approval") && row.contains("Running"), "{row}");
    assert!(!table.contains('\u{1b}'), "no colours when piped");
    assert_eq!(other, "order-42");
}

#[test]
fn list_filters_page_and_count() {
    let app = App::start();
    let ids: Vec<String> = (0..3)
        .map(|i| app.start_instance("quick", &["--id", &format!("q-{i}"), "--input", "1"]))
        .collect();
    let failed = app.start_instance("fails", &["--id", "f-1"]);
    let waiting = app.start_instance("approval", &["--id", "w-1"]);
    for id in ids.iter().chain([&failed]) {
        app.wait_done(id);
    }
    let listed = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["instances", "list"];
        all.extend_from_slice(args);
        all.extend(["-o", "json"]);
        let v: Value = serde_json::from_str(&app.ok(&all)).unwrap();
        let mut ids: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["instanceId"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(listed(&["--name", "QUICK"]), ["q-0", "q-1", "q-2"]);
    assert_eq!(listed(&["--status", "Failed"]), ["f-1"]);
    assert_eq!(listed(&["--status", "Failed,Running"]), ["f-1", "w-1"]);
    assert_eq!(
        listed(&["--status", "Failed", "--status", "Running"]),
        ["f-1", "w-1"]
    );
    assert_eq!(listed(&["--prefix", "q-"]).len(), 3);
    assert_eq!(listed(&["--from", "1h"]).len(), 5);
    assert!(listed(&["--to", "1h"]).is_empty());
    assert!(listed(&["--from", "2999-01-01T00:00:00Z"]).is_empty());
    assert_eq!(
        listed(&["--from", "2000-01-01", "--to", "2999-01-01T00:00:00+02:00"]).len(),
        5
    );
    assert_eq!(listed(&["--show-input", "--prefix", "q-0"]), ["q-0"]);

    // --top limits and says more exist; --all and count see everything.
    let run = app.run(&["instances", "list", "--top", "2"]);
    assert_eq!(run.code, 0);
    assert_eq!(run.stdout.lines().count(), 3, "{}", run.stdout);
    assert!(
        run.stderr.contains("more instances match"),
        "{}",
        run.stderr
    );
    assert_eq!(listed(&["--all"]).len(), 5);
    assert_eq!(app.ok(&["instances", "count"]).trim(), "5");
    assert_eq!(
        app.ok(&["instances", "count", "--name", "quick"]).trim(),
        "3"
    );
    assert_eq!(
        app.json(&["instances", "count", "--status", "Running"]),
        json!({"count": 1})
    );
    let with_input = app.ok(&["instances", "list", "--show-input", "--prefix", "q-1"]);
    assert!(with_input.contains("INPUT"), "{with_input}");
    assert_eq!(waiting, "w-1");

    // Bad values are usage errors (exit 2) that say what is wrong.
    let err = app
        .run(&["instances", "list", "--from", "yesterday"])
        .fails(2);
    assert!(err.contains("RFC 3339"), "{err}");
    let err = app
        .run(&["instances", "list", "--status", "Sleeping"])
        .fails(2);
    assert!(err.contains("unknown runtime status"), "{err}");
}

#[test]
fn raise_suspend_resume_terminate_rewind_restart_purge() {
    let app = App::start();
    let status = |id: &str| -> String {
        app.json(&["instances", "show", id])["runtimeStatus"]
            .as_str()
            .unwrap()
            .to_string()
    };

    // An event with JSON data from a file.
    let approval = app.start_instance("approval", &[]);
    let data = app.dir.path().join("answer.json");
    std::fs::write(&data, r#"{"approved": true}"#).unwrap();
    let run = app.run(&[
        "instances",
        "raise",
        &approval,
        "approve",
        &format!("@{}", data.display()),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("raised approve"), "{}", run.stderr);
    let done = app.wait_done(&approval);
    assert_eq!(done["output"], json!({"approved": true}));
    assert_eq!(done["customStatus"], "approved");

    // Suspend, resume and terminate a slow instance, with reasons in its history.
    let slow = app.start_instance("slow", &[]);
    crate::cli::common::eventually(30, "slow to run", || {
        (status(&slow) == "Running").then_some(())
    });
    app.ok(&["instances", "suspend", &slow, "--reason", "maintenance"]);
    crate::cli::common::eventually(30, "the suspension", || {
        (status(&slow) == "Suspended").then_some(())
    });
    app.ok(&["instances", "resume", &slow]);
    crate::cli::common::eventually(30, "the resumption", || {
        (status(&slow) == "Running").then_some(())
    });
    app.ok(&["instances", "terminate", &slow, "--reason", "enough"]);
    let done = app.wait_done(&slow);
    assert_eq!(done["runtimeStatus"], "Terminated");
    assert_eq!(done["output"], "enough");
    let history = app.ok(&["instances", "history", &slow]);
    for fact in [
        "suspend",
        "maintenance",
        "resume",
        "terminate",
        "enough",
        "timer",
    ] {
        assert!(history.contains(fact), "{fact} in\n{history}");
    }
    // A finished instance cannot be terminated again: the host's 410, exit 1.
    let err = app.run(&["instances", "terminate", &slow]).fails(1);
    assert!(err.contains("has already finished"), "{err}");

    // Rewind a failed instance: the failed step runs again and succeeds.
    let flaky = app.start_instance("flaky", &[]);
    assert_eq!(app.wait_done(&flaky)["runtimeStatus"], "Failed");
    app.ok(&["instances", "rewind", &flaky, "--reason", "retry"]);
    let done = app.wait_done(&flaky);
    assert_eq!(done["runtimeStatus"], "Completed");
    assert_eq!(done["output"], "fixed");

    // Restart under the same id, then under a new one.
    let again = app.ok(&["instances", "restart", &flaky]);
    assert_eq!(again.trim(), flaky);
    let fresh = app.json(&["instances", "restart", &flaky, "--new-id"]);
    let fresh = fresh["id"].as_str().unwrap().to_string();
    assert_ne!(fresh, flaky);
    assert_eq!(app.wait_done(&fresh)["name"], "flaky");

    // Purge one: the API's answer with -o json; then it is gone (exit 3).
    app.wait_done(&flaky);
    let purged = app.ok(&["instances", "purge", &flaky, "-o", "json"]);
    assert_eq!(purged.trim(), r#"{"instancesDeleted":1}"#);
    let err = app.run(&["instances", "purge", &flaky]).fails(3);
    assert!(err.contains(&flaky) && err.contains("not found"), "{err}");
    let err = app.run(&["instances", "show", &flaky]).fails(3);
    assert_eq!(err.trim(), format!("error: instance {flaky} was not found"));
    app.run(&["instances", "raise", &flaky, "approve"]).fails(3);
}

#[test]
fn history_steps_raw_events_and_export() {
    let app = App::start();
    let id = app.start_instance("tree", &[]);
    app.ok(&["instances", "raise", &id, "go"]);
    app.wait_done(&id);

    // --raw -o json is the historyEvents array as the API sends it.
    let full = app.api(&format!(
        "/instances/{id}?showHistory=true&showHistoryOutput=true"
    ));
    let raw = app.ok(&["instances", "history", &id, "--raw", "-o", "json"]);
    assert_eq!(
        serde_json::from_str::<Value>(&raw).unwrap(),
        full.json()["historyEvents"]
    );
    let events = app.ok(&["instances", "history", &id, "--raw"]);
    for fact in [
        "ExecutionStarted",
        "EventRaised",
        "TaskCompleted",
        "SubOrchestrationInstanceCompleted",
    ] {
        assert!(events.contains(fact), "{fact} in\n{events}");
    }

    // Steps pair each scheduling with its completion, with a duration.
    let steps = app.json(&["instances", "history", &id]);
    let steps = steps.as_array().unwrap();
    let kinds: Vec<&str> = steps.iter().map(|s| s["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "start",
            "event",
            "activity",
            "sub-orchestration",
            "sub-orchestration",
            "end"
        ]
    );
    for s in &steps[2..] {
        assert_eq!(s["status"], "Completed", "{s}");
        assert!(s["durationMs"].as_f64().unwrap() > 0.0, "{s}");
    }
    // The activity sleeps 20 ms, so its step takes at least that long.
    assert!(
        steps[2]["durationMs"].as_f64().unwrap() >= 20.0,
        "{}",
        steps[2]
    );
    let table = app.ok(&["instances", "history", &id]);
    assert!(
        table.lines().next().unwrap().contains("DURATION"),
        "{table}"
    );
    assert_eq!(
        table.lines().filter(|l| l.contains("branch")).count(),
        2,
        "{table}"
    );

    // The export is the status object with history, outputs and input, byte for byte.
    let export = app.ok(&["history", "export", &id]);
    let api = app.api(&format!(
        "/instances/{id}?showHistory=true&showHistoryOutput=true&showInput=true"
    ));
    assert_eq!(export.trim_end(), api.body);
    let v: Value = serde_json::from_str(&export).unwrap();
    assert!(
        v["historyEvents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["Result"].is_string())
    );
}

#[test]
fn bad_input_and_host_errors_are_explained() {
    let app = App::start();
    let err = app
        .run(&["instances", "start", "greet", "--input", "Tokyo"])
        .fails(2);
    assert!(err.contains("--input is not JSON"), "{err}");
    let err = app.run(&["instances", "start", "nope"]).fails(1);
    assert!(
        err.starts_with(
            "error: the host answered 400: One or more of the arguments submitted is incorrect: "
        ),
        "{err}"
    );
    assert!(err.contains("nope"), "{err}");
    for dump in ["Host {", "BadAnswer", "Err(", "panicked"] {
        assert!(!err.contains(dump), "no debug output: {err}");
    }
    let err = app
        .run(&["instances", "start", "greet", "--id", "bad/id"])
        .fails(1);
    assert!(err.contains("400"), "{err}");
    let err = app.run(&["instances", "purge"]).fails(2);
    assert!(err.contains("give an instance id"), "{err}");
    let err = app.run(&["instances", "frobnicate"]).fails(2);
    assert!(err.contains("unrecognized subcommand"), "{err}");
    // The task hub this host serves, named ignoring case; then one it does not serve.
    assert_eq!(
        app.ok(&["--task-hub", "testhubname", "instances", "count"])
            .trim(),
        "0"
    );
    let err = app
        .run(&["--task-hub", "Other", "instances", "list"])
        .fails(3);
    assert!(err.contains("task hub"), "{err}");
}
