//! The SQLite task hub passes the conformance suite, each check on a fresh database file in a
//! temporary directory the fixture owns (deleted after the store is closed), once with each
//! durability: under `Fsync` some replies go out before their flush, and the contract must
//! hold all the same.

use std::sync::Arc;

use durafn_sqlite::{Durability, SqliteOptions, SqliteStore};
use durafn_store::conformance::Fixture;

fn hub(durability: Durability) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let options = SqliteOptions {
        durability,
        ..SqliteOptions::default()
    };
    let store = SqliteStore::open(dir.path().join("hub.db"), options).expect("open");
    Fixture::owning(Arc::new(store), dir)
}

mod process_crash_safe {
    durafn_store::conformance_tests!(async {
        super::hub(durafn_sqlite::Durability::ProcessCrashSafe)
    });
}

mod fsync {
    durafn_store::conformance_tests!(async { super::hub(durafn_sqlite::Durability::Fsync) });
}
