//! A rough throughput check of the task hub alone (no orchestration code): orchestrations of
//! five sequential activities driven by concurrent dispatch loops. Ignored by default; run with
//! `cargo test --release -p durafn-sqlite --test throughput -- --ignored --nocapture`.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use durafn_core::{EventId, EventKind, HistoryEvent, Payload, RuntimeStatus};
use durafn_sqlite::{Durability, SqliteOptions, SqliteStore};
use durafn_store::{
    ActivityCompletion, ActivityQueue, AdminStore, HistoryChange, InstanceStore, NewActivity,
    NewMessage, OrchestrationQueue, TurnCommit,
};

const STEPS: i64 = 5;

async fn orchestration_loop(store: Arc<SqliteStore>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        let items = store
            .fetch_orchestration_work(common::fetch(now(), 64))
            .await
            .expect("fetch");
        if items.is_empty() {
            tokio::time::sleep(Duration::from_millis(1)).await;
            continue;
        }
        let mut commits = Vec::new();
        for item in items {
            let now = now();
            let row = item.instance.clone().expect("row");
            let mut events = vec![HistoryEvent::new(now, EventKind::OrchestratorStarted)];
            let mut next = 0;
            for m in &item.messages {
                if let EventKind::TaskCompleted {
                    task_scheduled_id, ..
                } = &m.event.kind
                {
                    next = task_scheduled_id.0 + 1;
                }
                events.push(m.event.clone());
            }
            let mut c = common::turn(&item, RuntimeStatus::Running, now);
            if next < STEPS {
                events.push(HistoryEvent::scheduled(
                    EventId(next),
                    now,
                    EventKind::TaskScheduled {
                        name: "Work".into(),
                        input: Payload::encode(&next).expect("json"),
                    },
                ));
                c.activities = vec![NewActivity {
                    instance_id: item.instance_id.clone(),
                    execution_id: row.execution_id.clone(),
                    task_id: EventId(next),
                    name: "Work".into(),
                    input: Payload::encode(&next).expect("json"),
                }];
            } else if let Some(u) = &mut c.update {
                u.status = RuntimeStatus::Completed;
                u.output = Some(Payload::encode(&"done").expect("json"));
            }
            events.push(HistoryEvent::new(now, EventKind::OrchestratorCompleted));
            c.history = HistoryChange::Append(events);
            commits.push(c);
        }
        // One call per turn, as a runtime committing turns independently would.
        let calls: Vec<_> = commits
            .into_iter()
            .map(|c: TurnCommit| {
                let store = Arc::clone(&store);
                tokio::spawn(async move { store.commit_turns(vec![c]).await })
            })
            .collect();
        for call in calls {
            for r in call.await.expect("task").expect("commit") {
                r.expect("turn");
            }
        }
    }
}

async fn activity_loop(store: Arc<SqliteStore>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        let items = store
            .fetch_activity_work(common::fetch(now(), 64))
            .await
            .expect("fetch");
        if items.is_empty() {
            tokio::time::sleep(Duration::from_millis(1)).await;
            continue;
        }
        let calls: Vec<_> = items
            .into_iter()
            .map(|item| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    let result = NewMessage {
                        instance_id: item.activity.instance_id.clone(),
                        execution_id: Some(item.activity.execution_id.clone()),
                        event: HistoryEvent::new(
                            now(),
                            EventKind::TaskCompleted {
                                task_scheduled_id: item.activity.task_id,
                                result: item.activity.input.clone(),
                            },
                        ),
                        visible_at: None,
                    };
                    store
                        .complete_activities(vec![ActivityCompletion {
                            id: item.id,
                            lock: item.lock,
                            result,
                        }])
                        .await
                })
            })
            .collect();
        for call in calls {
            for r in call.await.expect("task").expect("complete") {
                r.expect("completion");
            }
        }
    }
}

async fn run(durability: Durability, n: usize) {
    let dir = tempfile::tempdir().expect("dir");
    let options = SqliteOptions {
        durability,
        ..SqliteOptions::default()
    };
    let store = Arc::new(SqliteStore::open(dir.path().join("hub.db"), options).expect("open"));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut loops = Vec::new();
    for _ in 0..2 {
        loops.push(tokio::spawn(orchestration_loop(
            Arc::clone(&store),
            Arc::clone(&stop),
        )));
        loops.push(tokio::spawn(activity_loop(
            Arc::clone(&store),
            Arc::clone(&stop),
        )));
    }
    let creates: Vec<_> = (0..n)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .create_instance(common::new_instance(&format!("o{i}"), now()))
                    .await
            })
        })
        .collect();
    for c in creates {
        c.await.expect("task").expect("create");
    }
    loop {
        let counts = store.count_by_status().await.expect("count");
        if counts.contains(&(RuntimeStatus::Completed, n as u64)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    for l in loops {
        l.await.expect("loop");
    }
    let stats = store.stats();
    println!(
        "{durability:?}: {n} orchestrations x {STEPS} activities in {elapsed:?} = {:.0} orchestrations/s; \
         {} requests in {} transactions ({:.1} per transaction)",
        n as f64 / elapsed.as_secs_f64(),
        stats.requests,
        stats.batches,
        stats.requests as f64 / stats.batches.max(1) as f64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check"]
async fn five_activity_orchestrations() {
    run(Durability::ProcessCrashSafe, 5000).await;
    run(Durability::Fsync, 5000).await;
}

fn now() -> DateTime<Utc> {
    DateTime::<Utc>::from(std::time::SystemTime::now())
}
