//! Child processes: peers' servers (stopped when dropped) and workers (run until their `RESULT`
//! line, their exit or their timeout).

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::paths::tail;

/// How long a server gets to listen on its ports.
const SERVER_START: Duration = Duration::from_secs(60);

/// Where the ports given to servers come from: below the ephemeral range (Linux's default is
/// 32768-60999), so a port a server picks for itself (`bind` to port 0: the Temporal dev server
/// does so for its internal services) can never be the one we chose for it before it bound it.
/// Picking from the ephemeral range did collide once: the dev server's worker service took the
/// frontend's port, panicked, and the Temporal workload failed.
const PORTS: std::ops::Range<u16> = 20_000..32_000;

/// A port nobody listens on right now, outside the ephemeral range; successive calls walk the
/// range, so the ports of one server differ.
pub(crate) fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let span = PORTS.end - PORTS.start;
    // Start where this process's id puts it, so concurrent runs rarely try the same ports.
    let _ = NEXT.compare_exchange(
        0,
        (std::process::id() % u32::from(span)) as u16 + 1,
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
    for _ in 0..span {
        let port = PORTS.start + NEXT.fetch_add(1, Ordering::Relaxed) % span;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in {PORTS:?}")
}

fn wait_for_port(port: u16, within: Duration) -> bool {
    let end = Instant::now() + within;
    while Instant::now() < end {
        if TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200))
            .is_ok()
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// A peer's server process, stopped when dropped.
pub(crate) struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A started server and the environment that tells the worker where it is.
pub(crate) struct Started {
    pub(crate) server: Server,
    pub(crate) env: Vec<(String, String)>,
}

/// Starts `cmd` in `dir` with its output in `log` and waits until it listens on every one of
/// `ports`; the worker learns its pid as `BENCH_SERVER_PID`, besides `env`.
pub(crate) fn start_server(
    mut cmd: Command,
    dir: &Path,
    log: &Path,
    ports: &[u16],
    mut env: Vec<(String, String)>,
) -> Result<Started, String> {
    let out = std::fs::File::create(log).map_err(|e| e.to_string())?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    let child = cmd
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("cannot start the server: {e}"))?;
    let server = Server { child };
    for port in ports {
        if !wait_for_port(*port, SERVER_START) {
            return Err(format!(
                "the server did not listen on port {port} within {} s: {}",
                SERVER_START.as_secs(),
                tail(log, 3).unwrap_or_default()
            ));
        }
    }
    env.push(("BENCH_SERVER_PID".into(), server.child.id().to_string()));
    Ok(Started { server, env })
}

fn parse(json: &str) -> Result<Value, String> {
    serde_json::from_str(json).map_err(|e| format!("bad result: {e}"))
}

/// Runs a worker until it prints its result, exits or times out; its stderr goes to `log`.
pub(crate) fn run_worker(mut cmd: Command, timeout: Duration, log: &Path) -> Result<Value, String> {
    let err = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| e.to_string())?;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(err)
        .spawn()
        .map_err(|e| format!("cannot start the worker: {e}"))?;
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(json) = line.strip_prefix("RESULT ") {
                let _ = tx.send(json.to_string());
            }
        }
    });
    let end = Instant::now() + timeout;
    let mut result = None;
    loop {
        if let Ok(json) = rx.recv_timeout(Duration::from_millis(100)) {
            result = Some(json);
        }
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(status) => {
                // Take a result printed just before the exit.
                if let Ok(json) = rx.recv_timeout(Duration::from_millis(500)) {
                    result = Some(json);
                }
                return match result {
                    Some(json) => parse(&json),
                    None => Err(format!(
                        "worker exited ({status}) without a result: {}",
                        tail(log, 2).unwrap_or_default()
                    )),
                };
            }
            None if result.is_some() => {
                // The result is in; give the worker a moment to exit, then stop it.
                let grace = Instant::now() + Duration::from_secs(10);
                while Instant::now() < grace && child.try_wait().ok().flatten().is_none() {
                    std::thread::sleep(Duration::from_millis(50));
                }
                let _ = child.kill();
                let _ = child.wait();
                return parse(&result.take().expect("a result"));
            }
            None if Instant::now() > end => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("timed out after {} s", timeout.as_secs()));
            }
            None => {}
        }
    }
}
