//! kill -9 loses nothing with Python apps either: `durafn start` is killed with SIGKILL at
//! random moments during 300 Python orchestrations (ten activities and two timers each) (and, in the other test, only its worker
//! process is), and at the end every instance is Completed with the right output, with exactly
//! one `ExecutionCompleted` in its history.
//!
//! `DURAFN_CRASH_INSTANCES` (default 300), `DURAFN_CRASH_KILLS` (default 6) and
//! `DURAFN_CRASH_SEED` (default: the clock) shape a run.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use durafn_chaos::kill::{Rng, seed};
use durafn_core::{EventKind, InstanceId, RuntimeStatus};
use durafn_sqlite::{SqliteOptions, SqliteStore};
use durafn_store::Store;

use crate::start::common::{self, Started, eventually};

const APP: &str = "crates/durafn-cli/tests/it/start/apps/chaos";

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The output instance `n` must end with (the app's arithmetic).
fn expected(n: u64) -> u64 {
    let acc = (0..10).fold(n, |acc, step| (acc * 3 + step + 1) % 1_000_000_007);
    acc + n
}

fn store(data: &Path) -> Arc<dyn Store> {
    Arc::new(
        SqliteStore::open(data.join("Chaos.db"), SqliteOptions::default())
            .expect("the task hub opens"),
    )
}

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// How many of the instances have completed (read while no host runs).
fn completed(data: &Path, instances: u64) -> u64 {
    let store = store(data);
    block_on(async {
        let mut done = 0;
        for i in 0..instances {
            let id = InstanceId::from_trusted(format!("py-{i}"));
            if let Ok(Some(row)) = store.get_instance(&id).await {
                done += u64::from(row.status == RuntimeStatus::Completed);
            }
        }
        done
    })
}

/// Every instance Completed once, with its output.
fn check_all(data: &Path, instances: u64) {
    let store = store(data);
    block_on(async {
        for i in 0..instances {
            let id = InstanceId::from_trusted(format!("py-{i}"));
            let row = store
                .get_instance(&id)
                .await
                .unwrap()
                .expect("the instance exists");
            assert_eq!(
                row.status,
                RuntimeStatus::Completed,
                "{id}: {:?}",
                row.failure
            );
            let output: u64 = row.output.expect("an output").decode().expect("a number");
            assert_eq!(output, expected(i), "{id}");
            let history = store.get_history(&id).await.unwrap();
            let ends = history
                .iter()
                .filter(|e| matches!(e.kind, EventKind::ExecutionCompleted { .. }))
                .count();
            assert_eq!(ends, 1, "{id} has exactly one ExecutionCompleted");
        }
    });
}

fn start_all(host: &Started, instances: u64) {
    for i in 0..instances {
        host.start_instance("chaos", &format!("py-{i}"), &i.to_string());
    }
}

/// Waits until no instance is pending or running.
fn wait_all(host: &Started, secs: u64) {
    eventually(secs, "every instance to finish", || {
        let open = host
            .api("/instances?runtimeStatus=Pending,Running&top=1")
            .json();
        open.as_array().is_some_and(Vec::is_empty).then_some(())
    });
}

#[test]
fn killing_durafn_start_loses_no_python_orchestration() {
    let Some(python) = common::python() else {
        return;
    };
    let instances = env_or("DURAFN_CRASH_INSTANCES", 300);
    let kills = env_or("DURAFN_CRASH_KILLS", 6);
    let seed = seed();
    println!("crash test (host): {instances} instances, {kills} kills, seed {seed}");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let root = common::copy_app(APP, dir.path());
    let data = dir.path().join("data");
    // A short lease, so the work a killed host held is taken over soon after the restart.
    let env = [("DURAFN_LEASE_SECONDS", "2")];
    let host = Started::new(&root, &data, &python, &env);
    start_all(&host, instances);
    let mut current = Some(host);
    for kill in 0..kills {
        let host = current
            .take()
            .unwrap_or_else(|| Started::new(&root, &data, &python, &env));
        std::thread::sleep(Duration::from_millis(100 + rng.next_u64() % 500));
        host.kill();
        let done = completed(&data, instances);
        println!("kill {}: {done} of {instances} completed", kill + 1);
        assert!(
            done < instances,
            "all work finished after {} kills; raise DURAFN_CRASH_INSTANCES",
            kill + 1
        );
    }
    let host = Started::new(&root, &data, &python, &env);
    wait_all(&host, 300);
    host.stop();
    check_all(&data, instances);
}

#[test]
fn killing_the_python_worker_loses_no_python_orchestration() {
    let Some(python) = common::python() else {
        return;
    };
    let instances = env_or("DURAFN_CRASH_INSTANCES", 300);
    let kills = env_or("DURAFN_CRASH_KILLS", 6);
    let seed = seed();
    println!("crash test (worker): {instances} instances, {kills} kills, seed {seed}");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let root = common::copy_app(APP, dir.path());
    let data = dir.path().join("data");
    let host = Started::new(&root, &data, &python, &[]);
    start_all(&host, instances);
    for kill in 0..kills {
        std::thread::sleep(Duration::from_millis(20 + rng.next_u64() % 150));
        let pid = host.worker_pid();
        let open = host
            .api("/instances?runtimeStatus=Pending,Running&top=1")
            .json();
        assert!(
            open.as_array().is_some_and(|a| !a.is_empty()),
            "all work finished after {kill} kills; raise DURAFN_CRASH_INSTANCES"
        );
        std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .unwrap();
        eventually(60, "a new worker", || {
            (host.worker_pid() != pid).then_some(())
        });
    }
    wait_all(&host, 300);
    assert_eq!(host.workers_started() as u64, kills + 1);
    host.stop();
    check_all(&data, instances);
}
