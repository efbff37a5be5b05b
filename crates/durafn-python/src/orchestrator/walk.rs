//! One turn of a Python orchestrator: from durafn's history to the SDK's view, the SDK's
//! answer, and the turn's [`Plan`].
//!
//! The walk goes through the execution's history turn by turn and rebuilds, deterministically,
//! what the SDK saw in each turn, applying the host rules of `PROTOCOL.md` section 10:
//!
//! - **Task ids are the SDK's.** durafn's sequence numbers are the SDK's task ids: every id the
//!   SDK allocates gets a durable action with that number, including the hidden work of
//!   retries, and nothing else takes one.
//! - **Retries reproduce the SDK's event sequence**, the extra timer included: an attempt's
//!   failure creates a retry timer, the timer's firing the next attempt while attempts remain,
//!   and the timer after the last attempt lets the error surface. Those events take ids when
//!   the SDK processes them, so in each turn they are delivered first, and the retry work gets
//!   its ids before the turn's new actions.
//! - **External events are held back until they are waited for** (the SDK keeps only the last
//!   of the events that arrive early and hands it to every later wait): a turn delivers no more
//!   events of a name than there are waits for it in the action list; an event held back is
//!   delivered at the end of the first turn in which a wait for it is open.
//!
//! The last two rules depend on what the code did in earlier turns, which durafn's history does
//! not record: which task ids belong to retried calls, and how many waits were open. The walk
//! asks the SDK when it needs to know (it is deterministic: the same view gives the same
//! actions), and [`Answers`] remembers the answers between turns, so a warm walk asks only for
//! the current turn; after a restart the first turn of an instance asks again once for each
//! earlier turn that needs a decision.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use durafn_core::engine::holds_while_suspended;
use durafn_core::{EventKind, FailureDetails, HistoryEvent, InstanceId, Payload};

use super::past::{
    details_text, entity_id, http_request, parse_fire_at, payload, request_id, retry_candidate,
    split_turns, waits,
};
use super::plan::{HTTP_ACTIVITY, Plan, PlannedAction, PlannedOutcome};
use super::state::{Retry, SdkAction};
use super::turn::{TurnError, TurnInput, TurnRunner, Turned};
use super::view::{Execution, SdkEvent, SdkKind, View, client_text};
use crate::protocol::WorkerError;

/// The SDK's answers remembered for one execution: the latest action list (positions are
/// stable from one turn to the next) and how long the list was after each view asked about.
#[derive(Debug, Clone, Default)]
pub(crate) struct Answers {
    execution_id: String,
    list: Arc<Vec<SdkAction>>,
    lengths: HashMap<u64, usize>,
}

impl Answers {
    /// Whether these answers belong to the execution `execution_id`.
    pub(crate) fn belongs_to(&self, execution_id: &str) -> bool {
        self.execution_id == execution_id
    }
}

#[derive(Debug, Clone)]
struct Chain {
    position: usize,
    retry: Retry,
    attempts: u32,
    waiting_timer: bool,
}

#[derive(Debug, Clone)]
enum RetryWork {
    Timer(DateTime<Utc>),
    Attempt(usize),
}

#[derive(Debug, Clone)]
struct Held {
    timestamp: DateTime<Utc>,
    name: String,
    input: Option<String>,
}

struct Walk<'a> {
    execution: Execution,
    view: View,
    started: bool,
    next_id: i64,
    chains: Vec<Chain>,
    /// The id each running chain waits on (its current attempt, or its retry timer).
    outstanding: HashMap<i64, usize>,
    retry_work: BTreeMap<i64, RetryWork>,
    /// Task id → position in the action list.
    positions: HashMap<i64, usize>,
    /// Positions of the list already matched with recorded ids.
    consumed: usize,
    /// Recorded ids of new actions, not yet matched with positions of the list.
    pending: VecDeque<i64>,
    recorded: BTreeMap<i64, EventKind>,
    held: VecDeque<Held>,
    delivered: HashMap<String, usize>,
    suspended: bool,
    held_suspended: Vec<HistoryEvent>,
    terminated: bool,
    /// Where the previous turn ended before its entity calls were appended (view length and
    /// fingerprint): the SDK's list there is the list after that turn.
    previous_end: Option<(usize, u64)>,
    answers: &'a mut Answers,
    used: HashSet<u64>,
    runner: &'a mut dyn TurnRunner,
}

struct Known {
    len: usize,
    turned: Option<Turned>,
}

impl Walk<'_> {
    fn push(&mut self, timestamp: DateTime<Utc>, kind: SdkKind) {
        self.view.push(SdkEvent { timestamp, kind });
    }

    /// The SDK's action list for the view's first `len` events (whose fingerprint is `key`);
    /// `full` insists on running the code (for its state, not only its list).
    async fn ask(&mut self, len: usize, key: u64, full: bool) -> Result<Known, TurnError> {
        self.used.insert(key);
        if !full {
            if let Some(&known) = self.answers.lengths.get(&key) {
                if known <= self.answers.list.len() {
                    return Ok(Known {
                        len: known,
                        turned: None,
                    });
                }
            }
        }
        let context = if len == self.view.len() {
            self.view.context(&self.execution)
        } else {
            self.view.prefix(len).context(&self.execution)
        };
        let turned = self.runner.run(context).await?;
        let n = turned.state.actions.len();
        self.answers.list = Arc::new(turned.state.actions.clone());
        self.answers.lengths.insert(key, n);
        Ok(Known {
            len: n,
            turned: Some(turned),
        })
    }

    async fn ask_here(&mut self, full: bool) -> Result<Known, TurnError> {
        let (len, key) = (self.view.len(), self.view.fingerprint());
        self.ask(len, key, full).await
    }

    /// Matches recorded ids with the id-taking positions of the latest list, in order, and
    /// starts following the retried calls among them.
    fn resolve(&mut self) {
        let list = self.answers.list.clone();
        while let Some(&id) = self.pending.front() {
            let mut p = self.consumed;
            while p < list.len() && !list[p].takes_id() {
                p += 1;
            }
            if p >= list.len() || matches!(list[p], SdkAction::ContinueAsNew { .. }) {
                break;
            }
            self.pending.pop_front();
            self.follow(id, p, &list[p]);
            self.consumed = p + 1;
        }
    }

    fn follow(&mut self, id: i64, position: usize, action: &SdkAction) {
        self.positions.insert(id, position);
        if let Some(retry) = action.retry() {
            self.chains.push(Chain {
                position,
                retry,
                attempts: 1,
                waiting_timer: false,
            });
            self.outstanding.insert(id, self.chains.len() - 1);
        }
    }

    /// The engine's order of a turn's messages: while suspended, completions and events wait
    /// and are applied when the execution resumes.
    fn engine_order(&mut self, messages: Vec<HistoryEvent>, out: &mut Vec<HistoryEvent>) {
        for m in messages {
            if self.terminated {
                return;
            }
            if self.suspended && holds_while_suspended(&m.kind) {
                self.held_suspended.push(m);
                continue;
            }
            match &m.kind {
                EventKind::ExecutionSuspended { .. } => {
                    if self.started {
                        self.suspended = true;
                    }
                }
                EventKind::ExecutionResumed { .. } => {
                    if self.suspended {
                        self.suspended = false;
                        let held = std::mem::take(&mut self.held_suspended);
                        self.engine_order(held, out);
                    }
                }
                EventKind::ExecutionTerminated { .. } => self.terminated = true,
                EventKind::ExecutionStarted { .. } if self.started => {}
                EventKind::ExecutionStarted { .. } => {
                    self.started = true;
                    out.push(m);
                }
                _ => out.push(m),
            }
        }
    }

    /// Whether the SDK allocates an id when it processes this event.
    fn allocates(&self, kind: &EventKind) -> bool {
        let Some(id) = retry_candidate(kind) else {
            return false;
        };
        let Some(&c) = self.outstanding.get(&id) else {
            return false;
        };
        let chain = &self.chains[c];
        match kind {
            EventKind::TimerFired { .. } => {
                chain.waiting_timer && chain.attempts < chain.retry.max_attempts
            }
            _ => !chain.waiting_timer,
        }
    }

    fn allocate_retry(&mut self, kind: &EventKind, turn_time: DateTime<Utc>) {
        let Some(id) = retry_candidate(kind) else {
            return;
        };
        let Some(c) = self.outstanding.remove(&id) else {
            return;
        };
        let new_id = self.next_id;
        self.next_id += 1;
        let chain = &mut self.chains[c];
        if chain.waiting_timer {
            chain.attempts += 1;
            chain.waiting_timer = false;
            self.retry_work.insert(new_id, RetryWork::Attempt(c));
        } else {
            chain.waiting_timer = true;
            let fire_at = turn_time
                .checked_add_signed(TimeDelta::milliseconds(chain.retry.first_interval_ms))
                .unwrap_or(turn_time);
            self.retry_work.insert(new_id, RetryWork::Timer(fire_at));
        }
        self.outstanding.insert(new_id, c);
    }

    /// The bookkeeping of an event that takes no id: a chain that ended.
    fn settle(&mut self, kind: &EventKind) {
        let id = match kind {
            EventKind::TaskCompleted {
                task_scheduled_id, ..
            }
            | EventKind::SubOrchestrationInstanceCompleted {
                task_scheduled_id, ..
            } => task_scheduled_id.0,
            EventKind::TimerFired { timer_id, .. } => timer_id.0,
            _ => return,
        };
        self.outstanding.remove(&id);
    }

    /// The SDK's form of a delivered message (nothing for those it does not read).
    fn deliver(&mut self, m: &HistoryEvent) {
        let t = m.timestamp;
        let kind = match &m.kind {
            EventKind::TaskCompleted {
                task_scheduled_id,
                result,
            } => SdkKind::TaskCompleted {
                id: task_scheduled_id.0,
                result: Some(result.as_json().to_string()),
            },
            EventKind::TaskFailed {
                task_scheduled_id,
                failure,
            } => SdkKind::TaskFailed {
                id: task_scheduled_id.0,
                reason: if failure.error_type.is_empty() {
                    failure.message.clone()
                } else {
                    format!("{}: {}", failure.error_type, failure.message)
                },
                details: details_text(failure),
            },
            EventKind::SubOrchestrationInstanceCompleted {
                task_scheduled_id,
                result,
            } => SdkKind::SubOrchestrationCompleted {
                id: task_scheduled_id.0,
                result: Some(result.as_json().to_string()),
            },
            EventKind::SubOrchestrationInstanceFailed {
                task_scheduled_id,
                failure,
            } => SdkKind::SubOrchestrationFailed {
                id: task_scheduled_id.0,
                reason: failure.message.clone(),
                details: details_text(failure),
            },
            EventKind::TimerFired { timer_id, fire_at } => SdkKind::TimerFired {
                id: timer_id.0,
                fire_at: *fire_at,
            },
            EventKind::EntityOperationCompleted {
                task_scheduled_id,
                result,
            } => SdkKind::EventRaised {
                name: request_id(&self.execution.instance_id, &self.execution.execution_id, task_scheduled_id.0),
                input: Some(serde_json::json!({"result": result.as_json()}).to_string()),
            },
            EventKind::EntityOperationFailed {
                task_scheduled_id,
                failure,
            } => SdkKind::EventRaised {
                name: request_id(&self.execution.instance_id, &self.execution.execution_id, task_scheduled_id.0),
                input: Some(
                    serde_json::json!({
                        "result": serde_json::to_string(&failure.message).unwrap_or_default(),
                        "exceptionType": if failure.error_type.is_empty() { "Exception" } else { failure.error_type.as_str() },
                    })
                    .to_string(),
                ),
            },
            EventKind::EventRaised { name, input } => SdkKind::EventRaised {
                name: name.clone(),
                input: Some(client_text(input)),
            },
            _ => return,
        };
        self.push(t, kind);
    }

    /// Delivers held-back events that `list` now has waits for; returns how many.
    fn release(&mut self, list_len: usize) -> usize {
        let list = self.answers.list.clone();
        let counts = waits(&list[..list_len.min(list.len())]);
        let mut released = Vec::new();
        let mut kept = VecDeque::new();
        let mut granted: HashMap<String, usize> = HashMap::new();
        for held in std::mem::take(&mut self.held) {
            let waits = counts.get(held.name.as_str()).copied().unwrap_or(0);
            let already = self.delivered.get(&held.name).copied().unwrap_or(0)
                + granted.get(&held.name).copied().unwrap_or(0);
            if waits > already {
                *granted.entry(held.name.clone()).or_default() += 1;
                released.push(held);
            } else {
                kept.push_back(held);
            }
        }
        self.held = kept;
        let n = released.len();
        for held in released {
            *self.delivered.entry(held.name.clone()).or_default() += 1;
            self.push(
                held.timestamp,
                SdkKind::EventRaised {
                    name: held.name,
                    input: held.input,
                },
            );
        }
        n
    }

    /// One turn. `recorded` holds the scheduling events durafn recorded for a past turn, and
    /// is `None` for the turn being planned, whose final answer is returned.
    async fn turn(
        &mut self,
        started: DateTime<Utc>,
        messages: Vec<HistoryEvent>,
        recorded: Option<&[&HistoryEvent]>,
    ) -> Result<Option<Turned>, TurnError> {
        let current = recorded.is_none();
        let mut effective = Vec::with_capacity(messages.len());
        self.engine_order(messages, &mut effective);
        // Decisions that need the SDK's list as it stood after the previous turn.
        let mut waits_before: HashMap<String, usize> = HashMap::new();
        if let Some((len, key)) = self.previous_end {
            let events = effective
                .iter()
                .any(|m| matches!(m.kind, EventKind::EventRaised { .. }));
            let unknown_ids = effective
                .iter()
                .filter_map(|m| retry_candidate(&m.kind))
                .any(|id| self.pending.contains(&id));
            if events || unknown_ids || !self.held.is_empty() {
                let known = self.ask(len, key, false).await?;
                self.resolve();
                let list = self.answers.list.clone();
                waits_before = waits(&list[..known.len.min(list.len())])
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect();
            }
        }
        self.push(started, SdkKind::OrchestratorStarted);
        if let Some(start) = effective
            .iter()
            .position(|m| matches!(m.kind, EventKind::ExecutionStarted { .. }))
        {
            let m = effective.remove(start);
            if let EventKind::ExecutionStarted {
                name,
                execution_id,
                input,
                parent,
                version,
                ..
            } = &m.kind
            {
                if !self.answers.belongs_to(execution_id.as_str()) {
                    // Answers of an earlier execution (before a continue-as-new) are of no use.
                    *self.answers = Answers::default();
                }
                self.execution.name = name.clone();
                self.execution.execution_id = execution_id.to_string();
                // The input of an instance a client started may be doubly encoded; that of a
                // sub-orchestration is the text its parent's action carried.
                self.execution.input = Some(match parent {
                    None => client_text(input),
                    Some(_) => input.as_json().to_string(),
                });
                self.execution.parent_instance_id =
                    parent.as_ref().map(|p| p.instance_id.to_string());
                self.push(
                    m.timestamp,
                    SdkKind::ExecutionStarted {
                        name: name.clone(),
                        input: self.execution.input.clone(),
                        version: version.clone().unwrap_or_default(),
                    },
                );
            }
        }
        let (first, rest): (Vec<HistoryEvent>, Vec<HistoryEvent>) =
            effective.into_iter().partition(|m| self.allocates(&m.kind));
        for m in &first {
            self.deliver(m);
            self.allocate_retry(&m.kind, started);
        }
        for m in &rest {
            match &m.kind {
                EventKind::EventRaised { name, input } => {
                    let waits = waits_before.get(name).copied().unwrap_or(0);
                    let delivered = self.delivered.get(name).copied().unwrap_or(0);
                    if waits > delivered {
                        *self.delivered.entry(name.clone()).or_default() += 1;
                        self.deliver(m);
                    } else {
                        self.held.push_back(Held {
                            timestamp: m.timestamp,
                            name: name.clone(),
                            input: Some(client_text(input)),
                        });
                    }
                }
                kind => {
                    self.settle(kind);
                    self.deliver(m);
                }
            }
        }
        let mut answer = None;
        if current || !self.held.is_empty() {
            loop {
                let known = self.ask_here(current).await?;
                answer = known.turned;
                if self.held.is_empty() || self.release(known.len) == 0 {
                    break;
                }
            }
        }
        self.previous_end = Some((self.view.len(), self.view.fingerprint()));
        for e in recorded.unwrap_or_default() {
            let id = e.event_id.0;
            self.recorded.insert(id, e.kind.clone());
            self.next_id = self.next_id.max(id + 1);
            if !self.retry_work.contains_key(&id) {
                self.pending.push_back(id);
            }
            if let EventKind::EntityOperationCalled {
                instance_id,
                operation,
                input,
            } = &e.kind
            {
                let request = serde_json::json!({
                    "id": request_id(&self.execution.instance_id, &self.execution.execution_id, id),
                    "op": operation,
                    "signal": false,
                    "input": input.as_json(),
                    "parent": self.execution.instance_id,
                });
                self.push(
                    e.timestamp,
                    SdkKind::EventSent {
                        id,
                        instance_id: instance_id.to_string(),
                        input: request.to_string(),
                    },
                );
            }
        }
        Ok(answer)
    }

    /// The durable action of a position of the final list, with task id `id`.
    fn action(
        &self,
        list: &[SdkAction],
        position: usize,
        id: i64,
    ) -> Result<Option<PlannedAction>, String> {
        Ok(Some(match &list[position] {
            SdkAction::Activity { name, input, .. } => PlannedAction::Activity {
                name: name.clone(),
                input: payload(input, "activity input")?,
            },
            SdkAction::SubOrchestration {
                name,
                input,
                instance_id,
                ..
            } => {
                let instance_id = instance_id
                    .clone()
                    .unwrap_or_else(|| format!("{}:{id}", self.execution.instance_id));
                InstanceId::parse(instance_id.as_str())
                    .map_err(|e| format!("sub-orchestration instance id {instance_id:?}: {e}"))?;
                PlannedAction::SubOrchestration {
                    name: name.clone(),
                    instance_id,
                    input: payload(input, "sub-orchestration input")?,
                }
            }
            SdkAction::Timer { fire_at, .. } => PlannedAction::Timer {
                fire_at: parse_fire_at(fire_at)
                    .ok_or_else(|| format!("the timer's fireAt {fire_at:?} is not a time"))?,
            },
            SdkAction::CallEntity {
                instance_id,
                operation,
                input,
            } => PlannedAction::CallEntity {
                entity: entity_id(instance_id)?,
                operation: operation.clone(),
                input: payload(input, "entity operation input")?,
            },
            SdkAction::SignalEntity {
                instance_id,
                operation,
                input,
            } => PlannedAction::SignalEntity {
                entity: entity_id(instance_id)?,
                operation: operation.clone(),
                input: payload(input, "entity operation input")?,
            },
            SdkAction::Http { request } => PlannedAction::Activity {
                name: HTTP_ACTIVITY.to_string(),
                input: http_request(request)?,
            },
            SdkAction::ContinueAsNew { .. } | SdkAction::WaitForEvent { .. } => return Ok(None),
        }))
    }

    /// The plan of the turn from the final answer.
    fn plan(mut self, turned: Turned) -> Plan {
        let recorded_ids = self.next_id;
        let list = Arc::new(turned.state.actions.clone());
        self.answers.list = list.clone();
        self.resolve();
        // New actions: every id-taking position beyond the matched ones.
        let mut continue_input = None;
        for p in self.consumed..list.len() {
            if !list[p].takes_id() {
                continue;
            }
            let id = self.next_id;
            self.next_id += 1;
            if let SdkAction::ContinueAsNew { input } = &list[p] {
                continue_input = Some(input.clone());
                break;
            }
            self.follow(id, p, &list[p]);
        }
        self.consumed = list.len();
        let state = &turned.state;
        let fail = |message: String, error_type: &str, details: Option<String>| {
            let mut failure = FailureDetails::new(error_type, message);
            failure.details = details.and_then(|d| Payload::encode(&d).ok());
            PlannedOutcome::Failed(failure)
        };
        let mut outcome = if let Some(error) = &state.error {
            let exception = turned.exception.as_ref();
            fail(
                format!(
                    "Orchestrator function '{}' failed: {error}",
                    self.execution.name
                ),
                exception.map_or("OrchestratorFunctionFailed", |e| e.error_type.as_str()),
                exception
                    .map(|e| e.traceback.clone())
                    .filter(|t| !t.is_empty()),
            )
        } else if state.is_done {
            match continue_input {
                Some(input) => match payload(&input, "continue-as-new input") {
                    Ok(p) => PlannedOutcome::ContinuedAsNew(p),
                    Err(e) => fail(e, "InvalidAction", None),
                },
                None => match payload(state.output.as_deref().unwrap_or("null"), "output") {
                    Ok(p) => PlannedOutcome::Completed(p),
                    Err(e) => fail(e, "InvalidAction", None),
                },
            }
        } else {
            PlannedOutcome::Running
        };
        let mut actions = Vec::new();
        for id in 0..self.next_id {
            let action = match self.retry_work.get(&id) {
                Some(RetryWork::Timer(fire_at)) => {
                    Ok(Some(PlannedAction::Timer { fire_at: *fire_at }))
                }
                Some(RetryWork::Attempt(c)) => self.action(&list, self.chains[*c].position, id),
                None => match self.positions.get(&id) {
                    Some(&p) => self.action(&list, p, id),
                    // The code no longer schedules what history records here: issuing nothing
                    // more lets the engine name the first difference.
                    None => break,
                },
            };
            match action {
                Ok(Some(a)) => actions.push(a),
                Ok(None) => break,
                Err(message) => {
                    outcome = fail(
                        format!(
                            "Orchestrator function '{}' failed: {message}",
                            self.execution.name
                        ),
                        "InvalidAction",
                        None,
                    );
                    break;
                }
            }
        }
        if matches!(outcome, PlannedOutcome::Failed(_)) {
            // A failing turn schedules nothing new.
            actions.truncate(usize::try_from(recorded_ids).unwrap_or(0));
        }
        let custom_status = state
            .custom_status
            .as_deref()
            .and_then(|s| Payload::from_json_text(s).ok());
        self.finish();
        Plan {
            actions,
            outcome,
            custom_status,
        }
    }

    /// The plan of a turn whose code could not be run to a state: what history records, and
    /// the failure.
    fn failed(self, error: &WorkerError) -> Plan {
        let actions = self
            .recorded
            .values()
            .map_while(PlannedAction::recorded)
            .collect();
        let mut failure = FailureDetails::new(
            error.error_type.clone(),
            format!(
                "Orchestrator function '{}' failed: {}: {}",
                self.execution.name, error.error_type, error.message
            ),
        );
        if !error.traceback.is_empty() {
            failure.details = Payload::encode(&error.traceback).ok();
        }
        self.finish();
        Plan {
            actions,
            outcome: PlannedOutcome::Failed(failure),
            custom_status: None,
        }
    }

    fn finish(self) {
        let used = self.used;
        self.answers.lengths.retain(|k, _| used.contains(k));
        self.answers.execution_id = self.execution.execution_id;
    }
}

/// Plans one turn of an orchestration.
pub(crate) async fn plan_turn(
    input: TurnInput<'_>,
    answers: &mut Answers,
    runner: &mut dyn TurnRunner,
) -> Result<Plan, TurnError> {
    let mut walk = Walk {
        execution: Execution {
            instance_id: input.instance_id.to_string(),
            ..Execution::default()
        },
        view: View::default(),
        started: false,
        next_id: 0,
        chains: Vec::new(),
        outstanding: HashMap::new(),
        retry_work: BTreeMap::new(),
        positions: HashMap::new(),
        consumed: 0,
        pending: VecDeque::new(),
        recorded: BTreeMap::new(),
        held: VecDeque::new(),
        delivered: HashMap::new(),
        suspended: false,
        held_suspended: Vec::new(),
        terminated: false,
        previous_end: None,
        answers,
        used: HashSet::new(),
        runner,
    };
    for turn in split_turns(input.history) {
        let messages = turn.messages.into_iter().cloned().collect();
        if let Err(e) = walk
            .turn(turn.started, messages, Some(&turn.scheduled))
            .await
        {
            return match e {
                TurnError::Failed(error) => Ok(walk.failed(&error)),
                other => Err(other),
            };
        }
    }
    let messages = input
        .new_events
        .iter()
        .filter(|m| !m.kind.is_scheduling())
        .cloned()
        .collect();
    match walk.turn(input.now, messages, None).await {
        Ok(Some(turned)) => Ok(walk.plan(turned)),
        Ok(None) => Err(TurnError::Unavailable("the turn produced no state".into())),
        Err(TurnError::Failed(error)) => Ok(walk.failed(&error)),
        Err(other) => Err(other),
    }
}
