//! Shared by the PostgreSQL tests: the database to use, unique task hubs, and their cleanup.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use durafn_core::{HistoryEvent, InstanceId, RuntimeStatus};
use durafn_postgres::{PostgresOptions, PostgresStore, drop_task_hub};
use durafn_store::{
    ActivityCompletion, ActivityId, ActivityQueue, ActivityWorkItem, AdminStore, FetchRequest,
    InstanceFilter, InstancePage, InstanceRecord, InstanceStore, LockToken, NewInstance,
    NewMessage, OrchestrationQueue, OrchestrationWorkItem, Store, StoreError, StoreFuture,
    TurnCommit,
};

/// The variable naming the test database.
pub const URL_VAR: &str = "DURAFN_TEST_POSTGRES_URL";

/// The database URL, or `None` (after saying so) when the tests should be skipped. In CI
/// (`CI=true`) the variable is required.
pub fn url() -> Option<String> {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{URL_VAR} must be set in CI: the PostgreSQL tests may not be skipped there"
            );
            println!("skipped: set {URL_VAR} to run the PostgreSQL tests");
            None
        }
    }
}

/// A schema name no other test or run uses.
pub fn unique_schema(tag: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() % 1_000_000_000);
    format!("durafn_t_{tag}_{}_{n}_{millis}", std::process::id())
}

/// A store on its own schema, which is dropped when the hub is.
pub struct TestHub {
    pub store: PostgresStore,
    url: String,
}

impl TestHub {
    pub async fn new(url: &str, tag: &str, options: PostgresOptions) -> Self {
        let options = PostgresOptions {
            schema: unique_schema(tag),
            ..options
        };
        let store = PostgresStore::connect(url, options)
            .await
            .expect("connect to the test database");
        Self {
            store,
            url: url.to_string(),
        }
    }
}

impl Drop for TestHub {
    fn drop(&mut self) {
        let url = self.url.clone();
        let schema = self.store.schema().to_string();
        // Drop may run inside a runtime: clean up on a thread with its own.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(drop_task_hub(&url, &schema))
        });
        if let Ok(Err(e)) = cleanup.join() {
            eprintln!("could not drop a test schema: {e}");
        }
    }
}

/// A fresh hub with default options, as a `Store`.
pub async fn fresh_store(url: String) -> Arc<dyn Store> {
    Arc::new(TestHub::new(&url, "conf", PostgresOptions::default()).await)
}

impl InstanceStore for TestHub {
    fn create_instance(&self, instance: NewInstance) -> StoreFuture<'_, ()> {
        self.store.create_instance(instance)
    }
    fn get_instance<'a>(&'a self, id: &'a InstanceId) -> StoreFuture<'a, Option<InstanceRecord>> {
        self.store.get_instance(id)
    }
    fn get_history<'a>(&'a self, id: &'a InstanceId) -> StoreFuture<'a, Vec<HistoryEvent>> {
        self.store.get_history(id)
    }
    fn send_messages(&self, messages: Vec<NewMessage>) -> StoreFuture<'_, ()> {
        self.store.send_messages(messages)
    }
}

impl OrchestrationQueue for TestHub {
    fn fetch_orchestration_work(
        &self,
        r: FetchRequest,
    ) -> StoreFuture<'_, Vec<OrchestrationWorkItem>> {
        self.store.fetch_orchestration_work(r)
    }
    fn commit_turns(
        &self,
        commits: Vec<TurnCommit>,
    ) -> StoreFuture<'_, Vec<Result<(), StoreError>>> {
        self.store.commit_turns(commits)
    }
    fn abandon_orchestration<'a>(
        &'a self,
        instance_id: &'a InstanceId,
        lock: &'a LockToken,
        retry_at: Option<DateTime<Utc>>,
    ) -> StoreFuture<'a, ()> {
        self.store
            .abandon_orchestration(instance_id, lock, retry_at)
    }
}

impl ActivityQueue for TestHub {
    fn fetch_activity_work(&self, r: FetchRequest) -> StoreFuture<'_, Vec<ActivityWorkItem>> {
        self.store.fetch_activity_work(r)
    }
    fn complete_activities(
        &self,
        completions: Vec<ActivityCompletion>,
    ) -> StoreFuture<'_, Vec<Result<(), StoreError>>> {
        self.store.complete_activities(completions)
    }
    fn abandon_activity<'a>(
        &'a self,
        id: ActivityId,
        lock: &'a LockToken,
        retry_at: Option<DateTime<Utc>>,
    ) -> StoreFuture<'a, ()> {
        self.store.abandon_activity(id, lock, retry_at)
    }
    fn renew_activity_leases(
        &self,
        leases: Vec<(ActivityId, LockToken)>,
        until: DateTime<Utc>,
    ) -> StoreFuture<'_, Vec<ActivityId>> {
        self.store.renew_activity_leases(leases, until)
    }
}

impl AdminStore for TestHub {
    fn list_instances<'a>(
        &'a self,
        filter: &'a InstanceFilter,
        page_size: usize,
        continuation: Option<&'a str>,
    ) -> StoreFuture<'a, InstancePage> {
        self.store.list_instances(filter, page_size, continuation)
    }
    fn purge_instance<'a>(&'a self, id: &'a InstanceId) -> StoreFuture<'a, bool> {
        self.store.purge_instance(id)
    }
    fn purge_instances<'a>(&'a self, filter: &'a InstanceFilter) -> StoreFuture<'a, u64> {
        self.store.purge_instances(filter)
    }
    fn next_visible_at(&self, now: DateTime<Utc>) -> StoreFuture<'_, Option<DateTime<Utc>>> {
        self.store.next_visible_at(now)
    }
    fn count_by_status(&self) -> StoreFuture<'_, Vec<(RuntimeStatus, u64)>> {
        self.store.count_by_status()
    }
}
