//! The SQL of each operation. Write operations run on the writer thread inside the batch's
//! transaction (each in its own savepoint); `load_instance` is shared with the reader.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use durafn_core::{EventId, ExecutionId, HistoryEvent, InstanceId, RuntimeStatus};
use durafn_store::kit::{self, LockTokens};
use durafn_store::{
    ActivityCompletion, ActivityId, ActivityWorkItem, Committed, FetchRequest, HistoryChange,
    InstanceClaim, InstanceFilter, InstanceRecord, LockToken, MessageId, NewActivity, NewInstance,
    NewMessage, OrchestrationWorkItem, QueuedMessage, StoreError, TurnCommit,
};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use crate::codec::{
    self, FilterSql, IMMEDIATE, INSTANCE_COLUMNS, backend, event, event_json, instance_columns,
    micros, payload, to_json,
};

/// The end of a lease that starts at `now`, saturating instead of overflowing.
fn lease_end(r: &FetchRequest) -> i64 {
    r.now
        .checked_add_signed(r.lease)
        .map_or(i64::MAX, codec::micros)
}

fn limit(max_items: usize) -> i64 {
    i64::try_from(max_items).unwrap_or(i64::MAX)
}

/// The instance row, if any.
pub(crate) fn load_instance(
    conn: &Connection,
    id: &str,
) -> Result<Option<InstanceRecord>, StoreError> {
    let mut stmt = conn
        .prepare_cached(concat!(
            "SELECT ",
            instance_columns!(),
            " FROM instances WHERE instance_id = ?1"
        ))
        .map_err(backend)?;
    let mut rows = stmt.query([id]).map_err(backend)?;
    match rows.next().map_err(backend)? {
        Some(row) => codec::record_from_row(row).map(Some),
        None => Ok(None),
    }
}

fn instance_status(conn: &Connection, id: &str) -> Result<Option<RuntimeStatus>, StoreError> {
    let text: Option<String> = conn
        .prepare_cached("SELECT status FROM instances WHERE instance_id = ?1")
        .map_err(backend)?
        .query_row([id], |row| row.get(0))
        .optional()
        .map_err(backend)?;
    text.as_deref().map(codec::status).transpose()
}

fn enqueue_raw(
    conn: &Connection,
    instance_id: &str,
    execution_id: Option<&str>,
    event: &str,
    visible_at: i64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO messages (instance_id, execution_id, event, visible_at) VALUES (?1, ?2, ?3, ?4)",
    )
    .map_err(backend)?
    .execute(params![instance_id, execution_id, event, visible_at])
    .map_err(backend)?;
    Ok(())
}

fn enqueue(conn: &Connection, m: &NewMessage) -> Result<(), StoreError> {
    enqueue_raw(
        conn,
        m.instance_id.as_str(),
        m.execution_id.as_ref().map(ExecutionId::as_str),
        &event_json(&m.event)?,
        codec::visible_at(m.visible_at),
    )
}

/// Deletes an instance's history, queued work and lease (not its row).
fn remove_instance_data(conn: &Connection, id: &str) -> Result<(), StoreError> {
    for sql in [
        "DELETE FROM history WHERE instance_id = ?1",
        "DELETE FROM messages WHERE instance_id = ?1",
        "DELETE FROM activities WHERE instance_id = ?1",
        "DELETE FROM instance_locks WHERE instance_id = ?1",
    ] {
        conn.prepare_cached(sql)
            .map_err(backend)?
            .execute([id])
            .map_err(backend)?;
    }
    Ok(())
}

/// Creates an instance with its `ExecutionStarted` message, replacing a terminal one.
pub(crate) fn create(conn: &Connection, ni: &NewInstance) -> Result<(), StoreError> {
    let id = ni.instance_id.as_str();
    if let Some(status) = instance_status(conn, id)? {
        if !status.is_terminal() {
            return Err(StoreError::InstanceExists {
                instance_id: ni.instance_id.clone(),
                status,
            });
        }
    }
    remove_instance_data(conn, id)?;
    let parent = ni.parent.as_ref().map(to_json).transpose()?;
    let trace = ni.trace_context.as_ref().map(to_json).transpose()?;
    let created = micros(ni.created_at);
    conn.prepare_cached(
        "INSERT OR REPLACE INTO instances (instance_id, name, execution_id, status, input, output, \
         failure, custom_status, created_at, last_updated_at, parent, history_len, version, \
         trace_context) VALUES (?1, ?2, ?3, ?4, ?5, NULL, NULL, NULL, ?6, ?6, ?7, 0, ?8, ?9)",
    )
    .map_err(backend)?
    .execute(params![
        id,
        ni.name,
        ni.execution_id.as_str(),
        RuntimeStatus::Pending.as_str(),
        ni.input.as_json(),
        created,
        parent,
        ni.version,
        trace,
    ])
    .map_err(backend)?;
    enqueue_raw(conn, id, None, &event_json(&ni.started_event())?, IMMEDIATE)
}

/// Enqueues messages sent from outside a turn.
pub(crate) fn send_messages(conn: &Connection, messages: &[NewMessage]) -> Result<(), StoreError> {
    messages.iter().try_for_each(|m| enqueue(conn, m))
}

/// The instances to hand out: oldest visible message first, skipping live leases. Immediately
/// visible messages and due timers are read from two ordered streams and merged by id.
fn choose_instances(conn: &Connection, now: i64, max: usize) -> Result<Vec<String>, StoreError> {
    macro_rules! pick {
        ($visible:literal) => {
            concat!(
                "SELECT m.id, m.instance_id FROM messages AS m ",
                "LEFT JOIN instance_locks AS l ON l.instance_id = m.instance_id WHERE ",
                $visible,
                " AND (l.locked_until IS NULL OR l.locked_until <= ?2) ORDER BY m.id"
            )
        };
    }
    let mut immediate = conn
        .prepare_cached(pick!("m.visible_at = ?1"))
        .map_err(backend)?;
    let mut due = conn
        .prepare_cached(pick!("m.visible_at > ?1 AND m.visible_at <= ?2"))
        .map_err(backend)?;
    let mut a = immediate.query(params![IMMEDIATE, now]).map_err(backend)?;
    let mut b = due.query(params![IMMEDIATE, now]).map_err(backend)?;
    let read = |row: Option<&rusqlite::Row<'_>>| -> Result<Option<(i64, String)>, StoreError> {
        row.map(|r| Ok((r.get(0)?, r.get(1)?)))
            .transpose()
            .map_err(backend)
    };
    let mut next_a = read(a.next().map_err(backend)?)?;
    let mut next_b = read(b.next().map_err(backend)?)?;
    let mut seen = HashSet::new();
    let mut chosen = Vec::new();
    while chosen.len() < max {
        let take_a = match (&next_a, &next_b) {
            (Some((ia, _)), Some((ib, _))) => ia < ib,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let candidate = if take_a {
            std::mem::replace(&mut next_a, read(a.next().map_err(backend)?)?)
        } else {
            std::mem::replace(&mut next_b, read(b.next().map_err(backend)?)?)
        };
        if let Some((_, instance_id)) = candidate {
            if seen.insert(instance_id.clone()) {
                chosen.push(instance_id);
            }
        }
    }
    Ok(chosen)
}

/// Locks instances with visible messages and returns them with those messages.
pub(crate) fn fetch_orchestrations(
    conn: &Connection,
    tokens: &LockTokens,
    r: &FetchRequest,
) -> Result<Vec<OrchestrationWorkItem>, StoreError> {
    if r.max_items == 0 {
        return Ok(Vec::new());
    }
    let now = micros(r.now);
    let until = lease_end(r);
    let chosen = choose_instances(conn, now, r.max_items)?;
    chosen
        .into_iter()
        .map(|id| lease_instance(conn, tokens, id, &r.owner, until, now))
        .collect()
}

/// Leases an instance to `owner` until `until` and returns it with its messages visible at
/// `now`, each counted as delivered once more.
fn lease_instance(
    conn: &Connection,
    tokens: &LockTokens,
    instance_id: String,
    owner: &str,
    until: i64,
    now: i64,
) -> Result<OrchestrationWorkItem, StoreError> {
    let lock = tokens.next(owner);
    conn.prepare_cached(
        "INSERT INTO instance_locks (instance_id, lock_token, locked_until, owner) \
         VALUES (?1, ?2, ?3, ?4) ON CONFLICT (instance_id) DO UPDATE SET \
         lock_token = excluded.lock_token, locked_until = excluded.locked_until, \
         owner = excluded.owner",
    )
    .map_err(backend)?
    .execute(params![instance_id, lock.0, until, owner])
    .map_err(backend)?;
    // Read, then count the delivery, rather than `UPDATE … RETURNING`: SQLite collects the
    // rows a `RETURNING` gives in a temporary table first, which cost more than the update.
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, execution_id, event, delivery FROM messages \
             WHERE instance_id = ?1 AND visible_at <= ?2",
        )
        .map_err(backend)?;
    let mut rows = stmt.query(params![instance_id, now]).map_err(backend)?;
    let mut messages = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        let execution_id: Option<String> = row.get(1).map_err(backend)?;
        let text: String = row.get(2).map_err(backend)?;
        let delivered: i64 = row.get(3).map_err(backend)?;
        messages.push(QueuedMessage {
            id: MessageId(row.get(0).map_err(backend)?),
            execution_id: execution_id.map(ExecutionId::new),
            event: event(&text)?,
            delivery: codec::delivery(delivered.saturating_add(1))?,
        });
    }
    drop(rows);
    if !messages.is_empty() {
        conn.prepare_cached(
            "UPDATE messages SET delivery = delivery + 1 \
             WHERE instance_id = ?1 AND visible_at <= ?2",
        )
        .map_err(backend)?
        .execute(params![instance_id, now])
        .map_err(backend)?;
    }
    messages.sort_unstable_by_key(|m| m.id);
    Ok(OrchestrationWorkItem {
        instance: load_instance(conn, &instance_id)?,
        instance_id: InstanceId::from_trusted(instance_id),
        messages,
        lock,
    })
}

/// Leases the instance a completion's result went to for the claimant, unless a live lease
/// holds it or none of its messages is visible yet (see [`ActivityCompletion::claim`]).
pub(crate) fn claim_instance(
    conn: &Connection,
    tokens: &LockTokens,
    instance_id: &InstanceId,
    claim: &InstanceClaim,
) -> Result<Option<OrchestrationWorkItem>, StoreError> {
    let now = micros(claim.now);
    let free: bool = conn
        .prepare_cached(
            "SELECT NOT EXISTS (SELECT 1 FROM instance_locks WHERE instance_id = ?1 \
             AND locked_until > ?2) AND EXISTS (SELECT 1 FROM messages \
             WHERE instance_id = ?1 AND visible_at <= ?2)",
        )
        .map_err(backend)?
        .query_row(params![instance_id.as_str(), now], |row| row.get(0))
        .map_err(backend)?;
    if !free {
        return Ok(None);
    }
    let id = instance_id.as_str().to_string();
    lease_instance(conn, tokens, id, &claim.owner, micros(claim.until), now).map(Some)
}

/// Releases the instance's lease if `lock` is the current one; fails (changing nothing)
/// otherwise. Turns and abandons release first: they run in a savepoint, so a later failure
/// restores the lease.
fn release_instance_lock(conn: &Connection, id: &str, lock: &LockToken) -> Result<(), StoreError> {
    let released = conn
        .prepare_cached("DELETE FROM instance_locks WHERE instance_id = ?1 AND lock_token = ?2")
        .map_err(backend)?
        .execute(params![id, lock.0])
        .map_err(backend)?;
    if released == 0 {
        return Err(StoreError::LockLost(format!("instance '{id}'")));
    }
    Ok(())
}

/// Appends `events` as one row, the first at `first_seq` (see the schema's version 5).
fn insert_history(
    conn: &Connection,
    id: &str,
    first_seq: i64,
    events: &[HistoryEvent],
) -> Result<(), StoreError> {
    let text = match events {
        [] => return Ok(()),
        [one] => event_json(one)?,
        many => codec::events_json(many)?,
    };
    conn.prepare_cached(
        "INSERT INTO history (instance_id, seq, event, events) VALUES (?1, ?2, ?3, ?4)",
    )
    .map_err(backend)?
    .execute(params![id, first_seq, text, limit(events.len())])
    .map_err(backend)?;
    Ok(())
}

/// Enqueues an activity work item; with a lease (`lock`, its end and owner), it is leased from
/// the start, as its first delivery. Returns its id.
fn insert_activity(
    conn: &Connection,
    a: &NewActivity,
    lease: Option<(&LockToken, i64, &str)>,
) -> Result<i64, StoreError> {
    conn.prepare_cached(
        "INSERT INTO activities (instance_id, execution_id, task_id, name, input, visible_at, \
         trace_context, lock_token, locked_until, owner, delivery) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )
    .map_err(backend)?
    .execute(params![
        a.instance_id.as_str(),
        a.execution_id.as_str(),
        a.task_id.0,
        a.name,
        a.input.as_json(),
        IMMEDIATE,
        a.trace_context.as_ref().map(to_json).transpose()?,
        lease.map(|(lock, _, _)| lock.0.as_str()),
        lease.map(|(_, until, _)| until),
        lease.map(|(_, _, owner)| owner),
        i64::from(lease.is_some()),
    ])
    .map_err(backend)?;
    Ok(conn.last_insert_rowid())
}

/// Creates a sub-orchestration; if an active instance has its id, tells the parent instead.
fn create_child(conn: &Connection, child: &NewInstance) -> Result<(), StoreError> {
    match create(conn, child) {
        Err(StoreError::InstanceExists {
            instance_id,
            status,
        }) => {
            let Some(parent) = &child.parent else {
                return Ok(());
            };
            enqueue(
                conn,
                &kit::child_refused(parent, &instance_id, status, child.created_at),
            )
        }
        other => other,
    }
}

/// Applies one turn (the caller wraps it in a savepoint).
pub(crate) fn commit_turn(
    conn: &Connection,
    tokens: &LockTokens,
    c: &TurnCommit,
) -> Result<Committed, StoreError> {
    let id = c.instance_id.as_str();
    release_instance_lock(conn, id, &c.lock)?;
    if !c.consumed.is_empty() {
        let mut stmt = conn
            .prepare_cached("DELETE FROM messages WHERE id = ?1")
            .map_err(backend)?;
        for m in &c.consumed {
            stmt.execute([m.0]).map_err(backend)?;
        }
    }
    let history_len = match &c.history {
        HistoryChange::Append(events) => {
            let next: i64 = conn
                .prepare_cached(
                    "SELECT seq + events FROM history WHERE instance_id = ?1 \
                     ORDER BY seq DESC LIMIT 1",
                )
                .map_err(backend)?
                .query_row([id], |row| row.get(0))
                .optional()
                .map_err(backend)?
                .unwrap_or(0);
            insert_history(conn, id, next, events)?;
            next.saturating_add(limit(events.len()))
        }
        HistoryChange::Replace(events) => {
            conn.prepare_cached("DELETE FROM history WHERE instance_id = ?1")
                .map_err(backend)?
                .execute([id])
                .map_err(backend)?;
            insert_history(conn, id, 0, events)?;
            limit(events.len())
        }
    };
    if let Some(u) = &c.update {
        let failure = u.failure.as_ref().map(to_json).transpose()?;
        // An upsert: an entity's row is created by its first turn.
        conn.prepare_cached(
            "INSERT INTO instances (instance_id, status, name, execution_id, input, output, \
             failure, custom_status, created_at, last_updated_at, parent, history_len) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, NULL, ?10) \
             ON CONFLICT(instance_id) DO UPDATE SET status = excluded.status, \
             name = excluded.name, execution_id = excluded.execution_id, input = excluded.input, \
             output = excluded.output, failure = excluded.failure, \
             custom_status = excluded.custom_status, last_updated_at = excluded.last_updated_at, \
             history_len = excluded.history_len",
        )
        .map_err(backend)?
        .execute(params![
            id,
            u.status.as_str(),
            u.name,
            u.execution_id.as_str(),
            u.input.as_json(),
            u.output.as_ref().map(|p| p.as_json()),
            failure,
            u.custom_status.as_ref().map(|p| p.as_json()),
            micros(u.last_updated_at),
            history_len,
        ])
        .map_err(backend)?;
    }
    let mut committed = Committed::default();
    for (n, a) in c.activities.iter().enumerate() {
        match c.claim.as_ref().filter(|k| n < k.max_items) {
            None => {
                insert_activity(conn, a, None)?;
            }
            Some(claim) => {
                let lock = tokens.next(&claim.owner);
                let lease = (&lock, micros(claim.until), claim.owner.as_str());
                let id = insert_activity(conn, a, Some(lease))?;
                committed
                    .claimed
                    .push(ActivityWorkItem::claimed(ActivityId(id), a.clone(), lock));
            }
        }
    }
    for m in &c.messages {
        enqueue(conn, m)?;
    }
    for child in &c.sub_orchestrations {
        create_child(conn, child)?;
    }
    if let Some(claim) = &c.claim_turns {
        for target in kit::turn_targets(c) {
            committed
                .turns
                .extend(claim_instance(conn, tokens, &target, &claim.lease)?);
        }
    }
    Ok(committed)
}

/// Releases an instance's lease; its messages become visible at `retry_at` at the earliest.
pub(crate) fn abandon_orchestration(
    conn: &Connection,
    id: &InstanceId,
    lock: &LockToken,
    retry_at: Option<DateTime<Utc>>,
) -> Result<(), StoreError> {
    let id = id.as_str();
    release_instance_lock(conn, id, lock)?;
    if let Some(at) = retry_at {
        conn.prepare_cached(
            "UPDATE messages SET visible_at = MAX(visible_at, ?2) WHERE instance_id = ?1",
        )
        .map_err(backend)?
        .execute(params![id, micros(at)])
        .map_err(backend)?;
    }
    Ok(())
}

/// Locks visible, unleased activity work items, oldest first.
pub(crate) fn fetch_activities(
    conn: &Connection,
    tokens: &LockTokens,
    r: &FetchRequest,
) -> Result<Vec<ActivityWorkItem>, StoreError> {
    if r.max_items == 0 {
        return Ok(Vec::new());
    }
    let now = micros(r.now);
    let until = lease_end(r);
    // `+visible_at` keeps the scan in id order instead of sorting the visibility index.
    // A `locked_until` still set on a fetchable item is the end of a lease that ran out. The
    // items are read first and leased one by one after, rather than by `UPDATE … RETURNING`,
    // which collects its rows in a temporary table first and cost more than the update.
    let mut select = conn
        .prepare_cached(
            "SELECT id, locked_until, instance_id, execution_id, task_id, name, input, \
             delivery, trace_context FROM activities WHERE +visible_at <= ?1 \
             AND (locked_until IS NULL OR locked_until <= ?1) ORDER BY id LIMIT ?2",
        )
        .map_err(backend)?;
    let mut rows = select
        .query(params![now, limit(r.max_items)])
        .map_err(backend)?;
    let mut found: Vec<(i64, Option<i64>, NewActivity, i64)> = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        let get_s = |i: usize| row.get::<_, String>(i).map_err(backend);
        let activity = NewActivity {
            instance_id: InstanceId::from_trusted(get_s(2)?),
            execution_id: ExecutionId::new(get_s(3)?),
            task_id: EventId(row.get(4).map_err(backend)?),
            name: get_s(5)?,
            input: payload(get_s(6)?, "activity input")?,
            trace_context: row
                .get::<_, Option<String>>(8)
                .map_err(backend)?
                .map(|t| codec::from_json(&t, "trace context"))
                .transpose()?,
        };
        found.push((
            row.get(0).map_err(backend)?,
            row.get(1).map_err(backend)?,
            activity,
            row.get(7).map_err(backend)?,
        ));
    }
    drop(rows);
    let mut stmt = conn
        .prepare_cached(
            "UPDATE activities SET lock_token = ?2, locked_until = ?3, owner = ?4, \
             delivery = delivery + 1 WHERE id = ?1",
        )
        .map_err(backend)?;
    let mut items = Vec::with_capacity(found.len());
    for (id, expired, activity, delivered) in found {
        let lock = tokens.next(&r.owner);
        stmt.execute(params![id, lock.0, until, r.owner])
            .map_err(backend)?;
        items.push(ActivityWorkItem {
            id: ActivityId(id),
            activity,
            delivery: codec::delivery(delivered.saturating_add(1))?,
            expired_lease: expired
                .map(|u| codec::time(u, "locked_until"))
                .transpose()?,
            lock,
        });
    }
    Ok(items)
}

fn lost_activity(id: ActivityId) -> StoreError {
    StoreError::LockLost(format!("activity work item {}", id.0))
}

/// Deletes a finished work item and enqueues its result (the caller wraps it in a savepoint).
pub(crate) fn complete_activity(
    conn: &Connection,
    c: &ActivityCompletion,
) -> Result<(), StoreError> {
    let deleted = conn
        .prepare_cached("DELETE FROM activities WHERE id = ?1 AND lock_token = ?2")
        .map_err(backend)?
        .execute(params![c.id.0, c.lock.0])
        .map_err(backend)?;
    if deleted == 0 {
        return Err(lost_activity(c.id));
    }
    enqueue(conn, &c.result)
}

/// Releases a work item's lease; it becomes visible again at `retry_at` (or now).
pub(crate) fn abandon_activity(
    conn: &Connection,
    id: ActivityId,
    lock: &LockToken,
    retry_at: Option<DateTime<Utc>>,
) -> Result<(), StoreError> {
    let released = conn
        .prepare_cached(
            "UPDATE activities SET lock_token = NULL, locked_until = NULL, \
             visible_at = COALESCE(?3, visible_at) WHERE id = ?1 AND lock_token = ?2",
        )
        .map_err(backend)?
        .execute(params![id.0, lock.0, retry_at.map(micros)])
        .map_err(backend)?;
    if released == 0 {
        return Err(lost_activity(id));
    }
    Ok(())
}

/// Extends the leases still held; returns the renewed ids.
pub(crate) fn renew_activity_leases(
    conn: &Connection,
    leases: &[(ActivityId, LockToken)],
    until: DateTime<Utc>,
) -> Result<Vec<ActivityId>, StoreError> {
    let mut stmt = conn
        .prepare_cached("UPDATE activities SET locked_until = ?3 WHERE id = ?1 AND lock_token = ?2")
        .map_err(backend)?;
    let until = micros(until);
    let mut renewed = Vec::new();
    for (id, lock) in leases {
        if stmt
            .execute(params![id.0, lock.0, until])
            .map_err(backend)?
            > 0
        {
            renewed.push(*id);
        }
    }
    Ok(renewed)
}

fn delete_instance(conn: &Connection, id: &str) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM instances WHERE instance_id = ?1")
        .map_err(backend)?
        .execute([id])
        .map_err(backend)?;
    remove_instance_data(conn, id)
}

/// Deletes a terminal instance and everything it owns.
pub(crate) fn purge_instance(conn: &Connection, id: &InstanceId) -> Result<bool, StoreError> {
    let found = kit::purge_check(id, instance_status(conn, id.as_str())?)?;
    if found {
        delete_instance(conn, id.as_str())?;
    }
    Ok(found)
}

/// Deletes every terminal instance matching the filter.
pub(crate) fn purge_instances(
    conn: &Connection,
    filter: &InstanceFilter,
) -> Result<u64, StoreError> {
    let statuses = kit::purgeable_statuses(filter);
    if statuses.is_empty() {
        return Ok(0);
    }
    let sql = FilterSql::new(filter, &statuses, None);
    let ids: Vec<String> = conn
        .prepare_cached(&format!(
            "SELECT instance_id FROM instances WHERE {}",
            sql.condition
        ))
        .map_err(backend)?
        .query_map(params_from_iter(sql.params.iter()), |row| row.get(0))
        .map_err(backend)?
        .collect::<Result<_, _>>()
        .map_err(backend)?;
    for id in &ids {
        delete_instance(conn, id)?;
    }
    Ok(ids.len() as u64)
}

/// Used by the reader: rows of a listing page (one more than the page, to know if more follow).
pub(crate) fn list_rows(
    conn: &Connection,
    sql: &FilterSql,
    limit_rows: usize,
) -> Result<Vec<InstanceRecord>, StoreError> {
    let mut params: Vec<Value> = sql.params.clone();
    params.push(Value::Integer(limit(limit_rows)));
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {INSTANCE_COLUMNS} FROM instances WHERE {} \
             ORDER BY created_at, instance_id LIMIT ?",
            sql.condition
        ))
        .map_err(backend)?;
    let mut rows = stmt
        .query(params_from_iter(params.iter()))
        .map_err(backend)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        out.push(codec::record_from_row(row)?);
    }
    Ok(out)
}
