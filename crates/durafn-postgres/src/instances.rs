//! Instances: creation, reads, messages sent from outside a turn, and the admin queries.

use chrono::{DateTime, Utc};
use durafn_core::{HistoryEvent, InstanceId, RuntimeStatus};
use durafn_store::kit::{self, LockTokens};
use durafn_store::{
    InstanceClaim, InstanceFilter, InstancePage, InstanceRecord, NewInstance, NewMessage,
    OrchestrationWorkItem, StoreError,
};
use tokio_postgres::types::ToSql;

use crate::batch::{
    ClaimStep, Creations, Instance, Message, Messages, begin, commit, lock_order, query, rollback,
};
use crate::codec::{self, get, micros};
use crate::error::backend;
use crate::lease::{Lease, LeasedWork};
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
    tokens: &LockTokens,
    requests: &[(&NewInstance, Option<&InstanceClaim>)],
) -> Result<(Vec<Result<Option<OrchestrationWorkItem>, StoreError>>, Wake), StoreError> {
    let mut results = Vec::with_capacity(requests.len());
    let mut encoded = Vec::with_capacity(requests.len());
    for (ni, _) in requests {
        match Instance::encode(ni) {
            Ok(i) => {
                results.push(Ok(None));
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
    // The new instances whose first turn the callers claim (one claim stands for all: a start
    // is claimed by the host it is made on, and a batch holds that host's starts).
    let mut claimed: Vec<String> = Vec::new();
    let mut wanted: Option<&InstanceClaim> = None;
    for (((ni, wants), instance), result) in requests.iter().zip(encoded).zip(results.iter_mut()) {
        let Some(instance) = instance else { continue };
        match existing.get(&instance.instance_id) {
            Some(status) if !status.is_terminal() => {
                *result = Err(StoreError::InstanceExists {
                    instance_id: ni.instance_id.clone(),
                    status: *status,
                });
            }
            _ => {
                if let Some(wants) = wants {
                    claimed.push(instance.instance_id.clone());
                    wanted = wanted.or(Some(*wants));
                }
                creations.push(instance);
            }
        }
    }
    let claim = wanted.map(|k| ClaimStep::new(tokens, k, claimed));
    let mut steps = Vec::new();
    if !creations.is_empty() {
        steps.extend(creations.steps(client, &st));
    }
    steps.push(query(client, &st.maintain, vec![&ids, &creations.ids]));
    let claim_step = steps.len();
    if let Some(claim) = &claim {
        steps.push(claim.step(client, &st));
    }
    steps.push(if creations.is_empty() {
        rollback(client)
    } else {
        commit(client)
    });
    let replies = pipeline(steps).await.map_err(backend)?;
    conn.end();
    if let Some(claim) = &claim {
        for item in claim.items(&replies[claim_step])? {
            let index = requests
                .iter()
                .position(|(ni, _)| ni.instance_id == item.instance_id);
            if let Some(Ok(slot)) = index.map(|i| &mut results[i]) {
                *slot = Some(item);
            }
        }
    }
    // Starts whose first turn was claimed need no dispatcher woken, here or on another host.
    let wake = if creations.ids.len() > claim.as_ref().map_or(0, ClaimStep::asked) {
        Wake::ORCHESTRATIONS
    } else {
        Wake::default()
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

/// The histories of several instances, in the order of `ids`: one statement, one round trip.
pub(crate) async fn get_histories(
    conn: &mut Conn<'_>,
    ids: &[InstanceId],
) -> Result<Vec<Vec<HistoryEvent>>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let st = conn.statements();
    let wanted: Vec<&str> = ids.iter().map(InstanceId::as_str).collect();
    let rows = conn
        .client()
        .query(&st.get_histories, &[&wanted])
        .await
        .map_err(backend)?;
    let mut by_id: std::collections::HashMap<String, Vec<HistoryEvent>> =
        std::collections::HashMap::new();
    for row in &rows {
        by_id
            .entry(get::<String>(row, 0)?)
            .or_default()
            .extend(codec::events(&get::<String>(row, 1)?)?);
    }
    Ok(ids
        .iter()
        .map(|id| by_id.get(id.as_str()).cloned().unwrap_or_default())
        .collect())
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
        if let Some(version) = &filter.version {
            add("coalesce(version, '') = ?::text", Box::new(version.clone()));
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
    let sql = FilterSql::new(filter, &filter.statuses, after.as_ref());
    let text = format!(
        "SELECT {} FROM instances WHERE {} ORDER BY created_at, instance_id LIMIT {}",
        instance_columns!(""),
        sql.condition,
        kit::page_rows(page_size)
    );
    let rows = conn
        .client()
        .query(&text, &sql.params())
        .await
        .map_err(backend)?;
    let instances = rows
        .iter()
        .map(|r| codec::record(r, 0))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(kit::page(instances, page_size))
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
    let outcome = kit::purge_check(id, status);
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
    let statuses = kit::purgeable_statuses(filter);
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
    let found = rows
        .iter()
        .map(|row| {
            let status = codec::status(&get::<String>(row, 0)?)?;
            Ok((status, codec::count(get::<i64>(row, 1)?, "instance count")?))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(kit::status_counts(found))
}

/// The leases recorded in the task hub, optionally only those of `owner`.
pub(crate) async fn leases(
    conn: &mut Conn<'_>,
    owner: Option<&str>,
) -> Result<Vec<Lease>, StoreError> {
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
                "instance" => LeasedWork::Instance(instance_id),
                _ => LeasedWork::Activity {
                    id: durafn_store::ActivityId(get(r, 2)?),
                    instance_id,
                    name: get(r, 3)?,
                    input: codec::payload(get(r, 4)?, "activity input")?,
                },
            };
            Ok(Lease {
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
