//! The in-process hand-off, counted exactly: on one thread over the in-memory task hub (whose
//! calls finish without yielding) no fetch can run while a turn commits, so the first turn of a
//! start, every activity a turn schedules, every turn a result triggers, every sub-orchestration
//! a turn starts and every turn a due timer or a child's result triggers is handed over without
//! a fetch.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use durafn_core::RuntimeStatus;
use durafn_runtime::RuntimeOptions;
use durafn_store::Store;
use durafn_store::counting::CountingStore;
use durafn_store::memory::MemoryStore;

use crate::app::{Harness, done, start};

/// Runs one instance of `name` to completion on one thread over a counted in-memory hub.
async fn run_counted(
    name: &str,
    id: &str,
    input: &impl serde::Serialize,
) -> (Harness, Arc<CountingStore>) {
    let counting = Arc::new(CountingStore::new(Arc::new(MemoryStore::new())));
    let store: Arc<dyn Store> = counting.clone();
    let h = start(store, RuntimeOptions::default());
    h.client
        .start_new(name, Some(id), input)
        .await
        .expect("start");
    let status = done(&h.client, id).await;
    assert_eq!(status.runtime_status, RuntimeStatus::Completed);
    (h, counting)
}

#[tokio::test(flavor = "current_thread")]
async fn every_step_of_a_sequence_is_handed_over() {
    let (h, counting) = run_counted("hello", "h", &()).await;
    let metrics = h.runtime.metrics();
    assert_eq!(metrics.activities_handed_off.load(Ordering::Relaxed), 5);
    assert_eq!(
        metrics.turns_handed_off.load(Ordering::Relaxed),
        6,
        "the start's turn ran where it was made, each result's where the result was recorded"
    );
    assert_eq!(metrics.turns.load(Ordering::Relaxed), 6);
    assert_eq!(counting.batches(), 6);
    assert_eq!(counting.calls_of("create_and_claim"), 1);
    h.runtime.shutdown().await;
}

/// A parent's sub-orchestration starts where the parent's turn committed, and the child's result
/// wakes the parent there too: four turns, each handed over, none fetched.
#[tokio::test(flavor = "current_thread")]
async fn a_sub_orchestration_and_its_result_are_handed_over() {
    let (h, counting) = run_counted("parent", "p", &false).await;
    let metrics = h.runtime.metrics();
    assert_eq!(metrics.turns.load(Ordering::Relaxed), 4);
    assert_eq!(
        metrics.turns_handed_off.load(Ordering::Relaxed),
        4,
        "the parent's start, the child's start (claimed by the parent's commit), the child's \
         next turn (by its activity's result) and the parent's (by the child's last commit)"
    );
    assert_eq!(metrics.activities_handed_off.load(Ordering::Relaxed), 1);
    assert_eq!(counting.batches(), 4, "no fetch brought a turn");
    h.runtime.shutdown().await;
}

/// A timer that is already due when its turn commits comes back with that commit.
#[tokio::test(flavor = "current_thread")]
async fn a_timer_due_at_once_is_handed_over() {
    let (h, counting) = run_counted("sleepy", "s", &0u64).await;
    let metrics = h.runtime.metrics();
    assert_eq!(metrics.turns.load(Ordering::Relaxed), 2);
    assert_eq!(metrics.turns_handed_off.load(Ordering::Relaxed), 2);
    assert_eq!(counting.batches(), 2, "no fetch brought a turn");
    h.runtime.shutdown().await;
}
