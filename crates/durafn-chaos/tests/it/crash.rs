//! kill -9 loses nothing: the chaos app is killed with SIGKILL at random moments and restarted,
//! and at the end every instance is Completed exactly once with the right output.
//!
//! `DURAFN_CRASH_INSTANCES` (default 1,000) and `DURAFN_CRASH_KILLS` (default 10) size the run.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::Arc;

use durafn_chaos::expected_output;
use durafn_chaos::kill::{Rng, kill_repeatedly, run_to_completion, seed};
use durafn_core::{EventKind, InstanceId, RuntimeStatus};
use durafn_sqlite::{SqliteOptions, SqliteStore};
use durafn_store::Store;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn kill_nine_loses_nothing() {
    let instances = env_or("DURAFN_CRASH_INSTANCES", 1000);
    let kills = env_or("DURAFN_CRASH_KILLS", 10);
    let seed = seed();
    println!("crash test: {instances} instances, {kills} kills, seed {seed}");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("hub.db");
    let log = dir.path().join("activities.log");
    let app = env!("CARGO_BIN_EXE_chaos-app");
    let spawn = || {
        Command::new(app)
            .args([
                "--db",
                db.to_str().expect("utf-8 path"),
                "--log",
                log.to_str().expect("utf-8 path"),
            ])
            .args(["--instances", &instances.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the app starts")
    };

    let killed = kill_repeatedly(spawn, kills, &mut rng);
    assert!(
        killed >= kills,
        "the app finished all work after only {killed} kills; raise DURAFN_CRASH_INSTANCES"
    );
    run_to_completion({
        let mut c = Command::new(app);
        c.args([
            "--db",
            db.to_str().expect("utf-8 path"),
            "--log",
            log.to_str().expect("utf-8 path"),
        ])
        .args(["--instances", &instances.to_string()]);
        c
    });

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&db, SqliteOptions::default()).expect("open"));
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
    });

    let text = std::fs::read_to_string(&log).expect("activity log");
    let mut runs: HashMap<(u64, u64), u64> = HashMap::new();
    for line in text.lines() {
        let (i, step) = line.split_once(',').expect("i,step");
        *runs
            .entry((i.parse().expect("i"), step.parse().expect("step")))
            .or_default() += 1;
    }
    assert_eq!(
        runs.len() as u64,
        instances * 5,
        "every activity ran at least once"
    );
    let total: u64 = runs.values().sum();
    let extra = total - instances * 5;
    println!(
        "crash test: {killed} kills; {total} activity executions for {} activities: {extra} re-executions (at-least-once, bounded by the activities in flight at each kill)",
        instances * 5
    );
    // At most the concurrency limit (100) can be in flight per kill.
    assert!(
        extra <= killed * 100 + 100,
        "re-executions are bounded by in-flight work"
    );
}
