//! Durable HTTP, a retried sub-orchestration, continue-as-new, an entity signalled and read by
//! the Python durable client, and what the app prints and logs, on `durafn start`.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use serde_json::json;

use crate::start::common::{self, Started, eventually};

const APP: &str = "crates/durafn-cli/tests/it/start/apps/features";

/// A one-route HTTP server that answers every request with a JSON body and remembers the
/// request lines and headers it got.
fn server() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut lines = Vec::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                lines.push(line.trim_end().to_string());
            }
            log.lock().unwrap().extend(lines);
            let body = r#"{"ok": true}"#;
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Server: test\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (port, seen)
}

#[test]
fn durable_http_sub_orchestration_retries_continue_as_new_client_signals_and_logs() {
    let Some(python) = common::python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = common::copy_app(APP, dir.path());
    let host = Started::new(&root, &dir.path().join("data"), &python, &[]);

    // Durable HTTP: one request, its response as the SDK gives it to the code.
    let (port, seen) = server();
    let url = format!("http://127.0.0.1:{port}/thing");
    host.start_instance("fetch", "fetch-1", &serde_json::to_string(&url).unwrap());
    let status = host.finished("fetch-1", 60);
    assert_eq!(status["runtimeStatus"], "Completed", "{status}");
    let response = &status["output"];
    assert_eq!(response["statusCode"], 200, "{status}");
    assert_eq!(response["content"], r#"{"ok": true}"#);
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .any(|l| l.eq_ignore_ascii_case("x-test: yes"))
    );

    // A sub-orchestration that fails once, retried after its timer, each attempt a child of
    // its own.
    let marker = dir.path().join("marker");
    host.start_instance(
        "parent",
        "parent-1",
        &serde_json::to_string(&marker).unwrap(),
    );
    let status = host.finished("parent-1", 60);
    assert_eq!(
        (status["runtimeStatus"].clone(), status["output"].clone()),
        (json!("Completed"), json!("second call")),
        "{status}"
    );
    let first = host.api("/instances/parent-1:0").json();
    assert_eq!(first["runtimeStatus"], "Failed", "{first}");
    let second = host.api("/instances/parent-1:2").json();
    assert_eq!(second["runtimeStatus"], "Completed", "{second}");

    // Continue-as-new, three executions; each logs once, from the worker, with its function
    // and instance.
    host.start_instance("countdown", "countdown-1", "2");
    let status = host.finished("countdown-1", 60);
    assert_eq!(status["output"], "liftoff", "{status}");
    // An entity signalled by the Python client (whose inputs arrive doubly encoded) and read
    // by it.
    assert_eq!(host.post("/api/tally/k1", "5").status, 202);
    eventually(60, "the signal", || {
        (host.get("/api/tally/k1").body == "5").then_some(())
    });
    assert_eq!(host.post("/api/tally/k1", "3").status, 202);
    eventually(60, "the second signal", || {
        (host.get("/api/tally/k1").body == "8").then_some(())
    });

    let output = host.stop();
    for n in 0..=2 {
        let logged: Vec<&str> = output
            .lines()
            .filter(|l| l.contains(&format!("countdown at {n}")))
            .collect();
        assert_eq!(logged.len(), 1, "logged once, not on replay: {logged:?}");
        assert!(
            logged[0].contains("countdown") && logged[0].contains("countdown-1"),
            "{}",
            logged[0]
        );
    }
    let line = |text: &str| {
        output
            .lines()
            .find(|l| l.contains(text))
            .unwrap_or_else(|| panic!("{text:?} in:\n{output}"))
            .to_string()
    };
    let printed = line("shout 2");
    assert!(
        printed.contains("shout") && printed.contains("countdown-1") && printed.contains("stdout"),
        "{printed}"
    );
    let stderr = line("shout to stderr 2");
    assert!(
        stderr.contains("ERROR") && stderr.contains("stderr"),
        "{stderr}"
    );
    let console = line("shout past sys.stdout 2");
    println!("{}\n{printed}\n{stderr}\n{console}", line("countdown at 2"));
    assert!(console.contains("worker console"), "{console}");
}
