//! The reader thread: lock-free reads on a second connection, concurrent with the writer (WAL).

use std::sync::mpsc::Receiver;

use chrono::{DateTime, Utc};
use durafn_core::{HistoryEvent, InstanceId, RuntimeStatus};
use durafn_store::kit;
use durafn_store::{InstanceFilter, InstancePage, InstanceRecord, StoreError};
use rusqlite::{Connection, OptionalExtension};

use crate::batch::Reply;
use crate::codec::{self, FilterSql, backend};
use crate::ops;

/// A request to the reader thread.
pub(crate) enum ReadOp {
    GetInstance(InstanceId, Reply<Option<InstanceRecord>>),
    GetHistory(InstanceId, Reply<Vec<HistoryEvent>>),
    GetHistories(Vec<InstanceId>, Reply<Vec<Vec<HistoryEvent>>>),
    ListInstances {
        filter: InstanceFilter,
        page_size: usize,
        after: Option<(DateTime<Utc>, String)>,
        reply: Reply<InstancePage>,
    },
    CountByStatus(Reply<Vec<(RuntimeStatus, u64)>>),
    NextVisibleAt(DateTime<Utc>, Reply<Option<DateTime<Utc>>>),
    /// An operator query (see `inspect`), which answers its caller itself.
    Inspect(Box<dyn FnOnce(&Connection) + Send>),
}

fn get_history(conn: &Connection, id: &InstanceId) -> Result<Vec<HistoryEvent>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT event, events FROM history WHERE instance_id = ?1 ORDER BY seq")
        .map_err(backend)?;
    let mut rows = stmt.query([id.as_str()]).map_err(backend)?;
    let mut events = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        let text: String = row.get(0).map_err(backend)?;
        let count: i64 = row.get(1).map_err(backend)?;
        if count == 1 {
            events.push(codec::event(&text)?);
        } else {
            let many = codec::events(&text)?;
            if i64::try_from(many.len()) != Ok(count) {
                return Err(StoreError::Corrupt(format!(
                    "a history row of instance '{id}' holds {} events, not {count}",
                    many.len()
                )));
            }
            events.extend(many);
        }
    }
    Ok(events)
}

fn list_instances(
    conn: &Connection,
    filter: &InstanceFilter,
    page_size: usize,
    after: Option<&(DateTime<Utc>, String)>,
) -> Result<InstancePage, StoreError> {
    let sql = FilterSql::new(filter, &filter.statuses, after);
    let rows = ops::list_rows(conn, &sql, kit::page_rows(page_size))?;
    Ok(kit::page(rows, page_size))
}

fn count_by_status(conn: &Connection) -> Result<Vec<(RuntimeStatus, u64)>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT status, COUNT(*) FROM instances GROUP BY status")
        .map_err(backend)?;
    let mut rows = stmt.query([]).map_err(backend)?;
    let mut found = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        let status = codec::status(&row.get::<_, String>(0).map_err(backend)?)?;
        found.push((
            status,
            codec::count(row.get(1).map_err(backend)?, "instance count")?,
        ));
    }
    Ok(kit::status_counts(found))
}

fn next_visible_at(
    conn: &Connection,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let next: Option<i64> = conn
        .prepare_cached(
            "SELECT MIN(t) FROM (\
             SELECT MIN(visible_at) AS t FROM messages WHERE visible_at > ?1 \
             UNION ALL SELECT MIN(visible_at) AS t FROM activities WHERE visible_at > ?1)",
        )
        .map_err(backend)?
        .query_row([codec::micros(now)], |row| row.get(0))
        .optional()
        .map_err(backend)?
        .flatten();
    next.map(|t| codec::time(t, "visible_at")).transpose()
}

fn serve(conn: &Connection, op: ReadOp) {
    // A caller that stopped waiting is not an error.
    match op {
        ReadOp::GetInstance(id, reply) => {
            let _ = reply.send(ops::load_instance(conn, id.as_str()));
        }
        ReadOp::GetHistory(id, reply) => {
            let _ = reply.send(get_history(conn, &id));
        }
        ReadOp::GetHistories(ids, reply) => {
            let _ = reply.send(ids.iter().map(|id| get_history(conn, id)).collect());
        }
        ReadOp::ListInstances {
            filter,
            page_size,
            after,
            reply,
        } => {
            let _ = reply.send(list_instances(conn, &filter, page_size, after.as_ref()));
        }
        ReadOp::CountByStatus(reply) => {
            let _ = reply.send(count_by_status(conn));
        }
        ReadOp::NextVisibleAt(now, reply) => {
            let _ = reply.send(next_visible_at(conn, now));
        }
        ReadOp::Inspect(query) => query(conn),
    }
}

/// The reader thread's loop; returns when every sender is gone.
pub(crate) fn run(conn: Connection, requests: Receiver<ReadOp>) {
    while let Ok(op) = requests.recv() {
        serve(&conn, op);
    }
    drop(conn);
}
