//! The storage contract of a durafn task hub.
//!
//! A task hub holds, per instance, a row (status, input, output, custom status), the history of
//! the current execution, and two queues: orchestration *messages* addressed to instances (new
//! executions, activity results, timers, external events, operator requests) and *activity work
//! items*. Backends implement five narrow traits, one per concern (the fifth, [`InspectStore`],
//! answers operators' read-only questions), and [`Store`] is their union.
//!
//! # The contract
//!
//! 1. **One atomic commit per orchestration turn.** [`OrchestrationQueue::commit_turns`] applies a
//!    [`TurnCommit`] entirely or not at all: consumed messages are deleted, history is appended (or
//!    replaced), the instance row is updated, and new activity work items, messages and
//!    sub-orchestrations are enqueued. Several turns may be committed in one backend transaction
//!    (group commit); each still succeeds or fails on its own.
//! 2. **Leases.** Fetching work locks it for the fetcher until `now + lease` under a fresh
//!    [`LockToken`]. Orchestration work is locked per *instance*: while one fetcher holds an
//!    instance, no other fetcher receives any of its messages, so an instance runs one turn at a
//!    time anywhere. A commit, completion, renewal or abandon with a token that is no longer
//!    current fails with [`StoreError::LockLost`] and changes nothing. An expired lease makes the
//!    work fetchable again. A turn's commit may take the first lease of the activity work items
//!    it creates for the committing host ([`TurnCommit::claim`]), exactly as a fetch right after
//!    the commit would, so a host runs the activities its own turns schedule without a fetch;
//!    likewise an activity's completion may lease the instance its result goes to
//!    ([`ActivityCompletion::claim`]), so the host runs the next turn without a fetch.
//! 3. **Delivery counts.** Every fetch of a message or activity work item counts a delivery; the
//!    runtime dead-letters work delivered more than its configured limit, failing the activity (or
//!    the instance) with a clear error instead of looping forever.
//! 4. **Visibility.** A message with `visible_at` in the future (a durable timer) is not fetched
//!    before then. Messages of one instance are delivered oldest first.
//! 5. **Delivery guarantees.** Orchestration state transitions are exactly-once: a turn's effects
//!    are committed together with the deletion of the messages it consumed. Activities are
//!    at-least-once: a host that crashes after running an activity but before
//!    [`ActivityQueue::complete_activities`] commits will see it run again elsewhere once the lease
//!    expires. Activities should therefore be idempotent.
//! 6. **Durability.** A successful call has been made durable according to the backend's stated
//!    durability level (see each backend's docs).
//!
//! Time is always passed in (`now`), never read by a store, so the contract is testable without
//! waiting. The conformance suite (module `conformance`, feature `conformance`) holds every
//! backend to this contract, one module per clause. What every backend does the same way
//! (listing pages, purge rules, status counts, lock tokens) is in the backend [`kit`].

pub mod counting;
mod error;
pub mod inspect;
pub mod kit;
pub mod memory;
mod model;
#[cfg(durafn_mutation)]
pub mod mutation;

#[cfg(feature = "conformance")]
pub mod conformance;

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, TimeDelta, Utc};
use durafn_core::{HistoryEvent, InstanceId, RuntimeStatus};

pub use error::{BackendSource, StoreError};
pub use inspect::InspectStore;
pub use kit::{decode_continuation, encode_continuation};
pub use model::{
    ActivityClaim, ActivityId, ActivityWorkItem, Committed, HistoryChange, InstanceFilter,
    InstancePage, InstanceRecord, InstanceUpdate, LockToken, MessageId, NewActivity, NewInstance,
    NewMessage, OrchestrationWorkItem, QueuedMessage, TurnClaim, TurnCommit,
};

/// Which kind of work a store saw become available.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkKind {
    /// Orchestration (or entity) messages.
    Orchestrations,
    /// Activity work items.
    Activities,
}

/// What a store calls when work becomes available from elsewhere (another host).
pub type WorkWaker = std::sync::Arc<dyn Fn(WorkKind) + Send + Sync>;

/// The future every store method returns (boxed, so stores can be used as `dyn Store`).
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// What to fetch and under which lease.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchRequest {
    /// Who takes the lease (a host id), for diagnostics.
    pub owner: String,
    /// At most this many work items (instances, or activity items).
    pub max_items: usize,
    /// How long the lease lasts.
    pub lease: TimeDelta,
    /// The current time.
    pub now: DateTime<Utc>,
}

/// An activity's result, delivered to its orchestration as a message.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityCompletion {
    /// The work item.
    pub id: ActivityId,
    /// Its lease.
    pub lock: LockToken,
    /// `TaskCompleted` or `TaskFailed` for the scheduling instance.
    pub result: NewMessage,
    /// Lease the result's instance to the completing host and return it with its messages, so
    /// the host runs the turn the result triggers without fetching it (`None`: only enqueue).
    pub claim: Option<InstanceClaim>,
}

/// Asks an activity's completion (or a start, [`InstanceStore::create_and_claim`]) to lease the
/// instance its result goes to, in the same transaction, exactly as a fetch right after it
/// would: the in-process hand-off of the next turn. A completion's claim is declined (no work
/// item) when another fetcher holds the instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceClaim {
    /// Who takes the lease (a host id).
    pub owner: String,
    /// When the lease ends.
    pub until: DateTime<Utc>,
    /// The current time: messages visible by then come with the work item.
    pub now: DateTime<Utc>,
}

/// What a claiming start hands back ([`InstanceStore::create_and_claim`]).
pub struct ClaimedStart {
    /// The first turn, leased to the claimant; `None` when another fetcher holds the id.
    pub turn: Option<OrchestrationWorkItem>,
    /// When the creation is durable. The turn may run before then: a store that hands it back
    /// early keeps the turn's commit after the creation's, so no power loss can keep the turn
    /// and lose the creation, and the turn's commit waits for its own durability as always.
    /// Only the start's caller is told of the instance after this resolves.
    pub durable: Durable,
}

impl std::fmt::Debug for ClaimedStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClaimedStart")
            .field("turn", &self.turn)
            .finish_non_exhaustive()
    }
}

/// Resolves once a commit is on stable storage: at once for a store whose commits are durable
/// when they return, later for one that hands a result back before its flush (the SQLite
/// store's claimed start, which shares the flush of the first turn's commit instead of waiting
/// for one of its own).
pub struct Durable(Option<StoreFuture<'static, ()>>);

impl Durable {
    /// A commit that was durable when it returned.
    pub fn already() -> Self {
        Self(None)
    }

    /// A commit that is durable once `flushed` resolves (with the flush's error, if any).
    pub fn after(flushed: impl Future<Output = Result<(), StoreError>> + Send + 'static) -> Self {
        Self(Some(Box::pin(flushed)))
    }

    /// Waits until the commit is durable.
    pub async fn wait(self) -> Result<(), StoreError> {
        match self.0 {
            None => Ok(()),
            Some(flushed) => flushed.await,
        }
    }
}

/// What a recorded activity result hands back.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Completed {
    /// The result's instance, leased to the completing host with every message visible to it
    /// (see [`ActivityCompletion::claim`]). When several completions of one call claim the same
    /// instance, the first that got it carries it, with all their results.
    pub turn: Option<OrchestrationWorkItem>,
}

/// Instances, their history, and messages sent to them from outside a turn.
pub trait InstanceStore: Send + Sync {
    /// Creates an instance in status Pending together with its `ExecutionStarted` message,
    /// atomically. If the id exists and is not terminal, fails with
    /// [`StoreError::InstanceExists`]; a terminal instance is replaced (its history, messages and
    /// activity work items are deleted).
    fn create_instance(&self, instance: NewInstance) -> StoreFuture<'_, ()>;

    /// Creates an instance as [`create_instance`](Self::create_instance) does and, in the same
    /// transaction, leases it to the claimant and returns it with its `ExecutionStarted`
    /// message, exactly as a fetch right after the creation would: the in-process hand-off of
    /// its first turn, so the host that starts an instance runs it without fetching it. `None`
    /// when another fetcher still holds the id's lease (messages to the instance it replaced):
    /// the instance is created all the same, and its first turn is fetched. The creation may be
    /// handed back before it is durable ([`ClaimedStart::durable`] says when it is).
    fn create_and_claim(
        &self,
        instance: NewInstance,
        claim: InstanceClaim,
    ) -> StoreFuture<'_, ClaimedStart>;

    /// The instance row.
    fn get_instance<'a>(&'a self, id: &'a InstanceId) -> StoreFuture<'a, Option<InstanceRecord>>;

    /// The history of the instance's current execution, in order (empty if unknown).
    fn get_history<'a>(&'a self, id: &'a InstanceId) -> StoreFuture<'a, Vec<HistoryEvent>>;

    /// The histories of several instances, one per id and in the order of `ids` (empty for an
    /// unknown instance; an id given twice gets its history twice). The runtime loads every
    /// history a batch of turns needs with one call, so a backend should answer it in one round
    /// trip; the default asks [`get_history`](Self::get_history) once per id.
    fn get_histories<'a>(
        &'a self,
        ids: &'a [InstanceId],
    ) -> StoreFuture<'a, Vec<Vec<HistoryEvent>>> {
        Box::pin(async move {
            let mut histories = Vec::with_capacity(ids.len());
            for id in ids {
                histories.push(self.get_history(id).await?);
            }
            Ok(histories)
        })
    }

    /// Enqueues messages (raised events, terminate, suspend, resume and rewind requests).
    fn send_messages(&self, messages: Vec<NewMessage>) -> StoreFuture<'_, ()>;
}

/// The orchestration work queue.
pub trait OrchestrationQueue: Send + Sync {
    /// Locks up to `max_items` instances that have visible messages and no current lease, and
    /// returns each with its visible messages.
    fn fetch_orchestration_work(
        &self,
        request: FetchRequest,
    ) -> StoreFuture<'_, Vec<OrchestrationWorkItem>>;

    /// Commits turns (see the contract). Returns one result per commit, in order; the lease of
    /// each committed instance is released. A commit with a [`claim`](TurnCommit::claim) leases
    /// up to that many of its new activity work items to the claimant in the same transaction
    /// and returns them in [`Committed::claimed`].
    fn commit_turns(
        &self,
        commits: Vec<TurnCommit>,
    ) -> StoreFuture<'_, Vec<Result<Committed, StoreError>>>;

    /// Releases an instance's lease without consuming anything; its messages become fetchable
    /// again at `retry_at` (or now).
    fn abandon_orchestration<'a>(
        &'a self,
        instance_id: &'a InstanceId,
        lock: &'a LockToken,
        retry_at: Option<DateTime<Utc>>,
    ) -> StoreFuture<'a, ()>;
}

/// The activity work queue.
pub trait ActivityQueue: Send + Sync {
    /// Locks and returns up to `max_items` activity work items that are visible and not leased.
    fn fetch_activity_work(&self, request: FetchRequest) -> StoreFuture<'_, Vec<ActivityWorkItem>>;

    /// Deletes finished work items and enqueues their results, each atomically. Returns one
    /// result per completion, in order; a completion with a [`claim`](ActivityCompletion::claim)
    /// may come back with its instance leased to the claimant ([`Completed::turn`]).
    fn complete_activities(
        &self,
        completions: Vec<ActivityCompletion>,
    ) -> StoreFuture<'_, Vec<Result<Completed, StoreError>>>;

    /// Releases a work item's lease; it becomes fetchable again at `retry_at` (or now).
    fn abandon_activity<'a>(
        &'a self,
        id: ActivityId,
        lock: &'a LockToken,
        retry_at: Option<DateTime<Utc>>,
    ) -> StoreFuture<'a, ()>;

    /// Extends the leases of work items still running. Items whose lease was lost are skipped;
    /// returns the ids that were renewed.
    fn renew_activity_leases(
        &self,
        leases: Vec<(ActivityId, LockToken)>,
        until: DateTime<Utc>,
    ) -> StoreFuture<'_, Vec<ActivityId>>;
}

/// Queries and maintenance.
pub trait AdminStore: Send + Sync {
    /// Instances matching `filter`, ordered by (created time, instance id), one page at a time.
    fn list_instances<'a>(
        &'a self,
        filter: &'a InstanceFilter,
        page_size: usize,
        continuation: Option<&'a str>,
    ) -> StoreFuture<'a, InstancePage>;

    /// Deletes a terminal instance with its history and queued work. `Ok(false)` if unknown;
    /// [`StoreError::NotTerminal`] if it is still active.
    fn purge_instance<'a>(&'a self, id: &'a InstanceId) -> StoreFuture<'a, bool>;

    /// Deletes every terminal instance matching `filter`; returns how many.
    fn purge_instances<'a>(&'a self, filter: &'a InstanceFilter) -> StoreFuture<'a, u64>;

    /// The earliest time at which a message or activity work item that is not visible yet
    /// becomes visible (the next durable timer), so dispatchers can sleep until then.
    fn next_visible_at(&self, now: DateTime<Utc>) -> StoreFuture<'_, Option<DateTime<Utc>>>;

    /// How many instances are in each status (for metrics).
    fn count_by_status(&self) -> StoreFuture<'_, Vec<(RuntimeStatus, u64)>>;

    /// Asks to be told when work becomes available from another host, so dispatchers need not
    /// poll for it. Stores that cannot tell ignore this (the default) and the runtime polls with
    /// backoff; work made in-process wakes the dispatchers directly either way.
    fn watch_work(&self, _wake: WorkWaker) {}
}

/// A complete task hub backend.
pub trait Store:
    InstanceStore + OrchestrationQueue + ActivityQueue + AdminStore + InspectStore
{
}

impl<T: InstanceStore + OrchestrationQueue + ActivityQueue + AdminStore + InspectStore> Store
    for T
{
}
