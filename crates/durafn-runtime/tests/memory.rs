//! Every management operation through the client, on the in-memory task hub.

mod common;

use std::sync::Arc;

use durafn_store::Store;
use durafn_store::memory::MemoryStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn management_operations_on_memory() {
    common::management_operations(|| Arc::new(MemoryStore::new()) as Arc<dyn Store>).await;
}
