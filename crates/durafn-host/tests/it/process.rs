//! The host's test app as a real process: starting it on free ports, reading where it listens
//! (and its local RPC endpoint) from its banner, plain HTTP to it, and its keys.

#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use durafn_host::{KeyScope, list_keys};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const APP: &str = env!("CARGO_BIN_EXE_durafn-host-testapp");
pub const M: &str = "/runtime/webhooks/durabletask";

/// The app's command with its root and data directory, on free ports, with none of the host's
/// settings inherited from the environment.
pub fn command(root: &Path, data: &Path) -> Command {
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
    cmd.env_remove("TESTAPP_FIXED_MARKER");
    cmd.env("DURAFN_LOG", "warn");
    cmd
}

/// A running app process, killed if the test ends early.
pub struct AppProcess {
    child: Child,
    /// Where its public listener is.
    pub addr: SocketAddr,
    /// The base URL of its local RPC endpoint, from the banner (`None` when switched off).
    pub rpc_base: Option<String>,
    /// Every line it wrote to stdout before it listened.
    pub banner: Vec<String>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Drop for AppProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl AppProcess {
    /// Starts the app and reads the bound address from its stdout.
    pub fn start(root: &Path, data: &Path) -> Self {
        Self::spawn(command(root, data))
    }

    /// Starts a prepared command (see [`command`]).
    pub fn spawn(mut cmd: Command) -> Self {
        let child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the test app starts");
        // Owned at once, so that a failure below still kills and reaps the process.
        let mut app = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            rpc_base: None,
            banner: Vec::new(),
            stderr: Arc::default(),
        };
        let stderr = app.child.stderr.take().unwrap();
        let sink = app.stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap_or_else(|p| p.into_inner()).push(line);
            }
        });
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
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx.recv_timeout(left).unwrap_or_else(|_| {
                panic!(
                    "no 'listening on' line; saw {:?}, stderr {:?}",
                    app.banner,
                    app.stderr_lines()
                )
            });
            if let Some(rest) = line.split("local RPC endpoint ").nth(1)
                && let Some(url) = rest.split_whitespace().next()
                && url.starts_with("http://")
            {
                app.rpc_base = Some(url.to_string());
            }
            if let Some(rest) = line.split("listening on http://").nth(1) {
                app.addr = rest.trim().parse().expect("an address");
                app.banner.push(line);
                return app;
            }
            app.banner.push(line);
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The public origin, such as `http://127.0.0.1:41234`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What it wrote to stderr so far.
    pub fn stderr_lines(&self) -> Vec<String> {
        self.stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub fn terminate(mut self) {
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

/// A response read off the socket.
pub struct Resp {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
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

/// Writes one HTTP/1.1 request on `stream` and reads the response (`Connection: close`).
pub async fn exchange(
    mut stream: TcpStream,
    host: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Resp> {
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut raw))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::UnexpectedEof))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::InvalidData))?;
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase()
            .starts_with("transfer-encoding: chunked")
    });
    let body = raw[split + 4..].to_vec();
    let body = if chunked { dechunk(&body) } else { body };
    Ok(Resp { status, head, body })
}

/// One HTTP/1.1 request on a fresh connection to `addr`; `target` may be a full URL to it.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    let target = target
        .strip_prefix(&format!("http://{addr}"))
        .unwrap_or(target);
    let stream = TcpStream::connect(addr).await.unwrap();
    exchange(stream, &addr.to_string(), method, target, headers, body)
        .await
        .expect("a response")
}

/// Polls a status URL (management or public) until `done` says so, with a deadline.
pub async fn poll(
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

/// A key of the app's data directory.
pub fn key(data: &Path, scope: KeyScope, name: &str) -> String {
    list_keys(data)
        .unwrap()
        .into_iter()
        .find(|k| k.scope == scope && k.name == name)
        .map(|k| k.value)
        .unwrap()
}

/// The durable client binding's JSON text, as other languages' clients are given it.
pub async fn binding(app: &AppProcess, data: &Path) -> String {
    let master = key(data, KeyScope::Master, "_master");
    let r = http(
        app.addr,
        "GET",
        "/admin/durabletask/binding",
        &[("x-functions-key", &master)],
        b"",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.text()
}
