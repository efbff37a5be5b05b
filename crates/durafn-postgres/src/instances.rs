//! Instances: creation, reads, messages sent from outside a turn, and the admin queries.

use chrono::{DateTime, Utc};
use durafn_core::{HistoryEvent, InstanceId, RuntimeStatus};
use durafn_store::{
    InstanceFilter, InstancePage, InstanceRecord, NewInstance, NewMessage, StoreError,
    encode_continuation,
};
use tokio_postgres::types::ToSql;

use crate::batch::{
    Creations, Instance, Message, Messages, begin, commit, lock_order, query, rollback,
};
use crate::codec::{self, get, micros};
use crate::error::backend;
use crate::notify::Wake;
use crate::pipeline::pipeline;
use crate::pool::Conn;
use crate::sql::instance_columns;

/// The statuses, by name, of the instances in `rows` (rows of the `statuses` statement).
pub(crate) fn statuses(
    rows: &[tokio_postgres::Row],
) -> Result<std::collections::HashMap<String, RuntimeStatus>, StoreError> {
    rows.iter()
        .map(|r| Ok((get::<String>(r, 0)?, codec::status(&get::<String>(r, 1)?)?)))
        .collect()
}

/// Creates instances with their `ExecutionStarted` messages, replacing terminal ones, in one
/// transaction; an id that is active fails alone with [`StoreError::InstanceExists`]. The ids
/// must be distinct. Returns one result per instance and whether any was created.
pub(crate) async fn create_many(
    conn: &mut Conn<'_>,
    requests: &[&NewInstance],
) -> Result<(Vec<Result<(), StoreError>>, Wake), StoreError> {
    let mut results = Vec::with_capacity(requests.len());
    let mut encoded = Vec::with_capacity(requests.len());
    for ni in requests {
        match Instance::encode(ni) {
            Ok(i) => {
                results.push(Ok(()));
                encoded.push(Some(i));
            }
            Err(e) => {
                results.push(Err(e));
                encoded.push(None);
            }
        }
    }
    let ids = lock_order(
        encoded
            .iter()
            .flatten()
            .map(|i| i.instance_id.clone())
            .collect(),
    );
    if ids.is_empty() {
        return Ok((results, Wake::default()));
    }
    let st = conn.statements();
    conn.begin();
    let client = conn.client();
    let first = pipeline(vec![
        begin(client),
        query(client, &st.lock, vec![&ids]),
        query(client, &st.statuses, vec![&ids]),
    ])
    .await
    .map_err(backend)?;
    let existing = statuses(&first[2])?;
    let mut creations = Creations::default();
    for ((ni, instance), result) in requests.iter().zip(encoded).zip(results.iter_mut()) {
        let Some(instance) = instance else { continue };
        match existing.get(&instance.instance_id) {
            Some(status) if !status.is_terminal() => {
                *result = Err(StoreError::InstanceExists {
                    instance_id: ni.instance_id.clone(),
                    status: *status,
                });
            }
            _ => creations.push(instance),
        }
    }
    let mut steps = Vec::new();
    if !creations.is_empty() {
        steps.extend(creations.steps(client, &st));
    }
    steps.push(query(client, &st.maintain, vec![&ids, &creations.ids]));
    steps.push(if creations.is_empty() {
        rollback(client)
    } else {
        commit(client)
    });
    pipeline(steps).await.map_err(backend)?;
    conn.end();
    let wake = if creations.is_empty() {
        Wake::default()
    } else {
        Wake::ORCHESTRATIONS
    };
    Ok((results, wake))
}

/// The instance row, if any.
pub(crate) async fn get_instance(
    conn: &mut Conn<'_>,
    id: &InstanceId,
) -> Result<Option<InstanceRecord>, StoreError> {
    let st = conn.statements();
    let rows = conn
        .client()
        .query(&st.get_instance, &[&id.as_str()])
        .await
        .map_err(backend)?;
    rows.first().map(|r| codec::record(r, 0)).transpose()
}

/// The current execution's history.
pub(crate) async fn get_history(
    conn: &mut Conn<'_>,
    id: &InstanceId,
) -> Result<Vec<HistoryEvent>, StoreError> {
    let st = conn.statements();
    let rows = conn
        .client()
        .query(&st.get_history, &[&id.as_str()])
        .await
        .map_err(backend)?;
    let mut history = Vec::new();
    for row in &rows {
        history.extend(codec::events(&get::<String>(row, 0)?)?);
    }
    Ok(history)
}

/// Enqueues messages: one transaction, one round trip.
pub(crate) async fn send_messages(
    conn: &mut Conn<'_>,
    messages: &[NewMessage],
) -> Result<Wake, StoreError> {
    if messages.is_empty() {
        return Ok(Wake::default());
    }
    let mut batch = Messages::default();
    for m in messages {
        batch.push(Message::encode(m)?);
    }
    let st = conn.statements();
    batch
        .insert(conn.client(), &st.enqueue)
        .await
        .map_err(backend)?;
    Ok(if batch.any_now {
        Wake::ORCHESTRATIONS
    } else {
        Wake::default()
    })
}

/// A `WHERE` condition over `instances` and its parameters (`$1`, `$2`, … in order).
pub(crate) struct FilterSql {
    pub(crate) condition: String,
    pub(crate) params: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl FilterSql {
    /// Builds the condition; `statuses` replaces `filter.statuses` (empty = any).
    pub(crate) fn new(
        filter: &InstanceFilter,
        statuses: &[RuntimeStatus],
        after: Option<&(DateTime<Utc>, String)>,
    ) -> Self {
        let mut parts: Vec<String> = Vec::new();
        let mut params: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
        let mut add = |sql: &str, value: Box<dyn ToSql + Sync + Send>| {
            params.push(value);
            parts.push(sql.replace('?', &format!("${}", params.len())));
        };
        if let Some(from) = filter.created_from {
            add("created_at >= ?", Box::new(micros(from)));
        }
        if let Some(to) = filter.created_to {
            add("created_at <= ?", Box::new(micros(to)));
        }
        if !statuses.is_empty() {
            let names: Vec<String> = statuses.iter().map(|s| s.as_str().to_string()).collect();
            add("status = ANY(?::text[])", Box::new(names));
        }
        if let Some(prefix) = filter.instance_id_prefix.as_ref().filter(|p| !p.is_empty()) {
            add(
                "starts_with(instance_id, ?::text)",
                Box::new(prefix.clone()),
            );
        }
        if let Some(name) = &filter.name {
            add("name = ?::text", Box::new(name.clone()));
        }
        if let Some((at, id)) = after {
            params.push(Box::new(micros(*at)));
            params.push(Box::new(id.clone()));
            let n = params.len();
            parts.push(format!(
                "(created_at, instance_id) > (${}, ${n}::text)",
                n - 1
            ));
        }
        let condition = if parts.is_empty() {
            "TRUE".into()
        } else {
            parts.join(" AND ")
        };
        Self { condition, params }
    }

    pub(crate) fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }
}

/// One page of a listing.
pub(crate) async fn list(
    conn: &mut Conn<'_>,
    filter: &InstanceFilter,
    page_size: usize,
    after: Option<(DateTime<Utc>, String)>,
) -> Result<InstancePage, StoreError> {
    let page_size = page_size.max(1);
    let sql = FilterSql::new(filter, &filter.statuses, after.as_ref());
    let text = format!(
        "SELECT {} FROM instances WHERE {} ORDER BY created_at, instance_id LIMIT {}",
        instance_columns!(""),
        sql.condition,
        page_size.saturating_add(1)
    );
    let rows = conn
        .client()
        .query(&text, &sql.params())
        .await
        .map_err(backend)?;
    let mut instances = rows
        .iter()
        .map(|r| codec::record(r, 0))
        .collect::<Result<Vec<_>, _>>()?;
    let more = instances.len() > page_size;
    instances.truncate(page_size);
    let continuation = if more {
        instances
            .last()
            .map(|r| encode_continuation(r.created_at, &r.instance_id))
    } else {
        None
    };
    Ok(InstancePage {
        instances,
        continuation,
    })
}

/// Deletes the given instances if they are still in one of `statuses`, with their history and
/// queued work; returns those deleted. One transaction, rows locked in order first.
async fn purge_ids(
    conn: &mut Conn<'_>,
    ids: Vec<String>,
    statuses: &[RuntimeStatus],
) -> Result<Vec<String>, StoreError> {
    let ids = lock_order(ids);
    let st = conn.statements();
    conn.begin();
    let client = conn.client();
    let first = pipeline(vec![
        begin(client),
        query(client, &st.lock, vec![&ids]),
        query(client, &st.statuses, vec![&ids]),
    ])
    .await
    .map_err(backend)?;
    let found = self::statuses(&first[2])?;
    let doomed: Vec<String> = ids
        .iter()
        .filter(|id| found.get(*id).is_some_and(|s| statuses.contains(s)))
        .cloned()
        .collect();
    pipeline(vec![
        query(client, &st.remove_data, vec![&doomed]),
        query(client, &st.delete_instances, vec![&doomed]),
        query(client, &st.maintain, vec![&ids, &doomed]),
        commit(client),
    ])
    .await
    .map_err(backend)?;
    conn.end();
    Ok(doomed)
}

/// Deletes a terminal instance; `Ok(false)` if unknown.
pub(crate) async fn purge_one(conn: &mut Conn<'_>, id: &InstanceId) -> Result<bool, StoreError> {
    let ids = vec![id.as_str().to_string()];
    let st = conn.statements();
    conn.begin();
    let client = conn.client();
    let first = pipeline(vec![
        begin(client),
        query(client, &st.lock, vec![&ids]),
        query(client, &st.statuses, vec![&ids]),
    ])
    .await
    .map_err(backend)?;
    let status = statuses(&first[2])?.get(id.as_str()).copied();
    let outcome = match status {
        None => Ok(false),
        Some(status) if !status.is_terminal() => Err(StoreError::NotTerminal {
            instance_id: id.clone(),
            status,
        }),
        Some(_) => Ok(true),
    };
    if outcome != Ok(true) {
        pipeline(vec![rollback(client)]).await.map_err(backend)?;
        conn.end();
        return outcome;
    }
    pipeline(vec![
        query(client, &st.remove_data, vec![&ids]),
        query(client, &st.delete_instances, vec![&ids]),
        commit(client),
    ])
    .await
    .map_err(backend)?;
    conn.end();
    Ok(true)
}

/// Deletes every terminal instance matching the filter, in transactions of bounded size.
pub(crate) async fn purge_many(
    conn: &mut Conn<'_>,
    filter: &InstanceFilter,
) -> Result<u64, StoreError> {
    let statuses: Vec<RuntimeStatus> = RuntimeStatus::ALL
        .into_iter()
        .filter(|s| s.is_terminal() && (filter.statuses.is_empty() || filter.statuses.contains(s)))
        .collect();
    if statuses.is_empty() {
        return Ok(0);
    }
    let sql = FilterSql::new(filter, &statuses, None);
    let text = format!("SELECT instance_id FROM instances WHERE {}", sql.condition);
    let rows = conn
        .client()
        .query(&text, &sql.params())
        .await
        .map_err(backend)?;
    let ids = rows
        .iter()
        .map(|r| get::<String>(r, 0))
        .collect::<Result<Vec<_>, _>>()?;
    let mut purged = 0;
    for chunk in ids.chunks(1000) {
        purged += purge_ids(conn, chunk.to_vec(), &statuses).await?.len() as u64;
    }
    Ok(purged)
}

/// When the next message or work item becomes visible.
pub(crate) async fn next_visible_at(
    conn: &mut Conn<'_>,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let st = conn.statements();
    let row = conn
        .client()
        .query_one(&st.next_visible_at, &[&micros(now)])
        .await
        .map_err(backend)?;
    get::<Option<i64>>(&row, 0)?
        .map(|t| codec::time(t, "visible_at"))
        .transpose()
}

/// Instances per status, every status listed.
pub(crate) async fn count_by_status(
    conn: &mut Conn<'_>,
) -> Result<Vec<(RuntimeStatus, u64)>, StoreError> {
    let st = conn.statements();
    let rows = conn
        .client()
        .query(&st.count_by_status, &[])
        .await
        .map_err(backend)?;
    let mut counts: Vec<(RuntimeStatus, u64)> =
        RuntimeStatus::ALL.into_iter().map(|s| (s, 0)).collect();
    for row in &rows {
        let status = codec::status(&get::<String>(row, 0)?)?;
        let n = codec::count(get::<i64>(row, 1)?, "instance count")?;
        if let Some(entry) = counts.iter_mut().find(|(s, _)| *s == status) {
            entry.1 = n;
        }
    }
    Ok(counts)
}

/// The leases recorded in the task hub, optionally only those of `owner`.
pub(crate) async fn leases(
    conn: &mut Conn<'_>,
    owner: Option<&str>,
) -> Result<Vec<crate::Lease>, StoreError> {
    let st = conn.statements();
    let rows = conn
        .client()
        .query(&st.leases, &[&owner])
        .await
        .map_err(backend)?;
    rows.iter()
        .map(|r| {
            let instance_id = InstanceId::from_trusted(get::<String>(r, 1)?);
            let work = match get::<String>(r, 0)?.as_str() {
                "instance" => crate::LeasedWork::Instance(instance_id),
                _ => crate::LeasedWork::Activity {
                    id: durafn_store::ActivityId(get(r, 2)?),
                    instance_id,
                    name: get(r, 3)?,
                    input: codec::payload(get(r, 4)?, "activity input")?,
                },
            };
            Ok(crate::Lease {
                owner: get::<Option<String>>(r, 5)?.unwrap_or_default(),
                until: codec::time(
                    get::<Option<i64>>(r, 6)?.unwrap_or_default(),
                    "locked_until",
                )?,
                work,
            })
        })
        .collect()
}
