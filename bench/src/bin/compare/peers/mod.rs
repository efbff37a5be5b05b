//! Each system's driver on the runner's side: what installs it, which worker program runs its
//! workloads, and which server (if any) is started for each measurement.

mod restate;
mod temporal;

use std::path::Path;
use std::process::Command;

use crate::paths::{bench_dir, cache_dir, program, tail};
use crate::process::Started;
use crate::systems::{Engine, System};

/// Starts a server with its data in a directory and its output in a log.
pub(crate) type StartServer = fn(&Path, &Path) -> Result<Started, String>;

/// How the runner runs one engine.
pub(crate) struct Peer {
    /// The `bench/peers/setup.sh` component that installs it; durafn is built here.
    pub(crate) component: Option<&'static str>,
    /// The programs of that component the runner starts (`<cache>/<component>/bin/<name>`).
    programs: &'static [&'static str],
    /// The worker process of a system, to which the runner adds the workload and its size.
    worker: fn(&System) -> Command,
    /// The server started for each measurement.
    pub(crate) server: Option<StartServer>,
}

const PYTHON: &str = "python";

/// The driver of an engine.
pub(crate) fn peer(engine: Engine) -> Peer {
    match engine {
        Engine::Durafn => Peer {
            component: None,
            programs: &[],
            worker: durafn_worker,
            server: None,
        },
        Engine::Duroxide => Peer {
            component: Some("duroxide"),
            programs: &["duroxide-worker"],
            worker: |_| Command::new(program("duroxide", "duroxide-worker")),
            server: None,
        },
        Engine::Dbos => Peer {
            component: Some(PYTHON),
            programs: &["python"],
            worker: |_| python_worker("dbos"),
            server: None,
        },
        Engine::Temporal => Peer {
            component: Some(PYTHON),
            programs: &["python", "temporal"],
            worker: |_| python_worker("temporal"),
            server: Some(temporal::server),
        },
        Engine::Restate => Peer {
            component: Some("restate"),
            programs: &["restate-server", "restate-worker"],
            worker: |_| Command::new(program("restate", "restate-worker")),
            server: Some(restate::server),
        },
    }
}

/// durafn's worker is this program: `compare durafn <variant>`.
fn durafn_worker(system: &System) -> Command {
    let mut cmd = Command::new(std::env::current_exe().expect("this program"));
    let variant = if system.fsync {
        system.store()
    } else {
        "sqlite-nofsync"
    };
    cmd.args(["durafn", variant]);
    cmd
}

/// A Python worker, `bench/peers/<name>/worker.py`, run by the installed virtualenv.
fn python_worker(name: &str) -> Command {
    let mut cmd = Command::new(program(PYTHON, "python"));
    cmd.arg(bench_dir().join("peers").join(name).join("worker.py"))
        .env("PYTHONDONTWRITEBYTECODE", "1");
    cmd
}

impl Peer {
    /// The worker command for one workload of `system`.
    pub(crate) fn worker_command(&self, system: &System, workload: &str, n: usize) -> Command {
        let mut cmd = (self.worker)(system);
        cmd.args([workload, &n.to_string()])
            .env("BENCH_STORE", system.store());
        cmd
    }

    /// Installs the component (or, with `check_only`, checks that it is installed) and that
    /// every program the runner starts is there; on failure, says why.
    pub(crate) fn install(&self, check_only: bool, log: &Path) -> Result<(), String> {
        let Some(component) = self.component else {
            return Ok(());
        };
        setup(component, check_only, log)?;
        let missing: Vec<String> = self
            .programs
            .iter()
            .map(|name| program(component, name))
            .filter(|p| !p.is_file())
            .map(|p| p.display().to_string())
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "setup.sh {component} succeeded but did not install {}",
                missing.join(", ")
            ))
        }
    }
}

/// Runs `bench/peers/setup.sh [--check] <component>`; on failure returns the end of its output.
fn setup(component: &str, check_only: bool, log: &Path) -> Result<(), String> {
    let mut cmd = Command::new("bash");
    cmd.arg(bench_dir().join("peers/setup.sh"));
    if check_only {
        cmd.arg("--check");
    }
    cmd.arg(component).env("DURAFN_BENCH_CACHE", cache_dir());
    let out = std::fs::File::create(log).map_err(|e| e.to_string())?;
    let status = cmd
        .stdout(out.try_clone().map_err(|e| e.to_string())?)
        .stderr(out)
        .status()
        .map_err(|e| format!("cannot run setup.sh: {e}"))?;
    if status.success() {
        return Ok(());
    }
    Err(tail(log, 3).unwrap_or_else(|| format!("setup.sh {component} failed ({status})")))
}
