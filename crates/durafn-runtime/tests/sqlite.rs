//! Every management operation through the client, on the SQLite task hub (a fresh file each).

mod common;

use std::sync::Arc;

use durafn_sqlite::{SqliteOptions, SqliteStore};
use durafn_store::Store;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn management_operations_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let counter = std::sync::atomic::AtomicUsize::new(0);
    common::management_operations(|| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let path = dir.path().join(format!("hub-{n}.db"));
        Arc::new(SqliteStore::open(path, SqliteOptions::default()).expect("open")) as Arc<dyn Store>
    })
    .await;
}
