//! The fault-injecting task hub: one handle per host over the shared in-memory task hub, which
//! fails, delays, loses replies, freezes or crashes its host at the calls the seed chooses.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use durafn_core::{HistoryEvent, InstanceId, RuntimeStatus};
use durafn_store::inspect::{HubHealth, InstanceQuery, InstanceWork};
use durafn_store::memory::MemoryStore;
use durafn_store::{
    ActivityCompletion, ActivityId, ActivityQueue, ActivityWorkItem, AdminStore, ClaimedStart,
    Committed, Completed, FetchRequest, InspectStore, InstanceClaim, InstanceFilter, InstancePage,
    InstanceRecord, InstanceStore, LockToken, NewInstance, NewMessage, OrchestrationQueue,
    OrchestrationWorkItem, StoreError, StoreFuture, TurnCommit, WorkWaker,
};

use crate::state::{HostState, SimState, TurnSnapshot};

/// Who calls through a handle: a host takes every fault; the driver's client only failures
/// and delays (it retries, as an operator's tool would).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// A runtime's dispatchers.
    Host,
    /// Client operations.
    Client,
}

/// A host's handle on the shared task hub, injecting the seed's faults.
pub struct FaultyStore {
    inner: Arc<MemoryStore>,
    sim: Arc<SimState>,
    host: Arc<HostState>,
    caller: Caller,
}

impl FaultyStore {
    /// A handle for `host`.
    pub fn new(
        inner: Arc<MemoryStore>,
        sim: Arc<SimState>,
        host: Arc<HostState>,
        caller: Caller,
    ) -> Self {
        Self {
            inner,
            sim,
            host,
            caller,
        }
    }

    fn failure(&self, what: String) -> StoreError {
        self.sim.note(&self.host.name, &what);
        StoreError::backend(format!("simulated: {what}"), true)
    }

    async fn before(&self, op: &'static str) -> Result<(), StoreError> {
        self.host.gate().await;
        let sim = &self.sim;
        let f = &sim.faults;
        sim.note(&self.host.name, op);
        if self.caller == Caller::Host {
            if sim.draw(f.crash) && sim.crash(&self.host, false, &format!("{op} (before)")) {
                self.host.gate().await;
            }
            if sim.draw(f.pause) {
                sim.freeze(&self.host);
                self.host.gate().await;
            }
        }
        if sim.draw(f.slow) {
            let ms = sim.rng.between(1, f.slow_max.as_millis().max(1) as u64);
            sim.note(&self.host.name, format!("slow {op} {ms}ms"));
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        if sim.draw(f.fail_before) {
            return Err(self.failure(format!("{op} failed before doing anything")));
        }
        Ok(())
    }

    async fn after(&self, op: &'static str, write: bool, ok: bool) -> Result<(), StoreError> {
        let sim = &self.sim;
        if self.caller == Caller::Client {
            return Ok(());
        }
        if sim.draw(sim.faults.crash) && sim.crash(&self.host, false, &format!("{op} (after)")) {
            self.host.gate().await;
        }
        if write && ok && sim.draw(sim.faults.reply_lost) {
            return Err(self.failure(format!("{op} committed, its reply was lost")));
        }
        Ok(())
    }

    /// Runs `f` (the real call) between the faults drawn for it. A call that writes may lose
    /// its reply; one that makes work or changes a status also wakes everyone (fetches and
    /// renewals do not, or the hosts would wake each other forever).
    fn call<'a, T: Send + 'a>(
        &'a self,
        op: &'static str,
        write: bool,
        f: impl FnOnce() -> StoreFuture<'a, T> + Send + 'a,
    ) -> StoreFuture<'a, T> {
        Box::pin(async move {
            self.before(op).await?;
            let result = f().await;
            let wakes = write && !op.starts_with("fetch") && !op.starts_with("renew");
            if wakes && result.is_ok() {
                self.sim.changed();
            }
            self.after(op, write, result.is_ok()).await?;
            result
        })
    }
}

impl InstanceStore for FaultyStore {
    fn create_instance(&self, instance: NewInstance) -> StoreFuture<'_, ()> {
        self.call("create_instance", true, move || {
            self.inner.create_instance(instance)
        })
    }

    fn create_and_claim(
        &self,
        instance: NewInstance,
        claim: InstanceClaim,
    ) -> StoreFuture<'_, ClaimedStart> {
        self.call("create_and_claim", true, move || {
            self.inner.create_and_claim(instance, claim)
        })
    }

    fn get_instance<'a>(&'a self, id: &'a InstanceId) -> StoreFuture<'a, Option<InstanceRecord>> {
        self.call("get_instance", false, move || self.inner.get_instance(id))
    }

    fn get_history<'a>(&'a self, id: &'a InstanceId) -> StoreFuture<'a, Vec<HistoryEvent>> {
        self.call("get_history", false, move || self.inner.get_history(id))
    }

    fn get_histories<'a>(
        &'a self,
        ids: &'a [InstanceId],
    ) -> StoreFuture<'a, Vec<Vec<HistoryEvent>>> {
        self.call("get_histories", false, move || {
            self.inner.get_histories(ids)
        })
    }

    fn send_messages(&self, messages: Vec<NewMessage>) -> StoreFuture<'_, ()> {
        self.call("send_messages", true, move || {
            self.inner.send_messages(messages)
        })
    }
}

impl OrchestrationQueue for FaultyStore {
    fn fetch_orchestration_work(
        &self,
        request: FetchRequest,
    ) -> StoreFuture<'_, Vec<OrchestrationWorkItem>> {
        Box::pin(async move {
            let items = self
                .call("fetch_orchestration_work", true, move || {
                    self.inner.fetch_orchestration_work(request)
                })
                .await?;
            for item in &items {
                self.sim.detail(&self.host.name, || {
                    let kinds: Vec<&str> = item
                        .messages
                        .iter()
                        .map(|m| m.event.kind.type_name())
                        .collect();
                    let delivery = item.messages.iter().map(|m| m.delivery).max();
                    format!(
                        "-> {} [{}] delivery {}",
                        item.instance_id,
                        kinds.join(", "),
                        delivery.unwrap_or(0)
                    )
                });
            }
            Ok(items)
        })
    }

    fn commit_turns(
        &self,
        commits: Vec<TurnCommit>,
    ) -> StoreFuture<'_, Vec<Result<Committed, StoreError>>> {
        let ids: Vec<InstanceId> = commits.iter().map(|c| c.instance_id.clone()).collect();
        let updates: Vec<_> = commits
            .iter()
            .map(|c| (c.instance_id.clone(), c.update.clone()))
            .collect();
        Box::pin(async move {
            let results = self
                .call("commit_turns", true, move || {
                    Box::pin(async move {
                        let results = self.inner.commit_turns(commits).await?;
                        // What each turn committed, read back before anything else runs (the
                        // reply may still be lost): the oracle replays each from scratch.
                        for ((id, update), result) in updates.into_iter().zip(&results) {
                            if let (Ok(_), Some(update)) = (result, update) {
                                if !id.as_str().starts_with('@') {
                                    let history = self.inner.get_history(&id).await?;
                                    self.sim.committed(TurnSnapshot {
                                        instance_id: id,
                                        history,
                                        update,
                                    });
                                }
                            }
                        }
                        Ok(results)
                    })
                })
                .await?;
            for (id, result) in ids.iter().zip(&results) {
                self.sim.detail(&self.host.name, || match result {
                    Ok(_) => format!("<- {id} committed"),
                    Err(e) => format!("<- {id} refused: {e}"),
                });
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
        self.call("abandon_orchestration", true, move || {
            self.inner
                .abandon_orchestration(instance_id, lock, retry_at)
        })
    }
}

impl ActivityQueue for FaultyStore {
    fn fetch_activity_work(&self, request: FetchRequest) -> StoreFuture<'_, Vec<ActivityWorkItem>> {
        Box::pin(async move {
            let items = self
                .call("fetch_activity_work", true, move || {
                    self.inner.fetch_activity_work(request)
                })
                .await?;
            for item in &items {
                self.sim.detail(&self.host.name, || {
                    let a = &item.activity;
                    format!(
                        "-> activity {} of {}/{} delivery {}",
                        a.name, a.instance_id, a.task_id.0, item.delivery
                    )
                });
            }
            Ok(items)
        })
    }

    fn complete_activities(
        &self,
        completions: Vec<ActivityCompletion>,
    ) -> StoreFuture<'_, Vec<Result<Completed, StoreError>>> {
        let results: Vec<NewMessage> = completions.iter().map(|c| c.result.clone()).collect();
        Box::pin(async move {
            let outcome = self
                .call("complete_activities", true, move || {
                    self.inner.complete_activities(completions)
                })
                .await?;
            // Duplicate delivery: a result that committed arrives a second time.
            let again: Vec<NewMessage> = results
                .into_iter()
                .zip(&outcome)
                .filter(|(_, r)| r.is_ok())
                .map(|(m, _)| m)
                .filter(|_| self.sim.draw(self.sim.faults.duplicate))
                .collect();
            if !again.is_empty() {
                self.sim.note(
                    &self.host.name,
                    format!("DUPLICATE {} activity result(s)", again.len()),
                );
                self.inner.send_messages(again).await?;
                self.sim.changed();
            }
            Ok(outcome)
        })
    }

    fn abandon_activity<'a>(
        &'a self,
        id: ActivityId,
        lock: &'a LockToken,
        retry_at: Option<DateTime<Utc>>,
    ) -> StoreFuture<'a, ()> {
        self.call("abandon_activity", true, move || {
            self.inner.abandon_activity(id, lock, retry_at)
        })
    }

    fn renew_activity_leases(
        &self,
        leases: Vec<(ActivityId, LockToken)>,
        until: DateTime<Utc>,
    ) -> StoreFuture<'_, Vec<ActivityId>> {
        self.call("renew_activity_leases", true, move || {
            self.inner.renew_activity_leases(leases, until)
        })
    }
}

impl AdminStore for FaultyStore {
    fn list_instances<'a>(
        &'a self,
        filter: &'a InstanceFilter,
        page_size: usize,
        continuation: Option<&'a str>,
    ) -> StoreFuture<'a, InstancePage> {
        self.call("list_instances", false, move || {
            self.inner.list_instances(filter, page_size, continuation)
        })
    }

    fn purge_instance<'a>(&'a self, id: &'a InstanceId) -> StoreFuture<'a, bool> {
        self.call("purge_instance", true, move || {
            self.inner.purge_instance(id)
        })
    }

    fn purge_instances<'a>(&'a self, filter: &'a InstanceFilter) -> StoreFuture<'a, u64> {
        self.call("purge_instances", true, move || {
            self.inner.purge_instances(filter)
        })
    }

    fn next_visible_at(&self, now: DateTime<Utc>) -> StoreFuture<'_, Option<DateTime<Utc>>> {
        self.call("next_visible_at", false, move || {
            self.inner.next_visible_at(now)
        })
    }

    fn count_by_status(&self) -> StoreFuture<'_, Vec<(RuntimeStatus, u64)>> {
        self.call("count_by_status", false, move || {
            self.inner.count_by_status()
        })
    }

    /// Every write through any handle wakes every host, as PostgreSQL's notifications do.
    fn watch_work(&self, wake: WorkWaker) {
        self.sim.add_waker(wake);
    }
}

impl InspectStore for FaultyStore {
    fn query_instances<'a>(
        &'a self,
        query: &'a InstanceQuery,
        page_size: usize,
        continuation: Option<&'a str>,
    ) -> StoreFuture<'a, InstancePage> {
        self.call("query_instances", false, move || {
            self.inner.query_instances(query, page_size, continuation)
        })
    }

    fn count_instances<'a>(
        &'a self,
        query: &'a InstanceQuery,
    ) -> StoreFuture<'a, Vec<(RuntimeStatus, u64)>> {
        self.call("count_instances", false, move || {
            self.inner.count_instances(query)
        })
    }

    fn instance_work<'a>(&'a self, id: &'a InstanceId) -> StoreFuture<'a, InstanceWork> {
        self.call("instance_work", false, move || self.inner.instance_work(id))
    }

    fn hub_health(&self, now: DateTime<Utc>) -> StoreFuture<'_, HubHealth> {
        self.call("hub_health", false, move || self.inner.hub_health(now))
    }
}
