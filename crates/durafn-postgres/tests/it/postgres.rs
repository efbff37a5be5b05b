//! What the conformance suite cannot see: several hosts on one task hub, migrations, schema
//! isolation, notifications, lost connections, and batches that must behave as sequential
//! commits. Needs `DURAFN_TEST_POSTGRES_URL` (skipped without it, except in CI).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// How long a notification may take to arrive, even on a loaded machine.
const WAIT: Duration = Duration::from_secs(30);

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use durafn_core::{EventKind, ExecutionId, HistoryEvent, InstanceId, Payload, RuntimeStatus};
use durafn_postgres::{PostgresOptions, PostgresStore};
use durafn_store::memory::MemoryStore;
use durafn_store::{
    FetchRequest, HistoryChange, InstanceStore, NewActivity, NewInstance, NewMessage,
    OrchestrationQueue, Store, StoreError, TurnCommit,
};

use crate::common::{self, TestHub};

fn at(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
        .single()
        .expect("valid")
        + TimeDelta::seconds(secs)
}

fn id(s: &str) -> InstanceId {
    InstanceId::from_trusted(s)
}

fn new_instance(instance: &str) -> NewInstance {
    NewInstance {
        instance_id: id(instance),
        name: "orch".into(),
        execution_id: ExecutionId::new(format!("{instance}-e1")),
        input: Payload::null(),
        parent: None,
        created_at: at(0),
        version: None,
        trace_context: None,
    }
}

fn fetch(now: DateTime<Utc>, owner: &str, max_items: usize) -> FetchRequest {
    FetchRequest {
        owner: owner.into(),
        max_items,
        lease: TimeDelta::seconds(300),
        now,
    }
}

fn raised(instance: &str, name: &str) -> NewMessage {
    NewMessage {
        instance_id: id(instance),
        execution_id: None,
        event: HistoryEvent::new(
            at(1),
            EventKind::EventRaised {
                name: name.into(),
                input: Payload::null(),
            },
        ),
        visible_at: None,
    }
}

/// A second store on the same task hub as `hub` (another host).
async fn same_hub(url: &str, hub: &TestHub, application_name: &str) -> PostgresStore {
    PostgresStore::connect(
        url,
        PostgresOptions {
            schema: hub.store.schema().to_string(),
            application_name: application_name.into(),
            ..PostgresOptions::default()
        },
    )
    .await
    .expect("connect")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_hosts_lease_each_instance_once() {
    let Some(url) = common::url() else { return };
    let hub = TestHub::new(&url, "race", PostgresOptions::default()).await;
    let other = Arc::new(same_hub(&url, &hub, "durafn-race").await);
    let n = 300;
    for i in 0..n {
        hub.store
            .create_instance(new_instance(&format!("i{i}")))
            .await
            .expect("create");
    }
    let mine: Arc<dyn Store> = hub.store.clone();
    let stores: Vec<Arc<dyn Store>> = vec![mine.clone(), other.clone(), mine, other];
    let mut tasks = Vec::new();
    for (k, store) in stores.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let items = store
                    .fetch_orchestration_work(fetch(at(1), &format!("host-{k}"), 7))
                    .await
                    .expect("fetch");
                if items.is_empty() {
                    return mine;
                }
                mine.extend(items.into_iter().map(|i| i.instance_id.to_string()));
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    let distinct: HashSet<&String> = all.iter().collect();
    assert_eq!(
        all.len(),
        n,
        "every instance leased once: {} leases",
        all.len()
    );
    assert_eq!(distinct.len(), n);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_apply_once_when_hosts_start_together() {
    let Some(url) = common::url() else { return };
    let schema = common::unique_schema("mig");
    let mut starts = Vec::new();
    for _ in 0..4 {
        let url = url.clone();
        let schema = schema.clone();
        starts.push(tokio::spawn(async move {
            PostgresStore::connect(
                &url,
                PostgresOptions {
                    schema,
                    ..PostgresOptions::default()
                },
            )
            .await
        }));
    }
    let mut stores = Vec::new();
    for s in starts {
        stores.push(s.await.expect("task").expect("connect"));
    }
    let client = probe(&url).await;
    let row = client
        .query_one(
            &format!("SELECT count(*), max(version)::bigint FROM \"{schema}\".schema_version"),
            &[],
        )
        .await
        .expect("versions");
    let (applied, latest): (i64, i64) = (row.get(0), row.get(1));
    assert_eq!(applied, latest, "every migration applied exactly once");
    // A schema from a newer build is refused.
    client
        .execute(
            &format!("INSERT INTO \"{schema}\".schema_version (version) VALUES (99)"),
            &[],
        )
        .await
        .expect("bump");
    let newer = PostgresStore::connect(
        &url,
        PostgresOptions {
            schema: schema.clone(),
            ..PostgresOptions::default()
        },
    )
    .await;
    assert!(matches!(newer, Err(StoreError::Corrupt(_))), "{newer:?}");
    stores[0].drop_schema().await.expect("drop");
}

/// A task hub written by a build that knew only version 1 of the schema (no version or trace
/// context columns, no listing indexes) is migrated in place; its instances survive and new starts keep a version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_1_hub_is_migrated_in_place() {
    let Some(url) = common::url() else { return };
    let hub = TestHub::new(&url, "v1", PostgresOptions::default()).await;
    let schema = hub.store.schema().to_string();
    hub.store
        .create_instance(new_instance("old"))
        .await
        .expect("create");
    // Turn the hub back into version 1, as an older build left it.
    let client = probe(&url).await;
    client
        .batch_execute(&format!(
            "ALTER TABLE \"{schema}\".instances DROP COLUMN version, DROP COLUMN trace_context; \
             ALTER TABLE \"{schema}\".activities DROP COLUMN trace_context; \
             DROP INDEX \"{schema}\".instances_by_status_created; \
             DROP INDEX \"{schema}\".instances_by_name_created; \
             CREATE INDEX instances_by_status ON \"{schema}\".instances (status); \
             DELETE FROM \"{schema}\".schema_version WHERE version >= 2"
        ))
        .await
        .expect("downgrade");
    let store = PostgresStore::connect(
        &url,
        PostgresOptions {
            schema: schema.clone(),
            ..PostgresOptions::default()
        },
    )
    .await
    .expect("a version 1 hub is migrated");
    let row = store
        .get_instance(&id("old"))
        .await
        .expect("get")
        .expect("the old instance survives");
    assert_eq!((row.version, row.trace_context), (None, None));
    let mut versioned = new_instance("new");
    versioned.version = Some("3".into());
    store.create_instance(versioned).await.expect("create");
    let row = store
        .get_instance(&id("new"))
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(row.version.as_deref(), Some("3"));
    drop(store);
    drop(hub);
}

/// A plain connection for checks made behind the store's back.
async fn probe(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("probe connection");
    tokio::spawn(connection);
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_hubs_in_different_schemas_share_nothing() {
    let Some(url) = common::url() else { return };
    let a = TestHub::new(&url, "iso", PostgresOptions::default()).await;
    let b = TestHub::new(&url, "iso", PostgresOptions::default()).await;
    a.store
        .create_instance(new_instance("x"))
        .await
        .expect("create");
    assert!(b.store.get_instance(&id("x")).await.expect("get").is_none());
    assert!(
        b.store
            .fetch_orchestration_work(fetch(at(1), "h", 10))
            .await
            .expect("fetch")
            .is_empty()
    );
    b.store
        .create_instance(new_instance("x"))
        .await
        .expect("same id, other hub");
    let bad = PostgresStore::connect(
        &url,
        PostgresOptions {
            schema: "no spaces".into(),
            ..PostgresOptions::default()
        },
    )
    .await;
    assert!(matches!(bad, Err(StoreError::InvalidInput(_))), "{bad:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_reach_the_other_hosts() {
    let Some(url) = common::url() else { return };
    let hub = TestHub::new(&url, "notify", PostgresOptions::default()).await;
    let other = same_hub(&url, &hub, "durafn-notify").await;
    let mut signals = other.subscribe();
    // Wait until both hosts' notification connections are up (each bumps its counters when it
    // connects). The sender's matters too: a wake asked for before it is up is only sent then.
    for mut listener in [hub.store.subscribe(), other.subscribe()] {
        tokio::time::timeout(WAIT, listener.wait_for(|s| s.orchestrations > 0))
            .await
            .expect("listener connects")
            .expect("open");
    }
    signals.borrow_and_update();
    let before = *signals.borrow_and_update();
    hub.store
        .create_instance(new_instance("n1"))
        .await
        .expect("create");
    tokio::time::timeout(
        WAIT,
        signals.wait_for(|s| s.orchestrations > before.orchestrations),
    )
    .await
    .expect("a start wakes the other host")
    .expect("open");
    let before = *signals.borrow_and_update();
    let item = hub
        .store
        .fetch_orchestration_work(fetch(at(1), "h", 1))
        .await
        .expect("fetch")
        .remove(0);
    let commit = TurnCommit {
        instance_id: item.instance_id.clone(),
        lock: item.lock.clone(),
        consumed: item.messages.iter().map(|m| m.id).collect(),
        history: HistoryChange::Append(Vec::new()),
        update: None,
        activities: vec![NewActivity {
            instance_id: id("n1"),
            execution_id: ExecutionId::new("n1-e1"),
            task_id: durafn_core::EventId(0),
            name: "Work".into(),
            input: Payload::null(),
            trace_context: None,
        }],
        messages: Vec::new(),
        sub_orchestrations: Vec::new(),
        claim: None,
        claim_turns: None,
    };
    let results = hub.store.commit_turns(vec![commit]).await.expect("commit");
    assert!(results[0].is_ok());
    tokio::time::timeout(WAIT, signals.wait_for(|s| s.activities > before.activities))
        .await
        .expect("new activity work wakes the other host")
        .expect("open");
    assert_eq!(
        other.notification_channel(),
        format!("{}_work", hub.store.schema())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_connections_fail_retryably_and_reconnect() {
    let Some(url) = common::url() else { return };
    let app = format!("durafn-kill-{}", std::process::id());
    let hub = TestHub::new(
        &url,
        "kill",
        PostgresOptions {
            application_name: app.clone(),
            pool_size: 2,
            ..PostgresOptions::default()
        },
    )
    .await;
    hub.store
        .create_instance(new_instance("k"))
        .await
        .expect("create");
    let killer = probe(&url).await;
    let kill = format!(
        "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE pid <> pg_backend_pid() AND application_name = '{app}'"
    );
    for round in 0..3 {
        let killed: Vec<i32> = killer
            .query(&kill, &[])
            .await
            .expect("terminate")
            .iter()
            .map(|r| r.get(0))
            .collect();
        // Wait (with a deadline) until the server has ended those backends, so the next call
        // meets a closed connection.
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let row = killer
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1)",
                    &[&killed],
                )
                .await
                .expect("count backends");
            if row.get::<_, i64>(0) == 0 {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the backends did not end"
            );
            tokio::task::yield_now().await;
        }
        match hub.store.get_instance(&id("k")).await {
            Ok(row) => assert!(row.is_some()),
            Err(e) => assert!(e.is_retryable(), "round {round}: {e}"),
        }
        let row = hub.store.get_instance(&id("k")).await.expect("reconnected");
        assert_eq!(row.map(|r| r.status), Some(RuntimeStatus::Pending));
    }
}

/// The scenario of a batch whose turns touch each other's instances, run on a store.
async fn interleaved_batch(store: &dyn Store) -> Vec<String> {
    for i in ["a", "b", "c"] {
        store
            .create_instance(new_instance(i))
            .await
            .expect("create");
    }
    let items = store
        .fetch_orchestration_work(fetch(at(1), "h", 10))
        .await
        .expect("fetch");
    let item = |name: &str| {
        items
            .iter()
            .find(|i| i.instance_id == id(name))
            .expect("fetched")
            .clone()
    };
    let turn = |name: &str| {
        let it = item(name);
        TurnCommit {
            instance_id: it.instance_id.clone(),
            lock: it.lock.clone(),
            consumed: it.messages.iter().map(|m| m.id).collect(),
            history: HistoryChange::Append(vec![HistoryEvent::new(
                at(2),
                EventKind::OrchestratorStarted,
            )]),
            update: None,
            activities: Vec::new(),
            messages: Vec::new(),
            sub_orchestrations: Vec::new(),
            claim: None,
            claim_turns: None,
        }
    };
    // a creates child "kid" and messages b; b messages the new kid; a is committed twice; c
    // creates "kid" again (refused: it is Pending now).
    let mut first = turn("a");
    let mut kid = new_instance("kid");
    kid.parent = Some(durafn_core::ParentInstance {
        name: "orch".into(),
        instance_id: id("a"),
        execution_id: ExecutionId::new("a-e1"),
        task_scheduled_id: durafn_core::EventId(0),
    });
    first.sub_orchestrations = vec![kid.clone()];
    first.messages = vec![raised("b", "from-a")];
    let mut second = turn("b");
    second.messages = vec![raised("kid", "hello-kid"), raised("a", "from-b")];
    let again = turn("a");
    let mut third = turn("c");
    let mut kid_again = kid.clone();
    if let Some(p) = kid_again.parent.as_mut() {
        p.instance_id = id("c");
        p.execution_id = ExecutionId::new("c-e1");
    }
    third.sub_orchestrations = vec![kid_again];
    let results = store
        .commit_turns(vec![first, second, again, third])
        .await
        .expect("commit");
    let mut out: Vec<String> = results
        .iter()
        .map(|r| match r {
            Ok(_) => "ok".to_string(),
            Err(StoreError::LockLost(_)) => "lock-lost".to_string(),
            Err(e) => format!("error {e}"),
        })
        .collect();
    let mut next = store
        .fetch_orchestration_work(fetch(at(3), "h", 10))
        .await
        .expect("fetch");
    next.sort_by(|x, y| x.instance_id.cmp(&y.instance_id));
    for item in next {
        let kinds: Vec<String> = item
            .messages
            .iter()
            .map(|m| match &m.event.kind {
                EventKind::EventRaised { name, .. } => name.clone(),
                other => other.type_name().to_string(),
            })
            .collect();
        out.push(format!("{}: {}", item.instance_id, kinds.join(",")));
    }
    for i in ["a", "b", "c", "kid"] {
        let len = store.get_history(&id(i)).await.expect("history").len();
        out.push(format!("history {i}: {len}"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_that_touch_each_other_commit_like_sequential_turns() {
    let Some(url) = common::url() else { return };
    let hub = TestHub::new(&url, "seq", PostgresOptions::default()).await;
    let expected = interleaved_batch(&MemoryStore::new()).await;
    let actual = interleaved_batch(hub.store.as_ref()).await;
    assert_eq!(actual, expected);
    assert!(
        expected.contains(&"kid: ExecutionStarted,hello-kid".to_string()),
        "{expected:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_name_their_holders() {
    let Some(url) = common::url() else { return };
    let hub = TestHub::new(&url, "leases", PostgresOptions::default()).await;
    hub.store
        .create_instance(new_instance("l1"))
        .await
        .expect("create");
    assert!(hub.store.leases(None).await.expect("leases").is_empty());
    let item = hub
        .store
        .fetch_orchestration_work(fetch(at(1), "host-x", 1))
        .await
        .expect("fetch")
        .remove(0);
    let leases = hub.store.leases(Some("host-x")).await.expect("leases");
    assert_eq!(leases.len(), 1);
    assert_eq!(
        leases[0].work,
        durafn_postgres::LeasedWork::Instance(id("l1"))
    );
    assert_eq!(leases[0].until, at(301));
    assert!(
        hub.store
            .leases(Some("host-y"))
            .await
            .expect("leases")
            .is_empty()
    );
    drop(item);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_work_wakes_the_dispatchers_of_another_host() {
    let Some(url) = common::url() else { return };
    let hub = TestHub::new(&url, "watch", PostgresOptions::default()).await;
    let other = same_hub(&url, &hub, "durafn-watch").await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    durafn_store::AdminStore::watch_work(
        &other,
        std::sync::Arc::new(move |kind| {
            let _ = tx.send(kind);
        }),
    );
    // The listener reports itself once connected; then a start on one host wakes the other.
    let mut signals = other.subscribe();
    tokio::time::timeout(WAIT, signals.wait_for(|s| s.orchestrations > 0))
        .await
        .expect("listener connects")
        .expect("open");
    while rx.try_recv().is_ok() {}
    hub.store
        .create_instance(new_instance("w1"))
        .await
        .expect("create");
    let kind = tokio::time::timeout(WAIT, async {
        loop {
            match rx.recv().await {
                Some(durafn_store::WorkKind::Orchestrations) => {
                    break durafn_store::WorkKind::Orchestrations;
                }
                Some(_) => continue,
                None => panic!("the watcher stopped"),
            }
        }
    })
    .await
    .expect("another host's start wakes this host's orchestration dispatchers");
    assert_eq!(kind, durafn_store::WorkKind::Orchestrations);
}
