//! The SQLite task hub passes the conformance suite, each check on a fresh database file.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use durafn_core::{HistoryEvent, InstanceId, RuntimeStatus};
use durafn_sqlite::{SqliteOptions, SqliteStore};
use durafn_store::{
    ActivityCompletion, ActivityId, ActivityQueue, ActivityWorkItem, AdminStore, FetchRequest,
    InstanceFilter, InstancePage, InstanceRecord, InstanceStore, LockToken, NewInstance,
    NewMessage, OrchestrationQueue, OrchestrationWorkItem, Store, StoreError, StoreFuture,
    TurnCommit,
};

/// A store on a new file in its own temporary directory, deleted after the store is closed
/// (fields drop in order: the store first, then the directory).
struct TempHub {
    store: SqliteStore,
    _dir: tempfile::TempDir,
}

fn fresh_store() -> Arc<dyn Store> {
    let dir = tempfile::tempdir().expect("temp dir");
    let store =
        SqliteStore::open(dir.path().join("hub.db"), SqliteOptions::default()).expect("open");
    Arc::new(TempHub { store, _dir: dir })
}

durafn_store::conformance_tests!(async { fresh_store() });

impl InstanceStore for TempHub {
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

impl OrchestrationQueue for TempHub {
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

impl ActivityQueue for TempHub {
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

impl AdminStore for TempHub {
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
