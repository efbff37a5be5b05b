//! The seed app with the unmodified PyPI Durable Functions client: `orchestrator-function`
//! started by `DurableOrchestrationClient.start_new` with a dict input (which the client sends
//! JSON-encoded twice) completes with the same result as when the app's own client function
//! starts it. Needs `DURAFN_TEST_PYTHON` (a Python with `azure-functions-durable` 1.7); skipped
//! without it, except in CI.

use crate::common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{RunningApp, get_with, instance_id, poll};
use durafn::host::{KeyScope, list_keys};

/// The script the host's client tests use, in its `seed` mode.
const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../crates/durafn-host/tests/clients/python_client.py"
);

/// The durable client binding, from the admin API with the master key.
fn binding(port: u16, data: &Path) -> String {
    let master = list_keys(data)
        .expect("keys")
        .into_iter()
        .find(|k| k.scope == KeyScope::Master)
        .expect("a master key")
        .value;
    let r = get_with(
        port,
        "/admin/durabletask/binding",
        &[("x-functions-key", &master)],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

#[test]
fn the_pypi_client_starts_the_seed_orchestrator_with_a_dict() {
    let Some(python) = durafn_testenv::service(durafn_testenv::PYTHON, "PyPI client") else {
        return;
    };
    let root = tempfile::tempdir().expect("temp dir");
    let app = RunningApp::start(root.path(), &[]);
    // The app's own client function, as in the article.
    let r = app.get("/api/submit/query?s=10/10/2021&e=10/12/2021");
    assert_eq!(r.status, 200, "{}", r.body);
    let accepted: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    let status_uri = accepted["statusUri"].as_str().expect("a status URI");
    let id = instance_id(status_uri).to_string();
    let own: serde_json::Value = poll(Duration::from_secs(60), || {
        let r = app.get(&format!("/api/status/{id}"));
        let v: serde_json::Value = serde_json::from_str(&r.body).ok()?;
        (v["status"] == "Completed").then_some(v)
    })
    .expect("the app's own start completes");

    let out = Command::new(python)
        .arg(SCRIPT)
        .arg("seed")
        .env(
            "DURAFN_BINDING",
            binding(app.port, &root.path().join("data")),
        )
        .env("DURAFN_SEED_FROM", &id)
        .output()
        .expect("the script runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        app.output()
    );
    let report: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or("")).expect("a JSON report");
    assert_eq!(report["status"], "Completed", "{report}");
    assert_eq!(
        report["input"],
        serde_json::json!({"start": "2021-10-10", "end": "2021-12-10"}),
        "the dict the client sent"
    );
    assert_eq!(report["output"], own["result"], "the same result: {report}");
    assert_eq!(report["original"], own["result"]);
    assert!(own["result"].as_u64().is_some_and(|n| n > 0), "{own}");
}
