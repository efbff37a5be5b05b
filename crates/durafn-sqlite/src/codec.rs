//! Conversions between the task hub's records and SQLite values, and error mapping.

use chrono::{DateTime, Utc};
use durafn_core::{
    ExecutionId, FailureDetails, HistoryEvent, InstanceId, ParentInstance, Payload, RuntimeStatus,
    TraceContext,
};
use durafn_store::{InstanceFilter, InstanceRecord, StoreError};
use rusqlite::ErrorCode;
use rusqlite::types::Value;

/// The `visible_at` of work that is visible at once (a message sent without a time).
pub(crate) const IMMEDIATE: i64 = i64::MIN;

/// The columns of `instances`, in the order [`record_from_row`] reads them (a macro, so that
/// queries can be built with `concat!` at compile time).
macro_rules! instance_columns {
    () => {
        "instance_id, name, execution_id, status, input, output, failure, custom_status, \
         created_at, last_updated_at, parent, history_len, version, trace_context"
    };
}
pub(crate) use instance_columns;

/// [`instance_columns!`] as a constant.
pub(crate) const INSTANCE_COLUMNS: &str = instance_columns!();

/// Maps a SQLite error to a store error; busy, locked, I/O and full-disk errors are retryable.
pub(crate) fn backend(e: rusqlite::Error) -> StoreError {
    let retryable = match &e {
        rusqlite::Error::SqliteFailure(err, _) => matches!(
            err.code,
            ErrorCode::DatabaseBusy
                | ErrorCode::DatabaseLocked
                | ErrorCode::SystemIoFailure
                | ErrorCode::DiskFull
                | ErrorCode::OutOfMemory
        ),
        _ => false,
    };
    let message = match &e {
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::IntegralValueOutOfRange(..)
        | rusqlite::Error::InvalidColumnType(..) => {
            return StoreError::Corrupt(format!("unexpected value in the SQLite task hub: {e}"));
        }
        _ => format!("SQLite: {e}"),
    };
    StoreError::backend_caused_by(message, retryable, e)
}

/// The error every call returns once the task hub's threads have stopped.
pub(crate) fn closed() -> StoreError {
    StoreError::backend("the SQLite task hub was closed", false)
}

/// A timestamp as stored: microseconds since the Unix epoch.
pub(crate) fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// A stored timestamp.
pub(crate) fn time(micros: i64, what: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::<Utc>::from_timestamp_micros(micros)
        .ok_or_else(|| StoreError::Corrupt(format!("{what} {micros} is not a valid time")))
}

/// A stored `visible_at` (the sentinel [`IMMEDIATE`] is never returned by queries that use this).
pub(crate) fn visible_at(at: Option<DateTime<Utc>>) -> i64 {
    at.map_or(IMMEDIATE, micros)
}

/// Encodes a history event as JSON text.
pub(crate) fn event_json(event: &HistoryEvent) -> Result<String, StoreError> {
    serde_json::to_string(event)
        .map_err(|e| StoreError::InvalidInput(format!("history event cannot be encoded: {e}")))
}

/// Decodes a stored history event.
pub(crate) fn event(text: &str) -> Result<HistoryEvent, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Corrupt(format!("stored history event is not valid: {e}")))
}

/// Encodes several history events as one stored row (a JSON array of them).
pub(crate) fn events_json(events: &[HistoryEvent]) -> Result<String, StoreError> {
    serde_json::to_string(events)
        .map_err(|e| StoreError::InvalidInput(format!("history event cannot be encoded: {e}")))
}

/// Decodes a stored row of several history events (a JSON array of them).
pub(crate) fn events(text: &str) -> Result<Vec<HistoryEvent>, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Corrupt(format!("stored history events are not valid: {e}")))
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
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("stored {what}: {e}")))
}

/// A stored payload (kept verbatim).
pub(crate) fn payload(text: String, what: &str) -> Result<Payload, StoreError> {
    Payload::from_json_text(text).map_err(|e| StoreError::Corrupt(format!("stored {what}: {e}")))
}

/// A stored status.
pub(crate) fn status(text: &str) -> Result<RuntimeStatus, StoreError> {
    RuntimeStatus::parse(text)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown runtime status {text:?}")))
}

/// A stored non-negative counter.
pub(crate) fn count(n: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("{what} is negative ({n})")))
}

/// A stored delivery count.
pub(crate) fn delivery(n: i64) -> Result<u32, StoreError> {
    u32::try_from(n).map_err(|_| StoreError::Corrupt(format!("delivery count {n} is out of range")))
}

/// Reads an instance row selected with [`INSTANCE_COLUMNS`].
pub(crate) fn record_from_row(row: &rusqlite::Row<'_>) -> Result<InstanceRecord, StoreError> {
    let get_s = |i: usize| row.get::<_, String>(i).map_err(backend);
    let get_o = |i: usize| row.get::<_, Option<String>>(i).map_err(backend);
    let get_i = |i: usize| row.get::<_, i64>(i).map_err(backend);
    Ok(InstanceRecord {
        instance_id: InstanceId::from_trusted(get_s(0)?),
        name: get_s(1)?,
        execution_id: ExecutionId::new(get_s(2)?),
        status: status(&get_s(3)?)?,
        input: payload(get_s(4)?, "input")?,
        output: get_o(5)?.map(|t| payload(t, "output")).transpose()?,
        failure: get_o(6)?
            .map(|t| from_json::<FailureDetails>(&t, "failure details"))
            .transpose()?,
        custom_status: get_o(7)?.map(|t| payload(t, "custom status")).transpose()?,
        created_at: time(get_i(8)?, "created_at")?,
        last_updated_at: time(get_i(9)?, "last_updated_at")?,
        parent: get_o(10)?
            .map(|t| from_json::<ParentInstance>(&t, "parent"))
            .transpose()?,
        history_len: count(get_i(11)?, "history_len")?,
        version: get_o(12)?,
        trace_context: get_o(13)?
            .map(|t| from_json::<TraceContext>(&t, "trace context"))
            .transpose()?,
    })
}

/// A `WHERE` clause (without the keyword; `1` if empty) and its parameters for a filter over
/// `instances`, optionally restricted to `statuses` and to rows after a listing position.
pub(crate) struct FilterSql {
    /// The condition.
    pub(crate) condition: String,
    /// Its parameters, in order of their `?`.
    pub(crate) params: Vec<Value>,
}

impl FilterSql {
    /// Builds the condition; `statuses` replaces `filter.statuses` (empty = any).
    pub(crate) fn new(
        filter: &InstanceFilter,
        statuses: &[RuntimeStatus],
        after: Option<&(DateTime<Utc>, String)>,
    ) -> Self {
        let mut parts: Vec<String> = Vec::new();
        let mut params: Vec<Value> = Vec::new();
        if let Some(from) = filter.created_from {
            parts.push("created_at >= ?".into());
            params.push(Value::Integer(micros(from)));
        }
        if let Some(to) = filter.created_to {
            parts.push("created_at <= ?".into());
            params.push(Value::Integer(micros(to)));
        }
        if !statuses.is_empty() {
            let marks = vec!["?"; statuses.len()].join(", ");
            parts.push(format!("status IN ({marks})"));
            params.extend(statuses.iter().map(|s| Value::Text(s.as_str().into())));
        }
        if let Some(prefix) = &filter.instance_id_prefix {
            if !prefix.is_empty() {
                parts.push("substr(instance_id, 1, length(?)) = ?".into());
                params.push(Value::Text(prefix.clone()));
                params.push(Value::Text(prefix.clone()));
            }
        }
        if let Some(name) = &filter.name {
            parts.push("name = ?".into());
            params.push(Value::Text(name.clone()));
        }
        if let Some(version) = &filter.version {
            parts.push("coalesce(version, '') = ?".into());
            params.push(Value::Text(version.clone()));
        }
        if let Some((at, id)) = after {
            parts.push("(created_at, instance_id) > (?, ?)".into());
            params.push(Value::Integer(micros(*at)));
            params.push(Value::Text(id.clone()));
        }
        let condition = if parts.is_empty() {
            "1".into()
        } else {
            parts.join(" AND ")
        };
        Self { condition, params }
    }
}
