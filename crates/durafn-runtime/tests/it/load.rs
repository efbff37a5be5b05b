//! The load step of a turn: one history read per batch, however many turns miss the instance
//! cache, and orchestrators that prepare their turns asynchronously before they are planned.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use durafn_core::{
    ActivityContext, FunctionError, FunctionFuture, OrchestrationContext, Orchestrator, Payload,
    PrepareFuture, Registry, RuntimeStatus, TurnPreparation, activity_fn,
};
use durafn_runtime::{Runtime, RuntimeOptions};
use durafn_store::Store;
use durafn_store::counting::CountingStore;
use durafn_store::memory::MemoryStore;
use serde_json::json;

use crate::app::{self, done};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_reads_every_missing_history_with_one_call() {
    let counting = Arc::new(CountingStore::new(Arc::new(MemoryStore::new())));
    let store: Arc<dyn Store> = counting.clone();
    let h = app::start(
        store,
        RuntimeOptions {
            instance_cache_size: 0,
            orchestration_dispatchers: 1,
            ..RuntimeOptions::default()
        },
    );
    let mut ids = Vec::new();
    for _ in 0..20 {
        ids.push(h.client.start_new("hello", None, &()).await.expect("start"));
    }
    for id in &ids {
        assert_eq!(
            done(&h.client, id.as_str()).await.runtime_status,
            RuntimeStatus::Completed
        );
    }
    h.runtime.shutdown().await;
    let (batches, reads) = (counting.batches(), counting.calls_of("get_histories"));
    assert_eq!(
        counting.calls_of("get_history"),
        0,
        "no history is read alone"
    );
    assert!(reads > 0, "turns that miss the cache read their history");
    assert!(
        reads <= batches,
        "{reads} history reads for {batches} batches"
    );
    assert!(counting.calls_of("commit_turns") <= batches);
}

/// An orchestrator that prepares every turn (as one whose code runs elsewhere would): the
/// preparation counts the turns and describes what it was given; the code returns the last one.
struct Prepared {
    turns: Arc<AtomicUsize>,
}

impl Orchestrator for Prepared {
    fn name(&self) -> &str {
        "prepared"
    }

    fn start(&self, ctx: OrchestrationContext, _input: Payload) -> FunctionFuture {
        Box::pin(async move {
            for i in 0..2 {
                ctx.call_activity::<i64>("add_one", &i).await?;
            }
            ctx.prepared_turn()
                .ok_or_else(|| FunctionError::msg("the turn was not prepared"))
        })
    }

    fn prepare_turn(&self, turn: &TurnPreparation) -> Option<PrepareFuture> {
        let turns = self.turns.clone();
        let (history, new) = (turn.history.len(), turn.new_events.len());
        Some(Box::pin(async move {
            // Asynchronous work, as a call to another process would be.
            tokio::task::yield_now().await;
            let turn = turns.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(Payload::encode(
                &json!({"turn": turn, "history": history, "new": new}),
            )?)
        }))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_orchestrator_can_prepare_each_turn_before_it_is_planned() {
    let turns = Arc::new(AtomicUsize::new(0));
    let registry = Registry::builder()
        .orchestrator(Prepared {
            turns: turns.clone(),
        })
        .activity(activity_fn(
            "add_one",
            |_: ActivityContext, n: i64| async move { Ok::<_, FunctionError>(n + 1) },
        ))
        .build()
        .expect("registry builds");
    let runtime = Runtime::builder(Arc::new(MemoryStore::new()), Arc::new(registry)).start();
    let client = runtime.client();
    client
        .start_new("prepared", Some("p"), &())
        .await
        .expect("start");
    let status = done(&client, "p").await;
    assert_eq!(
        status.runtime_status,
        RuntimeStatus::Completed,
        "{status:?}"
    );
    let output = status.output.expect("output").to_value();
    assert_eq!(
        output["turn"],
        json!(3),
        "the start and one turn per activity"
    );
    assert_eq!(output["new"], json!(1), "the last turn delivers one result");
    assert!(output["history"].as_u64().expect("a number") > 0);
    assert_eq!(turns.load(Ordering::SeqCst), 3);
    assert_eq!(
        runtime.cached_instances(),
        0,
        "a prepared turn is not kept in the cache"
    );
    runtime.shutdown().await;
}
