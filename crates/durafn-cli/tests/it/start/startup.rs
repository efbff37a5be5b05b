//! Start-up: errors in function.json and missing entry points stop `durafn start` with messages
//! naming the file and the field; HTTP functions answer verbatim; the app's output is logged
//! with its function.

use std::process::Stdio;

use crate::start::common::{self, Started};

#[test]
fn startup_errors_name_the_file_and_the_field() {
    let Some(python) = common::python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = common::copy_app("examples/python/audit-query", dir.path());
    let client = root.join("client-function/function.json");
    let text = std::fs::read_to_string(&client).unwrap();
    std::fs::write(&client, text.replace(r#""anonymous""#, r#""public""#)).unwrap();
    let activity = root.join("query-storage-account-activity-function/function.json");
    let text = std::fs::read_to_string(&activity).unwrap();
    std::fs::write(
        &activity,
        text.replace(r#""scriptFile""#, r#""entryPoint": "nope", "scriptFile""#),
    )
    .unwrap();
    let output = common::start_command(&root, &dir.path().join("data"), &python, &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("client-function/function.json: bindings[0].authLevel: expected anonymous, function or admin, found \"public\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("query-storage-account-activity-function/function.json: entryPoint:"),
        "{stderr}"
    );
}

#[test]
fn http_functions_answer_verbatim_and_the_apps_output_is_logged() {
    let Some(python) = common::python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = common::copy_app("workers/python/tests/apps/probe", dir.path());
    let host = Started::new(&root, &dir.path().join("data"), &python, &[]);
    // authLevel function: no key, no answer.
    assert_eq!(host.get("/api/echo/lamp").status, 401);
    let r = host.request("POST", "/api/echo/lamp?x=1&x=2", Some(r#"{"a": 1}"#), true);
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.header("x-seen"), Some("yes"));
    assert_eq!(
        r.header("set-cookie"),
        Some("session=abc; HttpOnly; Path=/"),
        "as the converter writes cookies"
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    let seen = r.json();
    assert_eq!(seen["method"], "POST");
    assert_eq!(
        seen["url"],
        format!("http://localhost:{}/api/echo/lamp?x=1&x=2", host.port)
    );
    assert_eq!(seen["params"]["x"], "1,2");
    assert_eq!(seen["routeParams"]["thing"], "lamp");
    assert_eq!(seen["host"], format!("localhost:{}", host.port));
    assert_eq!(seen["json"]["a"], 1);
    let binary = host.request("GET", "/api/out", None, true);
    assert_eq!(binary.status, 200, "{binary:?}");
    assert_eq!(
        binary.header("content-type"),
        Some("application/octet-stream")
    );
    let output = host.stop();
    assert!(output.contains("Python worker started"), "{output}");
}
