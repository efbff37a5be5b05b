//! What a fetched work item asks for, decided from the item alone (pure), so that the load step
//! knows what to read and the planner which rule applies.

use durafn_core::{
    EntityId, EventKind, HistoryEvent, RuntimeStatus, VersionFailureStrategy, Versioning,
};
use durafn_store::{InstanceRecord, OrchestrationWorkItem};

/// The rule a work item falls under.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TurnKind {
    /// Requests to an entity: one entity turn.
    Entity(EntityId),
    /// Messages to an instance that does not exist or has finished: they are only consumed
    /// (lock grants among them are answered with unlocks).
    Orphan,
    /// A rewind request to a failed instance: its history is rewritten.
    Rewind {
        /// The reason given.
        reason: Option<String>,
    },
    /// Work delivered more often than allowed without a committed turn: the instance fails.
    Poisoned,
    /// An instance this host's version may not run, left for a host that may
    /// (`versionFailureStrategy` `Reject`).
    VersionRejected,
    /// An instance this host's version may not run, failed with this reason
    /// (`versionFailureStrategy` `Fail`).
    VersionFailed(String),
    /// An orchestration turn.
    Turn,
}

/// Which rule applies to `item`, with deliveries limited to `max_deliveries`, on a host whose
/// version rules are `versioning`.
pub(crate) fn classify(
    item: &OrchestrationWorkItem,
    max_deliveries: u32,
    versioning: &Versioning,
) -> TurnKind {
    if let Some(entity) = EntityId::from_instance_id(&item.instance_id) {
        return TurnKind::Entity(entity);
    }
    let Some(row) = &item.instance else {
        return TurnKind::Orphan;
    };
    if row.status.is_terminal() {
        let rewind = item.messages.iter().find_map(|m| match &m.event.kind {
            EventKind::ExecutionRewound { reason } => Some(reason.clone()),
            _ => None,
        });
        return match rewind {
            Some(reason) if row.status == RuntimeStatus::Failed => TurnKind::Rewind { reason },
            _ => TurnKind::Orphan,
        };
    }
    if item.messages.iter().any(|m| m.delivery > max_deliveries) {
        return TurnKind::Poisoned;
    }
    if let Some(reason) = versioning.mismatch(row.version.as_deref()) {
        return match versioning.failure_strategy {
            VersionFailureStrategy::Reject => TurnKind::VersionRejected,
            VersionFailureStrategy::Fail => TurnKind::VersionFailed(reason),
        };
    }
    TurnKind::Turn
}

/// The messages a turn of the current execution applies: messages for an ended execution,
/// rewind requests (for failed instances only) and other executions' starts are left out.
pub(crate) fn turn_messages(
    item: &OrchestrationWorkItem,
    row: &InstanceRecord,
) -> Vec<HistoryEvent> {
    item.messages
        .iter()
        .filter(|m| {
            m.execution_id
                .as_ref()
                .is_none_or(|e| *e == row.execution_id)
        })
        .filter(|m| !matches!(m.event.kind, EventKind::ExecutionRewound { .. }))
        .filter(|m| match &m.event.kind {
            EventKind::ExecutionStarted { execution_id, .. } => *execution_id == row.execution_id,
            _ => true,
        })
        .map(|m| m.event.clone())
        .collect()
}

/// A work item with what the load step resolved for its rule: the planner's input.
// The executor moves through once per turn; boxing it would cost an allocation per turn.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Loaded {
    /// See [`TurnKind::Entity`], with the entity that runs the batch when the registered one
    /// prepared it (see `Entity::prepare_batch`).
    Entity {
        /// The entity.
        id: EntityId,
        /// The prepared entity, if the registered one prepares its batches.
        prepared: Option<std::sync::Arc<dyn durafn_core::Entity>>,
    },
    /// See [`TurnKind::Orphan`].
    Orphan,
    /// See [`TurnKind::Rewind`], with the failed execution's history.
    Rewind {
        /// The history to rewind.
        history: Vec<HistoryEvent>,
        /// The reason given.
        reason: Option<String>,
    },
    /// See [`TurnKind::Poisoned`].
    Poisoned,
    /// See [`TurnKind::VersionRejected`].
    VersionRejected,
    /// See [`TurnKind::VersionFailed`].
    VersionFailed(String),
    /// See [`TurnKind::Turn`], with the execution's executor (from the instance cache, or
    /// replayed from history).
    Turn {
        /// The executor, up to date with the stored history.
        executor: durafn_core::OrchestrationExecutor,
        /// Whether the executor may go back into the cache after the turn (not when its turn was
        /// prepared outside the history, see `Orchestrator::prepare_turn`).
        cacheable: bool,
    },
}
