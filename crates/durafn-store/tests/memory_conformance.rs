//! The in-memory task hub passes the conformance suite.

use std::sync::Arc;

use durafn_store::Store;
use durafn_store::memory::MemoryStore;

durafn_store::conformance_tests!(async { Arc::new(MemoryStore::new()) as Arc<dyn Store> });
