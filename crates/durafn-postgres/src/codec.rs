//! Conversions between the task hub's records and PostgreSQL values.
//!
//! Times are stored as microseconds since the Unix epoch (`BIGINT`), payloads as the JSON text
//! they carry (`TEXT`, never `jsonb`, so they come back verbatim), and history events, failure
//! details and parents as their JSON form.

use chrono::{DateTime, Utc};
use durafn_core::{
    ExecutionId, FailureDetails, HistoryEvent, InstanceId, ParentInstance, Payload, RuntimeStatus,
    TraceContext,
};
use durafn_store::{
    FetchRequest, InstanceRecord, LockToken, MessageId, OrchestrationWorkItem, QueuedMessage,
    StoreError,
};
use tokio_postgres::Row;

use crate::error::{backend, corrupt};

/// A timestamp as stored.
pub(crate) fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// A stored timestamp.
pub(crate) fn time(micros: i64, what: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::<Utc>::from_timestamp_micros(micros)
        .ok_or_else(|| corrupt(format!("{what} {micros} is not a valid time")))
}

/// The end of a lease that starts at `now`, saturating instead of overflowing.
pub(crate) fn lease_end(r: &FetchRequest) -> i64 {
    r.now.checked_add_signed(r.lease).map_or(i64::MAX, micros)
}

/// A row limit.
pub(crate) fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Encodes a history event as JSON text.
pub(crate) fn event_json(event: &HistoryEvent) -> Result<String, StoreError> {
    serde_json::to_string(event)
        .map_err(|e| StoreError::InvalidInput(format!("history event cannot be encoded: {e}")))
}

/// Joins encoded events into the JSON array stored as one history row.
pub(crate) fn events_json(events: &[String]) -> String {
    let mut out = String::with_capacity(events.iter().map(|e| e.len() + 1).sum::<usize>() + 2);
    out.push('[');
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(e);
    }
    out.push(']');
    out
}

/// Decodes a stored history row (a JSON array of events).
pub(crate) fn events(text: &str) -> Result<Vec<HistoryEvent>, StoreError> {
    serde_json::from_str(text).map_err(|e| corrupt(format!("stored history events: {e}")))
}

/// Decodes a stored history event.
pub(crate) fn event(text: &str) -> Result<HistoryEvent, StoreError> {
    serde_json::from_str(text).map_err(|e| corrupt(format!("stored history event: {e}")))
}

/// Encodes a value kept as JSON (failure details, parent).
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::InvalidInput(format!("value cannot be encoded: {e}")))
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    text: &str,
    what: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| corrupt(format!("stored {what}: {e}")))
}

/// A stored payload (kept verbatim).
pub(crate) fn payload(text: String, what: &str) -> Result<Payload, StoreError> {
    Payload::from_json_text(text).map_err(|e| corrupt(format!("stored {what}: {e}")))
}

/// A stored status.
pub(crate) fn status(text: &str) -> Result<RuntimeStatus, StoreError> {
    RuntimeStatus::parse(text).ok_or_else(|| corrupt(format!("unknown runtime status {text:?}")))
}

/// A stored non-negative counter.
pub(crate) fn count(n: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|_| corrupt(format!("{what} is negative ({n})")))
}

/// A stored delivery count.
pub(crate) fn delivery(n: i32) -> Result<u32, StoreError> {
    u32::try_from(n).map_err(|_| corrupt(format!("delivery count {n} is out of range")))
}

/// A column of a row.
pub(crate) fn get<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a Row,
    index: usize,
) -> Result<T, StoreError> {
    row.try_get(index).map_err(backend)
}

/// Reads an instance row whose columns start at `at` (see `instance_columns!`).
pub(crate) fn record(row: &Row, at: usize) -> Result<InstanceRecord, StoreError> {
    let s = |i: usize| get::<String>(row, at + i);
    let o = |i: usize| get::<Option<String>>(row, at + i);
    let n = |i: usize| get::<i64>(row, at + i);
    Ok(InstanceRecord {
        instance_id: InstanceId::from_trusted(s(0)?),
        name: s(1)?,
        execution_id: ExecutionId::new(s(2)?),
        status: status(&s(3)?)?,
        input: payload(s(4)?, "input")?,
        output: o(5)?.map(|t| payload(t, "output")).transpose()?,
        failure: o(6)?
            .map(|t| from_json::<FailureDetails>(&t, "failure details"))
            .transpose()?,
        custom_status: o(7)?.map(|t| payload(t, "custom status")).transpose()?,
        created_at: time(n(8)?, "created_at")?,
        last_updated_at: time(n(9)?, "last_updated_at")?,
        parent: o(10)?
            .map(|t| from_json::<ParentInstance>(&t, "parent"))
            .transpose()?,
        history_len: count(n(11)?, "history_len")?,
        version: o(12)?,
        trace_context: o(13)?
            .map(|t| from_json::<TraceContext>(&t, "trace context"))
            .transpose()?,
    })
}

/// One leased instance of a fetch (or a completion's claim) as a work item.
pub(crate) fn work_item(row: &Row, lock: &LockToken) -> Result<OrchestrationWorkItem, StoreError> {
    let instance_id = InstanceId::from_trusted(get::<String>(row, 0)?);
    let ids = get::<Option<Vec<i64>>>(row, 1)?.unwrap_or_default();
    let executions = get::<Option<Vec<Option<String>>>>(row, 2)?.unwrap_or_default();
    let events = get::<Option<Vec<String>>>(row, 3)?.unwrap_or_default();
    let deliveries = get::<Option<Vec<i32>>>(row, 4)?.unwrap_or_default();
    if executions.len() != ids.len() || events.len() != ids.len() || deliveries.len() != ids.len() {
        return Err(corrupt("fetched message arrays differ in length"));
    }
    let messages = ids
        .into_iter()
        .zip(executions)
        .zip(events)
        .zip(deliveries)
        .map(|(((id, execution_id), text), count)| {
            Ok(QueuedMessage {
                id: MessageId(id),
                execution_id: execution_id.map(ExecutionId::new),
                event: event(&text)?,
                delivery: delivery(count)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let instance = if get::<bool>(row, 5)? {
        Some(record(row, 6)?)
    } else {
        None
    };
    Ok(OrchestrationWorkItem {
        instance,
        instance_id,
        messages,
        lock: lock.clone(),
    })
}
