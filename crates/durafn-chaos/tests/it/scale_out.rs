//! Scale-out on PostgreSQL: three `scale-app` processes share one task hub and run the chaos
//! orchestrations; one of them is killed with SIGKILL while it holds work. Every instance still
//! completes exactly once with the right output, and the work the dead host held when it died
//! is done by the survivors once its leases expire.
//!
//! Needs `DURAFN_TEST_POSTGRES_URL` (e.g. `postgres://postgres@127.0.0.1:5432/test`); without it
//! the test is skipped, except in CI (`CI=true`), where it fails. `DURAFN_SCALE_INSTANCES`
//! (default 1000) sizes the run.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use durafn_chaos::{expected_output, registry};
use durafn_core::{EventKind, InstanceId, RuntimeStatus};
use durafn_postgres::{LeasedWork, PostgresOptions, PostgresStore, drop_task_hub};
use durafn_runtime::{ClientError, DurableClient};
use durafn_store::{InstanceStore, Store};

const HOSTS: [&str; 3] = ["host-1", "host-2", "host-3"];
const VICTIM: &str = "host-1";

/// Drops the test's schema when the test ends, however it ends.
struct Schema {
    url: String,
    name: String,
}

impl Drop for Schema {
    fn drop(&mut self) {
        let (url, name) = (self.url.clone(), self.name.clone());
        // Drop may run inside a runtime: clean up on a thread with its own.
        let cleanup = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(drop_task_hub(&url, &name))
        });
        if let Ok(Err(e)) = cleanup.join() {
            eprintln!("could not drop the test schema: {e}");
        }
    }
}

/// Kills the hosts still running when the test ends, however it ends.
struct Hosts(Vec<(String, Child)>);

impl Drop for Hosts {
    fn drop(&mut self) {
        for (_, child) in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn spawn(url: &str, schema: &str, host: &str, log: &Path, instances: u64) -> Child {
    Command::new(env!("CARGO_BIN_EXE_scale-app"))
        .args(["--url", url, "--schema", schema, "--host-id", host])
        .args(["--log", log.to_str().expect("utf-8 path")])
        .args(["--instances", &instances.to_string(), "--lease-ms", "2000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the app starts")
}

/// (instance, step) of each line of an activity log.
fn runs(log: &Path) -> Vec<(u64, u64)> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .map(|line| {
            let (i, step) = line.split_once(',').expect("i,step");
            (i.parse().expect("i"), step.parse().expect("step"))
        })
        .collect()
}

/// Waits until the server has no connection of the killed host left.
async fn victim_gone(url: &str) {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    let connection = tokio::spawn(connection);
    let name = format!("durafn-scale-{VICTIM}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                &[&name],
            )
            .await
            .expect("pg_stat_activity")
            .get(0);
        if left == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the killed host's {left} connections never left the server"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(client);
    let _ = connection.await;
}

async fn retry<T, Fut: std::future::Future<Output = Result<T, ClientError>>>(
    mut call: impl FnMut() -> Fut,
) -> Result<T, ClientError> {
    for _ in 0..100 {
        match call().await {
            // The pool has dropped the broken connection; the next call opens a new one.
            Err(ClientError::Store(e)) if e.is_retryable() => tokio::task::yield_now().await,
            other => return other,
        }
    }
    call().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hosts_one_killed_nothing_lost() {
    let Some(url) = durafn_testenv::postgres_url() else {
        return;
    };
    let instances: u64 = std::env::var("DURAFN_SCALE_INSTANCES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let schema = durafn_testenv::unique_name("durafn_t", "scale");
    let _cleanup = Schema {
        url: url.clone(),
        name: schema.clone(),
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let logs: HashMap<&str, PathBuf> = HOSTS
        .iter()
        .map(|h| (*h, dir.path().join(format!("{h}.log"))))
        .collect();
    let store = Arc::new(
        PostgresStore::connect(
            &url,
            PostgresOptions {
                schema: schema.clone(),
                application_name: "durafn-scale-test".into(),
                ..PostgresOptions::default()
            },
        )
        .await
        .expect("connect"),
    );
    let dyn_store: Arc<dyn Store> = store.clone();
    let mut hosts = Hosts(
        HOSTS
            .iter()
            .filter(|h| **h != VICTIM)
            .map(|h| (h.to_string(), spawn(&url, &schema, h, &logs[h], instances)))
            .collect(),
    );
    let mut victim = Hosts(vec![(
        VICTIM.to_string(),
        spawn(&url, &schema, VICTIM, &logs[VICTIM], instances),
    )]);

    // Kill the victim, while instances are still being started, once it has done some work and
    // holds activity leases right now; then note what it held.
    let started = Instant::now();
    let killer = {
        let store = store.clone();
        let log = logs[VICTIM].clone();
        let url = url.clone();
        tokio::spawn(async move {
            // Look again whenever some host reports new work (or a second passed).
            let mut signals = store.subscribe();
            let deadline = Instant::now() + Duration::from_secs(120);
            loop {
                let done = runs(&log).len();
                let busy = store.leases(Some(VICTIM)).await.is_ok_and(|l| {
                    l.iter()
                        .any(|l| matches!(l.work, LeasedWork::Activity { .. }))
                });
                if done >= (instances as usize / 5).max(20) && busy {
                    break;
                }
                assert!(Instant::now() < deadline, "the victim never got busy");
                let _ = tokio::time::timeout(Duration::from_secs(1), signals.changed()).await;
            }
            let (_, child) = &mut victim.0[0];
            child.kill().expect("SIGKILL");
            child.wait().expect("reaped");
            let killed_at = started.elapsed();
            // A COMMIT the victim sent just before it died may still be running on the server:
            // what it held is read once its connections are gone, or a result that did commit
            // would count as work a survivor had to take over.
            victim_gone(&url).await;
            let held = store.leases(Some(VICTIM)).await.expect("leases");
            (killed_at, held)
        })
    };

    // Start the instances and raise their events from a client that runs no work.
    let client = DurableClient::detached(dyn_store.clone(), Some(registry()));
    for i in 0..instances {
        let id = format!("chaos-{i}");
        match retry(|| client.start_new("chaos", Some(&id), &i)).await {
            Ok(_) | Err(ClientError::InstanceExists { .. }) => {}
            Err(e) => panic!("start {id}: {e}"),
        }
    }
    for i in 0..instances {
        let id = format!("chaos-{i}");
        retry(|| client.raise_event(&id, "go", &i))
            .await
            .expect("raise");
    }
    let (killed_at, held) = killer.await.expect("killer");
    // Nobody else may take what the dead host held before its leases expire.
    let held_activities: Vec<(u64, u64)> = held
        .iter()
        .filter_map(|l| match &l.work {
            LeasedWork::Activity { input, .. } => {
                let (i, step, _acc): (u64, u64, u64) = input.decode().expect("chaos input");
                Some((i, step))
            }
            LeasedWork::Instance(_) => None,
        })
        .collect();
    let held_instances = held.len() - held_activities.len();
    println!(
        "scale-out: killed {VICTIM} after {:.1} s holding {} activity and {held_instances} \
         instance leases",
        killed_at.as_secs_f64(),
        held_activities.len()
    );

    // The survivors finish everything.
    let deadline = Instant::now() + Duration::from_secs(300);
    for (host, child) in &mut hosts.0 {
        loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                assert!(status.success(), "{host} failed: {status}");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{host} did not finish; {} completed",
                dyn_store
                    .count_by_status()
                    .await
                    .map(|c| format!("{c:?}"))
                    .unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut out = String::new();
        if let Some(mut stdout) = child.stdout.take() {
            use std::io::Read;
            stdout.read_to_string(&mut out).expect("stdout");
        }
        assert!(out.contains("ALL DONE"), "{host} printed {out:?}");
    }
    let elapsed = started.elapsed();

    for i in 0..instances {
        let id = InstanceId::from_trusted(format!("chaos-{i}"));
        let row = store
            .get_instance(&id)
            .await
            .expect("get")
            .expect("instance exists");
        assert_eq!(
            row.status,
            RuntimeStatus::Completed,
            "{id} is {}",
            row.status
        );
        let out: u64 = row.output.expect("output").decode().expect("number");
        assert_eq!(out, expected_output(i), "{id} output");
        let history = store.get_history(&id).await.expect("history");
        let completions = history
            .iter()
            .filter(|e| matches!(e.kind, EventKind::ExecutionCompleted { .. }))
            .count();
        assert_eq!(completions, 1, "{id} has exactly one ExecutionCompleted");
    }

    let by_host: HashMap<&str, Vec<(u64, u64)>> =
        HOSTS.iter().map(|h| (*h, runs(&logs[h]))).collect();
    let survivors: HashSet<(u64, u64)> = HOSTS
        .iter()
        .filter(|h| **h != VICTIM)
        .flat_map(|h| by_host[h].iter().copied())
        .collect();
    for item in &held_activities {
        assert!(
            survivors.contains(item),
            "activity {item:?} held by the dead host was not run by a survivor"
        );
    }
    let all: HashSet<(u64, u64)> = by_host.values().flatten().copied().collect();
    assert_eq!(all.len() as u64, instances * 5, "every activity ran");
    let total: usize = by_host.values().map(Vec::len).sum();
    println!(
        "scale-out: {instances} instances completed in {:.1} s; activity executions per host: \
         {}; {} re-executions in all (at-least-once)",
        elapsed.as_secs_f64(),
        HOSTS
            .iter()
            .map(|h| format!("{h} {}", by_host[h].len()))
            .collect::<Vec<_>>()
            .join(", "),
        total as u64 - instances * 5
    );
    for h in HOSTS.iter().filter(|h| **h != VICTIM) {
        assert!(!by_host[h].is_empty(), "{h} did some of the work");
    }
    drop(hosts);
}
