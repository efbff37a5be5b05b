//! The SQLite task hub passes the conformance suite, each check on a fresh database file in a
//! temporary directory the fixture owns (deleted after the store is closed).

use std::sync::Arc;

use durafn_sqlite::{SqliteOptions, SqliteStore};
use durafn_store::conformance::Fixture;

durafn_store::conformance_tests!(async {
    let dir = tempfile::tempdir().expect("temp dir");
    let store =
        SqliteStore::open(dir.path().join("hub.db"), SqliteOptions::default()).expect("open");
    Fixture::owning(Arc::new(store), dir)
});
