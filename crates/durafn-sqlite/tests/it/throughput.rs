//! A rough throughput check of the task hub alone (no orchestration code): orchestrations of
//! five sequential activities driven by concurrent dispatch loops. Ignored by default; run with
//! `cargo test --release -p durafn-sqlite --test it throughput -- --ignored --nocapture`.
//!
//! The loops wait on notifications, as a runtime's dispatchers do: a committed turn wakes the
//! activity loops, a completed activity the orchestration loops, the last completion the test.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use chrono::{DateTime, Utc};
use durafn_core::{EventId, EventKind, HistoryEvent, Payload, RuntimeStatus};
use durafn_sqlite::{Durability, SqliteOptions, SqliteStore};
use durafn_store::{
    ActivityCompletion, ActivityQueue, AdminStore, HistoryChange, InstanceStore, NewActivity,
    NewMessage, OrchestrationQueue, TurnCommit,
};
use tokio::sync::{Notify, watch};

const STEPS: i64 = 5;

/// What the loops of one run share.
struct Run {
    store: SqliteStore,
    orchestration_work: Notify,
    activity_work: Notify,
    completed: AtomicUsize,
    all_done: Notify,
    target: usize,
    stop: watch::Sender<bool>,
}

impl Run {
    /// Waits for `work` unless the run is stopping; returns whether to go on.
    async fn wait(&self, work: &Notify) -> bool {
        let mut stop = self.stop.subscribe();
        if *stop.borrow() {
            return false;
        }
        tokio::select! {
            _ = work.notified() => true,
            _ = stop.changed() => false,
        }
    }
}

async fn orchestration_loop(run: Arc<Run>) {
    loop {
        let items = run
            .store
            .fetch_orchestration_work(crate::common::fetch(now(), 64))
            .await
            .expect("fetch");
        if items.is_empty() {
            if run.wait(&run.orchestration_work).await {
                continue;
            }
            return;
        }
        let mut finished = 0;
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
            let mut c = crate::common::turn(&item, RuntimeStatus::Running, now);
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
                    trace_context: None,
                }];
            } else if let Some(u) = &mut c.update {
                finished += 1;
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
                let run = Arc::clone(&run);
                tokio::spawn(async move { run.store.commit_turns(vec![c]).await })
            })
            .collect();
        for call in calls {
            for r in call.await.expect("task").expect("commit") {
                r.expect("turn");
            }
        }
        run.activity_work.notify_one();
        if run.completed.fetch_add(finished, Ordering::SeqCst) + finished == run.target {
            run.all_done.notify_one();
        }
    }
}

async fn activity_loop(run: Arc<Run>) {
    loop {
        let items = run
            .store
            .fetch_activity_work(crate::common::fetch(now(), 64))
            .await
            .expect("fetch");
        if items.is_empty() {
            if run.wait(&run.activity_work).await {
                continue;
            }
            return;
        }
        let calls: Vec<_> = items
            .into_iter()
            .map(|item| {
                let run = Arc::clone(&run);
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
                    run.store
                        .complete_activities(vec![ActivityCompletion {
                            id: item.id,
                            lock: item.lock,
                            result,
                            claim: None,
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
        run.orchestration_work.notify_one();
    }
}

async fn run(durability: Durability, n: usize) {
    let dir = tempfile::tempdir().expect("dir");
    let options = SqliteOptions {
        durability,
        ..SqliteOptions::default()
    };
    let run = Arc::new(Run {
        store: SqliteStore::open(dir.path().join("hub.db"), options).expect("open"),
        orchestration_work: Notify::new(),
        activity_work: Notify::new(),
        completed: AtomicUsize::new(0),
        all_done: Notify::new(),
        target: n,
        stop: watch::channel(false).0,
    });
    let started = Instant::now();
    let mut loops = Vec::new();
    for _ in 0..2 {
        loops.push(tokio::spawn(orchestration_loop(Arc::clone(&run))));
        loops.push(tokio::spawn(activity_loop(Arc::clone(&run))));
    }
    let creates: Vec<_> = (0..n)
        .map(|i| {
            let run = Arc::clone(&run);
            tokio::spawn(async move {
                run.store
                    .create_instance(crate::common::new_instance(&format!("o{i}"), now()))
                    .await
            })
        })
        .collect();
    for c in creates {
        c.await.expect("task").expect("create");
    }
    run.orchestration_work.notify_one();
    run.all_done.notified().await;
    let elapsed = started.elapsed();
    let counts = run.store.count_by_status().await.expect("count");
    assert!(
        counts.contains(&(RuntimeStatus::Completed, n as u64)),
        "{counts:?}"
    );
    run.stop.send_replace(true);
    for l in loops {
        l.await.expect("loop");
    }
    let stats = run.store.stats();
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
