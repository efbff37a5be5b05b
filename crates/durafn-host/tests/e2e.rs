//! The example app as a real process on a real socket: start-up on port 0, the sample's public
//! routes, the management API with the system key, events, termination, purge, graceful
//! shutdown on SIGTERM, restart on the same data directory, and start-up errors.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use durafn_host::{KeyScope, list_keys};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const APP: &str = env!("CARGO_BIN_EXE_durafn-host-testapp");
const M: &str = "/runtime/webhooks/durabletask";

fn command(root: &Path, data: &Path) -> Command {
    let mut cmd = Command::new(APP);
    cmd.arg("--port")
        .arg("0")
        .arg("--root")
        .arg(root)
        .arg("--data-dir")
        .arg(data);
    for (name, _) in durafn_host::settings::HOST_SETTINGS {
        cmd.env_remove(name);
    }
    cmd.env("DURAFN_LOG", "warn");
    cmd
}

/// A running app process, killed if the test ends early.
struct AppProcess {
    child: Child,
    addr: SocketAddr,
}

impl Drop for AppProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl AppProcess {
    /// Starts the app and reads the bound address from its stdout.
    fn start(root: &Path, data: &Path) -> Self {
        let child = command(root, data)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the test app starts");
        // Owned at once, so that a failure below still kills and reaps the process.
        let mut app = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let stdout = app.child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no 'listening on' line; saw {seen:?}"));
            if let Some(rest) = line.split("listening on http://").nth(1) {
                app.addr = rest.trim().parse().expect("an address");
                return app;
            }
            seen.push(line);
        }
    }

    /// Sends SIGTERM and waits for a clean exit.
    fn terminate(mut self) {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(exit) = self.child.try_wait().unwrap() {
                assert!(exit.success(), "the app exited with {exit}");
                return;
            }
            assert!(Instant::now() < deadline, "the app did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

struct Resp {
    status: u16,
    body: Vec<u8>,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(&self.body)))
    }
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(end) = body.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = std::str::from_utf8(&body[..end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&body[end + 2..end + 2 + size]);
        body = &body[end + 2 + size + 2..];
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`).
async fn http(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    let target = target
        .strip_prefix(&format!("http://{addr}"))
        .unwrap_or(target);
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut raw))
        .await
        .expect("a response in time")
        .unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase()
            .starts_with("transfer-encoding: chunked")
    });
    let body = raw[split + 4..].to_vec();
    let body = if chunked { dechunk(&body) } else { body };
    Resp { status, body }
}

/// Polls a status URL (management or public) until `done` says so, with a deadline.
async fn poll(
    addr: SocketAddr,
    target: &str,
    headers: &[(&str, &str)],
    done: impl Fn(&Resp) -> bool,
) -> Resp {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = http(addr, "GET", target, headers, b"").await;
        if done(&r) {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "{target} never got there: {} {:?}",
            r.status,
            String::from_utf8_lossy(&r.body)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn key(data: &Path, scope: KeyScope, name: &str) -> String {
    list_keys(data)
        .unwrap()
        .into_iter()
        .find(|k| k.scope == scope && k.name == name)
        .map(|k| k.value)
        .unwrap()
}

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
