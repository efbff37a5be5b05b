//! The operator queries ([`InspectStore`]), answered on the reader thread, and the plans
//! SQLite chooses for them ([`explain_query`]).
//!
//! Listings are one `SELECT … ORDER BY created_at, instance_id LIMIT n` (or `DESC`), so a page
//! costs an index walk of about the page, whatever the size of the task hub: the listing index
//! (`instances_by_created`) when only a time range applies, `instances_by_status_created` or
//! `instances_by_name_created` when a status or a name narrows it (schema version 2). Counts are
//! one `GROUP BY status` over the same condition, answered from those indexes.

use chrono::{DateTime, Utc};
use durafn_core::{EventId, ExecutionId, InstanceId, RuntimeStatus};
use durafn_store::inspect::{
    HubHealth, InspectStore, InstanceQuery, InstanceWork, LeaseInfo, PendingActivity,
    PendingMessage, SortOrder, tally_lease,
};
use durafn_store::{
    ActivityId, InstancePage, MessageId, StoreError, StoreFuture, decode_continuation,
};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use crate::SqliteStore;
use crate::codec::{self, FilterSql, IMMEDIATE, INSTANCE_COLUMNS, backend, micros};
use crate::reader::ReadOp;

/// The `WHERE` condition of a query, and its parameters, optionally after a listing position.
fn condition(query: &InstanceQuery, after: Option<&(DateTime<Utc>, String)>) -> FilterSql {
    let mut sql = FilterSql::new(&query.filter, &query.filter.statuses, None);
    let mut parts = vec![sql.condition.clone()];
    if let Some(text) = query
        .custom_status_contains
        .as_deref()
        .filter(|t| !t.is_empty())
    {
        parts.push("instr(lower(custom_status), lower(?)) > 0".into());
        sql.params.push(Value::Text(text.to_string()));
    }
    if query.orchestrations_only {
        parts.push("substr(instance_id, 1, 1) <> '@'".into());
    }
    if let Some((at, id)) = after {
        let op = match query.order {
            SortOrder::OldestFirst => ">",
            SortOrder::NewestFirst => "<",
        };
        parts.push(format!("(created_at, instance_id) {op} (?, ?)"));
        sql.params.push(Value::Integer(micros(*at)));
        sql.params.push(Value::Text(id.clone()));
    }
    sql.condition = parts.join(" AND ");
    sql
}

/// The listing statement of a query, as the task hub runs it.
fn listing_sql(query: &InstanceQuery, continued: bool) -> String {
    let position = (DateTime::<Utc>::MIN_UTC, String::new());
    let sql = condition(query, continued.then_some(&position));
    let direction = match query.order {
        SortOrder::OldestFirst => "",
        SortOrder::NewestFirst => " DESC",
    };
    format!(
        "SELECT {INSTANCE_COLUMNS} FROM instances WHERE {} \
         ORDER BY created_at{direction}, instance_id{direction} LIMIT ?",
        sql.condition
    )
}

/// The counting statement of a query.
fn counting_sql(query: &InstanceQuery) -> String {
    // With a name, `+status` keeps the planner from grouping along the status index (and
    // looking every row up for its name): the name index holds the status, so it counts alone.
    let group = if query.filter.name.is_some() {
        "+status"
    } else {
        "status"
    };
    format!(
        "SELECT status, COUNT(*) FROM instances WHERE {} GROUP BY {group}",
        condition(query, None).condition
    )
}

/// The plans SQLite chooses (`EXPLAIN QUERY PLAN`) for the first page of a listing of `query`
/// and for its counts, in the task hub file at `path`: for benchmarks and for operators who
/// want to see which index a filter uses.
pub fn explain_query(
    path: &std::path::Path,
    query: &InstanceQuery,
) -> Result<(Vec<String>, Vec<String>), StoreError> {
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(backend)?;
    let plan = |sql: &str, params: &[Value]| -> Result<Vec<String>, StoreError> {
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .map_err(backend)?;
        let rows = stmt
            .query_map(params_from_iter(params.iter()), |r| r.get::<_, String>(3))
            .map_err(backend)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(backend)
    };
    let mut listing = condition(query, None);
    listing.params.push(Value::Integer(51));
    let counting = condition(query, None);
    Ok((
        plan(&listing_sql(query, false), &listing.params)?,
        plan(&counting_sql(query), &counting.params)?,
    ))
}

fn query_page(
    conn: &Connection,
    query: &InstanceQuery,
    page_size: usize,
    after: Option<(DateTime<Utc>, String)>,
) -> Result<InstancePage, StoreError> {
    let mut sql = condition(query, after.as_ref());
    sql.params.push(Value::Integer(
        i64::try_from(durafn_store::kit::page_rows(page_size)).unwrap_or(i64::MAX),
    ));
    let mut stmt = conn
        .prepare_cached(&listing_sql(query, after.is_some()))
        .map_err(backend)?;
    let mut rows = stmt
        .query(params_from_iter(sql.params.iter()))
        .map_err(backend)?;
    let mut instances = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        instances.push(codec::record_from_row(row)?);
    }
    Ok(durafn_store::kit::page(instances, page_size))
}

fn count(
    conn: &Connection,
    query: &InstanceQuery,
) -> Result<Vec<(RuntimeStatus, u64)>, StoreError> {
    let sql = condition(query, None);
    let mut stmt = conn.prepare_cached(&counting_sql(query)).map_err(backend)?;
    let mut rows = stmt
        .query(params_from_iter(sql.params.iter()))
        .map_err(backend)?;
    let mut found = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        let status = codec::status(&row.get::<_, String>(0).map_err(backend)?)?;
        found.push((status, codec::count(row.get(1).map_err(backend)?, "count")?));
    }
    Ok(durafn_store::kit::status_counts(found))
}

fn visibility(at: i64) -> Result<Option<DateTime<Utc>>, StoreError> {
    if at == IMMEDIATE {
        Ok(None)
    } else {
        codec::time(at, "visible_at").map(Some)
    }
}

fn lease_of(owner: Option<String>, until: Option<i64>) -> Result<Option<LeaseInfo>, StoreError> {
    until
        .map(|u| {
            Ok(LeaseInfo {
                owner: owner.unwrap_or_default(),
                until: codec::time(u, "locked_until")?,
            })
        })
        .transpose()
}

fn work(conn: &Connection, id: &InstanceId) -> Result<InstanceWork, StoreError> {
    let lease_row: Option<(String, i64)> = conn
        .prepare_cached("SELECT owner, locked_until FROM instance_locks WHERE instance_id = ?1")
        .map_err(backend)?
        .query_row([id.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .map_err(backend)?;
    let lease = match lease_row {
        Some((owner, until)) => lease_of(Some(owner), Some(until))?,
        None => None,
    };
    let mut messages = Vec::new();
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, execution_id, event, visible_at, delivery FROM messages \
             WHERE instance_id = ?1 ORDER BY id",
        )
        .map_err(backend)?;
    let mut rows = stmt.query([id.as_str()]).map_err(backend)?;
    while let Some(r) = rows.next().map_err(backend)? {
        let execution_id: Option<String> = r.get(1).map_err(backend)?;
        messages.push(PendingMessage {
            id: MessageId(r.get(0).map_err(backend)?),
            execution_id: execution_id.map(ExecutionId::new),
            event: codec::event(&r.get::<_, String>(2).map_err(backend)?)?,
            visible_at: visibility(r.get(3).map_err(backend)?)?,
            delivery: codec::delivery(r.get(4).map_err(backend)?)?,
        });
    }
    let mut activities = Vec::new();
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, execution_id, task_id, name, input, visible_at, lock_token, \
             locked_until, owner, delivery FROM activities WHERE instance_id = ?1 ORDER BY id",
        )
        .map_err(backend)?;
    let mut rows = stmt.query([id.as_str()]).map_err(backend)?;
    while let Some(r) = rows.next().map_err(backend)? {
        let token: Option<String> = r.get(6).map_err(backend)?;
        let until: Option<i64> = r.get(7).map_err(backend)?;
        activities.push(PendingActivity {
            id: ActivityId(r.get(0).map_err(backend)?),
            execution_id: ExecutionId::new(r.get::<_, String>(1).map_err(backend)?),
            task_id: EventId(r.get(2).map_err(backend)?),
            name: r.get(3).map_err(backend)?,
            input: codec::payload(r.get(4).map_err(backend)?, "activity input")?,
            visible_at: visibility(r.get(5).map_err(backend)?)?,
            lease: if token.is_some() {
                lease_of(r.get(8).map_err(backend)?, until)?
            } else {
                None
            },
            delivery: codec::delivery(r.get(9).map_err(backend)?)?,
        });
    }
    Ok(InstanceWork {
        lease,
        messages,
        activities,
    })
}

fn scalar(conn: &Connection, sql: &str, now: i64) -> Result<i64, StoreError> {
    conn.prepare_cached(sql)
        .map_err(backend)?
        .query_row([now], |r| r.get::<_, Option<i64>>(0))
        .map_err(backend)
        .map(Option::unwrap_or_default)
}

fn health(conn: &Connection, at: DateTime<Utc>) -> Result<HubHealth, StoreError> {
    let now = micros(at);
    let mut h = HubHealth::default();
    let n = |v: i64| codec::count(v, "queue depth");
    h.orchestrations.ready = n(scalar(
        conn,
        "SELECT COUNT(*) FROM messages WHERE visible_at <= ?1",
        now,
    )?)?;
    h.orchestrations.scheduled = n(scalar(
        conn,
        "SELECT COUNT(*) FROM messages WHERE visible_at > ?1",
        now,
    )?)?;
    let first_event: Option<String> = conn
        .prepare_cached("SELECT event FROM messages WHERE visible_at = ?1 ORDER BY id LIMIT 1")
        .map_err(backend)?
        .query_row([IMMEDIATE], |r| r.get(0))
        .optional()
        .map_err(backend)?;
    let first_due: Option<i64> = conn
        .prepare_cached(
            "SELECT MIN(visible_at) FROM messages WHERE visible_at > ?2 AND visible_at <= ?1",
        )
        .map_err(backend)?
        .query_row(params![now, IMMEDIATE], |r| r.get(0))
        .map_err(backend)?;
    let since = [
        first_event
            .map(|e| codec::event(&e).map(|e| e.timestamp))
            .transpose()?,
        first_due
            .map(|t| codec::time(t, "visible_at"))
            .transpose()?,
    ];
    h.orchestrations.oldest_ready_since = since.into_iter().flatten().min();
    let mut stmt = conn
        .prepare_cached("SELECT owner, locked_until FROM instance_locks")
        .map_err(backend)?;
    let mut rows = stmt.query([]).map_err(backend)?;
    while let Some(r) = rows.next().map_err(backend)? {
        let owner: String = r.get(0).map_err(backend)?;
        let until = r.get::<_, i64>(1).map_err(backend)?;
        if until > now {
            h.orchestrations.leased += 1;
        }
        tally_lease(
            &mut h.hosts,
            &owner,
            codec::time(until, "locked_until")?,
            at,
            false,
        );
    }
    let (leased, scheduled, ready): (i64, i64, i64) = conn
        .prepare_cached(
            "SELECT COALESCE(SUM(lock_token IS NOT NULL AND locked_until > ?1), 0), \
             COALESCE(SUM(NOT (lock_token IS NOT NULL AND locked_until > ?1) AND visible_at > ?1), 0), \
             COALESCE(SUM(NOT (lock_token IS NOT NULL AND locked_until > ?1) AND visible_at <= ?1), 0) \
             FROM activities",
        )
        .map_err(backend)?
        .query_row([now], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .map_err(backend)?;
    h.activities.leased = n(leased)?;
    h.activities.scheduled = n(scheduled)?;
    h.activities.ready = n(ready)?;
    h.oldest_ready_activity = conn
        .prepare_cached(
            "SELECT instance_id, task_id FROM activities WHERE visible_at <= ?1 \
             AND NOT (lock_token IS NOT NULL AND locked_until > ?1) ORDER BY id LIMIT 1",
        )
        .map_err(backend)?
        .query_row([now], |r| {
            Ok((
                InstanceId::from_trusted(r.get::<_, String>(0)?),
                EventId(r.get(1)?),
            ))
        })
        .optional()
        .map_err(backend)?;
    let mut stmt = conn
        .prepare_cached("SELECT owner, locked_until FROM activities WHERE lock_token IS NOT NULL")
        .map_err(backend)?;
    let mut rows = stmt.query([]).map_err(backend)?;
    while let Some(r) = rows.next().map_err(backend)? {
        let owner: Option<String> = r.get(0).map_err(backend)?;
        let until = codec::time(r.get(1).map_err(backend)?, "locked_until")?;
        tally_lease(
            &mut h.hosts,
            owner.as_deref().unwrap_or(""),
            until,
            at,
            true,
        );
    }
    Ok(h)
}

impl SqliteStore {
    /// Runs an operator query on the reader thread.
    fn inspect<'a, T: Send + 'static>(
        &'a self,
        query: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> StoreFuture<'a, T> {
        self.read(move |reply| {
            ReadOp::Inspect(Box::new(move |conn| {
                // A caller that stopped waiting is not an error.
                let _ = reply.send(query(conn));
            }))
        })
    }
}

impl InspectStore for SqliteStore {
    fn query_instances<'a>(
        &'a self,
        query: &'a InstanceQuery,
        page_size: usize,
        continuation: Option<&'a str>,
    ) -> StoreFuture<'a, InstancePage> {
        let after = match continuation.map(decode_continuation).transpose() {
            Ok(after) => after,
            Err(e) => return Box::pin(std::future::ready(Err(e))),
        };
        let query = query.clone();
        self.inspect(move |conn| query_page(conn, &query, page_size, after))
    }

    fn count_instances<'a>(
        &'a self,
        query: &'a InstanceQuery,
    ) -> StoreFuture<'a, Vec<(RuntimeStatus, u64)>> {
        let query = query.clone();
        self.inspect(move |conn| count(conn, &query))
    }

    fn instance_work<'a>(&'a self, id: &'a InstanceId) -> StoreFuture<'a, InstanceWork> {
        let id = id.clone();
        self.inspect(move |conn| work(conn, &id))
    }

    fn hub_health(&self, now: DateTime<Utc>) -> StoreFuture<'_, HubHealth> {
        self.inspect(move |conn| health(conn, now))
    }
}
