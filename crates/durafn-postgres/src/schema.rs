//! The task hub's schema, its versioned migrations, and the rules for its name.
//!
//! Every task hub lives in its own PostgreSQL schema, so that several apps (or tests) share a
//! database without sharing state. Migrations are applied when a store connects, each exactly
//! once (`schema_version` records them), under a transaction-scoped advisory lock so that hosts
//! starting at the same moment apply them one after the other.

use durafn_store::StoreError;
use tokio_postgres::Client;

use crate::error::backend;

/// The schema version this crate writes.
pub(crate) const SCHEMA_VERSION: i32 = 4;

/// Version 1: instances, their history, the two queues and the per-instance queue rows.
///
/// - `history` holds one row per turn: the JSON array of the events the turn appended
///   (`count` of them, the first at position `seq`), so a turn writes one row, not one per event.
/// - `instances` and `messages` leave room in their pages (`fillfactor`) so that the updates of
///   every turn (the instance row, the delivery counts) stay on the page (HOT updates) instead of
///   adding index entries.
/// - `messages.visible_at` is NULL for messages visible at once (the partial index then holds
///   only timers, for `next_visible_at`).
/// - `instance_locks` holds one row per instance that has queued messages or a live lease. It is
///   the instance's mutex (every transaction that changes an instance locks its row first, all
///   rows of a transaction in one sorted statement, so transactions never deadlock) and its
///   entry in the orchestration queue: `next_visible` is the earliest visibility of its queued
///   messages, `ready_at` when it can next be fetched (never before its lease ends).
/// - `activities.ready_at` likewise combines visibility and lease.
const V1: &str = r#"
CREATE TABLE instances (
    instance_id     TEXT COLLATE "C" PRIMARY KEY,
    name            TEXT NOT NULL,
    execution_id    TEXT NOT NULL,
    status          TEXT NOT NULL,
    input           TEXT NOT NULL,
    output          TEXT,
    failure         TEXT,
    custom_status   TEXT,
    created_at      BIGINT NOT NULL,
    last_updated_at BIGINT NOT NULL,
    parent          TEXT,
    history_len     BIGINT NOT NULL
) WITH (fillfactor = 80);
CREATE INDEX instances_by_created ON instances (created_at, instance_id);
CREATE INDEX instances_by_status ON instances (status);

CREATE TABLE history (
    instance_id TEXT COLLATE "C" NOT NULL,
    seq         BIGINT NOT NULL,
    count       INTEGER NOT NULL,
    events      TEXT NOT NULL,
    PRIMARY KEY (instance_id, seq)
);

CREATE TABLE messages (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    instance_id  TEXT COLLATE "C" NOT NULL,
    execution_id TEXT,
    event        TEXT NOT NULL,
    visible_at   BIGINT,
    delivery     INTEGER NOT NULL DEFAULT 0
) WITH (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.02,
        autovacuum_analyze_scale_factor = 0.05);
CREATE INDEX messages_by_instance ON messages (instance_id, id);
CREATE INDEX messages_by_visibility ON messages (visible_at) WHERE visible_at IS NOT NULL;

CREATE TABLE activities (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    instance_id  TEXT COLLATE "C" NOT NULL,
    execution_id TEXT NOT NULL,
    task_id      BIGINT NOT NULL,
    name         TEXT NOT NULL,
    input        TEXT NOT NULL,
    visible_at   BIGINT,
    lock_token   TEXT,
    locked_until BIGINT,
    owner        TEXT,
    delivery     INTEGER NOT NULL DEFAULT 0,
    ready_at     BIGINT NOT NULL GENERATED ALWAYS AS
        (COALESCE(GREATEST(visible_at, locked_until), '-9223372036854775808'::BIGINT)) STORED
) WITH (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.05);
CREATE INDEX activities_ready ON activities (ready_at, id);
CREATE INDEX activities_by_instance ON activities (instance_id);
CREATE INDEX activities_by_visibility ON activities (visible_at) WHERE visible_at IS NOT NULL;

CREATE TABLE instance_locks (
    instance_id   TEXT COLLATE "C" PRIMARY KEY,
    next_visible  BIGINT,
    first_message BIGINT,
    lock_token    TEXT,
    locked_until  BIGINT,
    owner         TEXT,
    ready_at      BIGINT GENERATED ALWAYS AS
        (CASE WHEN next_visible IS NULL THEN NULL ELSE GREATEST(next_visible, locked_until) END) STORED
) WITH (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.05);
CREATE INDEX instance_locks_ready ON instance_locks (ready_at, first_message)
    WHERE ready_at IS NOT NULL;
"#;

/// Version 2: the version an instance was started with and the trace context of its start
/// (JSON), NULL for the instances of older hubs.
const V2: &str = "
ALTER TABLE instances ADD COLUMN version TEXT;
ALTER TABLE instances ADD COLUMN trace_context TEXT;
";

/// Version 3: what operators' queries need (see `inspect`): listings filtered by status or by
/// orchestrator name and ordered by created time walk an index in that order instead of sorting
/// the matches, and count a name's instances per status from the index alone; the status index
/// of version 1 becomes the first column of the new one.
const V3: &str = "
DROP INDEX instances_by_status;
CREATE INDEX instances_by_status_created ON instances (status, created_at, instance_id);
CREATE INDEX instances_by_name_created ON instances (name, created_at, instance_id, status);
";

/// Version 4: activity work items carry the trace context of the orchestration's client span
/// (JSON), so the attempt's span is its child; NULL when the orchestration is not traced.
const V4: &str = "
ALTER TABLE activities ADD COLUMN trace_context TEXT;
";

/// The migration steps: entry `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: [&str; SCHEMA_VERSION as usize] = [V1, V2, V3, V4];

/// Checks a task hub name and returns it as a quoted identifier. Names are ASCII letters,
/// digits, `_` and `-`, at most 58 bytes (the notification channel appends `_work` and
/// PostgreSQL names hold 63 bytes), and may not start with `pg_` (reserved for the system).
pub(crate) fn quoted(schema: &str) -> Result<String, StoreError> {
    let valid = !schema.is_empty()
        && schema.len() <= 58
        && schema
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && !schema.to_ascii_lowercase().starts_with("pg_");
    if !valid {
        return Err(StoreError::InvalidInput(format!(
            "invalid task hub schema name {schema:?}: use 1 to 58 ASCII letters, digits, '_' or \
             '-', not starting with 'pg_'"
        )));
    }
    Ok(format!("\"{schema}\""))
}

/// A stable 64-bit key for the advisory lock that serialises migrations of one schema
/// (FNV-1a, so every host computes the same key).
fn advisory_key(schema: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in "durafn-postgres migrations ".bytes().chain(schema.bytes()) {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_ne_bytes(hash.to_ne_bytes())
}

/// Creates the schema if needed and brings it to [`SCHEMA_VERSION`], in one transaction under
/// an advisory lock. A schema written by a newer version of this crate is refused.
pub(crate) async fn migrate(client: &Client, schema: &str) -> Result<(), StoreError> {
    let q = quoted(schema)?;
    client.batch_execute("BEGIN").await.map_err(backend)?;
    let result = migrate_in_transaction(client, schema, &q).await;
    let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
    client.batch_execute(end).await.map_err(backend)?;
    result
}

async fn migrate_in_transaction(client: &Client, schema: &str, q: &str) -> Result<(), StoreError> {
    client
        .execute("SELECT pg_advisory_xact_lock($1)", &[&advisory_key(schema)])
        .await
        .map_err(backend)?;
    client
        .batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {q}; SET LOCAL search_path TO {q}; \
             CREATE TABLE IF NOT EXISTS schema_version (\
                 version INTEGER PRIMARY KEY, \
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        ))
        .await
        .map_err(backend)?;
    let row = client
        .query_one("SELECT COALESCE(max(version), 0) FROM schema_version", &[])
        .await
        .map_err(backend)?;
    let current: i32 = row.try_get(0).map_err(backend)?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::Corrupt(format!(
            "the task hub schema {schema:?} is version {current}; this build knows versions up \
             to {SCHEMA_VERSION}"
        )));
    }
    for (version, step) in (current + 1..).zip(MIGRATIONS.iter().skip(current as usize)) {
        tracing::info!(schema, version, "migrating the task hub schema");
        client.batch_execute(step).await.map_err(backend)?;
        client
            .execute(
                "INSERT INTO schema_version (version) VALUES ($1)",
                &[&version],
            )
            .await
            .map_err(backend)?;
    }
    Ok(())
}

/// Drops the schema with everything in it.
pub(crate) async fn drop_schema(client: &Client, schema: &str) -> Result<(), StoreError> {
    let q = quoted(schema)?;
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {q} CASCADE"))
        .await
        .map_err(backend)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_quoted() {
        assert_eq!(quoted("hub_1-a").expect("valid"), "\"hub_1-a\"");
        for bad in ["", "a b", "x\"y", "pg_hub", "PG_x", &"x".repeat(59)] {
            assert!(quoted(bad).is_err(), "{bad:?}");
        }
        assert_eq!(advisory_key("a"), advisory_key("a"));
        assert_ne!(advisory_key("a"), advisory_key("b"));
    }
}
