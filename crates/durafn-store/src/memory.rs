//! An in-memory task hub: the reference implementation of the contract, for tests and for
//! apps that need no durability.
//!
//! It is deterministic: ids count up and lock tokens are [sequential](LockTokens::sequential),
//! so the same calls in the same order give the same answers on every run (a simulation of the
//! runtime over this store can be replayed from its seed).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use durafn_core::{HistoryEvent, InstanceId, RuntimeStatus};

mod inspect;

use crate::error::StoreError;
use crate::kit::{self, LockTokens, decode_continuation};
use crate::model::{
    ActivityId, ActivityWorkItem, Committed, HistoryChange, InstanceFilter, InstancePage,
    InstanceRecord, LockToken, MessageId, NewActivity, NewInstance, NewMessage,
    OrchestrationWorkItem, QueuedMessage, TurnCommit,
};
use crate::{
    ActivityCompletion, ActivityQueue, AdminStore, ClaimedStart, Completed, Durable, FetchRequest,
    InstanceClaim, InstanceStore, OrchestrationQueue, StoreFuture,
};

struct StoredMessage {
    instance_id: InstanceId,
    execution_id: Option<durafn_core::ExecutionId>,
    event: HistoryEvent,
    visible_at: DateTime<Utc>,
    delivery: u32,
}

struct StoredActivity {
    activity: NewActivity,
    visible_at: DateTime<Utc>,
    lease: Option<(LockToken, DateTime<Utc>)>,
    /// Who took the last lease (shown by [`crate::InspectStore`]).
    lease_owner: String,
    delivery: u32,
}

#[derive(Default)]
struct Inner {
    instances: HashMap<InstanceId, InstanceRecord>,
    history: HashMap<InstanceId, Vec<HistoryEvent>>,
    messages: BTreeMap<i64, StoredMessage>,
    locks: HashMap<InstanceId, (LockToken, DateTime<Utc>)>,
    /// Who took each instance's last lease (shown by [`crate::InspectStore`]).
    lock_owners: HashMap<InstanceId, String>,
    activities: BTreeMap<i64, StoredActivity>,
    next_id: i64,
}

/// A task hub held in memory; everything is lost when the process ends.
pub struct MemoryStore {
    inner: Mutex<Inner>,
    tokens: LockTokens,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self {
            inner: Mutex::default(),
            tokens: LockTokens::sequential("mem"),
        }
    }
}

impl MemoryStore {
    /// An empty task hub.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let mut guard = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }
}

fn ready<'a, T: Send + 'a>(value: Result<T, StoreError>) -> StoreFuture<'a, T> {
    Box::pin(std::future::ready(value))
}

/// Whether the planted bug that commits a turn whose lease was lost is on.
fn commit_without_lease_planted() -> bool {
    #[cfg(durafn_mutation)]
    if crate::mutation::planted("commit_without_lease") {
        return true;
    }
    false
}

impl Inner {
    fn id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    fn enqueue(&mut self, m: NewMessage) {
        let id = self.id();
        self.messages.insert(
            id,
            StoredMessage {
                instance_id: m.instance_id,
                execution_id: m.execution_id,
                visible_at: m.visible_at.unwrap_or(DateTime::<Utc>::MIN_UTC),
                event: m.event,
                delivery: 0,
            },
        );
    }

    fn remove_instance_data(&mut self, id: &InstanceId) {
        self.history.remove(id);
        self.messages.retain(|_, m| &m.instance_id != id);
        self.activities.retain(|_, a| &a.activity.instance_id != id);
        self.locks.remove(id);
        self.lock_owners.remove(id);
    }

    fn create(&mut self, ni: NewInstance) -> Result<(), StoreError> {
        if let Some(existing) = self.instances.get(&ni.instance_id) {
            if !existing.status.is_terminal() {
                return Err(StoreError::InstanceExists {
                    instance_id: ni.instance_id,
                    status: existing.status,
                });
            }
        }
        self.remove_instance_data(&ni.instance_id);
        let started = ni.started_event();
        self.instances.insert(
            ni.instance_id.clone(),
            InstanceRecord {
                instance_id: ni.instance_id.clone(),
                name: ni.name,
                execution_id: ni.execution_id,
                status: RuntimeStatus::Pending,
                input: ni.input,
                output: None,
                failure: None,
                custom_status: None,
                created_at: ni.created_at,
                last_updated_at: ni.created_at,
                parent: ni.parent,
                history_len: 0,
                version: ni.version,
                trace_context: ni.trace_context,
            },
        );
        self.enqueue(NewMessage {
            instance_id: ni.instance_id,
            execution_id: None,
            event: started,
            visible_at: None,
        });
        Ok(())
    }

    /// Leases an instance (whose lease is free) to `owner` until `until` and returns it with its
    /// messages visible at `now`, each counted as delivered once more.
    fn lease(
        &mut self,
        instance_id: InstanceId,
        tokens: &LockTokens,
        owner: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> OrchestrationWorkItem {
        let lock = tokens.next(owner);
        self.locks
            .insert(instance_id.clone(), (lock.clone(), until));
        self.lock_owners
            .insert(instance_id.clone(), owner.to_string());
        let messages = self
            .messages
            .iter_mut()
            .filter(|(_, m)| m.instance_id == instance_id && m.visible_at <= now)
            .map(|(id, m)| {
                m.delivery += 1;
                QueuedMessage {
                    id: MessageId(*id),
                    execution_id: m.execution_id.clone(),
                    event: m.event.clone(),
                    delivery: m.delivery,
                }
            })
            .collect();
        OrchestrationWorkItem {
            instance: self.instances.get(&instance_id).cloned(),
            instance_id,
            messages,
            lock,
        }
    }

    /// Leases an instance for a claimant unless a live lease holds it or none of its messages is
    /// visible.
    fn claim(
        &mut self,
        instance_id: InstanceId,
        claim: &InstanceClaim,
        tokens: &LockTokens,
    ) -> Option<OrchestrationWorkItem> {
        let held = self
            .locks
            .get(&instance_id)
            .is_some_and(|(_, until)| *until > claim.now);
        let visible = self
            .messages
            .values()
            .any(|m| m.instance_id == instance_id && m.visible_at <= claim.now);
        (!held && visible)
            .then(|| self.lease(instance_id, tokens, &claim.owner, claim.until, claim.now))
    }

    fn commit(&mut self, c: TurnCommit, tokens: &LockTokens) -> Result<Committed, StoreError> {
        match self.locks.get(&c.instance_id) {
            Some((token, _)) if *token == c.lock => {}
            _ if commit_without_lease_planted() => {}
            _ => {
                return Err(StoreError::LockLost(format!(
                    "instance '{}'",
                    c.instance_id
                )));
            }
        }
        for id in &c.consumed {
            self.messages.remove(&id.0);
        }
        let targets = kit::turn_targets(&c);
        let claim_turns = c.claim_turns.clone();
        let history = self.history.entry(c.instance_id.clone()).or_default();
        match c.history {
            HistoryChange::Append(events) => history.extend(events),
            HistoryChange::Replace(events) => *history = events,
        }
        let history_len = history.len() as u64;
        if let Some(u) = c.update {
            // An upsert: an entity's row is created by its first turn.
            let row = self
                .instances
                .entry(c.instance_id.clone())
                .or_insert_with(|| InstanceRecord {
                    instance_id: c.instance_id.clone(),
                    name: u.name.clone(),
                    execution_id: u.execution_id.clone(),
                    status: u.status,
                    input: u.input.clone(),
                    output: None,
                    failure: None,
                    custom_status: None,
                    created_at: u.last_updated_at,
                    last_updated_at: u.last_updated_at,
                    parent: None,
                    history_len: 0,
                    version: None,
                    trace_context: None,
                });
            {
                row.status = u.status;
                row.name = u.name;
                row.execution_id = u.execution_id;
                row.input = u.input;
                row.output = u.output;
                row.failure = u.failure;
                row.custom_status = u.custom_status;
                row.last_updated_at = u.last_updated_at;
                row.history_len = history_len;
            }
        }
        let mut committed = Committed::default();
        let claim = c.claim.as_ref();
        for (n, activity) in c.activities.into_iter().enumerate() {
            let id = self.id();
            let mut stored = StoredActivity {
                activity,
                visible_at: DateTime::<Utc>::MIN_UTC,
                lease: None,
                lease_owner: String::new(),
                delivery: 0,
            };
            if let Some(claim) = claim.filter(|k| n < k.max_items) {
                let lock = tokens.next(&claim.owner);
                stored.lease = Some((lock.clone(), claim.until));
                stored.lease_owner.clone_from(&claim.owner);
                stored.delivery = 1;
                committed.claimed.push(ActivityWorkItem::claimed(
                    ActivityId(id),
                    stored.activity.clone(),
                    lock,
                ));
            }
            self.activities.insert(id, stored);
        }
        for m in c.messages {
            self.enqueue(m);
        }
        for child in c.sub_orchestrations {
            let parent = child.parent.clone();
            let created_at = child.created_at;
            if let Err(StoreError::InstanceExists {
                instance_id,
                status,
            }) = self.create(child)
            {
                if let Some(parent) = parent {
                    self.enqueue(kit::child_refused(
                        &parent,
                        &instance_id,
                        status,
                        created_at,
                    ));
                }
            }
        }
        self.locks.remove(&c.instance_id);
        if let Some(claim) = claim_turns {
            for id in targets {
                committed.turns.extend(self.claim(id, &claim.lease, tokens));
            }
        }
        Ok(committed)
    }
}

impl InstanceStore for MemoryStore {
    fn create_instance(&self, instance: NewInstance) -> StoreFuture<'_, ()> {
        ready(self.with(|s| s.create(instance)))
    }

    fn create_and_claim(
        &self,
        instance: NewInstance,
        claim: InstanceClaim,
    ) -> StoreFuture<'_, ClaimedStart> {
        ready(self.with(|s| {
            let id = instance.instance_id.clone();
            s.create(instance)?;
            Ok(ClaimedStart {
                turn: s.claim(id, &claim, &self.tokens),
                durable: Durable::already(),
            })
        }))
    }

    fn get_instance<'a>(&'a self, id: &'a InstanceId) -> StoreFuture<'a, Option<InstanceRecord>> {
        ready(Ok(self.with(|s| s.instances.get(id).cloned())))
    }

    fn get_history<'a>(&'a self, id: &'a InstanceId) -> StoreFuture<'a, Vec<HistoryEvent>> {
        ready(Ok(
            self.with(|s| s.history.get(id).cloned().unwrap_or_default())
        ))
    }

    fn get_histories<'a>(
        &'a self,
        ids: &'a [InstanceId],
    ) -> StoreFuture<'a, Vec<Vec<HistoryEvent>>> {
        ready(Ok(self.with(|s| {
            ids.iter()
                .map(|id| s.history.get(id).cloned().unwrap_or_default())
                .collect()
        })))
    }

    fn send_messages(&self, messages: Vec<NewMessage>) -> StoreFuture<'_, ()> {
        self.with(|s| {
            for m in messages {
                s.enqueue(m);
            }
        });
        ready(Ok(()))
    }
}

impl OrchestrationQueue for MemoryStore {
    fn fetch_orchestration_work(
        &self,
        r: FetchRequest,
    ) -> StoreFuture<'_, Vec<OrchestrationWorkItem>> {
        ready(Ok(self.with(|s| {
            let mut chosen: Vec<InstanceId> = Vec::new();
            for m in s.messages.values() {
                if chosen.len() >= r.max_items {
                    break;
                }
                if m.visible_at > r.now || chosen.contains(&m.instance_id) {
                    continue;
                }
                let locked = s
                    .locks
                    .get(&m.instance_id)
                    .is_some_and(|(_, until)| *until > r.now);
                if !locked {
                    chosen.push(m.instance_id.clone());
                }
            }
            chosen
                .into_iter()
                .map(|id| s.lease(id, &self.tokens, &r.owner, r.now + r.lease, r.now))
                .collect()
        })))
    }

    fn commit_turns(
        &self,
        commits: Vec<TurnCommit>,
    ) -> StoreFuture<'_, Vec<Result<Committed, StoreError>>> {
        ready(Ok(self.with(|s| {
            commits
                .into_iter()
                .map(|c| s.commit(c, &self.tokens))
                .collect()
        })))
    }

    fn abandon_orchestration<'a>(
        &'a self,
        instance_id: &'a InstanceId,
        lock: &'a LockToken,
        retry_at: Option<DateTime<Utc>>,
    ) -> StoreFuture<'a, ()> {
        ready(self.with(|s| match s.locks.get(instance_id) {
            Some((token, _)) if token == lock => {
                s.locks.remove(instance_id);
                if let Some(at) = retry_at {
                    for m in s
                        .messages
                        .values_mut()
                        .filter(|m| &m.instance_id == instance_id)
                    {
                        m.visible_at = m.visible_at.max(at);
                    }
                }
                Ok(())
            }
            _ => Err(StoreError::LockLost(format!("instance '{instance_id}'"))),
        }))
    }
}

impl ActivityQueue for MemoryStore {
    fn fetch_activity_work(&self, r: FetchRequest) -> StoreFuture<'_, Vec<ActivityWorkItem>> {
        ready(Ok(self.with(|s| {
            let ids: Vec<i64> = s
                .activities
                .iter()
                .filter(|(_, a)| {
                    a.visible_at <= r.now
                        && a.lease.as_ref().is_none_or(|(_, until)| *until <= r.now)
                })
                .map(|(id, _)| *id)
                .take(r.max_items)
                .collect();
            let mut items = Vec::with_capacity(ids.len());
            for id in ids {
                let lock = self.tokens.next(&r.owner);
                if let Some(a) = s.activities.get_mut(&id) {
                    let expired_lease = a.lease.as_ref().map(|(_, until)| *until);
                    a.lease = Some((lock.clone(), r.now + r.lease));
                    a.lease_owner.clone_from(&r.owner);
                    a.delivery += 1;
                    items.push(ActivityWorkItem {
                        id: ActivityId(id),
                        activity: a.activity.clone(),
                        delivery: a.delivery,
                        expired_lease,
                        lock,
                    });
                }
            }
            items
        })))
    }

    fn complete_activities(
        &self,
        completions: Vec<ActivityCompletion>,
    ) -> StoreFuture<'_, Vec<Result<Completed, StoreError>>> {
        ready(Ok(self.with(|s| {
            let mut results: Vec<Result<Completed, StoreError>> = completions
                .iter()
                .map(|c| {
                    let owned = s
                        .activities
                        .get(&c.id.0)
                        .and_then(|a| a.lease.as_ref())
                        .is_some_and(|(token, _)| *token == c.lock);
                    if !owned {
                        return Err(StoreError::LockLost(format!(
                            "activity work item {}",
                            c.id.0
                        )));
                    }
                    s.activities.remove(&c.id.0);
                    s.enqueue(c.result.clone());
                    Ok(Completed::default())
                })
                .collect();
            for (index, claim) in kit::turn_carriers(&completions, |i| results[i].is_ok()) {
                let target = completions[index].result.instance_id.clone();
                let turn = s.claim(target, claim, &self.tokens);
                if let Ok(done) = &mut results[index] {
                    done.turn = turn;
                }
            }
            results
        })))
    }

    fn abandon_activity<'a>(
        &'a self,
        id: ActivityId,
        lock: &'a LockToken,
        retry_at: Option<DateTime<Utc>>,
    ) -> StoreFuture<'a, ()> {
        ready(self.with(|s| match s.activities.get_mut(&id.0) {
            Some(a) if a.lease.as_ref().is_some_and(|(t, _)| t == lock) => {
                a.lease = None;
                if let Some(at) = retry_at {
                    a.visible_at = at;
                }
                Ok(())
            }
            _ => Err(StoreError::LockLost(format!("activity work item {}", id.0))),
        }))
    }

    fn renew_activity_leases(
        &self,
        leases: Vec<(ActivityId, LockToken)>,
        until: DateTime<Utc>,
    ) -> StoreFuture<'_, Vec<ActivityId>> {
        ready(Ok(self.with(|s| {
            leases
                .into_iter()
                .filter_map(|(id, lock)| {
                    let a = s.activities.get_mut(&id.0)?;
                    match &mut a.lease {
                        Some((token, expiry)) if *token == lock => {
                            *expiry = until;
                            Some(id)
                        }
                        _ => None,
                    }
                })
                .collect()
        })))
    }
}

impl AdminStore for MemoryStore {
    fn list_instances<'a>(
        &'a self,
        filter: &'a InstanceFilter,
        page_size: usize,
        continuation: Option<&'a str>,
    ) -> StoreFuture<'a, InstancePage> {
        let after = match continuation.map(decode_continuation).transpose() {
            Ok(after) => after,
            Err(e) => return ready(Err(e)),
        };
        ready(Ok(self.with(|s| {
            let mut matching: Vec<&InstanceRecord> = s
                .instances
                .values()
                .filter(|r| filter.matches(r))
                .filter(|r| {
                    after.as_ref().is_none_or(|(at, id)| {
                        (r.created_at, r.instance_id.as_str()) > (*at, id.as_str())
                    })
                })
                .collect();
            matching.sort_by(|a, b| {
                (a.created_at, &a.instance_id).cmp(&(b.created_at, &b.instance_id))
            });
            let rows = matching
                .into_iter()
                .take(kit::page_rows(page_size))
                .cloned()
                .collect();
            kit::page(rows, page_size)
        })))
    }

    fn purge_instance<'a>(&'a self, id: &'a InstanceId) -> StoreFuture<'a, bool> {
        ready(self.with(|s| {
            let found = kit::purge_check(id, s.instances.get(id).map(|r| r.status))?;
            if found {
                s.instances.remove(id);
                s.remove_instance_data(id);
            }
            Ok(found)
        }))
    }

    fn purge_instances<'a>(&'a self, filter: &'a InstanceFilter) -> StoreFuture<'a, u64> {
        let statuses = kit::purgeable_statuses(filter);
        ready(Ok(self.with(|s| {
            let ids: Vec<InstanceId> = s
                .instances
                .values()
                .filter(|r| statuses.contains(&r.status) && filter.matches(r))
                .map(|r| r.instance_id.clone())
                .collect();
            for id in &ids {
                s.instances.remove(id);
                s.remove_instance_data(id);
            }
            ids.len() as u64
        })))
    }

    fn next_visible_at(&self, now: DateTime<Utc>) -> StoreFuture<'_, Option<DateTime<Utc>>> {
        ready(Ok(self.with(|s| {
            let messages = s.messages.values().map(|m| m.visible_at);
            let activities = s.activities.values().map(|a| a.visible_at);
            messages.chain(activities).filter(|t| *t > now).min()
        })))
    }

    fn count_by_status(&self) -> StoreFuture<'_, Vec<(RuntimeStatus, u64)>> {
        ready(Ok(self.with(|s| {
            kit::status_counts(s.instances.values().map(|r| (r.status, 1)))
        })))
    }
}
