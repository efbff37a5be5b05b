//! A store error keeps the backend's own error as its source, so an operator's log (and a
//! caller that walks `source()`) sees what SQLite said, not only durafn's summary of it.

use std::error::Error as _;

use durafn_sqlite::{SqliteOptions, SqliteStore};
use durafn_store::StoreError;

#[test]
fn a_failed_open_keeps_sqlites_error_as_its_source() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A directory where the database file should be: SQLite cannot open it.
    let path = dir.path().join("hub.db");
    std::fs::create_dir(&path).expect("a directory in the way");
    let Err(error) = SqliteStore::open(&path, SqliteOptions::default()) else {
        panic!("a directory is no database");
    };
    assert!(matches!(error, StoreError::Backend { .. }), "{error:?}");
    let source = error.source().expect("the backend's error is kept");
    assert!(
        source.downcast_ref::<rusqlite::Error>().is_some(),
        "the source is SQLite's own error, not a copy of its text: {source:?}"
    );
}
