//! Building blocks shared by the writing operations: statements as pipeline steps, and
//! messages and new instances gathered into the arrays the batch statements take.

use durafn_core::{HistoryEvent, ParentInstance};
use durafn_store::kit::LockTokens;
use durafn_store::{
    InstanceClaim, LockToken, NewInstance, NewMessage, OrchestrationWorkItem, StoreError,
};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Statement};

use crate::codec::{event_json, micros, to_json, work_item};
use crate::pipeline::{Rows, Step, no_rows};

/// A parameter list.
pub(crate) type Params<'a> = Vec<&'a (dyn ToSql + Sync)>;

/// A prepared statement as a pipeline step.
pub(crate) fn query<'a>(
    client: &'a Client,
    st: &'a Statement,
    params: Params<'a>,
) -> Step<'a, Rows> {
    Box::pin(async move { client.query(st, &params).await })
}

/// `BEGIN` as a pipeline step.
pub(crate) fn begin(client: &Client) -> Step<'_, Rows> {
    no_rows(client.batch_execute("BEGIN"))
}

/// `COMMIT` as a pipeline step.
pub(crate) fn commit(client: &Client) -> Step<'_, Rows> {
    no_rows(client.batch_execute("COMMIT"))
}

/// `ROLLBACK` as a pipeline step.
pub(crate) fn rollback(client: &Client) -> Step<'_, Rows> {
    no_rows(client.batch_execute("ROLLBACK"))
}

/// Sorts and deduplicates instance ids: the order every transaction locks rows in.
pub(crate) fn lock_order(mut ids: Vec<String>) -> Vec<String> {
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// A message, encoded.
#[derive(Debug, Clone)]
pub(crate) struct Message {
    pub(crate) instance_id: String,
    pub(crate) execution_id: Option<String>,
    pub(crate) event: String,
    pub(crate) visible_at: Option<i64>,
}

impl Message {
    /// Encodes a message.
    pub(crate) fn encode(m: &NewMessage) -> Result<Self, StoreError> {
        Ok(Self {
            instance_id: m.instance_id.as_str().to_string(),
            execution_id: m.execution_id.as_ref().map(|e| e.as_str().to_string()),
            event: event_json(&m.event)?,
            visible_at: m.visible_at.map(micros),
        })
    }
}

/// Messages to enqueue, as the arrays of the insert statement.
#[derive(Debug, Default)]
pub(crate) struct Messages {
    instance_ids: Vec<String>,
    execution_ids: Vec<Option<String>>,
    events: Vec<String>,
    visible_at: Vec<Option<i64>>,
    /// Whether one of them is visible at once (so dispatchers elsewhere should be woken).
    pub(crate) any_now: bool,
}

impl Messages {
    pub(crate) fn push(&mut self, m: Message) {
        self.any_now |= m.visible_at.is_none();
        self.instance_ids.push(m.instance_id);
        self.execution_ids.push(m.execution_id);
        self.events.push(m.event);
        self.visible_at.push(m.visible_at);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// A statement taking the four message arrays (`insert_messages`, or `enqueue`, which
    /// also makes the instances ready), as a step.
    pub(crate) fn insert<'a>(&'a self, client: &'a Client, st: &'a Statement) -> Step<'a, Rows> {
        query(
            client,
            st,
            vec![
                &self.instance_ids,
                &self.execution_ids,
                &self.events,
                &self.visible_at,
            ],
        )
    }
}

/// A new instance, encoded.
#[derive(Debug, Clone)]
pub(crate) struct Instance {
    pub(crate) instance_id: String,
    name: String,
    execution_id: String,
    input: String,
    created_at: i64,
    parent_json: Option<String>,
    version: Option<String>,
    trace_json: Option<String>,
    /// The parent, to tell it when the child cannot be created.
    pub(crate) parent: Option<ParentInstance>,
    /// The creation time, for the failure event sent to the parent.
    pub(crate) created: chrono::DateTime<chrono::Utc>,
    started: Message,
}

impl Instance {
    /// Encodes a request to create an instance.
    pub(crate) fn encode(ni: &NewInstance) -> Result<Self, StoreError> {
        let started: HistoryEvent = ni.started_event();
        Ok(Self {
            instance_id: ni.instance_id.as_str().to_string(),
            name: ni.name.clone(),
            execution_id: ni.execution_id.as_str().to_string(),
            input: ni.input.as_json().to_string(),
            created_at: micros(ni.created_at),
            parent_json: ni.parent.as_ref().map(to_json).transpose()?,
            version: ni.version.clone(),
            trace_json: ni.trace_context.as_ref().map(to_json).transpose()?,
            parent: ni.parent.clone(),
            created: ni.created_at,
            started: Message {
                instance_id: ni.instance_id.as_str().to_string(),
                execution_id: None,
                event: event_json(&started)?,
                visible_at: None,
            },
        })
    }
}

/// Instances to create (or replace, when terminal), as the arrays of the statements that do it:
/// their old history and queued work are removed, their rows written, and their
/// `ExecutionStarted` messages enqueued.
#[derive(Debug, Default)]
pub(crate) struct Creations {
    pub(crate) ids: Vec<String>,
    names: Vec<String>,
    execution_ids: Vec<String>,
    inputs: Vec<String>,
    created_at: Vec<i64>,
    parents: Vec<Option<String>>,
    versions: Vec<Option<String>>,
    traces: Vec<Option<String>>,
    started: Messages,
}

impl Creations {
    pub(crate) fn push(&mut self, i: Instance) {
        self.ids.push(i.instance_id);
        self.names.push(i.name);
        self.execution_ids.push(i.execution_id);
        self.inputs.push(i.input);
        self.created_at.push(i.created_at);
        self.parents.push(i.parent_json);
        self.versions.push(i.version);
        self.traces.push(i.trace_json);
        self.started.push(i.started);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The steps, in order: remove old data, write rows, enqueue the start messages.
    pub(crate) fn steps<'a>(
        &'a self,
        client: &'a Client,
        st: &'a crate::sql::Statements,
    ) -> Vec<Step<'a, Rows>> {
        vec![
            query(client, &st.remove_data, vec![&self.ids]),
            query(
                client,
                &st.upsert_instances,
                vec![
                    &self.ids,
                    &self.names,
                    &self.execution_ids,
                    &self.inputs,
                    &self.created_at,
                    &self.parents,
                    &self.versions,
                    &self.traces,
                ],
            ),
            self.started.insert(client, &st.insert_messages),
        ]
    }
}

/// The statement that leases claimed instances to the claimant inside a transaction that already
/// holds their rows (a start's or an activity result's claim), and reading back what it leased.
pub(crate) struct ClaimStep {
    now: i64,
    ids: Vec<String>,
    lock: LockToken,
    until: i64,
    owner: String,
}

impl ClaimStep {
    /// Claims `ids` (in lock order) for `claim` under one fresh lease token.
    pub(crate) fn new(tokens: &LockTokens, claim: &InstanceClaim, ids: Vec<String>) -> Self {
        Self {
            now: micros(claim.now),
            ids: lock_order(ids),
            lock: tokens.next(&claim.owner),
            until: micros(claim.until),
            owner: claim.owner.clone(),
        }
    }

    /// The step, for the transaction's pipeline.
    pub(crate) fn step<'a>(
        &'a self,
        client: &'a Client,
        st: &'a crate::sql::Statements,
    ) -> Step<'a, Rows> {
        query(
            client,
            &st.claim_orchestrations,
            vec![&self.now, &self.ids, &self.lock.0, &self.until, &self.owner],
        )
    }

    /// The instances the step leased, as work items.
    pub(crate) fn items(&self, rows: &Rows) -> Result<Vec<OrchestrationWorkItem>, StoreError> {
        rows.iter().map(|row| work_item(row, &self.lock)).collect()
    }

    /// How many instances were asked for.
    pub(crate) fn asked(&self) -> usize {
        self.ids.len()
    }
}
