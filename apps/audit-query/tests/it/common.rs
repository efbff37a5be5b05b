//! Helpers of the end-to-end tests: run the app binary, talk HTTP to it
//! over a real socket, poll with deadlines.

#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The app's binary, built by cargo for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_audit-query");

/// Settings the tests set themselves; cleared from the inherited
/// environment so a developer's shell cannot change the outcome.
const APP_SETTINGS: &[&str] = &[
    "AuditTableConnection",
    "AuditTableName",
    "AuditQueryDelayMs",
    "AuditDemoData",
    "DURAFN_PORT",
    "DURAFN_HOST",
    "DURAFN_DATA_DIR",
    "DURAFN_LOG",
];

/// A running app: its process, its port, and everything it printed.
pub struct RunningApp {
    child: Child,
    /// The port it listens on.
    pub port: u16,
    output: Arc<Mutex<String>>,
}

/// Collects a child's stream into `sink`, line by line, on a thread.
fn collect(stream: impl Read + Send + 'static, sink: Arc<Mutex<String>>, tag: &'static str) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            let mut out = sink.lock().unwrap_or_else(|p| p.into_inner());
            out.push_str(tag);
            out.push_str(&line);
            out.push('\n');
        }
    });
}

/// A command for the app binary in `root`, with a clean set of app
/// settings plus `env`.
pub fn command(root: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).current_dir(root);
    for name in APP_SETTINGS {
        cmd.env_remove(name);
    }
    for (name, value) in env {
        cmd.env(name, value);
    }
    cmd
}

impl RunningApp {
    /// Starts the app on a free port with its root and data directory in
    /// `root`, and waits (up to `deadline`) until it listens.
    pub fn start(root: &Path, env: &[(&str, &str)]) -> RunningApp {
        let data = root.join("data");
        let data = data.to_str().expect("utf-8 path");
        let mut child = command(root, &["--port", "0", "--data-dir", data], env)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the app starts");
        let output = Arc::new(Mutex::new(String::new()));
        collect(
            child.stdout.take().expect("stdout"),
            output.clone(),
            "[out] ",
        );
        collect(
            child.stderr.take().expect("stderr"),
            output.clone(),
            "[err] ",
        );
        let mut app = RunningApp {
            child,
            port: 0,
            output,
        };
        // Debug builds fill the demo table slowly on the first start.
        let port = poll(Duration::from_secs(300), || {
            if let Ok(Some(status)) = app.child.try_wait() {
                panic!("the app exited with {status}:\n{}", app.output());
            }
            let out = app.output();
            out.lines()
                .find_map(|l| l.split("listening on http://127.0.0.1:").nth(1))
                .and_then(|p| p.trim().parse::<u16>().ok())
        })
        .unwrap_or_else(|| panic!("the app did not report its port:\n{}", app.output()));
        app.port = port;
        app
    }

    /// Everything the app printed so far, stdout and stderr interleaved.
    pub fn output(&self) -> String {
        self.output
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// `GET path` with `Host: localhost:{port}`.
    pub fn get(&self, path: &str) -> Response {
        get(self.port, path)
    }
}

impl Drop for RunningApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
}

impl Response {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One `GET` over a fresh connection (HTTP/1.1, `Connection: close`).
pub fn get(port: u16, path: &str) -> Response {
    get_with(port, path, &[])
}

/// [`get`] with extra request headers.
pub fn get_with(port: u16, path: &str, headers: &[(&str, &str)]) -> Response {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let extra: String = headers
        .iter()
        .map(|(n, v)| format!("{n}: {v}\r\n"))
        .collect();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\n{extra}Connection: close\r\n\r\n"
    )
    .expect("sends");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("reads");
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Response {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").expect("a header block");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 {
            break;
        }
        out.push_str(rest.get(..size).unwrap_or(rest));
        body = rest.get(size + 2..).unwrap_or("");
    }
    out
}

/// Calls `probe` until it returns `Some`, or `None` after `deadline`.
pub fn poll<T>(deadline: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + deadline;
    let mut wait = Duration::from_millis(10);
    loop {
        if let Some(found) = probe() {
            return Some(found);
        }
        if Instant::now() >= end {
            return None;
        }
        std::thread::sleep(wait);
        wait = (wait * 2).min(Duration::from_millis(200));
    }
}

/// The part of a status URI after `/api/status/`.
pub fn instance_id(status_uri: &str) -> &str {
    status_uri
        .rsplit_once("/api/status/")
        .map(|(_, id)| id)
        .expect("a status URI")
}

/// The article's Test section, against a running app: the error cases,
/// a submission, `Running`, then `Completed` with `expected`.
///
/// `start` and `end` are the query's dates as typed (`10/10/2021`).
pub fn replay_test_section(app: &RunningApp, start: &str, end: &str, expected: u64) {
    let errors = [
        ("/api/submit/query".to_owned(), "Empty start date."),
        (
            "/api/submit/query?s=abcd".to_owned(),
            "Invalid start date format.",
        ),
        (format!("/api/submit/query?s={start}"), "Empty end date."),
        (
            format!("/api/submit/query?s={start}&e=abcd"),
            "Invalid end date format.",
        ),
        (
            format!("/api/submit/query?s={end}&e={start}"),
            "Invalid date range.",
        ),
    ];
    for (path, message) in &errors {
        let r = app.get(path);
        assert_eq!(r.status, 400, "{path}");
        assert_eq!(r.header("content-type"), Some("application/json"), "{path}");
        assert_eq!(r.body, format!(r#"{{"error": "{message}"}}"#), "{path}");
    }
    // The article's own invalid range, too.
    let r = app.get("/api/submit/query?s=10/08/2021&e=05/08/2021");
    assert_eq!(
        (r.status, r.body.as_str()),
        (400, r#"{"error": "Invalid date range."}"#)
    );

    let submitted = app.get(&format!("/api/submit/query?s={start}&e={end}"));
    assert_eq!(submitted.status, 200, "{}", submitted.body);
    assert_eq!(submitted.header("content-type"), Some("application/json"));
    let prefix = format!(
        r#"{{"statusUri": "http://localhost:{}/api/status/"#,
        app.port
    );
    let id = submitted
        .body
        .strip_prefix(&prefix)
        .and_then(|rest| rest.strip_suffix(r#""}"#))
        .unwrap_or_else(|| panic!("unexpected body {}", submitted.body))
        .to_owned();
    assert_eq!(id.len(), 32, "a 32-hex-digit id: {id}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    let status_path = format!("/api/status/{id}");

    // Right away the job is running (Pending only for the moment before its
    // first step).
    let running = poll(Duration::from_secs(30), || {
        let r = app.get(&status_path);
        assert_eq!(r.status, 200, "{}", r.body);
        (!r.body.contains(r#""status": "Pending""#)).then_some(r.body)
    })
    .expect("the job leaves Pending");
    assert_eq!(
        running,
        format!(r#"{{"id": "{id}", "status": "Running", "result": null}}"#),
        "the job is still running"
    );

    let done = poll(Duration::from_secs(120), || {
        let r = app.get(&status_path);
        (!r.body.contains(r#""status": "Running""#)).then_some(r.body)
    })
    .unwrap_or_else(|| panic!("the job did not finish:\n{}", app.output()));
    assert_eq!(
        done,
        format!(r#"{{"id": "{id}", "status": "Completed", "result": {expected}}}"#),
        "{}",
        app.output()
    );

    let unknown = app.get("/api/status/433ebcfe85ec4012abe94dcda2aa6b00");
    assert_eq!(
        (unknown.status, unknown.body.as_str()),
        (404, "Job not found")
    );
}
