//! A planned turn: the commit, and what to do once it is durable.

use std::sync::Arc;

use crate::spans::SpanRecord;
use chrono::{DateTime, SubsecRound, Utc};
use durafn_core::{EntityId, ExecutionId, FailureDetails, OrchestrationExecutor, RuntimeStatus};
use durafn_store::{
    HistoryChange, InstanceRecord, InstanceUpdate, OrchestrationWorkItem, TurnCommit,
};

/// The commit of one turn and its after-commit effects.
pub(crate) struct PlannedTurn {
    pub(crate) commit: TurnCommit,
    pub(crate) effects: Effects,
}

/// What to do once a turn's commit is durable.
#[derive(Default)]
pub(crate) struct Effects {
    /// The executor to put back into the instance cache (the execution goes on).
    pub(crate) keep: Option<(ExecutionId, OrchestrationExecutor)>,
    /// Activities were enqueued: wake the activity dispatcher.
    pub(crate) wake_activities: bool,
    /// Messages became visible now: wake the orchestration dispatchers.
    pub(crate) wake_orchestrations: bool,
    /// The instance reached a terminal status: its row as the commit leaves it, for those
    /// waiting for it in this process ([`PlannedTurn::finish`]).
    pub(crate) finished: Option<Arc<InstanceRecord>>,
    /// The work was dead-lettered (counted when planned).
    pub(crate) dead_lettered: bool,
    /// Signalled entity operations that failed (logged; nobody waits for their answer).
    pub(crate) failed_signals: Vec<(EntityId, String, FailureDetails)>,
    /// The spans that ended in the turn, emitted once it committed.
    pub(crate) spans: Vec<SpanRecord>,
    /// The execution ended: its orchestrator, the seconds since the instance was created, and
    /// whether it failed on non-determinism (counted once committed).
    pub(crate) ended: Option<(String, f64, bool)>,
    /// Retries the orchestration's retry policies decided on (counted once committed).
    pub(crate) retries: u32,
}

/// A turn that consumes the item's messages and changes nothing else.
pub(crate) fn consume_only(item: &OrchestrationWorkItem) -> PlannedTurn {
    PlannedTurn {
        commit: TurnCommit {
            instance_id: item.instance_id.clone(),
            lock: item.lock.clone(),
            consumed: item.messages.iter().map(|m| m.id).collect(),
            history: HistoryChange::Append(Vec::new()),
            update: None,
            activities: Vec::new(),
            messages: Vec::new(),
            sub_orchestrations: Vec::new(),
            claim: None,
            claim_turns: None,
        },
        effects: Effects::default(),
    }
}

/// The row as it is, with a new status and time.
pub(crate) fn row_update(
    row: &InstanceRecord,
    status: RuntimeStatus,
    now: DateTime<Utc>,
) -> InstanceUpdate {
    InstanceUpdate {
        status,
        name: row.name.clone(),
        execution_id: row.execution_id.clone(),
        input: row.input.clone(),
        output: row.output.clone(),
        failure: row.failure.clone(),
        custom_status: row.custom_status.clone(),
        last_updated_at: now,
    }
}

impl PlannedTurn {
    /// Marks the instance as finished by this turn, with `row` as the commit leaves it: a
    /// client of this process waiting for the instance gets its final status from that and
    /// need not read it back. The update's time is kept to the microsecond, as the stores
    /// keep it.
    pub(crate) fn finish(&mut self, row: &InstanceRecord) {
        let Some(update) = &self.commit.update else {
            return;
        };
        let history_len = match &self.commit.history {
            HistoryChange::Append(events) => row.history_len + events.len() as u64,
            HistoryChange::Replace(events) => events.len() as u64,
        };
        self.effects.finished = Some(Arc::new(InstanceRecord {
            name: update.name.clone(),
            execution_id: update.execution_id.clone(),
            status: update.status,
            input: update.input.clone(),
            output: update.output.clone(),
            failure: update.failure.clone(),
            custom_status: update.custom_status.clone(),
            last_updated_at: update.last_updated_at.trunc_subsecs(6),
            history_len,
            ..row.clone()
        }));
    }

    /// Sets the wake-ups from what the commit enqueues.
    pub(crate) fn wake_for_new_work(&mut self) {
        let c = &self.commit;
        self.effects.wake_activities = !c.activities.is_empty();
        self.effects.wake_orchestrations =
            c.messages.iter().any(|m| m.visible_at.is_none()) || !c.sub_orchestrations.is_empty();
    }
}
