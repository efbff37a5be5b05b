//! What a store committed is there after it is closed and the file is opened again.

use crate::common::{activity, at, fetch, id, new_instance, raised, run_one_turn, turn};
use durafn_core::{EventId, EventKind, ExecutionId, HistoryEvent, RuntimeStatus};
use durafn_sqlite::{Durability, SqliteOptions, SqliteStore};
use durafn_store::{
    ActivityQueue, AdminStore, Committed, InstanceStore, NewMessage, OrchestrationQueue, StoreError,
};

fn options(durability: Durability) -> SqliteOptions {
    SqliteOptions {
        durability,
        ..SqliteOptions::default()
    }
}

async fn survives_reopen(durability: Durability) {
    let dir = tempfile::tempdir().expect("dir");
    // Parent directories are created on open.
    let path = dir.path().join("nested").join("hub.db");

    let store = SqliteStore::open(&path, options(durability)).expect("open");
    store
        .create_instance(new_instance("i1", at(0)))
        .await
        .expect("create");
    store
        .create_instance(new_instance("i2", at(0)))
        .await
        .expect("create");
    let items = store
        .fetch_orchestration_work(fetch(at(1), 1))
        .await
        .expect("fetch");
    assert_eq!(items[0].instance_id, id("i1"));
    let mut c = turn(&items[0], RuntimeStatus::Running, at(2));
    c.activities = vec![activity("i1", 0), activity("i1", 1)];
    c.messages = vec![NewMessage {
        instance_id: id("i1"),
        execution_id: Some(ExecutionId::new("i1-e1")),
        event: HistoryEvent::new(
            at(2),
            EventKind::TimerFired {
                timer_id: EventId(2),
                fire_at: at(100),
            },
        ),
        visible_at: Some(at(100)),
    }];
    let results = store.commit_turns(vec![c.clone()]).await.expect("commit");
    assert_eq!(results, vec![Ok(Committed::default())]);
    store
        .send_messages(vec![raised("i2", "hello", at(3))])
        .await
        .expect("send");
    // One activity is leased when the store closes.
    let leased = store
        .fetch_activity_work(fetch(at(4), 1))
        .await
        .expect("fetch");
    assert_eq!(leased.len(), 1);
    let history_before = store.get_history(&id("i1")).await.expect("history");
    let row_before = store
        .get_instance(&id("i1"))
        .await
        .expect("get")
        .expect("row");
    drop(store);

    let store = SqliteStore::open(&path, options(durability)).expect("reopen");
    assert_eq!(
        store.get_instance(&id("i1")).await.expect("get"),
        Some(row_before.clone())
    );
    assert_eq!(row_before.status, RuntimeStatus::Running);
    assert_eq!(row_before.history_len, 3);
    assert_eq!(
        store.get_history(&id("i1")).await.expect("history"),
        history_before
    );
    assert_eq!(history_before.len(), 3);
    assert_eq!(
        store.next_visible_at(at(5)).await.expect("next"),
        Some(at(100))
    );

    // The free activity is fetchable; the leased one only after its lease expires.
    let free = store
        .fetch_activity_work(fetch(at(5), 10))
        .await
        .expect("fetch");
    assert_eq!(free.len(), 1);
    assert_eq!(free[0].activity, activity("i1", 1));
    let again = store
        .fetch_activity_work(fetch(at(34), 10))
        .await
        .expect("fetch");
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].id, again[0].delivery), (leased[0].id, 2));
    assert_ne!(
        again[0].lock, leased[0].lock,
        "lock tokens are unique across opens"
    );
    // The old lease is lost.
    let old = store
        .abandon_activity(leased[0].id, &leased[0].lock, None)
        .await;
    assert!(matches!(old, Err(StoreError::LockLost(_))), "{old:?}");

    // i2 has its start and the raised event, in order; i1 has its timer when due.
    let items = store
        .fetch_orchestration_work(fetch(at(6), 10))
        .await
        .expect("fetch");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].instance_id, id("i2"));
    let kinds: Vec<&str> = items[0]
        .messages
        .iter()
        .map(|m| m.event.kind.type_name())
        .collect();
    assert_eq!(kinds, ["ExecutionStarted", "EventRaised"]);
    let done = turn(&items[0], RuntimeStatus::Completed, at(7));
    assert_eq!(
        store.commit_turns(vec![done]).await.expect("commit"),
        vec![Ok(Committed::default())]
    );
    let timers = store
        .fetch_orchestration_work(fetch(at(100), 10))
        .await
        .expect("fetch");
    assert_eq!(timers.len(), 1);
    assert_eq!(
        timers[0].messages[0].execution_id,
        Some(ExecutionId::new("i1-e1"))
    );
    assert!(matches!(
        timers[0].messages[0].event.kind,
        EventKind::TimerFired { .. }
    ));

    let counts = store.count_by_status().await.expect("count");
    assert!(
        counts.contains(&(RuntimeStatus::Completed, 1)),
        "{counts:?}"
    );
    assert!(counts.contains(&(RuntimeStatus::Running, 1)), "{counts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fsync_store_survives_reopen() {
    survives_reopen(Durability::Fsync).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn process_crash_safe_store_survives_reopen() {
    survives_reopen(Durability::ProcessCrashSafe).await;
}

/// Bad data in the file is reported as corrupt, and the store keeps working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_rows_are_reported_not_fatal() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("hub.db");
    let store = SqliteStore::open(&path, SqliteOptions::default()).expect("open");
    store
        .create_instance(new_instance("i1", at(0)))
        .await
        .expect("create");
    store
        .create_instance(new_instance("i2", at(0)))
        .await
        .expect("create");
    {
        let conn = rusqlite::Connection::open(&path).expect("raw open");
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .expect("timeout");
        conn.execute(
            "INSERT INTO history (instance_id, seq, event) VALUES ('i1', 0, '{not json')",
            [],
        )
        .expect("insert");
        conn.execute(
            "UPDATE instances SET status = 'Sleeping' WHERE instance_id = 'i2'",
            [],
        )
        .expect("update");
    }
    assert!(matches!(
        store.get_history(&id("i1")).await,
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(
        store.get_instance(&id("i2")).await,
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(
        store.count_by_status().await,
        Err(StoreError::Corrupt(_))
    ));
    // The writer survives the bad row and keeps serving.
    let fetched = store.fetch_orchestration_work(fetch(at(1), 10)).await;
    assert!(
        matches!(fetched, Err(StoreError::Corrupt(_))),
        "{fetched:?}"
    );
    assert!(store.get_instance(&id("i1")).await.expect("get").is_some());
    store
        .create_instance(new_instance("i3", at(0)))
        .await
        .expect("still writes");
}

/// A file that is not a database is refused with an error, not a panic.
#[test]
fn opening_garbage_fails_cleanly() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("hub.db");
    std::fs::write(&path, vec![7u8; 8192]).expect("write");
    let err = SqliteStore::open(&path, SqliteOptions::default()).expect_err("not a database");
    assert!(matches!(err, StoreError::Backend { .. }), "{err:?}");
}

/// Which durability the child opens its store with: `fsync`, or the default.
const CHILD_DURABILITY: &str = "DURAFN_SQLITE_TEST_CHILD_DURABILITY";

const CHILD_DB: &str = "DURAFN_SQLITE_TEST_CHILD_DB";

/// Run by [`killed_process_keeps_acknowledged_work`] in a child process: creates instances one
/// after another and reports each acknowledged one on stdout, until it is killed.
#[test]
#[ignore = "the child half of killed_process_keeps_acknowledged_work"]
fn child_process_writer() {
    use std::io::Write;
    let Some(path) = std::env::var_os(CHILD_DB) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let durability = match std::env::var(CHILD_DURABILITY).as_deref() {
            Ok("fsync") => Durability::Fsync,
            _ => Durability::ProcessCrashSafe,
        };
        let store = SqliteStore::open(&path, options(durability)).expect("open");
        let mut out = std::io::stdout();
        for i in 0.. {
            store
                .create_instance(new_instance(&format!("k{i}"), at(0)))
                .await
                .expect("create");
            writeln!(out, "created {i}").expect("stdout");
            out.flush().expect("flush");
        }
    });
}

/// With the default durability, everything acknowledged before a `kill -9` is there afterwards.
#[test]
fn killed_process_keeps_acknowledged_work() {
    kill_writer_and_check(Durability::ProcessCrashSafe);
}

/// With `Durability::Fsync`, whose replies wait for the flusher thread, too.
#[test]
fn killed_fsync_process_keeps_acknowledged_work() {
    kill_writer_and_check(Durability::Fsync);
}

/// Kills a child process creating instances with `durability` after 300 acknowledged creates,
/// and checks that each acknowledged one is in the file.
fn kill_writer_and_check(durability: Durability) {
    use std::io::BufRead;
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("hub.db");
    let mut child = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "durability::child_process_writer",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_DB, &path)
        .env(
            CHILD_DURABILITY,
            if durability == Durability::Fsync {
                "fsync"
            } else {
                "process"
            },
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("stdout");
    // Keep the pipe open until the kill, so the child is killed mid-work rather than failing
    // on a closed stdout.
    let mut lines = std::io::BufReader::new(stdout).lines();
    let mut last = None;
    for line in lines.by_ref() {
        let line = line.expect("line");
        if let Some(n) = line.strip_prefix("created ") {
            last = Some(n.parse::<u64>().expect("number"));
            if last >= Some(300) {
                break;
            }
        }
    }
    child.kill().expect("kill");
    child.wait().expect("wait");
    drop(lines);
    let last = last.expect("the child acknowledged work");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let store = SqliteStore::open(&path, SqliteOptions::default()).expect("reopen");
        for i in 0..=last {
            let row = store
                .get_instance(&id(&format!("k{i}")))
                .await
                .expect("get");
            assert!(row.is_some(), "acknowledged instance k{i} was lost");
        }
    });
}

/// A hub written before history rows held several events (schema version 4: one event per
/// row, no `events` column) opens, reads its history in order and appends after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_of_one_event_per_row_keeps_its_history() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("hub.db");
    let store = SqliteStore::open(&path, SqliteOptions::default()).expect("open");
    store
        .create_instance(new_instance("old", at(0)))
        .await
        .expect("create");
    run_one_turn(&store, at(1)).await;
    let written = store.get_history(&id("old")).await.expect("history");
    assert_eq!(written.len(), 3);
    drop(store);
    {
        // Rewrite the file as version 4 wrote it: one row per event.
        let conn = rusqlite::Connection::open(&path).expect("raw open");
        conn.execute_batch("DELETE FROM history; ALTER TABLE history DROP COLUMN events;")
            .expect("to version 4");
        for (seq, e) in written.iter().enumerate() {
            conn.execute(
                "INSERT INTO history (instance_id, seq, event) VALUES ('old', ?1, ?2)",
                rusqlite::params![seq as i64, serde_json::to_string(e).expect("json")],
            )
            .expect("v4 row");
        }
        conn.pragma_update(None, "user_version", 4)
            .expect("version");
    }
    let store = SqliteStore::open(&path, SqliteOptions::default()).expect("migrate and open");
    assert_eq!(
        store.get_history(&id("old")).await.expect("history"),
        written
    );
    store
        .send_messages(vec![raised("old", "go", at(2))])
        .await
        .expect("send");
    run_one_turn(&store, at(3)).await;
    let history = store.get_history(&id("old")).await.expect("history");
    assert_eq!(history.len(), 6);
    assert_eq!(history[..3], written[..]);
    assert!(matches!(
        &history[4].kind,
        EventKind::EventRaised { name, .. } if name == "go"
    ));
    let row = store
        .get_instance(&id("old"))
        .await
        .expect("get")
        .expect("row");
    assert_eq!(row.history_len, 6);
}
