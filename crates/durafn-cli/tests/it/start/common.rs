//! `durafn start` as a real process over a copy of a Python app, and an HTTP client for it.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

pub(crate) const DURAFN: &str = env!("CARGO_BIN_EXE_durafn");
/// The management API's base path.
pub(crate) const M: &str = "/runtime/webhooks/durabletask";
/// The master key the tests give their hosts.
pub(crate) const KEY: &str = "test-master-key-0123456789";

pub(crate) use durafn_testenv::{azurite, python};

/// The repository's root.
pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Copies a directory tree (apps are copied, so their bytecode and data stay out of the tree).
pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "__pycache__" || name == ".durafn" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A copy of the app at `relative` (from the repository root) under `dir/app`.
pub(crate) fn copy_app(relative: &str, dir: &Path) -> PathBuf {
    let root = dir.join("app");
    copy_dir(&repo().join(relative), &root);
    root
}

/// What an HTTP request answered.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Http {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A running `durafn start`, killed when dropped.
pub(crate) struct Started {
    child: Child,
    pub(crate) port: u16,
    output: Arc<Mutex<String>>,
    agent: ureq::Agent,
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn collect(stream: impl Read + Send + 'static, sink: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            let mut out = sink.lock().unwrap_or_else(|p| p.into_inner());
            out.push_str(&line);
            out.push('\n');
        }
    });
}

pub(crate) use durafn_testenv::eventually;

/// `durafn start` over `root` with its data in `data`, the Python app's interpreter and the
/// test's master key, plus `env`; not yet waited for.
pub(crate) fn start_command(
    root: &Path,
    data: &Path,
    python: &Path,
    env: &[(&str, &str)],
) -> Command {
    let mut cmd = Command::new(DURAFN);
    cmd.args(["start", "--port", "0", "--script-root"])
        .arg(root)
        .arg("--data-dir")
        .arg(data)
        .env("languageWorkers__python__defaultExecutablePath", python)
        .env("DURAFN_MASTER_KEY", KEY)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("DURAFN_PORT")
        .env_remove("DURAFN_DATA_DIR")
        .env_remove("DURAFN_LOG");
    for (name, value) in env {
        cmd.env(name, value);
    }
    cmd
}

impl Started {
    /// Starts `cmd` and waits until it listens.
    pub(crate) fn spawn(mut cmd: Command) -> Started {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("durafn starts");
        let output = Arc::new(Mutex::new(String::new()));
        collect(child.stdout.take().unwrap(), output.clone());
        collect(child.stderr.take().unwrap(), output.clone());
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let mut started = Started {
            child,
            port: 0,
            output,
            agent,
        };
        started.port = eventually(120, "durafn start to listen", || {
            if let Ok(Some(status)) = started.child.try_wait() {
                panic!("durafn start exited with {status}:\n{}", started.output());
            }
            started
                .output()
                .lines()
                .find_map(|l| l.split("listening on http://127.0.0.1:").nth(1))
                .and_then(|p| p.trim().parse::<u16>().ok())
        });
        started
    }

    /// `durafn start` over `root` (data in `data`) with `env`, listening.
    pub(crate) fn new(root: &Path, data: &Path, python: &Path, env: &[(&str, &str)]) -> Started {
        Started::spawn(start_command(root, data, python, env))
    }

    /// Everything it printed so far.
    pub(crate) fn output(&self) -> String {
        self.output
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The process id of its current Python worker (the last one it reported starting).
    pub(crate) fn worker_pid(&self) -> u32 {
        self.output()
            .lines()
            .rev()
            .filter_map(|l| l.split("Python worker started (pid ").nth(1))
            .find_map(|rest| rest.split(')').next()?.parse().ok())
            .expect("a worker started")
    }

    /// How many workers it reported starting.
    pub(crate) fn workers_started(&self) -> usize {
        self.output().matches("Python worker started (pid ").count()
    }

    /// Kills it with SIGKILL.
    pub(crate) fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Asks it to stop (SIGTERM) and waits; returns what it printed.
    pub(crate) fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let _ = self.child.wait();
        self.output()
    }

    /// Sends a request; `key` adds the master key.
    pub(crate) fn request(&self, method: &str, path: &str, body: Option<&str>, key: bool) -> Http {
        let url = format!("http://127.0.0.1:{}{path}", self.port);
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(&url)
            .header("host", format!("localhost:{}", self.port));
        if key {
            req = req.header("x-functions-key", KEY);
        }
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let request = req.body(body.unwrap_or_default().to_string()).unwrap();
        let mut response = self
            .agent
            .run(request)
            .unwrap_or_else(|e| panic!("{method} {url}: {e}\n{}", self.output()));
        Http {
            status: response.status().as_u16(),
            headers: response
                .headers()
                .iter()
                .map(|(n, v)| {
                    (
                        n.to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: response.body_mut().read_to_string().unwrap_or_default(),
        }
    }

    pub(crate) fn get(&self, path: &str) -> Http {
        self.request("GET", path, None, false)
    }

    pub(crate) fn post(&self, path: &str, body: &str) -> Http {
        self.request("POST", path, Some(body), false)
    }

    /// GET on the management API with the master key.
    pub(crate) fn api(&self, path: &str) -> Http {
        self.request("GET", &format!("{M}{path}"), None, true)
    }

    /// Starts orchestrator `name` as `id` with `input` through the management API.
    pub(crate) fn start_instance(&self, name: &str, id: &str, input: &str) {
        let r = self.request(
            "POST",
            &format!("{M}/orchestrators/{name}/{id}"),
            Some(input),
            true,
        );
        assert_eq!(r.status, 202, "{r:?}");
    }

    /// Waits until instance `id` has finished; returns its status object.
    pub(crate) fn finished(&self, id: &str, secs: u64) -> Value {
        eventually(secs, &format!("instance {id} to finish"), || {
            let s = self.api(&format!("/instances/{id}")).json();
            let status = s["runtimeStatus"].as_str().unwrap_or_default().to_string();
            ["Completed", "Failed", "Terminated"]
                .contains(&status.as_str())
                .then_some(s)
        })
    }
}
