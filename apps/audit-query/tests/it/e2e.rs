//! The article's Test section, replayed against the app binary over a real
//! socket, with the embedded table store.

use crate::common;

use audit_query::demo;
use chrono::NaiveDate;
use common::{RunningApp, command, replay_test_section};
use durafn_tables::Entity;
use durafn_tables::demo::count_distinct_ids;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

#[test]
fn the_articles_test_section_with_first_start_demo_data() {
    let root = tempfile::tempdir().expect("temp dir");
    // Slow enough to see the job running, as in the article.
    let app = RunningApp::start(root.path(), &[("AuditQueryDelayMs", "3000")]);
    let out = app.output();
    assert!(out.contains("wrote "), "demo rows on first start:\n{out}");
    assert!(
        out.contains("curl \"http://localhost:<port>/api/submit/query?s=10/10/2021&e=10/12/2021\""),
        "the example is shown:\n{out}"
    );
    let rows: Vec<Entity> = demo::first_start_rows().collect();
    let expected = count_distinct_ids(&rows, date(2021, 10, 10), date(2021, 12, 10));
    assert!(expected > 0);
    replay_test_section(&app, "10/10/2021", "10/12/2021", expected);
}

/// The app's binary serves the dashboard, like every durafn host: signing in with the master
/// key opens the instance list, and a job the article's way shows up in it.
#[test]
fn the_app_serves_the_dashboard() {
    let root = tempfile::tempdir().expect("temp dir");
    let app = RunningApp::start(root.path(), &[]);
    assert!(
        app.output().contains("/dashboard"),
        "the banner names it:\n{}",
        app.output()
    );
    let anonymous = app.get("/dashboard");
    assert_eq!(anonymous.status, 303, "to the sign-in page");
    assert!(
        anonymous
            .header("location")
            .is_some_and(|l| l.starts_with("/dashboard/login"))
    );
    let keys = std::fs::read_to_string(root.path().join("data/keys.json")).expect("keys file");
    let keys: serde_json::Value = serde_json::from_str(&keys).expect("keys json");
    let master = keys["masterKey"].as_str().expect("a master key");
    let submitted = app.get("/api/submit/query?s=10/10/2021&e=10/12/2021");
    assert_eq!(submitted.status, 200, "{}", submitted.body);
    let list = common::get_with(
        app.port,
        "/dashboard/instances",
        &[("x-functions-key", master)],
    );
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.body.contains("orchestrator-function"), "{}", list.body);
}

#[test]
fn load_demo_fills_a_configured_table() {
    let root = tempfile::tempdir().expect("temp dir");
    let data = root.path().join("data");
    let data = data.to_str().expect("utf-8 path");
    let env = [
        ("AuditTableName", "auditloaded"),
        ("AuditQueryDelayMs", "1500"),
    ];
    let loaded = command(
        root.path(),
        &[
            "load-demo",
            "--rows",
            "800",
            "--seed",
            "3",
            "--data-dir",
            data,
        ],
        &env,
    )
    .output()
    .expect("load-demo runs");
    let stdout = String::from_utf8_lossy(&loaded.stdout);
    let stderr = String::from_utf8_lossy(&loaded.stderr);
    assert!(loaded.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("loaded 800 demo rows (seed 3) into table auditloaded"),
        "{stdout}"
    );
    assert!(
        stderr.contains("800/800 rows (100%)"),
        "a progress line: {stderr}"
    );

    // The table has data, so the app does not add demo rows of its own.
    let app = RunningApp::start(root.path(), &env);
    assert!(!app.output().contains("wrote "), "{}", app.output());
    let rows: Vec<Entity> = demo::rows(3, 800).collect();
    let expected = count_distinct_ids(&rows, date(2020, 1, 2), date(2020, 1, 20));
    assert!(expected > 0);
    replay_test_section(&app, "02/01/2020", "20/01/2020", expected);
}
