//! The real Durable Functions clients against the test app as a real process: the PyPI client
//! (`azure-functions-durable` 1.7, from `DURAFN_TEST_PYTHON`) and the npm client
//! (`durable-functions` 3, from `DURAFN_TEST_NODE_MODULES`), each built from the app's durable
//! client binding and sending everything to its local RPC endpoint without a key. The scripts
//! in `tests/clients/` do the driving and the checking; without the variables the tests are
//! skipped, except in CI (`CI=true`), where they must run.

use crate::process;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use process::{AppProcess, command};

/// A variable a test needs, or `None` (after saying so) when it may be skipped.
fn required(var: &str, what: &str) -> Option<String> {
    durafn_testenv::service(var, what)
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/clients")
        .join(name)
}

/// Runs a client script to its end (or kills it after a deadline) and returns its stdout;
/// fails the test with both streams when it fails.
fn run_script(mut cmd: Command, app: &AppProcess) -> String {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the client script starts");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = reader.join().unwrap();
    let stderr = err_reader.join().unwrap();
    assert!(
        status.success(),
        "the client script failed ({status}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- app stderr\n{}",
        app.stderr_lines().join("\n")
    );
    print!("{stdout}");
    stdout
}

/// The number of checks the script's summary line reports.
fn checks(stdout: &str) -> u64 {
    let last = stdout.lines().last().unwrap_or("");
    let summary: serde_json::Value =
        serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {last:?}"));
    summary["checks"].as_u64().expect("a count")
}

/// The test app with its flaky activity's marker file in `dir` (not yet there).
fn start_app(dir: &Path) -> (AppProcess, PathBuf, PathBuf) {
    let root = dir.join("app");
    std::fs::create_dir_all(&root).unwrap();
    let data = dir.join("data");
    let marker = dir.join("fixed");
    let mut cmd = command(&root, &data);
    cmd.env("TESTAPP_FIXED_MARKER", &marker);
    (AppProcess::spawn(cmd), data, marker)
}

/// Starts the test app and runs a client script against it, with the binding, the app's origin
/// and the flaky activity's marker file in its environment; returns the script's stdout.
async fn drive(mut cmd: Command) -> String {
    let dir = tempfile::tempdir().unwrap();
    let (app, data, marker) = start_app(dir.path());
    let binding = process::binding(&app, &data).await;
    let parsed: serde_json::Value = serde_json::from_str(&binding).unwrap();
    assert_eq!(
        parsed["rpcBaseUrl"].as_str(),
        app.rpc_base.as_deref(),
        "the binding points at the local RPC endpoint the banner names"
    );
    cmd.env("DURAFN_BINDING", &binding)
        .env("DURAFN_ORIGIN", app.origin())
        .env("TESTAPP_FIXED_MARKER", &marker);
    run_script(cmd, &app)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pypi_client_drives_every_management_operation() {
    let Some(python) = required("DURAFN_TEST_PYTHON", "PyPI client") else {
        return;
    };
    let mut cmd = Command::new(python);
    cmd.arg(script("python_client.py")).arg("all");
    let stdout = drive(cmd).await;
    assert_eq!(checks(&stdout), 12, "every check of the script ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_npm_client_drives_start_status_events_purge_and_entities() {
    let Some(modules) = required("DURAFN_TEST_NODE_MODULES", "npm client") else {
        return;
    };
    let mut cmd = Command::new("node");
    cmd.arg(script("js_client.js")).env("NODE_PATH", &modules);
    let stdout = drive(cmd).await;
    assert_eq!(checks(&stdout), 10, "every check of the script ran");
}
