//! The in-process hand-off of activities: a turn that schedules activities asks its commit to
//! lease them to this host ([`TurnCommit::claim`]), and the activity dispatcher receives them from
//! the commit instead of fetching them back. The store keeps the work item and its lease as if it
//! had been fetched, so nothing changes on a crash: the lease runs out and any host fetches the
//! item again. A turn claims only as many activities as it could reserve slots of the dispatcher
//! for (as the dispatcher's own fetches reserve theirs), so leased work never exceeds the
//! concurrency limit and never waits for a slot while its lease runs; the rest is left for a
//! fetch, by this host or another.
//!
//! Starts go the same way while the host is quiet: a client of this host that starts an instance
//! while no batch of turns is running claims it in the creating transaction
//! (`InstanceStore::create_and_claim`), and its first turn runs here at once, as its own task,
//! tracked so a shutdown waits for it. The store may hand the turn back before the creation is
//! durable ([`durafn_store::ClaimedStart::durable`]); the start's caller is answered only once it
//! is, which the first turn's own commit usually makes so. On a busy host starts are left to the
//! orchestration dispatchers, which fetch them in large batches: claiming every start of 200 in
//! flight made more, smaller commits, each with its own fsync, and cost W1 about a tenth of its
//! throughput.
//!
//! A committed turn hands back, the same way, the instances it made ready at once (its new
//! sub-orchestrations, the targets of its messages due now, itself for a timer already due:
//! [`assign_turn_claims`]); the instances one batch gets back run together as the next batch.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use durafn_store::{ActivityClaim, ActivityWorkItem, InstanceClaim, TurnClaim, TurnCommit};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinSet;

/// A claimed work item and the dispatcher slot reserved for it.
pub(crate) type Handed = (ActivityWorkItem, OwnedSemaphorePermit);

/// The channel from committed turns to the activity dispatcher, and the dispatcher's slots.
pub(crate) struct HandOff {
    tx: mpsc::UnboundedSender<Handed>,
    rx: Mutex<Option<mpsc::UnboundedReceiver<Handed>>>,
    /// The activity dispatcher's concurrency slots (`max_concurrent_activities`), shared so that
    /// a turn claims no more than are free.
    pub(crate) slots: Arc<Semaphore>,
    /// Batches of turns running now, fetched or handed over.
    busy: Arc<AtomicUsize>,
    /// The first turns of claimed starts, running.
    turns: Mutex<JoinSet<()>>,
}

/// Counts a batch of turns as running while it lives.
pub(crate) struct Busy(Arc<AtomicUsize>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl HandOff {
    /// A hand-off for a dispatcher running at most `limit` activities at once.
    pub(crate) fn new(limit: usize) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            tx,
            rx: Mutex::new(Some(rx)),
            slots: Arc::new(Semaphore::new(limit.max(1))),
            busy: Arc::default(),
            turns: Mutex::new(JoinSet::new()),
        }
    }

    /// Marks a batch of turns as running until the guard drops.
    pub(crate) fn running(&self) -> Busy {
        self.busy.fetch_add(1, Ordering::Relaxed);
        Busy(self.busy.clone())
    }

    /// Whether no batch of turns is running: a start is then worth claiming.
    pub(crate) fn quiet(&self) -> bool {
        self.busy.load(Ordering::Relaxed) == 0
    }

    /// Runs a claimed start's first turn as a task a shutdown waits for.
    pub(crate) fn run_turn(&self, turn: impl std::future::Future<Output = ()> + Send + 'static) {
        let mut turns = self.turns.lock().unwrap_or_else(PoisonError::into_inner);
        while turns.try_join_next().is_some() {}
        turns.spawn(turn);
    }

    /// Waits for the claimed starts' turns still running.
    pub(crate) async fn finish_turns(&self) {
        let turns = std::mem::take(&mut *self.turns.lock().unwrap_or_else(PoisonError::into_inner));
        turns.join_all().await;
    }

    /// Reserves up to `wanted` free slots, without waiting.
    pub(crate) fn reserve(&self, wanted: usize) -> Vec<OwnedSemaphorePermit> {
        std::iter::from_fn(|| self.slots.clone().try_acquire_owned().ok())
            .take(wanted)
            .collect()
    }

    /// The receiving end, for the activity dispatcher (once).
    pub(crate) fn take_receiver(&self) -> Option<mpsc::UnboundedReceiver<Handed>> {
        self.rx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// Hands claimed work items, each with its reserved slot, to the activity dispatcher;
    /// returns those it can no longer take (it stopped), whose leases the caller gives back.
    pub(crate) fn deliver(&self, items: Vec<Handed>) -> Vec<ActivityWorkItem> {
        let mut refused = Vec::new();
        for item in items {
            if let Err(mpsc::error::SendError((item, _slot))) = self.tx.send(item) {
                refused.push(item);
            }
        }
        refused
    }
}

/// Sets the claims of a batch's commits: each commit that schedules activities claims as many as
/// the `free` slots still allow, in batch order, leased to `owner` until `until`.
pub(crate) fn assign_claims(
    commits: &mut [TurnCommit],
    mut free: usize,
    owner: &str,
    until: DateTime<Utc>,
) {
    for commit in commits {
        if free == 0 {
            break;
        }
        if commit.activities.is_empty() {
            continue;
        }
        let max_items = commit.activities.len().min(free);
        free -= max_items;
        commit.claim = Some(ActivityClaim {
            owner: owner.to_string(),
            until,
            max_items,
        });
    }
}

/// Sets the turn claims of a batch's commits ([`TurnCommit::claim_turns`]): each commit that
/// makes work due at once (a sub-orchestration, a message visible now, to another instance or to
/// itself) asks for the instances it gives that work, up to `max_items` candidates. A commit
/// that makes nothing due asks for nothing: on SQLite the check is one statement more on the
/// writer, which is W1's bottleneck, and such a commit would only find its own instance ready if
/// a message reached it while the turn ran, which a fetch takes up as well. Unlike starts these
/// are claimed on a busy host too: the instances one batch hands back run together as one batch,
/// as a fetch would have returned them, so batches stay as large.
pub(crate) fn assign_turn_claims(
    commits: &mut [TurnCommit],
    lease: &InstanceClaim,
    max_items: usize,
) {
    for commit in commits {
        let due_now = !commit.sub_orchestrations.is_empty()
            || commit
                .messages
                .iter()
                .any(|m| m.visible_at.is_none_or(|at| at <= lease.now));
        if due_now {
            commit.claim_turns = Some(TurnClaim {
                lease: lease.clone(),
                max_items,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use durafn_core::{EventId, ExecutionId, InstanceId, Payload};
    use durafn_store::{HistoryChange, LockToken, NewActivity};

    fn commit(activities: usize) -> TurnCommit {
        TurnCommit {
            instance_id: InstanceId::from_trusted("i"),
            lock: LockToken("t".into()),
            consumed: Vec::new(),
            history: HistoryChange::Append(Vec::new()),
            update: None,
            activities: (0..activities)
                .map(|n| NewActivity {
                    instance_id: InstanceId::from_trusted("i"),
                    execution_id: ExecutionId::new("e"),
                    task_id: EventId(n as i64),
                    name: "a".into(),
                    input: Payload::null(),
                    trace_context: None,
                })
                .collect(),
            messages: Vec::new(),
            sub_orchestrations: Vec::new(),
            claim: None,
            claim_turns: None,
        }
    }

    #[test]
    fn claims_take_the_free_slots_in_batch_order() {
        let mut commits = vec![commit(2), commit(0), commit(3), commit(1)];
        assign_claims(&mut commits, 4, "host", DateTime::<Utc>::UNIX_EPOCH);
        let claimed: Vec<Option<usize>> = commits
            .iter()
            .map(|c| c.claim.as_ref().map(|k| k.max_items))
            .collect();
        assert_eq!(claimed, vec![Some(2), None, Some(2), None]);
        assert_eq!(
            commits[0].claim.as_ref().map(|k| k.owner.as_str()),
            Some("host")
        );
    }

    #[test]
    fn no_free_slot_claims_nothing() {
        let mut commits = vec![commit(2)];
        assign_claims(&mut commits, 0, "host", DateTime::<Utc>::UNIX_EPOCH);
        assert_eq!(commits[0].claim, None);
    }

    #[tokio::test]
    async fn reservations_stop_at_the_limit_and_work_for_a_stopped_dispatcher_comes_back() {
        let handoff = HandOff::new(2);
        assert!(handoff.quiet());
        let busy = handoff.running();
        assert!(!handoff.quiet());
        drop(busy);
        assert!(handoff.quiet());
        let mut slots = handoff.reserve(5);
        assert_eq!(slots.len(), 2);
        assert!(handoff.reserve(1).is_empty());
        drop(slots.pop());
        assert_eq!(handoff.reserve(3).len(), 1);
        let rx = handoff.take_receiver().expect("the receiver, once");
        assert!(handoff.take_receiver().is_none());
        drop(rx);
        let item = ActivityWorkItem {
            id: durafn_store::ActivityId(7),
            activity: commit(1).activities.remove(0),
            delivery: 1,
            expired_lease: None,
            lock: LockToken("k".into()),
        };
        let refused = handoff.deliver(vec![(item.clone(), slots.remove(0))]);
        assert_eq!(refused, vec![item]);
        assert_eq!(
            handoff.reserve(2).len(),
            2,
            "a refused item's slot is free again"
        );
    }
}
