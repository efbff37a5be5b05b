//! The in-memory task hub passes the conformance suite.

use std::sync::Arc;

use durafn_store::conformance::Fixture;
use durafn_store::memory::MemoryStore;

durafn_store::conformance_tests!(async { Fixture::new(Arc::new(MemoryStore::new())) });
