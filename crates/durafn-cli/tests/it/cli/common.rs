//! The test app as a child process, the `durafn` binary as another, and a raw HTTP client to
//! compare the command line's output with the API's.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

pub(crate) const APP: &str = env!("CARGO_BIN_EXE_durafn-cli-testapp");
pub(crate) const DURAFN: &str = env!("CARGO_BIN_EXE_durafn");
pub(crate) const M: &str = "/runtime/webhooks/durabletask";

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A value unique to this test process and call, for keys, ids and names.
pub(crate) fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}x{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A running test app, killed when dropped, with a home directory for the command line.
pub(crate) struct App {
    child: Child,
    pub(crate) url: String,
    pub(crate) key: String,
    pub(crate) dir: tempfile::TempDir,
    agent: ureq::Agent,
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a `durafn` run did.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    fn from(output: Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Asserts exit code 0; returns stdout.
    pub(crate) fn ok(self) -> String {
        assert_eq!(self.code, 0, "durafn failed: {self:?}");
        self.stdout
    }

    /// Asserts the exit code; returns stderr.
    pub(crate) fn fails(self, code: i32) -> String {
        assert_eq!(self.code, code, "unexpected exit code: {self:?}");
        self.stderr
    }
}

/// What an HTTP request to the host answered.
#[derive(Debug)]
pub(crate) struct Http {
    pub(crate) status: u16,
    pub(crate) body: String,
}

impl Http {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

impl App {
    /// Starts the app on a free port with its own master key, and waits until it listens.
    pub(crate) fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let key = unique("cli-test-master-key-");
        let mut cmd = Command::new(APP);
        cmd.arg("--port")
            .arg("0")
            .arg("--root")
            .arg(dir.path())
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .env("DURAFN_MASTER_KEY", &key)
            .env("DURAFN_LOG", "warn")
            .env_remove("DURAFN_SYSTEM_KEY")
            .env_remove("DURAFN_PORT")
            .env_remove("DURAFN_HOST")
            .env_remove("DURAFN_DATA_DIR")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let child = cmd.spawn().expect("the test app starts");
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .new_agent();
        let mut app = Self {
            child,
            url: String::new(),
            key,
            dir,
            agent,
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
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx
                .recv_timeout(left)
                .expect("the app says where it listens");
            if let Some(addr) = line.split("listening on ").nth(1) {
                app.url = addr.trim().to_string();
                return app;
            }
        }
    }

    /// The home directory the command line runs with (its config goes under `.config`).
    pub(crate) fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// `durafn` with this app's URL and key in the environment, a private home, and none of
    /// the caller's own settings.
    pub(crate) fn cmd(&self) -> Command {
        let mut cmd = bare_cmd(&self.home());
        cmd.env("DURAFN_URL", &self.url)
            .env("DURAFN_KEY", &self.key);
        cmd
    }

    /// Runs `durafn ARGS`.
    pub(crate) fn run(&self, args: &[&str]) -> Run {
        Run::from(self.cmd().args(args).stdin(Stdio::null()).output().unwrap())
    }

    /// Runs `durafn ARGS` with `input` on stdin.
    pub(crate) fn run_with_stdin(&self, args: &[&str], input: &str) -> Run {
        run_with_stdin(self.cmd().args(args), input)
    }

    /// Runs `durafn ARGS`, asserting success; returns stdout.
    pub(crate) fn ok(&self, args: &[&str]) -> String {
        self.run(args).ok()
    }

    /// Runs `durafn ARGS -o json`, asserting success; returns the JSON.
    pub(crate) fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        let out = self.ok(&all);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
    }

    /// Starts an orchestration through the command line; returns its id.
    pub(crate) fn start_instance(&self, name: &str, extra: &[&str]) -> String {
        let mut args = vec!["instances", "start", name];
        args.extend_from_slice(extra);
        let out = self.ok(&args);
        let id = out.trim().to_string();
        assert!(
            !id.is_empty() && !id.contains(char::is_whitespace),
            "{out:?}"
        );
        id
    }

    /// Waits for an instance to finish through the command line; returns its status object.
    pub(crate) fn wait_done(&self, id: &str) -> Value {
        let run = self.run(&["instances", "wait", id, "--timeout", "60", "-o", "json"]);
        assert!([0, 4, 5].contains(&run.code), "{run:?}");
        serde_json::from_str(&run.stdout).unwrap()
    }

    /// A request to the host with the master key, for comparing with the command line.
    pub(crate) fn http(&self, method: &str, path_and_query: &str, body: Option<&str>) -> Http {
        let url = format!("{}{path_and_query}", self.url);
        let result = match (method, body) {
            ("GET", _) => self
                .agent
                .get(&url)
                .header("x-functions-key", &self.key)
                .call(),
            ("DELETE", _) => self
                .agent
                .delete(&url)
                .header("x-functions-key", &self.key)
                .call(),
            (m, b) => {
                let req = if m == "PUT" {
                    self.agent.put(&url)
                } else {
                    self.agent.post(&url)
                };
                let req = req
                    .header("x-functions-key", &self.key)
                    .header("content-type", "application/json");
                match b {
                    Some(b) => req.send(b),
                    None => req.send_empty(),
                }
            }
        };
        let mut response = result.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        Http {
            status: response.status().as_u16(),
            body: response.body_mut().read_to_string().unwrap(),
        }
    }

    /// A GET without the master key (to check what another key lets in).
    pub(crate) fn get_without_key(&self, path_and_query: &str) -> u16 {
        let url = format!("{}{path_and_query}", self.url);
        let response = self
            .agent
            .get(&url)
            .call()
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        response.status().as_u16()
    }

    /// GET on the management API.
    pub(crate) fn api(&self, path_and_query: &str) -> Http {
        self.http("GET", &format!("{M}{path_and_query}"), None)
    }
}

/// `durafn` with a private home and none of the caller's DURAFN_* settings or colours.
pub(crate) fn bare_cmd(home: &Path) -> Command {
    std::fs::create_dir_all(home).unwrap();
    let mut cmd = Command::new(DURAFN);
    for var in [
        "DURAFN_URL",
        "DURAFN_KEY",
        "DURAFN_TASK_HUB",
        "DURAFN_PROFILE",
        "XDG_CONFIG_HOME",
        "NO_COLOR",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("HOME", home);
    cmd
}

pub(crate) fn run_with_stdin(cmd: &mut Command, input: &str) -> Run {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    Run::from(child.wait_with_output().unwrap())
}

pub(crate) use durafn_testenv::eventually;

/// Whether a test that needs `tool` can run: it is on PATH, or the test is skipped (and fails
/// under CI=true, where it must be installed).
pub(crate) fn have(tool: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            !durafn_testenv::in_ci(),
            "{tool} is needed in CI (.ci/run installs it)"
        );
        eprintln!("skipped: install {tool} to run this test");
    }
    found
}
