//! The records a task hub keeps and the changes it applies.

use chrono::{DateTime, Utc};
use durafn_core::{
    EventId, ExecutionId, FailureDetails, HistoryEvent, InstanceId, ParentInstance, Payload,
    RuntimeStatus, TraceContext,
};
use serde::{Deserialize, Serialize};

/// Identifies a queued orchestration message within a task hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MessageId(pub i64);

/// Identifies a queued activity work item within a task hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ActivityId(pub i64);

/// Proves that the holder of a work item still owns its lease. A store refuses changes made
/// with a token that is no longer current (the lease expired and someone else took the work).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LockToken(pub String);

/// The stored row of an instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceRecord {
    /// The instance.
    pub instance_id: InstanceId,
    /// Its orchestrator function.
    pub name: String,
    /// The current execution.
    pub execution_id: ExecutionId,
    /// The runtime status.
    pub status: RuntimeStatus,
    /// The current execution's input.
    pub input: Payload,
    /// The output (Completed), or the reason (Terminated).
    pub output: Option<Payload>,
    /// Why it failed (Failed).
    pub failure: Option<FailureDetails>,
    /// The custom status the code set last.
    pub custom_status: Option<Payload>,
    /// When the instance was created (kept across continue-as-new; reset by a new start).
    pub created_at: DateTime<Utc>,
    /// When the row last changed.
    pub last_updated_at: DateTime<Utc>,
    /// The parent, for sub-orchestrations.
    pub parent: Option<ParentInstance>,
    /// The number of history events of the current execution; a cached executor that has seen
    /// fewer is stale.
    pub history_len: u64,
    /// The version it was started with, kept across continue-as-new.
    #[serde(default)]
    pub version: Option<String>,
    /// The trace context of the request that started it.
    #[serde(default)]
    pub trace_context: Option<TraceContext>,
}

/// A request to create an instance.
#[derive(Debug, Clone, PartialEq)]
pub struct NewInstance {
    /// The instance id.
    pub instance_id: InstanceId,
    /// The orchestrator function.
    pub name: String,
    /// The first execution's id.
    pub execution_id: ExecutionId,
    /// The input.
    pub input: Payload,
    /// The parent, for sub-orchestrations.
    pub parent: Option<ParentInstance>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// The version to start it with (shown in its status; `None` for none).
    pub version: Option<String>,
    /// The trace context of the request that starts it.
    pub trace_context: Option<TraceContext>,
}

impl NewInstance {
    /// The `ExecutionStarted` event that starts this instance.
    pub fn started_event(&self) -> HistoryEvent {
        HistoryEvent::new(
            self.created_at,
            durafn_core::EventKind::ExecutionStarted {
                name: self.name.clone(),
                instance_id: self.instance_id.clone(),
                execution_id: self.execution_id.clone(),
                input: self.input.clone(),
                parent: self.parent.clone(),
                version: self.version.clone(),
                parent_trace_context: self.trace_context.clone(),
            },
        )
    }
}

/// A message to enqueue for an instance.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    /// The receiving instance.
    pub instance_id: InstanceId,
    /// The execution the message answers (activity results, timers, sub-orchestration results);
    /// `None` for messages to whichever execution is current (events, operator requests). The
    /// runtime drops a message whose execution has ended (after continue-as-new or a restart).
    pub execution_id: Option<ExecutionId>,
    /// The event to deliver (it becomes part of the receiver's history when consumed).
    pub event: HistoryEvent,
    /// Not delivered before this time (durable timers); `None` means now.
    pub visible_at: Option<DateTime<Utc>>,
}

/// A message waiting for its instance, as fetched.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedMessage {
    /// Its id, to consume it on commit.
    pub id: MessageId,
    /// The execution it is for, as enqueued.
    pub execution_id: Option<ExecutionId>,
    /// The event.
    pub event: HistoryEvent,
    /// How many times it has been fetched, this time included.
    pub delivery: u32,
}

/// An instance with messages to process, locked for the fetcher.
#[derive(Debug, Clone, PartialEq)]
pub struct OrchestrationWorkItem {
    /// The instance row as it was when locked; `None` when messages arrived for an instance
    /// that does not exist (they are consumed and dropped).
    pub instance: Option<InstanceRecord>,
    /// The instance id.
    pub instance_id: InstanceId,
    /// Visible messages, oldest first.
    pub messages: Vec<QueuedMessage>,
    /// The lease.
    pub lock: LockToken,
}

/// An activity to run.
#[derive(Debug, Clone, PartialEq)]
pub struct NewActivity {
    /// The orchestration that scheduled it.
    pub instance_id: InstanceId,
    /// Its execution.
    pub execution_id: ExecutionId,
    /// The `TaskScheduled` event id.
    pub task_id: EventId,
    /// The activity function.
    pub name: String,
    /// Its input.
    pub input: Payload,
    /// The trace context of the orchestration's client span for this call, so each attempt's
    /// server span is its child, on whichever host it runs.
    pub trace_context: Option<TraceContext>,
}

/// An activity work item, locked for the fetcher.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityWorkItem {
    /// The item id.
    pub id: ActivityId,
    /// What to run.
    pub activity: NewActivity,
    /// How many times it has been handed out, this time included.
    pub delivery: u32,
    /// When the lease of the previous delivery ran out, if it ran out rather than being given
    /// back: the host holding it stopped renewing (it died or lost the store). The runtime
    /// reports that lost attempt's span from it, since the dead host never could.
    pub expired_lease: Option<DateTime<Utc>>,
    /// The lease.
    pub lock: LockToken,
}

impl ActivityWorkItem {
    /// An item a commit leased to the committing host as it created it (a claim): its first
    /// delivery, after no lease, exactly as a fetch right after the commit would return it.
    pub fn claimed(id: ActivityId, activity: NewActivity, lock: LockToken) -> Self {
        Self {
            id,
            activity,
            delivery: 1,
            expired_lease: None,
            lock,
        }
    }
}

/// How a turn changes an instance's history.
#[derive(Debug, Clone, PartialEq)]
pub enum HistoryChange {
    /// Append events to the current execution.
    Append(Vec<HistoryEvent>),
    /// Replace the whole history (continue-as-new starts empty; rewind rewrites it).
    Replace(Vec<HistoryEvent>),
}

/// The new state of the instance row after a turn.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceUpdate {
    /// The runtime status.
    pub status: RuntimeStatus,
    /// The orchestrator name (set by the first turn of a start).
    pub name: String,
    /// The current execution.
    pub execution_id: ExecutionId,
    /// The current execution's input.
    pub input: Payload,
    /// The output (Completed) or reason (Terminated).
    pub output: Option<Payload>,
    /// Why it failed.
    pub failure: Option<FailureDetails>,
    /// The custom status.
    pub custom_status: Option<Payload>,
    /// The time of the change.
    pub last_updated_at: DateTime<Utc>,
}

/// Everything one orchestration turn changes, committed atomically.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnCommit {
    /// The instance.
    pub instance_id: InstanceId,
    /// The lease it was fetched under.
    pub lock: LockToken,
    /// Messages the turn consumed; they are deleted.
    pub consumed: Vec<MessageId>,
    /// The history change.
    pub history: HistoryChange,
    /// The new instance row; `None` leaves the row as it is (messages to a finished or missing
    /// instance are only consumed). A row that does not exist is created, with its creation time
    /// set to `last_updated_at` (an entity's row is made by its first turn).
    pub update: Option<InstanceUpdate>,
    /// Activities to enqueue.
    pub activities: Vec<NewActivity>,
    /// Messages to enqueue (timers to itself, events to others, results to a parent).
    pub messages: Vec<NewMessage>,
    /// Sub-orchestrations to create. If one already exists and is not terminal, it is left alone
    /// and its parent receives `SubOrchestrationInstanceFailed` instead.
    pub sub_orchestrations: Vec<NewInstance>,
    /// Hand the first of [`activities`](Self::activities) straight to the committing host,
    /// leased to it, instead of leaving them for a fetch (`None`: enqueue them all).
    pub claim: Option<ActivityClaim>,
    /// Lease to the committing host the instances this turn gives work that is due at once, and
    /// hand them back as a fetch would (`None`: leave them for a fetch). See [`TurnClaim`].
    pub claim_turns: Option<TurnClaim>,
}

/// Asks a turn's commit to lease the instances it gives work that is due at once to the
/// committing host, in the same transaction, so their next turns run there without a fetch: the
/// in-process hand-off of sub-orchestration starts, of results and events sent to other
/// instances (a child's result to its parent), and of the turn's own instance when a timer it set
/// is already due or a message reached it while the turn ran. The candidates, in this order and
/// at most [`max_items`](Self::max_items) of them, are the instance itself, the
/// sub-orchestrations it creates and the targets of its messages that are visible by
/// [`InstanceClaim::now`] ([`kit::turn_targets`](crate::kit::turn_targets)); each is taken only
/// if no live lease holds it and one of its messages is visible, exactly as
/// [`ActivityCompletion::claim`](crate::ActivityCompletion::claim) takes an instance. Within one
/// `commit_turns` call an instance is handed back once, to one of the commits that named it, and
/// the commits' claims are one host's: a backend may lease them all under the first claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnClaim {
    /// Who takes the leases, until when, and the time that decides what is due.
    pub lease: crate::InstanceClaim,
    /// At most this many candidates are considered.
    pub max_items: usize,
}

/// Asks a turn's commit to lease the activities it schedules to the committing host, so the host
/// runs them without fetching them back: the in-process hand-off. The work items are stored as
/// any others; only their first lease is taken in the same transaction. If the host dies, the
/// lease runs out and any host fetches them, as after a fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityClaim {
    /// Who takes the lease (a host id).
    pub owner: String,
    /// When the lease ends.
    pub until: DateTime<Utc>,
    /// At most this many of the turn's activities, in order (the host's free activity slots);
    /// the rest are enqueued for any host to fetch.
    pub max_items: usize,
}

/// What a committed turn hands back.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Committed {
    /// The activity work items the commit leased to the committing host (see
    /// [`TurnCommit::claim`]), each as a fetch would have returned it (first delivery).
    pub claimed: Vec<ActivityWorkItem>,
    /// The instances the commit leased to the committing host (see
    /// [`TurnCommit::claim_turns`]), each with its visible messages, as a fetch returns them.
    pub turns: Vec<OrchestrationWorkItem>,
}

/// Filters for listing and purging instances; every set field must match.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InstanceFilter {
    /// Created at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Created at or before.
    pub created_to: Option<DateTime<Utc>>,
    /// Any of these statuses (empty = any).
    pub statuses: Vec<RuntimeStatus>,
    /// Instance id starts with.
    pub instance_id_prefix: Option<String>,
    /// Orchestrator name (exact).
    pub name: Option<String>,
    /// Version the instance was started with (exact; the empty text matches instances
    /// without one).
    pub version: Option<String>,
}

impl InstanceFilter {
    /// Whether a record passes the filter.
    pub fn matches(&self, r: &InstanceRecord) -> bool {
        self.created_from.is_none_or(|t| r.created_at >= t)
            && self.created_to.is_none_or(|t| r.created_at <= t)
            && (self.statuses.is_empty() || self.statuses.contains(&r.status))
            && self
                .instance_id_prefix
                .as_deref()
                .is_none_or(|p| r.instance_id.as_str().starts_with(p))
            && self.name.as_deref().is_none_or(|n| r.name == n)
            && self
                .version
                .as_deref()
                .is_none_or(|v| r.version.as_deref().unwrap_or("") == v)
    }
}

/// One page of a listing, ordered by (created time, instance id).
#[derive(Debug, Clone, PartialEq)]
pub struct InstancePage {
    /// The instances.
    pub instances: Vec<InstanceRecord>,
    /// Pass back to get the next page; `None` on the last page.
    pub continuation: Option<String>,
}
