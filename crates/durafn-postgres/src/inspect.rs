//! The operator queries ([`InspectStore`]).
//!
//! A listing is one `SELECT … ORDER BY created_at, instance_id LIMIT n` (or `DESC`), walking
//! `instances_by_created`, or `instances_by_status_created` / `instances_by_name_created` when a
//! status or a name narrows it (schema version 2), so a page costs about the page. Counts are
//! one `GROUP BY status` over the same condition. Diagnostics read the queue tables of one
//! instance by their instance indexes; the hub's health counts the queues and groups the leases
//! by owner in a handful of statements.

use chrono::{DateTime, Utc};
use durafn_core::{EventId, ExecutionId, InstanceId, RuntimeStatus};
use durafn_store::inspect::{
    HubHealth, InspectStore, InstanceQuery, InstanceWork, LeaseInfo, PendingActivity,
    PendingMessage, SortOrder, tally_lease,
};
use durafn_store::{
    ActivityId, InstancePage, MessageId, StoreError, StoreFuture, decode_continuation,
};
use tokio_postgres::Row;

use crate::PostgresStore;
use crate::codec::{self, get, micros};
use crate::error::backend;
use crate::instances::FilterSql;
use crate::pool::Conn;

/// The condition of a query and its parameters, optionally after a listing position.
fn condition(query: &InstanceQuery, after: Option<&(DateTime<Utc>, String)>) -> FilterSql {
    let mut sql = FilterSql::new(&query.filter, &query.filter.statuses, None);
    let mut parts = vec![sql.condition.clone()];
    if let Some(text) = query
        .custom_status_contains
        .as_deref()
        .filter(|t| !t.is_empty())
    {
        sql.params.push(Box::new(text.to_string()));
        parts.push(format!(
            "strpos(lower(custom_status), lower(${}::text)) > 0",
            sql.params.len()
        ));
    }
    if query.orchestrations_only {
        parts.push("NOT starts_with(instance_id, '@')".into());
    }
    if let Some((at, id)) = after {
        let op = match query.order {
            SortOrder::OldestFirst => ">",
            SortOrder::NewestFirst => "<",
        };
        sql.params.push(Box::new(micros(*at)));
        sql.params.push(Box::new(id.clone()));
        let n = sql.params.len();
        parts.push(format!(
            "(created_at, instance_id) {op} (${}, ${n}::text)",
            n - 1
        ));
    }
    sql.condition = parts.join(" AND ");
    sql
}

/// The listing statement of a query with a page of `page_size`; `continued` adds the condition
/// of a next page.
fn listing_sql(query: &InstanceQuery, page_size: usize, continued: bool) -> String {
    let position = (DateTime::<Utc>::MIN_UTC, String::new());
    let sql = condition(query, continued.then_some(&position));
    let direction = match query.order {
        SortOrder::OldestFirst => "",
        SortOrder::NewestFirst => " DESC",
    };
    format!(
        "SELECT {} FROM instances WHERE {} ORDER BY created_at{direction}, \
         instance_id{direction} LIMIT {}",
        crate::sql::instance_columns!(""),
        sql.condition,
        durafn_store::kit::page_rows(page_size)
    )
}

/// The counting statement of a query.
fn counting_sql(query: &InstanceQuery) -> String {
    format!(
        "SELECT status, count(*) FROM instances WHERE {} GROUP BY status",
        condition(query, None).condition
    )
}

async fn query_page(
    conn: &mut Conn<'_>,
    query: &InstanceQuery,
    page_size: usize,
    after: Option<(DateTime<Utc>, String)>,
) -> Result<InstancePage, StoreError> {
    let sql = condition(query, after.as_ref());
    let rows = conn
        .client()
        .query(
            &listing_sql(query, page_size, after.is_some()),
            &sql.params(),
        )
        .await
        .map_err(backend)?;
    let instances = rows
        .iter()
        .map(|r| codec::record(r, 0))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(durafn_store::kit::page(instances, page_size))
}

async fn count(
    conn: &mut Conn<'_>,
    query: &InstanceQuery,
) -> Result<Vec<(RuntimeStatus, u64)>, StoreError> {
    let sql = condition(query, None);
    let rows = conn
        .client()
        .query(&counting_sql(query), &sql.params())
        .await
        .map_err(backend)?;
    let found = rows
        .iter()
        .map(|r| {
            Ok((
                codec::status(&get::<String>(r, 0)?)?,
                codec::count(get(r, 1)?, "count")?,
            ))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(durafn_store::kit::status_counts(found))
}

fn time(at: Option<i64>, what: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    at.map(|t| codec::time(t, what)).transpose()
}

fn lease(owner: Option<String>, until: Option<i64>) -> Result<Option<LeaseInfo>, StoreError> {
    Ok(time(until, "locked_until")?.map(|until| LeaseInfo {
        owner: owner.unwrap_or_default(),
        until,
    }))
}

fn pending_activity(r: &Row) -> Result<PendingActivity, StoreError> {
    let token: Option<String> = get(r, 6)?;
    Ok(PendingActivity {
        id: ActivityId(get(r, 0)?),
        execution_id: ExecutionId::new(get::<String>(r, 1)?),
        task_id: EventId(get(r, 2)?),
        name: get(r, 3)?,
        input: codec::payload(get(r, 4)?, "activity input")?,
        visible_at: time(get(r, 5)?, "visible_at")?,
        lease: match token {
            Some(_) => lease(get(r, 8)?, get(r, 7)?)?,
            None => None,
        },
        delivery: codec::delivery(get(r, 9)?)?,
    })
}

async fn work(conn: &mut Conn<'_>, id: &InstanceId) -> Result<InstanceWork, StoreError> {
    let client = conn.client();
    let id = id.as_str();
    let locks = client
        .query(
            "SELECT owner, locked_until FROM instance_locks \
             WHERE instance_id = $1 AND lock_token IS NOT NULL",
            &[&id],
        )
        .await
        .map_err(backend)?;
    let lease = match locks.first() {
        Some(r) => lease(get(r, 0)?, get(r, 1)?)?,
        None => None,
    };
    let messages = client
        .query(
            "SELECT id, execution_id, event, visible_at, delivery FROM messages \
             WHERE instance_id = $1 ORDER BY id",
            &[&id],
        )
        .await
        .map_err(backend)?
        .iter()
        .map(|r| {
            Ok(PendingMessage {
                id: MessageId(get(r, 0)?),
                execution_id: get::<Option<String>>(r, 1)?.map(ExecutionId::new),
                event: codec::event(&get::<String>(r, 2)?)?,
                visible_at: time(get(r, 3)?, "visible_at")?,
                delivery: codec::delivery(get(r, 4)?)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let activities = client
        .query(
            "SELECT id, execution_id, task_id, name, input, visible_at, lock_token, \
             locked_until, owner, delivery FROM activities WHERE instance_id = $1 ORDER BY id",
            &[&id],
        )
        .await
        .map_err(backend)?
        .iter()
        .map(pending_activity)
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(InstanceWork {
        lease,
        messages,
        activities,
    })
}

/// The counts of the queues, in one statement.
const QUEUE_COUNTS: &str = "
SELECT
  (SELECT count(*) FROM messages WHERE visible_at IS NULL OR visible_at <= $1),
  (SELECT count(*) FROM messages WHERE visible_at > $1),
  (SELECT min(visible_at) FROM messages WHERE visible_at <= $1),
  (SELECT event FROM messages WHERE visible_at IS NULL ORDER BY id LIMIT 1),
  (SELECT count(*) FROM activities WHERE lock_token IS NOT NULL AND locked_until > $1),
  (SELECT count(*) FROM activities WHERE ready_at > $1
      AND NOT (lock_token IS NOT NULL AND locked_until > $1)),
  (SELECT count(*) FROM activities WHERE ready_at <= $1)";

async fn health(conn: &mut Conn<'_>, at: DateTime<Utc>) -> Result<HubHealth, StoreError> {
    let client = conn.client();
    let now = micros(at);
    let n = |v: i64| codec::count(v, "queue depth");
    let mut h = HubHealth::default();
    let row = client
        .query_one(QUEUE_COUNTS, &[&now])
        .await
        .map_err(backend)?;
    h.orchestrations.ready = n(get(&row, 0)?)?;
    h.orchestrations.scheduled = n(get(&row, 1)?)?;
    let first_event = get::<Option<String>>(&row, 3)?
        .map(|e| codec::event(&e).map(|e| e.timestamp))
        .transpose()?;
    h.orchestrations.oldest_ready_since = [time(get(&row, 2)?, "visible_at")?, first_event]
        .into_iter()
        .flatten()
        .min();
    h.activities.leased = n(get(&row, 4)?)?;
    h.activities.scheduled = n(get(&row, 5)?)?;
    h.activities.ready = n(get(&row, 6)?)?;
    h.oldest_ready_activity = client
        .query(
            "SELECT instance_id, task_id FROM activities WHERE ready_at <= $1 \
             ORDER BY ready_at, id LIMIT 1",
            &[&now],
        )
        .await
        .map_err(backend)?
        .first()
        .map(|r| {
            Ok::<_, StoreError>((
                InstanceId::from_trusted(get::<String>(r, 0)?),
                EventId(get(r, 1)?),
            ))
        })
        .transpose()?;
    let leases = client
        .query(
            "SELECT 'i', owner, locked_until FROM instance_locks WHERE lock_token IS NOT NULL \
             UNION ALL \
             SELECT 'a', owner, locked_until FROM activities WHERE lock_token IS NOT NULL",
            &[],
        )
        .await
        .map_err(backend)?;
    for r in &leases {
        let activity = get::<String>(r, 0)? == "a";
        let owner: Option<String> = get(r, 1)?;
        let Some(until) = time(get(r, 2)?, "locked_until")? else {
            continue;
        };
        if !activity && until > at {
            h.orchestrations.leased += 1;
        }
        tally_lease(
            &mut h.hosts,
            owner.as_deref().unwrap_or(""),
            until,
            at,
            activity,
        );
    }
    Ok(h)
}

impl PostgresStore {
    /// The plans PostgreSQL runs (`EXPLAIN (ANALYZE)`, with the planner's costs and the actual
    /// times) for the first page of 50 of a listing of `query` and for its counts: for
    /// benchmarks and for operators who want to see which index a filter uses.
    pub async fn explain_query(
        &self,
        query: &InstanceQuery,
    ) -> Result<(Vec<String>, Vec<String>), StoreError> {
        let conn = self.shared.pool.get().await?;
        let sql = condition(query, None);
        let mut plans = Vec::new();
        for text in [listing_sql(query, 50, false), counting_sql(query)] {
            let rows = conn
                .client()
                .query(&format!("EXPLAIN (ANALYZE) {text}"), &sql.params())
                .await
                .map_err(backend)?;
            plans.push(
                rows.iter()
                    .map(|r| get::<String>(r, 0))
                    .collect::<Result<Vec<_>, _>>()?,
            );
        }
        let counting = plans.pop().unwrap_or_default();
        let listing = plans.pop().unwrap_or_default();
        Ok((listing, counting))
    }
}

/// Runs a query on a pooled connection; a backend error discards the connection.
macro_rules! on_connection {
    ($self:ident, |$conn:ident| $body:expr) => {{
        let mut $conn = $self.shared.pool.get().await?;
        let result = $body;
        $conn.check(&result);
        result
    }};
}

impl InspectStore for PostgresStore {
    fn query_instances<'a>(
        &'a self,
        query: &'a InstanceQuery,
        page_size: usize,
        continuation: Option<&'a str>,
    ) -> StoreFuture<'a, InstancePage> {
        Box::pin(async move {
            let after = continuation.map(decode_continuation).transpose()?;
            on_connection!(self, |c| query_page(&mut c, query, page_size, after).await)
        })
    }

    fn count_instances<'a>(
        &'a self,
        query: &'a InstanceQuery,
    ) -> StoreFuture<'a, Vec<(RuntimeStatus, u64)>> {
        Box::pin(async move { on_connection!(self, |c| count(&mut c, query).await) })
    }

    fn instance_work<'a>(&'a self, id: &'a InstanceId) -> StoreFuture<'a, InstanceWork> {
        Box::pin(async move { on_connection!(self, |c| work(&mut c, id).await) })
    }

    fn hub_health(&self, now: DateTime<Utc>) -> StoreFuture<'_, HubHealth> {
        Box::pin(async move { on_connection!(self, |c| health(&mut c, now).await) })
    }
}
