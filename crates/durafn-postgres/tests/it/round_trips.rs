//! Round trips per batch of turns on PostgreSQL, counted: the runtime runs "hello cities" with
//! the instance cache off (every turn needs its history), through a store that counts its calls.
//! A fetch is one round trip, a history read one, a batch commit two (see the crate docs), so a
//! batch costs `fetch + history reads + 2 × commits` round trips; the runtime reads the histories
//! of a whole batch in one call, so that is at most four, however many turns miss the cache.

use std::sync::Arc;
use std::time::Duration;

use durafn_core::RuntimeStatus;
use durafn_postgres::PostgresOptions;
use durafn_runtime::{Runtime, RuntimeOptions};
use durafn_store::Store;
use durafn_store::counting::CountingStore;

use crate::common::{self, TestHub};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_turns_reads_its_histories_in_one_round_trip() {
    let Some(url) = common::url() else { return };
    let hub = TestHub::new(&url, "trips", PostgresOptions::default()).await;
    let counting = Arc::new(CountingStore::new(hub.store.clone()));
    let store: Arc<dyn Store> = counting.clone();
    let runtime = Runtime::builder(store, common::hello_cities())
        .options(RuntimeOptions {
            instance_cache_size: 0,
            orchestration_dispatchers: 1,
            ..RuntimeOptions::default()
        })
        .start();
    let client = runtime.client();
    let n = 40;
    let mut ids = Vec::new();
    for _ in 0..n {
        ids.push(
            client
                .start_new("hello_cities", None, &())
                .await
                .expect("start"),
        );
    }
    for id in &ids {
        let status = client
            .wait_for_completion(id.as_str(), Duration::from_secs(60))
            .await
            .expect("completes");
        assert_eq!(status.runtime_status, RuntimeStatus::Completed);
    }
    runtime.shutdown().await;

    let batches = counting.batches();
    let fetches = counting.calls_of("fetch_orchestration_work");
    let reads = counting.calls_of("get_histories") + counting.calls_of("get_history");
    let commits = counting.calls_of("commit_turns");
    let misses = runtime_turns(n);
    let per_batch = (batches + reads + 2 * commits) as f64 / batches as f64;
    println!(
        "round trips: {n} instances, {misses} turns (all missing the cache) in {batches} batches: \
         {reads} history reads, {commits} commits, {fetches} fetches; \
         {per_batch:.2} round trips per batch (fetch + history read + 2 for the commit; a batch \
         handed back by activity results needs no fetch)"
    );
    assert_eq!(
        counting.calls_of("get_history"),
        0,
        "turns read histories in batches"
    );
    assert!(
        reads <= batches,
        "at most one history read per batch: {reads} for {batches}"
    );
    assert!(
        commits <= batches,
        "one commit per batch: {commits} for {batches}"
    );
    assert!(per_batch <= 4.0, "{per_batch} round trips per batch");
}

/// The turns of `n` instances of "hello cities": the start and one per activity result.
fn runtime_turns(n: u64) -> u64 {
    n * 6
}
