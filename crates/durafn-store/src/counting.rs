//! A task hub that counts the calls made to another: how many store calls (and so, on a backend
//! with a fixed number of round trips per call, how many round trips) a workload costs. Tests and
//! measurements use it to hold the runtime to "one history read per batch of turns".

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use durafn_core::{HistoryEvent, InstanceId, RuntimeStatus};

use crate::model::{
    ActivityId, ActivityWorkItem, InstanceFilter, InstancePage, InstanceRecord, LockToken,
    NewInstance, NewMessage, OrchestrationWorkItem, TurnCommit,
};
use crate::{
    ActivityCompletion, ActivityQueue, AdminStore, ClaimedStart, Committed, Completed,
    FetchRequest, InstanceClaim, InstanceStore, OrchestrationQueue, Store, StoreError, StoreFuture,
    WorkWaker,
};

/// Wraps a store and counts each method called, by name.
pub struct CountingStore {
    inner: Arc<dyn Store>,
    calls: Mutex<BTreeMap<&'static str, u64>>,
    /// Orchestration fetches that returned work, and starts, activity completions and turn
    /// commits that handed back turns: the batches of turns.
    batches: Mutex<u64>,
}

impl std::fmt::Debug for CountingStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CountingStore")
            .field("calls", &self.calls())
            .finish()
    }
}

impl CountingStore {
    /// Counts the calls made to `inner`.
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Self {
            inner,
            calls: Mutex::default(),
            batches: Mutex::default(),
        }
    }

    fn count(&self, method: &'static str) -> &dyn Store {
        *self
            .calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(method)
            .or_default() += 1;
        self.inner.as_ref()
    }

    /// The calls so far, by method name.
    pub fn calls(&self) -> BTreeMap<&'static str, u64> {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How often `method` was called.
    pub fn calls_of(&self, method: &str) -> u64 {
        self.calls().get(method).copied().unwrap_or(0)
    }

    /// How many orchestration fetches returned work and starts, activity completions and turn
    /// commits handed back turns (each is one batch of turns).
    pub fn batches(&self) -> u64 {
        *self.batches.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Forgets the counts (to measure one phase of a workload).
    pub fn reset(&self) {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        *self.batches.lock().unwrap_or_else(PoisonError::into_inner) = 0;
    }
}

impl InstanceStore for CountingStore {
    fn create_instance(&self, instance: NewInstance) -> StoreFuture<'_, ()> {
        self.count("create_instance").create_instance(instance)
    }

    fn create_and_claim(
        &self,
        instance: NewInstance,
        claim: InstanceClaim,
    ) -> StoreFuture<'_, ClaimedStart> {
        let create = self
            .count("create_and_claim")
            .create_and_claim(instance, claim);
        Box::pin(async move {
            let start = create.await?;
            if start.turn.is_some() {
                *self.batches.lock().unwrap_or_else(PoisonError::into_inner) += 1;
            }
            Ok(start)
        })
    }

    fn get_instance<'a>(&'a self, id: &'a InstanceId) -> StoreFuture<'a, Option<InstanceRecord>> {
        self.count("get_instance").get_instance(id)
    }

    fn get_history<'a>(&'a self, id: &'a InstanceId) -> StoreFuture<'a, Vec<HistoryEvent>> {
        self.count("get_history").get_history(id)
    }

    fn get_histories<'a>(
        &'a self,
        ids: &'a [InstanceId],
    ) -> StoreFuture<'a, Vec<Vec<HistoryEvent>>> {
        self.count("get_histories").get_histories(ids)
    }

    fn send_messages(&self, messages: Vec<NewMessage>) -> StoreFuture<'_, ()> {
        self.count("send_messages").send_messages(messages)
    }
}

impl OrchestrationQueue for CountingStore {
    fn fetch_orchestration_work(
        &self,
        request: FetchRequest,
    ) -> StoreFuture<'_, Vec<OrchestrationWorkItem>> {
        let fetch = self
            .count("fetch_orchestration_work")
            .fetch_orchestration_work(request);
        Box::pin(async move {
            let items = fetch.await?;
            if !items.is_empty() {
                *self.batches.lock().unwrap_or_else(PoisonError::into_inner) += 1;
            }
            Ok(items)
        })
    }

    fn commit_turns(
        &self,
        commits: Vec<TurnCommit>,
    ) -> StoreFuture<'_, Vec<Result<Committed, StoreError>>> {
        let commit = self.count("commit_turns").commit_turns(commits);
        Box::pin(async move {
            let results = commit.await?;
            if results.iter().flatten().any(|r| !r.turns.is_empty()) {
                *self.batches.lock().unwrap_or_else(PoisonError::into_inner) += 1;
            }
            Ok(results)
        })
    }

    fn abandon_orchestration<'a>(
        &'a self,
        instance_id: &'a InstanceId,
        lock: &'a LockToken,
        retry_at: Option<DateTime<Utc>>,
    ) -> StoreFuture<'a, ()> {
        self.count("abandon_orchestration")
            .abandon_orchestration(instance_id, lock, retry_at)
    }
}

impl ActivityQueue for CountingStore {
    fn fetch_activity_work(&self, request: FetchRequest) -> StoreFuture<'_, Vec<ActivityWorkItem>> {
        self.count("fetch_activity_work")
            .fetch_activity_work(request)
    }

    fn complete_activities(
        &self,
        completions: Vec<ActivityCompletion>,
    ) -> StoreFuture<'_, Vec<Result<Completed, StoreError>>> {
        let complete = self
            .count("complete_activities")
            .complete_activities(completions);
        Box::pin(async move {
            let results = complete.await?;
            if results.iter().flatten().any(|r| r.turn.is_some()) {
                *self.batches.lock().unwrap_or_else(PoisonError::into_inner) += 1;
            }
            Ok(results)
        })
    }

    fn abandon_activity<'a>(
        &'a self,
        id: ActivityId,
        lock: &'a LockToken,
        retry_at: Option<DateTime<Utc>>,
    ) -> StoreFuture<'a, ()> {
        self.count("abandon_activity")
            .abandon_activity(id, lock, retry_at)
    }

    fn renew_activity_leases(
        &self,
        leases: Vec<(ActivityId, LockToken)>,
        until: DateTime<Utc>,
    ) -> StoreFuture<'_, Vec<ActivityId>> {
        self.count("renew_activity_leases")
            .renew_activity_leases(leases, until)
    }
}

impl AdminStore for CountingStore {
    fn list_instances<'a>(
        &'a self,
        filter: &'a InstanceFilter,
        page_size: usize,
        continuation: Option<&'a str>,
    ) -> StoreFuture<'a, InstancePage> {
        self.count("list_instances")
            .list_instances(filter, page_size, continuation)
    }

    fn purge_instance<'a>(&'a self, id: &'a InstanceId) -> StoreFuture<'a, bool> {
        self.count("purge_instance").purge_instance(id)
    }

    fn purge_instances<'a>(&'a self, filter: &'a InstanceFilter) -> StoreFuture<'a, u64> {
        self.count("purge_instances").purge_instances(filter)
    }

    fn next_visible_at(&self, now: DateTime<Utc>) -> StoreFuture<'_, Option<DateTime<Utc>>> {
        self.count("next_visible_at").next_visible_at(now)
    }

    fn count_by_status(&self) -> StoreFuture<'_, Vec<(RuntimeStatus, u64)>> {
        self.count("count_by_status").count_by_status()
    }

    fn watch_work(&self, wake: WorkWaker) {
        self.inner.watch_work(wake);
    }
}

impl crate::InspectStore for CountingStore {
    fn query_instances<'a>(
        &'a self,
        query: &'a crate::inspect::InstanceQuery,
        page_size: usize,
        continuation: Option<&'a str>,
    ) -> StoreFuture<'a, InstancePage> {
        self.count("query_instances")
            .query_instances(query, page_size, continuation)
    }

    fn count_instances<'a>(
        &'a self,
        query: &'a crate::inspect::InstanceQuery,
    ) -> StoreFuture<'a, Vec<(RuntimeStatus, u64)>> {
        self.count("count_instances").count_instances(query)
    }

    fn instance_work<'a>(
        &'a self,
        id: &'a InstanceId,
    ) -> StoreFuture<'a, crate::inspect::InstanceWork> {
        self.count("instance_work").instance_work(id)
    }

    fn hub_health(&self, now: DateTime<Utc>) -> StoreFuture<'_, crate::inspect::HubHealth> {
        self.count("hub_health").hub_health(now)
    }
}
