//! Connection settings and the schema, with its migrations.

use std::time::Duration;

use durafn_store::StoreError;
use rusqlite::Connection;
use rusqlite::config::DbConfig;

use crate::codec::backend;

/// The schema version this crate writes (`PRAGMA user_version`).
pub(crate) const SCHEMA_VERSION: i64 = 5;

/// Statements kept prepared per connection; above the number the hot paths use.
const STATEMENT_CACHE: usize = 128;

/// Version 1: instances, their history, the two queues and the instance leases.
const V1: &str = "
CREATE TABLE instances (
    instance_id     TEXT PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    execution_id    TEXT NOT NULL,
    status          TEXT NOT NULL,
    input           TEXT NOT NULL,
    output          TEXT,
    failure         TEXT,
    custom_status   TEXT,
    created_at      INTEGER NOT NULL,
    last_updated_at INTEGER NOT NULL,
    parent          TEXT,
    history_len     INTEGER NOT NULL
);
CREATE INDEX instances_by_created ON instances (created_at, instance_id);
CREATE INDEX instances_by_status ON instances (status);

CREATE TABLE history (
    instance_id TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    event       TEXT NOT NULL,
    PRIMARY KEY (instance_id, seq)
) WITHOUT ROWID;

CREATE TABLE messages (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id  TEXT NOT NULL,
    execution_id TEXT,
    event        TEXT NOT NULL,
    visible_at   INTEGER NOT NULL,
    delivery     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX messages_by_visibility ON messages (visible_at, id);
CREATE INDEX messages_by_instance ON messages (instance_id, id);

CREATE TABLE activities (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id  TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    task_id      INTEGER NOT NULL,
    name         TEXT NOT NULL,
    input        TEXT NOT NULL,
    visible_at   INTEGER NOT NULL,
    lock_token   TEXT,
    locked_until INTEGER,
    delivery     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX activities_by_visibility ON activities (visible_at);
CREATE INDEX activities_by_instance ON activities (instance_id);

CREATE TABLE instance_locks (
    instance_id  TEXT PRIMARY KEY NOT NULL,
    lock_token   TEXT NOT NULL,
    locked_until INTEGER NOT NULL,
    owner        TEXT NOT NULL
) WITHOUT ROWID;
";

/// Version 2: the version an instance was started with and the trace context of its start
/// (JSON), both NULL for instances of older hubs.
const V2: &str = "
ALTER TABLE instances ADD COLUMN version TEXT;
ALTER TABLE instances ADD COLUMN trace_context TEXT;
";

/// Version 3: what operators' queries need (see `inspect`). Listings filtered by status or by
/// orchestrator name and ordered by created time walk an index in that order instead of sorting
/// the matches, and count a name's instances per status from the index alone (the status
/// index of version 1 becomes the first column of the new one); and
/// activity work items record who leased them.
const V3: &str = "
DROP INDEX instances_by_status;
CREATE INDEX instances_by_status_created ON instances (status, created_at, instance_id);
CREATE INDEX instances_by_name_created ON instances (name, created_at, instance_id, status);
ALTER TABLE activities ADD COLUMN owner TEXT;
";

/// Version 4: activity work items carry the trace context of the orchestration's client span
/// (JSON), so the attempt's span is its child; NULL when the orchestration is not traced.
const V4: &str = "
ALTER TABLE activities ADD COLUMN trace_context TEXT;
";

/// Version 5: a history row holds the events one commit appended, `events` of them, the first
/// at `seq`: one event as its JSON object, several as a JSON array of them. Rows of older
/// hubs hold one event each, which the default says. A turn appends three to five events, and
/// one row instead of one each was a tenth of the writer's work on W1.
const V5: &str = "
ALTER TABLE history ADD COLUMN events INTEGER NOT NULL DEFAULT 1;
";

/// The migration steps: entry `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: [&str; SCHEMA_VERSION as usize] = [V1, V2, V3, V4, V5];

/// Applies the settings every connection of a task hub uses, with a page cache of at most
/// `cache_kib` KiB.
pub(crate) fn configure(
    conn: &Connection,
    busy_timeout: Duration,
    cache_kib: u32,
) -> Result<(), StoreError> {
    conn.busy_timeout(busy_timeout).map_err(backend)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // Keep the plans chosen at prepare time: otherwise binding a new time to a statement whose
    // plan looked at the parameter makes SQLite prepare it again on every execution.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .map_err(backend)?;
    conn.execute_batch("PRAGMA foreign_keys = OFF; PRAGMA temp_store = MEMORY;")
        .map_err(backend)?;
    // A negative size is in KiB.
    conn.pragma_update(None, "cache_size", -i64::from(cache_kib))
        .map_err(backend)
}

/// Settings of the writing connection: WAL, commits that do not wait for the disk, and WAL
/// size limits. Under `Durability::Fsync` the flusher thread syncs the log after the commit
/// (`crate::flush`), so the writer itself never waits for the disk.
pub(crate) fn configure_writer(conn: &Connection) -> Result<(), StoreError> {
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(backend)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::InvalidInput(format!(
            "the SQLite task hub needs a database file that supports write-ahead logging \
             (journal mode is {mode:?})"
        )));
    }
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(backend)?;
    conn.pragma_update(
        None,
        "wal_autocheckpoint",
        crate::checkpoint::WRITER_AUTOCHECKPOINT_PAGES,
    )
    .map_err(backend)?;
    conn.execute_batch("PRAGMA journal_size_limit = 67108864;")
        .map_err(backend)
}

/// Brings the schema to [`SCHEMA_VERSION`], one step per transaction.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    loop {
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(backend)?;
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(backend)?;
        if version == SCHEMA_VERSION {
            return tx.commit().map_err(backend);
        }
        let step = usize::try_from(version)
            .ok()
            .and_then(|v| MIGRATIONS.get(v))
            .ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "the task hub schema is version {version}; this build knows versions up to \
                     {SCHEMA_VERSION}"
                ))
            })?;
        tx.execute_batch(step).map_err(backend)?;
        tx.pragma_update(None, "user_version", version + 1)
            .map_err(backend)?;
        tx.commit().map_err(backend)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_refuses_newer_schemas() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("hub.db");
        let mut conn = Connection::open(&path).expect("open");
        configure(&conn, Duration::from_secs(1), 1024).expect("configure");
        configure_writer(&conn).expect("writer");
        migrate(&mut conn).expect("migrate");
        migrate(&mut conn).expect("idempotent");
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(v, SCHEMA_VERSION);
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .expect("bump");
        assert!(matches!(migrate(&mut conn), Err(StoreError::Corrupt(_))));
    }

    #[test]
    fn a_version_1_hub_gains_the_new_columns_and_keeps_its_rows() {
        let dir = tempfile::tempdir().expect("dir");
        let mut conn = Connection::open(dir.path().join("hub.db")).expect("open");
        configure(&conn, Duration::from_secs(1), 1024).expect("configure");
        conn.execute_batch(V1).expect("v1");
        conn.pragma_update(None, "user_version", 1)
            .expect("v1 version");
        conn.execute(
            "INSERT INTO instances (instance_id, name, execution_id, status, input, created_at, \
             last_updated_at, history_len) VALUES ('old', 'o', 'e', 'Completed', 'null', 1, 1, 0)",
            [],
        )
        .expect("an instance of the old schema");
        migrate(&mut conn).expect("migrate");
        let (version, trace): (Option<String>, Option<String>) = conn
            .query_row(
                "SELECT version, trace_context FROM instances WHERE instance_id = 'old'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("the row survives with the new columns");
        assert_eq!((version, trace), (None, None));
    }

    #[test]
    fn a_version_1_hub_gains_the_listing_indexes_and_keeps_its_rows() {
        let dir = tempfile::tempdir().expect("dir");
        let mut conn = Connection::open(dir.path().join("hub.db")).expect("open");
        configure(&conn, Duration::from_secs(1), 1024).expect("configure");
        conn.execute_batch(V1).expect("v1");
        conn.pragma_update(None, "user_version", 1)
            .expect("v1 version");
        conn.execute(
            "INSERT INTO activities (instance_id, execution_id, task_id, name, input, visible_at) \
             VALUES ('old', 'e', 0, 'a', 'null', 0)",
            [],
        )
        .expect("an activity of the old schema");
        migrate(&mut conn).expect("migrate");
        let owner: Option<String> = conn
            .query_row("SELECT owner FROM activities", [], |r| r.get(0))
            .expect("the row survives with the new column");
        assert_eq!(owner, None);
        let plan: String = conn
            .query_row(
                "EXPLAIN QUERY PLAN SELECT instance_id FROM instances WHERE status = 'Failed' \
                 ORDER BY created_at DESC LIMIT 10",
                [],
                |r| r.get(3),
            )
            .expect("plan");
        assert!(plan.contains("instances_by_status_created"), "{plan}");
    }
}
