//! The orchestration queue: fetching instances under a lease, committing batches of turns, and
//! abandoning.
//!
//! # Committing a batch of turns
//!
//! A batch is one transaction. It first locks the `instance_locks` rows of every instance the
//! batch touches (the committed instances, the targets of their messages, their
//! sub-orchestrations and those children's parents), in one sorted statement, and reads the
//! lease tokens there: a turn whose token is no longer current fails alone with
//! [`StoreError::LockLost`] and changes nothing. The turns that own their lease are then applied
//! together, a fixed number of array statements for the whole batch (consume messages, write
//! history, update rows, enqueue activities and messages, create sub-orchestrations, recompute
//! the queue rows and release the leases), pipelined with the `COMMIT`: two round trips for the
//! batch, however many turns it holds.
//!
//! Applying turns together gives the same result as applying them one after the other except
//! when one turn touches an instance another turn of the batch creates or commits (the same
//! instance twice, a message to a sub-orchestration created earlier in the batch). Such a batch
//! is cut into consecutive segments without those conflicts, applied in order in the same
//! transaction, so the outcome is exactly that of sequential commits.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use durafn_core::{InstanceId, RuntimeStatus};
use durafn_store::kit::{self, LockTokens};
use durafn_store::{
    ActivityId, ActivityWorkItem, Committed, FetchRequest, HistoryChange, InstanceClaim, LockToken,
    OrchestrationWorkItem, StoreError, TurnCommit,
};

use crate::batch::{
    ClaimStep, Creations, Instance, Message, Messages, Params, begin, commit, lock_order, query,
    rollback,
};
use crate::codec::{self, event_json, get, lease_end, limit, micros, to_json};
use crate::error::backend;
use crate::instances::statuses;
use crate::notify::Wake;
use crate::pipeline::{Rows, Step, pipeline};
use crate::pool::Conn;

/// Leases ready instances and returns them with their visible messages (one statement).
pub(crate) async fn fetch(
    conn: &mut Conn<'_>,
    tokens: &LockTokens,
    r: &FetchRequest,
) -> Result<Vec<OrchestrationWorkItem>, StoreError> {
    if r.max_items == 0 {
        return Ok(Vec::new());
    }
    let lock = tokens.next(&r.owner);
    let st = conn.statements();
    let rows = conn
        .client()
        .query(
            &st.fetch_orchestrations,
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
    rows.iter()
        .map(|row| codec::work_item(row, &lock))
        .collect()
}

/// The new instance row of a turn, encoded.
struct Update {
    status: RuntimeStatus,
    name: String,
    execution_id: String,
    input: String,
    output: Option<String>,
    failure: Option<String>,
    custom_status: Option<String>,
    last_updated_at: i64,
}

/// An activity to enqueue, encoded.
struct Activity {
    instance_id: String,
    execution_id: String,
    task_id: i64,
    name: String,
    input: String,
    trace_context: Option<String>,
}

/// A turn, encoded before the transaction starts.
struct Turn {
    index: usize,
    id: String,
    lock: String,
    consumed: Vec<i64>,
    replace: bool,
    events: Vec<String>,
    update: Option<Update>,
    activities: Vec<Activity>,
    /// The first activities, leased to the claimant: (token, lease end, owner) and the items.
    claimed: Option<(Lease, Vec<Activity>)>,
    messages: Vec<Message>,
    children: Vec<Instance>,
}

/// A claimed activity's first lease: its token, end and owner.
struct Lease {
    token: String,
    until: i64,
    owner: String,
}

impl Turn {
    fn encode(index: usize, c: &TurnCommit, tokens: &LockTokens) -> Result<Self, StoreError> {
        let (replace, events) = match &c.history {
            HistoryChange::Append(e) => (false, e),
            HistoryChange::Replace(e) => (true, e),
        };
        let update = match &c.update {
            None => None,
            Some(u) => Some(Update {
                status: u.status,
                name: u.name.clone(),
                execution_id: u.execution_id.as_str().to_string(),
                input: u.input.as_json().to_string(),
                output: u.output.as_ref().map(|p| p.as_json().to_string()),
                failure: u.failure.as_ref().map(to_json).transpose()?,
                custom_status: u.custom_status.as_ref().map(|p| p.as_json().to_string()),
                last_updated_at: micros(u.last_updated_at),
            }),
        };
        let mut activities = c
            .activities
            .iter()
            .map(|a| {
                Ok(Activity {
                    instance_id: a.instance_id.as_str().to_string(),
                    execution_id: a.execution_id.as_str().to_string(),
                    task_id: a.task_id.0,
                    name: a.name.clone(),
                    input: a.input.as_json().to_string(),
                    trace_context: a.trace_context.as_ref().map(to_json).transpose()?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let claimed = c.claim.as_ref().filter(|k| k.max_items > 0).map(|k| {
            let rest = activities.split_off(k.max_items.min(activities.len()));
            let lease = Lease {
                token: tokens.next(&k.owner).0,
                until: micros(k.until),
                owner: k.owner.clone(),
            };
            (lease, std::mem::replace(&mut activities, rest))
        });
        Ok(Self {
            index,
            id: c.instance_id.as_str().to_string(),
            lock: c.lock.0.clone(),
            consumed: c.consumed.iter().map(|m| m.0).collect(),
            replace,
            events: events.iter().map(event_json).collect::<Result<_, _>>()?,
            update,
            activities,
            claimed,
            messages: c
                .messages
                .iter()
                .map(Message::encode)
                .collect::<Result<_, _>>()?,
            children: c
                .sub_orchestrations
                .iter()
                .map(Instance::encode)
                .collect::<Result<_, _>>()?,
        })
    }

    /// Instances this turn only adds work to (message targets, activity owners, parents told
    /// about a child that exists).
    fn weak(&self) -> impl Iterator<Item = &str> {
        self.messages
            .iter()
            .map(|m| m.instance_id.as_str())
            .chain(self.activities.iter().map(|a| a.instance_id.as_str()))
            .chain(
                self.children
                    .iter()
                    .filter_map(|c| c.parent.as_ref())
                    .map(|p| p.instance_id.as_str()),
            )
    }

    /// Every instance whose queue row the turn may change.
    fn touched(&self) -> impl Iterator<Item = String> + '_ {
        std::iter::once(self.id.as_str())
            .chain(self.weak())
            .chain(self.children.iter().map(|c| c.instance_id.as_str()))
            .map(str::to_string)
    }
}

/// Cuts the turns into segments that can each be applied as one set (see the module docs).
fn segments(turns: &[Turn]) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut committed: HashSet<&str> = HashSet::new();
    let mut created: HashSet<&str> = HashSet::new();
    for (i, t) in turns.iter().enumerate() {
        let conflict = committed.contains(t.id.as_str())
            || created.contains(t.id.as_str())
            || t.weak().any(|w| created.contains(w));
        if conflict {
            out.push(std::mem::take(&mut current));
            committed.clear();
            created.clear();
        }
        committed.insert(&t.id);
        created.extend(t.children.iter().map(|c| c.instance_id.as_str()));
        current.push(i);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The arrays of enqueued activity work items, one element per item.
#[derive(Default)]
struct Activities {
    instance: Vec<String>,
    execution: Vec<String>,
    task: Vec<i64>,
    name: Vec<String>,
    input: Vec<String>,
    trace: Vec<Option<String>>,
}

impl Activities {
    fn push(&mut self, a: Activity) {
        self.instance.push(a.instance_id);
        self.execution.push(a.execution_id);
        self.task.push(a.task_id);
        self.name.push(a.name);
        self.input.push(a.input);
        self.trace.push(a.trace_context);
    }

    /// The statement parameters `$1` to `$6`.
    fn params(&self) -> Params<'_> {
        vec![
            &self.instance,
            &self.execution,
            &self.task,
            &self.name,
            &self.input,
            &self.trace,
        ]
    }
}

/// The arrays of one segment's statements.
#[derive(Default)]
struct Apply {
    consumed: Vec<i64>,
    cleared: Vec<String>,
    history_ids: Vec<String>,
    history_counts: Vec<i32>,
    history_events: Vec<String>,
    u_ids: Vec<String>,
    u_status: Vec<String>,
    u_name: Vec<String>,
    u_execution: Vec<String>,
    u_input: Vec<String>,
    u_output: Vec<Option<String>>,
    u_failure: Vec<Option<String>>,
    u_custom: Vec<Option<String>>,
    u_at: Vec<i64>,
    activities: Activities,
    /// Activities leased to the claimant, and their leases' tokens, ends and owners.
    claimed: Activities,
    k_token: Vec<String>,
    k_until: Vec<i64>,
    k_owner: Vec<String>,
    /// The turn (its index in the batch) and lease token of each claiming instance.
    claims: HashMap<String, (usize, String)>,
    messages: Messages,
    creations: Creations,
    touched: Vec<String>,
    released: Vec<String>,
}

impl Apply {
    /// Adds an owned turn; `status` holds the statuses of the segment's children as they evolve.
    fn add(
        &mut self,
        t: Turn,
        status: &mut HashMap<String, Option<RuntimeStatus>>,
    ) -> Result<(), StoreError> {
        self.consumed.extend(t.consumed);
        if t.replace {
            self.cleared.push(t.id.clone());
        }
        if !t.events.is_empty() {
            let count = i32::try_from(t.events.len()).map_err(|_| {
                StoreError::InvalidInput(format!(
                    "too many history events in one turn of '{}'",
                    t.id
                ))
            })?;
            self.history_ids.push(t.id.clone());
            self.history_counts.push(count);
            self.history_events.push(codec::events_json(&t.events));
        }
        if let Some(u) = t.update {
            if let Some(s) = status.get_mut(&t.id) {
                *s = Some(u.status);
            }
            self.u_ids.push(t.id.clone());
            self.u_status.push(u.status.as_str().to_string());
            self.u_name.push(u.name);
            self.u_execution.push(u.execution_id);
            self.u_input.push(u.input);
            self.u_output.push(u.output);
            self.u_failure.push(u.failure);
            self.u_custom.push(u.custom_status);
            self.u_at.push(u.last_updated_at);
        }
        if let Some((lease, claimed)) = t.claimed {
            self.claims
                .insert(t.id.clone(), (t.index, lease.token.clone()));
            for a in claimed {
                self.claimed.push(a);
                self.k_token.push(lease.token.clone());
                self.k_until.push(lease.until);
                self.k_owner.push(lease.owner.clone());
            }
        }
        for a in t.activities {
            self.activities.push(a);
        }
        for m in t.messages {
            self.messages.push(m);
        }
        for child in t.children {
            let existing = status.get(&child.instance_id).copied().flatten();
            match existing {
                Some(s) if !s.is_terminal() => {
                    if let Some(parent) = &child.parent {
                        self.messages.push(refused(&child, parent, s)?);
                    }
                }
                _ => {
                    status.insert(child.instance_id.clone(), Some(RuntimeStatus::Pending));
                    self.released.push(child.instance_id.clone());
                    self.creations.push(child);
                }
            }
        }
        self.released.push(t.id);
        Ok(())
    }

    fn wake(&self) -> Wake {
        Wake {
            orchestrations: self.messages.any_now || !self.creations.is_empty(),
            activities: !self.activities.instance.is_empty(),
        }
    }

    /// The statements, in the order a sequential commit would apply them, and which of them
    /// returns the claimed activities.
    fn steps<'a>(
        &'a self,
        client: &'a tokio_postgres::Client,
        st: &'a crate::sql::Statements,
    ) -> (Vec<Step<'a, Rows>>, Option<usize>) {
        let mut steps = Vec::new();
        let mut claimed = None;
        if !self.consumed.is_empty() {
            steps.push(query(client, &st.consume, vec![&self.consumed]));
        }
        if !self.cleared.is_empty() {
            steps.push(query(client, &st.clear_history, vec![&self.cleared]));
        }
        if !self.history_ids.is_empty() {
            steps.push(query(
                client,
                &st.append_history,
                vec![
                    &self.history_ids,
                    &self.history_counts,
                    &self.history_events,
                ],
            ));
        }
        if !self.u_ids.is_empty() {
            steps.push(query(
                client,
                &st.update_instances,
                vec![
                    &self.u_ids,
                    &self.u_status,
                    &self.u_name,
                    &self.u_execution,
                    &self.u_input,
                    &self.u_output,
                    &self.u_failure,
                    &self.u_custom,
                    &self.u_at,
                ],
            ));
        }
        if !self.activities.instance.is_empty() {
            let params = self.activities.params();
            steps.push(query(client, &st.insert_activities, params));
        }
        if !self.claimed.instance.is_empty() {
            claimed = Some(steps.len());
            let mut params = self.claimed.params();
            params.push(&self.k_token);
            params.push(&self.k_until);
            params.push(&self.k_owner);
            steps.push(query(client, &st.insert_claimed_activities, params));
        }
        if !self.messages.is_empty() {
            steps.push(self.messages.insert(client, &st.insert_messages));
        }
        if !self.creations.is_empty() {
            steps.extend(self.creations.steps(client, st));
        }
        steps.push(query(
            client,
            &st.maintain,
            vec![&self.touched, &self.released],
        ));
        (steps, claimed)
    }
}

/// The message telling a parent that its sub-orchestration's id is taken by an active instance.
fn refused(
    child: &Instance,
    parent: &durafn_core::ParentInstance,
    status: RuntimeStatus,
) -> Result<Message, StoreError> {
    let child_id = InstanceId::from_trusted(child.instance_id.clone());
    Message::encode(&kit::child_refused(
        parent,
        &child_id,
        status,
        child.created,
    ))
}

fn lock_lost(id: &str) -> StoreError {
    StoreError::LockLost(format!("instance '{id}'"))
}

/// Commits turns in one transaction; one result per turn.
pub(crate) async fn commit_turns(
    conn: &mut Conn<'_>,
    tokens: &LockTokens,
    commits: &[TurnCommit],
) -> Result<(Vec<Result<Committed, StoreError>>, Wake), StoreError> {
    let mut results: Vec<Result<Committed, StoreError>> = Vec::with_capacity(commits.len());
    let mut turns = Vec::with_capacity(commits.len());
    for (i, c) in commits.iter().enumerate() {
        match Turn::encode(i, c, tokens) {
            Ok(t) => {
                results.push(Ok(Committed::default()));
                turns.push(t);
            }
            Err(e) => results.push(Err(e)),
        }
    }
    if turns.is_empty() {
        return Ok((results, Wake::default()));
    }
    let all = lock_order(turns.iter().flat_map(Turn::touched).collect());
    let plan = segments(&turns);
    let mut turns: Vec<Option<Turn>> = turns.into_iter().map(Some).collect();
    let st = conn.statements();
    conn.begin();
    let client = conn.client();
    let mut wake = Wake::default();
    let mut applied_any = false;
    let mut claimants: Vec<usize> = Vec::new();
    let last = plan.len() - 1;
    for (k, segment) in plan.iter().enumerate() {
        let children: Vec<String> = lock_order(
            segment
                .iter()
                .filter_map(|&i| turns[i].as_ref())
                .flat_map(|t| t.children.iter().map(|c| c.instance_id.clone()))
                .collect(),
        );
        let owned: Vec<String> = segment
            .iter()
            .filter_map(|&i| turns[i].as_ref().map(|t| t.id.clone()))
            .collect();
        let mut read: Vec<Step<'_, Rows>> = Vec::new();
        if k == 0 {
            read.push(begin(client));
            read.push(query(client, &st.lock, vec![&all]));
        }
        read.push(query(client, &st.tokens, vec![&owned]));
        if !children.is_empty() {
            read.push(query(client, &st.statuses, vec![&children]));
        }
        let replies = pipeline(read).await.map_err(backend)?;
        let token_rows = &replies[if k == 0 { 2 } else { 0 }];
        let mut held: HashMap<String, Option<String>> = HashMap::new();
        for row in token_rows {
            held.insert(get::<String>(row, 0)?, get::<Option<String>>(row, 1)?);
        }
        let mut status: HashMap<String, Option<RuntimeStatus>> =
            children.iter().map(|c| (c.clone(), None)).collect();
        if !children.is_empty() {
            for (id, s) in statuses(&replies[replies.len() - 1])? {
                status.insert(id, Some(s));
            }
        }
        let mut apply = Apply::default();
        let mut touched = Vec::new();
        for &i in segment {
            let Some(t) = turns[i].take() else { continue };
            touched.extend(t.touched());
            let owns = held.get(&t.id).and_then(Option::as_deref) == Some(t.lock.as_str());
            if owns {
                claimants.push(t.index);
                apply.add(t, &mut status)?;
                applied_any = true;
            } else {
                results[t.index] = Err(lock_lost(&t.id));
            }
        }
        apply.touched = lock_order(touched);
        let w = apply.wake();
        wake.orchestrations |= w.orchestrations;
        wake.activities |= w.activities;
        let turn_claims = if k == last {
            TurnClaims::new(tokens, commits, &claimants)
        } else {
            TurnClaims::default()
        };
        let (mut steps, claimed) = apply.steps(client, &st);
        let claim_at = steps.len();
        steps.extend(turn_claims.step.as_ref().map(|c| c.step(client, &st)));
        if k == last {
            steps.push(if applied_any {
                commit(client)
            } else {
                rollback(client)
            });
        }
        let replies = pipeline(steps).await.map_err(backend)?;
        if let Some(step) = claimed {
            hand_over(&replies[step], &apply.claims, commits, &mut results)?;
        }
        turn_claims.hand_over(replies.get(claim_at), &mut results)?;
    }
    conn.end();
    if !applied_any {
        wake = Wake::default();
    }
    Ok((results, wake))
}

/// The claims of the turns' next work ([`TurnCommit::claim_turns`]): one claim statement over
/// the targets of every commit that applied, run last, once every lease of the batch is
/// released. One claim stands for all, as for starts and results: a batch is one host's.
#[derive(Default)]
struct TurnClaims {
    step: Option<ClaimStep>,
    /// Each applied commit that claims, with its targets in order.
    targets: Vec<(usize, Vec<String>)>,
}

impl TurnClaims {
    fn new(tokens: &LockTokens, commits: &[TurnCommit], applied: &[usize]) -> Self {
        let mut lease: Option<&InstanceClaim> = None;
        let mut targets = Vec::new();
        for &index in applied {
            let Some(claim) = &commits[index].claim_turns else {
                continue;
            };
            lease = lease.or(Some(&claim.lease));
            let ids: Vec<String> = kit::turn_targets(&commits[index])
                .iter()
                .map(|id| id.as_str().to_string())
                .collect();
            targets.push((index, ids));
        }
        let step = lease.map(|k| {
            let all = targets.iter().flat_map(|(_, ids)| ids.iter().cloned());
            ClaimStep::new(tokens, k, all.collect())
        });
        Self { step, targets }
    }

    /// Gives each leased instance to the first commit that named it.
    fn hand_over(
        &self,
        rows: Option<&Rows>,
        results: &mut [Result<Committed, StoreError>],
    ) -> Result<(), StoreError> {
        let (Some(step), Some(rows)) = (&self.step, rows) else {
            return Ok(());
        };
        for item in step.items(rows)? {
            let id = item.instance_id.as_str();
            let carrier = self
                .targets
                .iter()
                .find(|(_, ids)| ids.iter().any(|t| t == id));
            if let Some((index, _)) = carrier
                && let Ok(committed) = &mut results[*index]
            {
                committed.turns.push(item);
            }
        }
        Ok(())
    }
}

/// Puts each claimed activity the insert returned into its turn's result, as a fetch would have
/// returned it (first delivery, no lease before).
fn hand_over(
    rows: &Rows,
    claims: &HashMap<String, (usize, String)>,
    commits: &[TurnCommit],
    results: &mut [Result<Committed, StoreError>],
) -> Result<(), StoreError> {
    for row in rows {
        let instance: String = get(row, 1)?;
        let task: i64 = get(row, 2)?;
        let Some((index, token)) = claims.get(&instance) else {
            continue;
        };
        let Some(activity) = commits[*index]
            .activities
            .iter()
            .find(|a| a.task_id.0 == task)
        else {
            continue;
        };
        if let Ok(committed) = &mut results[*index] {
            committed.claimed.push(ActivityWorkItem::claimed(
                ActivityId(get(row, 0)?),
                activity.clone(),
                LockToken(token.clone()),
            ));
        }
    }
    for r in results.iter_mut().flatten() {
        r.claimed.sort_unstable_by_key(|w| w.activity.task_id.0);
    }
    Ok(())
}

/// Releases an instance's lease; its messages become visible at `retry_at` at the earliest.
pub(crate) async fn abandon(
    conn: &mut Conn<'_>,
    id: &InstanceId,
    lock: &LockToken,
    retry_at: Option<DateTime<Utc>>,
) -> Result<Wake, StoreError> {
    let ids = vec![id.as_str().to_string()];
    let instance = id.as_str();
    let st = conn.statements();
    conn.begin();
    let client = conn.client();
    let replies = pipeline(vec![
        begin(client),
        query(client, &st.lock_one, vec![&instance]),
    ])
    .await
    .map_err(backend)?;
    let current = match replies[1].first() {
        Some(row) => get::<Option<String>>(row, 0)?,
        None => None,
    };
    if current.as_deref() != Some(lock.0.as_str()) {
        pipeline(vec![rollback(client)]).await.map_err(backend)?;
        conn.end();
        return Err(lock_lost(instance));
    }
    let retry = retry_at.map(micros);
    let mut steps = Vec::new();
    if let Some(retry) = &retry {
        steps.push(query(client, &st.delay_messages, vec![&instance, retry]));
    }
    steps.push(query(client, &st.maintain, vec![&ids, &ids]));
    steps.push(commit(client));
    pipeline(steps).await.map_err(backend)?;
    conn.end();
    Ok(if retry_at.is_none() {
        Wake::ORCHESTRATIONS
    } else {
        Wake::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use durafn_core::{EventKind, ExecutionId, HistoryEvent, Payload};
    use durafn_store::{NewInstance, NewMessage};

    fn turn(id: &str, targets: &[&str], children: &[&str]) -> Turn {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let c = TurnCommit {
            instance_id: InstanceId::from_trusted(id),
            lock: LockToken("t".into()),
            consumed: Vec::new(),
            history: HistoryChange::Append(Vec::new()),
            update: None,
            activities: Vec::new(),
            claim: None,
            claim_turns: None,
            messages: targets
                .iter()
                .map(|t| NewMessage {
                    instance_id: InstanceId::from_trusted(*t),
                    execution_id: None,
                    event: HistoryEvent::new(at, EventKind::OrchestratorStarted),
                    visible_at: None,
                })
                .collect(),
            sub_orchestrations: children
                .iter()
                .map(|c| NewInstance {
                    instance_id: InstanceId::from_trusted(*c),
                    name: "child".into(),
                    execution_id: ExecutionId::new("e"),
                    input: Payload::null(),
                    parent: None,
                    created_at: at,
                    version: None,
                    trace_context: None,
                })
                .collect(),
        };
        Turn::encode(0, &c, &LockTokens::unique()).expect("encode")
    }

    #[test]
    fn batches_split_only_where_sets_would_differ_from_sequential_commits() {
        // Fan-in to one parent, messages between committed instances: one segment.
        let fan_in = [
            turn("a", &["p"], &[]),
            turn("b", &["p", "a"], &[]),
            turn("p", &[], &[]),
        ];
        assert_eq!(segments(&fan_in), vec![vec![0, 1, 2]]);
        // The same instance twice, or a message to a child created earlier: split.
        let dup = [turn("a", &[], &[]), turn("a", &[], &[])];
        assert_eq!(segments(&dup), vec![vec![0], vec![1]]);
        let to_child = [
            turn("a", &[], &["c"]),
            turn("b", &["c"], &[]),
            turn("c", &[], &[]),
        ];
        assert_eq!(segments(&to_child), vec![vec![0], vec![1, 2]]);
    }
}
