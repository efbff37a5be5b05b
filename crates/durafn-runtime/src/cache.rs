//! The instance cache: live orchestrations kept between turns, least recently used evicted.
//!
//! A cached executor is only reused if its execution and history length still match the stored
//! instance; otherwise (another host advanced it, a rewind rewrote it) the history is replayed.

use std::collections::{BTreeMap, HashMap};

use durafn_core::{ExecutionId, InstanceId, OrchestrationExecutor};

struct Entry {
    executor: OrchestrationExecutor,
    execution_id: ExecutionId,
    stamp: u64,
}

/// Whether the planted bug that reuses executors another host has advanced is on.
fn stale_cache_planted() -> bool {
    #[cfg(durafn_mutation)]
    if durafn_store::mutation::planted("stale_cache") {
        return true;
    }
    false
}

/// A bounded LRU map from instance to live executor.
pub(crate) struct InstanceCache {
    capacity: usize,
    entries: HashMap<InstanceId, Entry>,
    order: BTreeMap<u64, InstanceId>,
    clock: u64,
}

impl InstanceCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: HashMap::new(),
            order: BTreeMap::new(),
            clock: 0,
        }
    }

    /// Takes the executor out if it is current for `execution_id` and `history_len`.
    pub(crate) fn take(
        &mut self,
        id: &InstanceId,
        execution_id: &ExecutionId,
        history_len: u64,
    ) -> Option<OrchestrationExecutor> {
        let entry = self.entries.remove(id)?;
        self.order.remove(&entry.stamp);
        let current = &entry.execution_id == execution_id
            && (entry.executor.history_len() as u64 == history_len || stale_cache_planted());
        current.then_some(entry.executor)
    }

    pub(crate) fn put(
        &mut self,
        id: InstanceId,
        execution_id: ExecutionId,
        executor: OrchestrationExecutor,
    ) {
        if self.capacity == 0 {
            return;
        }
        self.clock += 1;
        if let Some(old) = self.entries.insert(
            id.clone(),
            Entry {
                executor,
                execution_id,
                stamp: self.clock,
            },
        ) {
            self.order.remove(&old.stamp);
        }
        self.order.insert(self.clock, id);
        while self.entries.len() > self.capacity {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            self.entries.remove(&oldest);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}
