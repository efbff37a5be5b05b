//! The example app as a real process on a real socket: start-up on port 0, the sample's public
//! routes, the management API with the system key, events, termination, purge, graceful
//! shutdown on SIGTERM, restart on the same data directory, and start-up errors.

use crate::process;

use durafn_host::KeyScope;
use serde_json::json;

use process::{AppProcess, M, command, http, key, poll};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sample_app_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("app");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(
        root.join("host.json"),
        r#"{"version":"2.0","logging":{"logLevel":{"default":"Warning"}},
            "extensions":{"durableTask":{"hubName":"E2EHub","maxConcurrentActivityFunctions":4}}}"#,
    )
    .unwrap();
    let data = dir.path().join("data");
    let app = AppProcess::start(&root, &data);
    let addr = app.addr;
    assert!(
        data.join("E2EHub.db").exists(),
        "the task hub is in the data directory"
    );
    let system = key(&data, KeyScope::System, "durabletask_extension");
    let master = key(&data, KeyScope::Master, "_master");

    // A second host side by side, on its own port and data directory.
    let other_data = dir.path().join("other");
    let other = AppProcess::start(&root, &other_data);
    assert_ne!(other.addr, addr);
    assert_eq!(
        http(other.addr, "GET", "/healthz", &[], b"").await.status,
        200
    );
    other.terminate();

    // The sample's public routes.
    let r = http(
        addr,
        "GET",
        "/api/submit/query?s=2021-01-01&e=2021-01-31",
        &[],
        b"",
    )
    .await;
    assert_eq!(r.status, 200);
    let status_uri = r.json()["statusUri"].as_str().unwrap().to_string();
    assert!(
        status_uri.starts_with(&format!("http://{addr}/api/status/")),
        "{status_uri}"
    );
    let done = poll(addr, &status_uri, &[], |r| {
        r.status == 200 && r.json()["status"] == "Completed"
    })
    .await;
    assert_eq!(done.json()["result"], 30);
    let r = http(addr, "GET", "/api/submit/query?s=&e=", &[], b"").await;
    assert_eq!(
        (r.status, r.json()),
        (400, json!({"error": "Empty start date."}))
    );
    let r = http(addr, "GET", "/api/status/nope", &[], b"").await;
    assert_eq!(
        (r.status, r.body.as_slice()),
        (404, b"Job not found".as_slice())
    );

    // The management API with the system key.
    let auth = [
        ("x-functions-key", system.as_str()),
        ("content-type", "application/json"),
    ];
    let r = http(
        addr,
        "POST",
        &format!("{M}/orchestrators/orchestrator-function"),
        &auth,
        br#"{"start":"2021-02-01","end":"2021-02-11"}"#,
    )
    .await;
    assert_eq!(r.status, 202);
    let links = r.json();
    let status = links["statusQueryGetUri"].as_str().unwrap();
    assert!(status.starts_with(&format!("http://{addr}{M}/instances/")));
    let r = poll(addr, status, &[], |r| r.status == 200).await;
    assert_eq!(r.json()["output"], 10);
    let r = http(addr, "GET", status.split('?').next().unwrap(), &[], b"").await;
    assert_eq!(r.status, 401, "the status URL without its code is refused");

    // An event to one instance.
    let r = http(
        addr,
        "POST",
        &format!("{M}/orchestrators/wait-for-approval/approval-1"),
        &auth,
        b"",
    )
    .await;
    assert_eq!(r.status, 202);
    let send = r.json()["sendEventPostUri"]
        .as_str()
        .unwrap()
        .replace("{eventName}", "approval");
    let r = http(
        addr,
        "POST",
        &send,
        &[("content-type", "application/json")],
        br#"{"ok":true}"#,
    )
    .await;
    assert_eq!(r.status, 202);
    let status = format!("{M}/instances/approval-1");
    let r = poll(addr, &status, &auth, |r| r.status == 200).await;
    assert_eq!(r.json()["runtimeStatus"], "Completed");
    assert_eq!(r.json()["output"], json!({"ok": true}));

    // Terminate another, then purge it.
    let r = http(
        addr,
        "POST",
        &format!("{M}/orchestrators/wait-for-approval/approval-2"),
        &auth,
        b"",
    )
    .await;
    let links = r.json();
    let terminate = links["terminatePostUri"]
        .as_str()
        .unwrap()
        .replace("{text}", "no%20longer%20needed");
    let r = http(addr, "POST", &terminate, &[], b"").await;
    assert_eq!(r.status, 202);
    let status = links["statusQueryGetUri"].as_str().unwrap();
    let r = poll(addr, status, &[], |r| r.status == 200).await;
    assert_eq!(r.json()["runtimeStatus"], "Terminated");
    assert_eq!(r.json()["output"], "no longer needed");
    let r = http(addr, "POST", &terminate, &[], b"").await;
    assert_eq!(r.status, 410);
    let r = http(
        addr,
        "DELETE",
        links["purgeHistoryDeleteUri"].as_str().unwrap(),
        &[],
        b"",
    )
    .await;
    assert_eq!((r.status, r.json()), (200, json!({"instancesDeleted": 1})));
    let r = http(addr, "GET", status, &[], b"").await;
    assert_eq!(r.status, 404);

    // Admin and host routes.
    let r = http(
        addr,
        "GET",
        "/admin/functions",
        &[("x-functions-key", &master)],
        b"",
    )
    .await;
    let names: Vec<String> = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect();
    for name in [
        "client-function",
        "get-status-function",
        "orchestrator-function",
        "query-storage-account-activity-function",
        "wait-for-approval",
        "approval-workflow",
        "counter",
    ] {
        assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
    }
    let r = http(
        addr,
        "GET",
        "/admin/functions",
        &[("x-functions-key", &system)],
        b"",
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(http(addr, "GET", "/healthz", &[], b"").await.status, 200);
    let r = http(addr, "GET", "/no/such/route", &[], b"").await;
    assert_eq!((r.status, r.body.len()), (404, 0));

    // SIGTERM stops it cleanly; a restart on the same data directory keeps keys and instances.
    app.terminate();
    let app = AppProcess::start(&root, &data);
    assert_eq!(
        key(&data, KeyScope::System, "durabletask_extension"),
        system
    );
    let r = http(
        app.addr,
        "GET",
        &format!("{M}/instances/approval-1"),
        &[("x-functions-key", &system)],
        b"",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["output"], json!({"ok": true}));
    app.terminate();

    // An operator lists the keys of the data directory.
    let out = command(&root, &data).arg("--list-keys").output().unwrap();
    assert!(out.status.success());
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing.contains(&format!("system\tdurabletask_extension\t{system}")),
        "{listing}"
    );
    assert!(
        listing.contains(&format!("master\t_master\t{master}")),
        "{listing}"
    );
}

/// Runs the app with a configuration that must be refused; returns its stderr.
fn refused(
    host_json: Option<&str>,
    local_settings: Option<&str>,
    env: &[(&str, &str)],
    args: &[&str],
) -> String {
    let dir = tempfile::tempdir().unwrap();
    if let Some(h) = host_json {
        std::fs::write(dir.path().join("host.json"), h).unwrap();
    }
    if let Some(l) = local_settings {
        std::fs::write(dir.path().join("local.settings.json"), l).unwrap();
    }
    let mut cmd = command(dir.path(), &dir.path().join("data"));
    cmd.args(args);
    for (n, v) in env {
        cmd.env(n, v);
    }
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "the app must refuse to start");
    assert!(
        !dir.path().join("data").join("keys.json").exists(),
        "nothing is created"
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn configuration_errors_name_the_file_and_the_key() {
    let e = refused(
        Some(
            r#"{"version":"2.0","extensions":{"durableTask":{"maxConcurrentActivityFunctionz":4}}}"#,
        ),
        None,
        &[],
        &[],
    );
    assert!(
        e.contains("host.json: unknown key extensions.durableTask.maxConcurrentActivityFunctionz"),
        "{e}"
    );
    let e = refused(
        Some(
            r#"{"extensions":{"durableTask":{"storageProvider":{"type":"postgres","connectionStringName":"PG"}}}}"#,
        ),
        None,
        &[],
        &[],
    );
    assert!(
        e.contains(
            "the app setting PG (the PostgreSQL connection string named in host.json) is not set"
        ),
        "{e}"
    );
    let e = refused(Some("{\"version\": \"2.0\",}"), None, &[], &[]);
    assert!(e.contains("host.json: invalid JSON"), "{e}");
    let e = refused(
        None,
        Some(r#"{"IsEncrypted":false,"Values":{"DURAFN_PROT":"1"}}"#),
        &[],
        &[],
    );
    assert!(
        e.contains("local.settings.json: unknown key Values.DURAFN_PROT"),
        "{e}"
    );
    let e = refused(
        None,
        Some(r#"{"Values":{"DURAFN_MASTER_KEY":"short"}}"#),
        &[],
        &[],
    );
    assert!(
        e.contains("local.settings.json: Values.DURAFN_MASTER_KEY: a key must be"),
        "{e}"
    );
    let e = refused(None, None, &[("DURAFN_LOG", "chatty")], &[]);
    assert!(
        e.contains("environment: DURAFN_LOG: expected error, warn"),
        "{e}"
    );
    let e = refused(None, None, &[], &["--verbose"]);
    assert!(
        e.contains("command line: unknown argument \"--verbose\""),
        "{e}"
    );
}
