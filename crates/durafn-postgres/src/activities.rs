//! The activity queue: work items leased with `FOR UPDATE SKIP LOCKED`, completed in batches.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use durafn_core::{EventId, ExecutionId, InstanceId};
use durafn_store::kit::{self, LockTokens};
use durafn_store::{
    ActivityCompletion, ActivityId, ActivityWorkItem, Completed, FetchRequest, LockToken,
    NewActivity, OrchestrationWorkItem, StoreError,
};

use crate::batch::{ClaimStep, Message, begin, commit, lock_order, query};
use crate::codec::{self, get, lease_end, limit, micros, payload};
use crate::error::backend;
use crate::notify::Wake;
use crate::pipeline::pipeline;
use crate::pool::Conn;

/// Leases up to `max_items` ready work items (one statement), in id order.
pub(crate) async fn fetch(
    conn: &mut Conn<'_>,
    tokens: &LockTokens,
    r: &FetchRequest,
) -> Result<Vec<ActivityWorkItem>, StoreError> {
    if r.max_items == 0 {
        return Ok(Vec::new());
    }
    let lock = tokens.next(&r.owner);
    let st = conn.statements();
    let rows = conn
        .client()
        .query(
            &st.fetch_activities,
            &[
                &micros(r.now),
                &limit(r.max_items),
                &lock.0,
                &lease_end(r),
                &r.owner,
            ],
        )
        .await
        .map_err(backend)?;
    let mut items = rows
        .iter()
        .map(|row| {
            Ok(ActivityWorkItem {
                id: ActivityId(get(row, 0)?),
                activity: NewActivity {
                    instance_id: InstanceId::from_trusted(get::<String>(row, 1)?),
                    execution_id: ExecutionId::new(get::<String>(row, 2)?),
                    task_id: EventId(get(row, 3)?),
                    name: get(row, 4)?,
                    input: payload(get(row, 5)?, "activity input")?,
                    trace_context: get::<Option<String>>(row, 7)?
                        .map(|t| codec::from_json(&t, "trace context"))
                        .transpose()?,
                },
                delivery: codec::delivery(get(row, 6)?)?,
                expired_lease: get::<Option<i64>>(row, 8)?
                    .map(|u| codec::time(u, "locked_until"))
                    .transpose()?,
                lock: lock.clone(),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    items.sort_unstable_by_key(|i| i.id);
    Ok(items)
}

fn lost(id: ActivityId) -> StoreError {
    StoreError::LockLost(format!("activity work item {}", id.0))
}

/// Deletes finished work items still leased and enqueues their results: one transaction, one
/// round trip. A completion whose lease was lost fails alone.
pub(crate) async fn complete(
    conn: &mut Conn<'_>,
    lock_tokens: &LockTokens,
    completions: &[ActivityCompletion],
) -> Result<(Vec<Result<Completed, StoreError>>, Wake), StoreError> {
    let mut results: Vec<Result<Completed, StoreError>> = Vec::with_capacity(completions.len());
    let mut seen: HashSet<(i64, &str)> = HashSet::new();
    let (mut ids, mut tokens) = (Vec::new(), Vec::new());
    let (mut instances, mut executions, mut events, mut visible) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut pending = Vec::new();
    for (i, c) in completions.iter().enumerate() {
        // The same lease twice: like sequential completions, only the first can succeed.
        if !seen.insert((c.id.0, c.lock.0.as_str())) {
            results.push(Err(lost(c.id)));
            continue;
        }
        match Message::encode(&c.result) {
            Err(e) => results.push(Err(e)),
            Ok(m) => {
                results.push(Ok(Completed::default()));
                pending.push(i);
                ids.push(c.id.0);
                tokens.push(c.lock.0.clone());
                instances.push(m.instance_id);
                executions.push(m.execution_id);
                events.push(m.event);
                visible.push(m.visible_at);
            }
        }
    }
    if pending.is_empty() {
        return Ok((results, Wake::default()));
    }
    let targets = lock_order(instances.clone());
    // The instances claimed for the completing host (one claim stands for all: they come from
    // one host), leased in the same transaction once the results are in.
    let claim = completions.iter().find_map(|c| c.claim.as_ref()).map(|k| {
        let ids = completions
            .iter()
            .filter(|c| c.claim.is_some())
            .map(|c| c.result.instance_id.as_str().to_string())
            .collect();
        ClaimStep::new(lock_tokens, k, ids)
    });
    let st = conn.statements();
    conn.begin();
    let client = conn.client();
    let mut steps = vec![
        begin(client),
        query(client, &st.lock, vec![&targets]),
        query(
            client,
            &st.complete_activities,
            vec![&ids, &tokens, &instances, &executions, &events, &visible],
        ),
    ];
    if let Some(claim) = &claim {
        steps.push(claim.step(client, &st));
    }
    steps.push(commit(client));
    let replies = pipeline(steps).await.map_err(backend)?;
    conn.end();
    let mut done: HashSet<(i64, String)> = HashSet::new();
    for row in &replies[2] {
        done.insert((get(row, 0)?, get(row, 1)?));
    }
    let turns = match &claim {
        Some(claim) => claim.items(&replies[3])?,
        None => Vec::new(),
    };
    let mut any = false;
    for (k, &i) in pending.iter().enumerate() {
        if !done.contains(&(ids[k], tokens[k].clone())) {
            results[i] = Err(lost(completions[i].id));
        } else if !turns
            .iter()
            .any(|t| t.instance_id == completions[i].result.instance_id)
        {
            any = true;
        }
    }
    // An instance given back has work ready: tell the hosts, as for any unclaimed result.
    any |= hand_turns(conn, turns, completions, &mut results).await?;
    Ok((
        results,
        if any {
            Wake::ORCHESTRATIONS
        } else {
            Wake::default()
        },
    ))
}

/// Gives each claimed instance to the completion that carries it (`kit::turn_carriers`); one
/// whose every completion failed (its leases were lost) is given back. Returns whether any was.
async fn hand_turns(
    conn: &mut Conn<'_>,
    turns: Vec<OrchestrationWorkItem>,
    completions: &[ActivityCompletion],
    results: &mut [Result<Completed, StoreError>],
) -> Result<bool, StoreError> {
    let carriers: Vec<usize> = kit::turn_carriers(completions, |i| results[i].is_ok())
        .into_iter()
        .map(|(index, _)| index)
        .collect();
    let mut given_back = false;
    for turn in turns {
        let carrier = carriers
            .iter()
            .find(|i| completions[**i].result.instance_id == turn.instance_id);
        match carrier.map(|i| &mut results[*i]) {
            Some(Ok(done)) => done.turn = Some(turn),
            _ => {
                crate::orchestrations::abandon(conn, &turn.instance_id, &turn.lock, None).await?;
                given_back = true;
            }
        }
    }
    Ok(given_back)
}

/// Releases a work item's lease; it becomes visible again at `retry_at` (or now).
pub(crate) async fn abandon(
    conn: &mut Conn<'_>,
    id: ActivityId,
    lock: &LockToken,
    retry_at: Option<DateTime<Utc>>,
) -> Result<Wake, StoreError> {
    let st = conn.statements();
    let released = conn
        .client()
        .execute(
            &st.abandon_activity,
            &[&id.0, &lock.0, &retry_at.map(micros)],
        )
        .await
        .map_err(backend)?;
    if released == 0 {
        return Err(lost(id));
    }
    Ok(if retry_at.is_none() {
        Wake::ACTIVITIES
    } else {
        Wake::default()
    })
}

/// Extends the leases still held; returns the renewed ids, in the order asked.
pub(crate) async fn renew(
    conn: &mut Conn<'_>,
    leases: &[(ActivityId, LockToken)],
    until: DateTime<Utc>,
) -> Result<Vec<ActivityId>, StoreError> {
    if leases.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = leases.iter().map(|(id, _)| id.0).collect();
    let tokens: Vec<&str> = leases.iter().map(|(_, t)| t.0.as_str()).collect();
    let st = conn.statements();
    let rows = conn
        .client()
        .query(&st.renew_activities, &[&ids, &tokens, &micros(until)])
        .await
        .map_err(backend)?;
    let mut renewed: HashSet<(i64, String)> = HashSet::new();
    for row in &rows {
        renewed.insert((get(row, 0)?, get(row, 1)?));
    }
    Ok(leases
        .iter()
        .filter(|(id, t)| renewed.contains(&(id.0, t.0.clone())))
        .map(|(id, _)| *id)
        .collect())
}
