//! The replay engine: one orchestration turn, from history and new messages to new history,
//! actions and status.
//!
//! History is applied one event at a time, and the orchestrator is polled after every event that
//! woke one of its futures. A fresh executor fed the whole history and a live executor fed only the
//! new messages therefore run the code through exactly the same sequence of states: full replay
//! and incremental execution give the same result by construction (and a property test checks it).

use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use chrono::{DateTime, Utc};

use crate::action::{Action, describe_recorded};
use crate::context::OrchestrationContext;
pub use crate::divergence::Divergence;
use crate::failure::{FailureDetails, SystemFailure};
use crate::history::{EventKind, HistoryEvent, ParentInstance, RuntimeStatus, TraceContext};
use crate::ids::{ExecutionId, InstanceId};
use crate::payload::Payload;
use crate::registry::{FunctionFuture, Registry};
use crate::trace::{FinishedTask, TaskLedger};

mod outcome;
pub use outcome::Outcome;
use outcome::{end_event, panicked, recorded_outcome};

/// What one turn produced; the runtime commits it atomically.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    /// Events to append to history (empty when the instance had already finished and the
    /// messages were discarded).
    pub new_events: Vec<HistoryEvent>,
    /// Durable work to perform.
    pub actions: Vec<Action>,
    /// The instance's status after the turn.
    pub status: RuntimeStatus,
    /// The custom status set by the code.
    pub custom_status: Option<Payload>,
    /// Set in the turn in which the execution ended.
    pub outcome: Option<Outcome>,
    /// The tasks whose results arrived in this turn, when the execution is traced (their client
    /// spans end now); empty otherwise.
    pub finished_tasks: Vec<FinishedTask>,
    /// Retries a retry policy decided on in this turn (after a failed activity or
    /// sub-orchestration; replayed decisions are not counted again).
    pub retries: u32,
}

/// Wakes the engine: the orchestrator needs another poll.
struct WakeFlag(AtomicBool);

impl Wake for WakeFlag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::Release);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::Release);
    }
}

/// Runs one orchestration execution over its history; keep it alive between turns (the instance
/// cache) to avoid replay, or build a fresh one and [`replay`](Self::replay) the stored history.
pub struct OrchestrationExecutor {
    registry: Arc<Registry>,
    ctx: OrchestrationContext,
    future: Option<FunctionFuture>,
    flag: Arc<WakeFlag>,
    waker: Waker,
    started: bool,
    name: String,
    parent: Option<ParentInstance>,
    outcome: Option<Outcome>,
    /// Whether history already holds the event that ends the execution.
    end_recorded: bool,
    suspended: bool,
    held_while_suspended: Vec<HistoryEvent>,
    keep_unconsumed_events: bool,
    history_len: usize,
    /// The index in the replayed history of the event being applied (for divergences).
    position: Option<usize>,
    divergence: Option<Divergence>,
    /// The tasks whose result was applied (see [`EventKind::answered_task`]).
    answered: std::collections::HashSet<i64>,
    trace: Option<TraceContext>,
    /// The open tasks of a traced execution (`None` when it is not traced: no cost).
    ledger: Option<TaskLedger>,
    /// Whether a traced execution keeps its ledger (not when the runtime exports no spans).
    ledger_wanted: bool,
}

impl std::fmt::Debug for OrchestrationExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrchestrationExecutor")
            .field("name", &self.name)
            .field("history_len", &self.history_len)
            .field("status", &self.status())
            .finish()
    }
}

impl OrchestrationExecutor {
    /// An executor with no history yet.
    pub fn new(registry: Arc<Registry>) -> Self {
        let flag = Arc::new(WakeFlag(AtomicBool::new(false)));
        Self {
            registry,
            ctx: OrchestrationContext::new(),
            future: None,
            waker: Waker::from(flag.clone()),
            flag,
            started: false,
            name: String::new(),
            parent: None,
            outcome: None,
            end_recorded: false,
            suspended: false,
            held_while_suspended: Vec::new(),
            keep_unconsumed_events: false,
            history_len: 0,
            position: None,
            divergence: None,
            answered: std::collections::HashSet::new(),
            trace: None,
            ledger: None,
            ledger_wanted: true,
        }
    }

    /// An executor that keeps no ledger of open tasks even for an execution started with a
    /// trace context: the runtime exports no spans, so nobody would read it, and tracing off
    /// costs nothing.
    pub fn without_task_ledger(mut self) -> Self {
        self.ledger_wanted = false;
        self
    }

    /// Rebuilds the execution's state by replaying recorded history.
    pub fn replay(&mut self, history: &[HistoryEvent]) {
        let markers = history.iter().filter_map(|e| match &e.kind {
            EventKind::PatchMarker { patch_id } => Some(patch_id.clone()),
            _ => None,
        });
        let markers: Vec<String> = markers.collect();
        if !markers.is_empty() {
            // The code asks `is_patched` before the engine reaches the marker in history, so
            // the markers are known before replay starts.
            self.ctx.with_state(|s| s.patches.recorded.extend(markers));
        }
        for (index, event) in history.iter().enumerate() {
            self.position = Some(self.history_len + index);
            if let Some(task) = event.kind.answered_task() {
                self.answered.insert(task.0);
            }
            self.apply(event, true);
        }
        self.position = None;
        self.history_len += history.len();
    }

    /// Replays one turn of a history whose scheduling events are not at hand (the management
    /// API's condensed history lists completions, not the calls they answer): applies
    /// `messages` at `now` as replay and hands back the actions the code issued, each with
    /// where it was issued, taking them as recorded. The caller checks them against what it
    /// knows of the turn.
    pub fn replay_turn_unscheduled(
        &mut self,
        messages: &[HistoryEvent],
        now: DateTime<Utc>,
    ) -> Vec<(Action, Option<String>)> {
        self.apply(
            &HistoryEvent::new(now, EventKind::OrchestratorStarted),
            true,
        );
        for message in messages {
            self.apply(message, true);
        }
        self.history_len += messages.len() + 1;
        self.ctx.with_state(|s| {
            let issued = std::mem::take(&mut s.unmatched);
            issued
                .into_iter()
                .map(|(seq, a)| (a, s.locations.get(&seq).map(ToString::to_string)))
                .collect()
        })
    }

    /// Tells replay that history holds these patch markers (for replays that do not apply the
    /// history's own events, see [`replay_turn_unscheduled`](Self::replay_turn_unscheduled)).
    pub fn assume_patches(&mut self, patch_ids: impl IntoIterator<Item = String>) {
        self.ctx
            .with_state(|s| s.patches.recorded.extend(patch_ids));
    }

    /// The first place where the code did not do what history records, if any.
    pub fn divergence(&self) -> Option<&Divergence> {
        self.divergence.as_ref()
    }

    /// The outcome the code reached so far (recorded or produced), if the execution ended.
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    /// Actions the code issued that history does not record yet (after a replay: what its next
    /// turn would schedule), each with where the code issued it, when known.
    pub fn unmatched_actions(&self) -> Vec<(Action, Option<String>)> {
        self.ctx.with_state(|s| {
            s.unmatched
                .iter()
                .map(|(seq, a)| (a.clone(), s.locations.get(seq).map(ToString::to_string)))
                .collect()
        })
    }

    /// Hands the result of the orchestrator's `prepare_turn` to the code, for the turns that
    /// follow (see [`Orchestrator::prepare_turn`](crate::Orchestrator::prepare_turn)).
    pub fn set_prepared(&mut self, prepared: Option<Payload>) {
        self.ctx.with_state(|s| s.prepared = prepared);
    }

    /// One turn: applies `messages` at time `now` and returns what to commit.
    pub fn run_turn(&mut self, messages: Vec<HistoryEvent>, now: DateTime<Utc>) -> Turn {
        if self.end_recorded {
            return Turn {
                new_events: Vec::new(),
                actions: Vec::new(),
                status: self.status(),
                custom_status: self.ctx.with_state(|s| s.custom_status.clone()),
                outcome: None,
                finished_tasks: Vec::new(),
                retries: 0,
            };
        }
        let mut new_events = Vec::with_capacity(messages.len() + 4);
        let turn_started = HistoryEvent::new(now, EventKind::OrchestratorStarted);
        self.apply(&turn_started, false);
        new_events.push(turn_started);
        for message in messages {
            if message.kind.is_scheduling() {
                // Only the engine records scheduling events; a message of that kind is a bug
                // upstream and must not confuse replay later.
                continue;
            }
            if let Some(task) = message.kind.answered_task() {
                // A result delivered again (a message queue that delivers at least once): the
                // task has its result; recording it twice would show it resolved twice.
                if !self.answered.insert(task.0) {
                    continue;
                }
            }
            self.apply(&message, false);
            new_events.push(message);
        }
        let patches = self.ctx.with_state(|s| std::mem::take(&mut s.patches.new));
        for patch_id in patches {
            new_events.push(HistoryEvent::new(now, EventKind::PatchMarker { patch_id }));
        }
        let unmatched = self.ctx.with_state(|s| std::mem::take(&mut s.unmatched));
        let mut actions = Vec::with_capacity(unmatched.len());
        for action in unmatched.into_values() {
            let event = action.to_event(now);
            if let Some(ledger) = &mut self.ledger {
                ledger.scheduled(&event);
            }
            new_events.push(event);
            actions.push(action);
        }
        let outcome = if self.end_recorded {
            None
        } else {
            self.outcome.clone()
        };
        let outcome = match outcome {
            Some(Outcome::ContinuedAsNew { input, .. }) if self.keep_unconsumed_events => {
                Some(Outcome::ContinuedAsNew {
                    input,
                    carryover: self.unconsumed_events(),
                })
            }
            other => other,
        };
        if let Some(outcome) = &outcome {
            new_events.push(HistoryEvent::new(now, end_event(outcome)));
            self.end_recorded = true;
        }
        new_events.push(HistoryEvent::new(now, EventKind::OrchestratorCompleted));
        self.history_len += new_events.len();
        Turn {
            new_events,
            actions,
            status: self.status(),
            custom_status: self.ctx.with_state(|s| s.custom_status.clone()),
            outcome,
            finished_tasks: self
                .ledger
                .as_mut()
                .map(TaskLedger::take_finished)
                .unwrap_or_default(),
            retries: self.ctx.with_state(|s| std::mem::take(&mut s.new_retries)),
        }
    }

    /// The trace context recorded on `ExecutionStarted` (the caller's span, and the
    /// orchestration span's id once a traced turn recorded it); `None` when not traced.
    pub fn trace_context(&self) -> Option<&TraceContext> {
        self.trace.as_ref()
    }

    /// The version the instance was started with (kept by the context, which the
    /// orchestrator reads too).
    pub fn version(&self) -> Option<String> {
        self.ctx.with_state(|s| s.version.clone())
    }

    /// The execution id (set by `ExecutionStarted`).
    pub fn execution_id(&self) -> ExecutionId {
        self.ctx.with_state(|s| s.execution_id.clone())
    }

    /// The status the execution is in now.
    pub fn status(&self) -> RuntimeStatus {
        match &self.outcome {
            Some(outcome) => outcome.status(),
            None if !self.started => RuntimeStatus::Pending,
            None if self.suspended => RuntimeStatus::Suspended,
            None => RuntimeStatus::Running,
        }
    }

    /// The custom status the code set last, as the turn that set it committed it.
    pub fn custom_status(&self) -> Option<Payload> {
        self.ctx.with_state(|s| s.custom_status.clone())
    }

    /// How many history events this executor has seen; the runtime compares it with the stored
    /// history to detect a cached executor that another host has overtaken.
    pub fn history_len(&self) -> usize {
        self.history_len
    }

    /// The orchestrator's name (empty before `ExecutionStarted`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The parent to notify when this execution ends, if it is a sub-orchestration.
    pub fn parent(&self) -> Option<&ParentInstance> {
        self.parent.as_ref()
    }

    /// The instance id (set by `ExecutionStarted`).
    pub fn instance_id(&self) -> InstanceId {
        self.ctx.instance_id()
    }

    /// The external events the code waits for now, by their lower-cased names (as events are
    /// matched). History does not record waits, so operators' tools replay it and ask this.
    pub fn awaited_events(&self) -> Vec<String> {
        self.ctx.with_state(|s| {
            let mut names: Vec<String> = s
                .waiters
                .iter()
                .filter(|(_, ids)| ids.iter().any(|id| s.waiter_slots.contains_key(id)))
                .map(|(name, _)| name.clone())
                .collect();
            names.sort();
            names
        })
    }

    fn apply(&mut self, event: &HistoryEvent, replaying: bool) {
        if self.end_recorded {
            return;
        }
        if self.suspended && holds_while_suspended(&event.kind) {
            self.held_while_suspended.push(event.clone());
            return;
        }
        if let Some(ledger) = &mut self.ledger {
            let now = self.ctx.with_state(|s| s.now);
            ledger.completed(event, !replaying, now);
        }
        match &event.kind {
            EventKind::OrchestratorStarted => self.ctx.with_state(|s| {
                s.now = event.timestamp;
                s.replaying = replaying;
            }),
            EventKind::ExecutionStarted {
                name,
                instance_id,
                execution_id,
                input,
                parent,
                version,
                parent_trace_context,
                ..
            } => {
                self.ctx.with_state(|s| s.version = version.clone());
                if !self.started {
                    self.trace = parent_trace_context.clone();
                    let wanted = self.ledger_wanted;
                    self.ledger = self
                        .trace
                        .as_ref()
                        .filter(|_| wanted)
                        .map(|_| TaskLedger::default());
                }
                self.start(name, instance_id, execution_id, input, parent.clone())
            }
            EventKind::ExecutionCompleted { .. } | EventKind::ContinueAsNew { .. } => {
                self.end_recorded = true;
                self.future = None;
                if self.outcome.is_none() {
                    self.outcome = Some(recorded_outcome(&event.kind));
                }
            }
            EventKind::ExecutionTerminated { input } => {
                self.finish(Outcome::Terminated(input.clone()));
            }
            EventKind::TaskScheduled { .. }
            | EventKind::TimerCreated { .. }
            | EventKind::SubOrchestrationInstanceCreated { .. }
            | EventKind::EventSent { .. }
            | EventKind::EntityOperationCalled { .. }
            | EventKind::EntityOperationSignaled { .. }
            | EventKind::EntityLockRequested { .. }
            | EventKind::EntityUnlockSent { .. } => {
                if let Some(ledger) = &mut self.ledger {
                    ledger.scheduled(event);
                }
                self.match_recorded(event)
            }
            EventKind::EntityOperationCompleted {
                task_scheduled_id,
                result,
            } => self.deliver(task_scheduled_id.0, Ok(result.clone())),
            EventKind::EntityOperationFailed {
                task_scheduled_id,
                failure,
            } => self.deliver(task_scheduled_id.0, Err(failure.clone())),
            EventKind::EntityLockGranted {
                task_scheduled_id,
                lock_set,
            } => self.lock_granted(task_scheduled_id.0, lock_set),
            EventKind::EntityRequest { .. } => {}
            EventKind::TaskCompleted {
                task_scheduled_id,
                result,
            }
            | EventKind::SubOrchestrationInstanceCompleted {
                task_scheduled_id,
                result,
            } => self.deliver(task_scheduled_id.0, Ok(result.clone())),
            EventKind::TaskFailed {
                task_scheduled_id,
                failure,
            }
            | EventKind::SubOrchestrationInstanceFailed {
                task_scheduled_id,
                failure,
            } => self.deliver(task_scheduled_id.0, Err(failure.clone())),
            EventKind::TimerFired { timer_id, .. } => self.deliver(timer_id.0, Ok(Payload::null())),
            EventKind::EventRaised { name, input } => {
                let waker = self.ctx.with_state(|s| s.raise_event(name, input.clone()));
                self.wake_and_run(waker);
            }
            EventKind::ExecutionSuspended { .. } => {
                if self.started && self.outcome.is_none() {
                    self.suspended = true;
                }
            }
            EventKind::ExecutionResumed { .. } => {
                if self.suspended {
                    self.suspended = false;
                    for held in std::mem::take(&mut self.held_while_suspended) {
                        self.apply(&held, replaying);
                    }
                }
            }
            EventKind::PatchMarker { patch_id } => self.ctx.with_state(|s| {
                s.patches.recorded.insert(patch_id.clone());
            }),
            EventKind::ExecutionRewound { .. } | EventKind::OrchestratorCompleted => {}
        }
    }

    fn start(
        &mut self,
        name: &str,
        instance_id: &InstanceId,
        execution_id: &ExecutionId,
        input: &Payload,
        parent: Option<ParentInstance>,
    ) {
        if self.started {
            return;
        }
        self.started = true;
        self.name = name.to_string();
        self.parent = parent;
        self.ctx.with_state(|s| {
            s.instance_id = instance_id.clone();
            s.execution_id = execution_id.clone();
            s.name = name.to_string();
        });
        match self.registry.orchestrator(name) {
            Some(orchestrator) => {
                let ctx = self.ctx.clone();
                let input = input.clone();
                match std::panic::catch_unwind(AssertUnwindSafe(|| orchestrator.start(ctx, input)))
                {
                    Ok(future) => {
                        self.future = Some(future);
                        self.run_code();
                    }
                    Err(panic) => self.finish(Outcome::Failed(panicked(name, panic))),
                }
            }
            None => self.finish(Outcome::Failed(FailureDetails::system(
                SystemFailure::OrchestratorNotFound,
                format!("orchestrator function '{name}' is not registered in this function app"),
            ))),
        }
    }

    /// A grant nobody waits for any more (the lock future was dropped) is answered by releasing
    /// the locks at once, so entities never stay locked by an orchestration that gave up.
    fn lock_granted(&mut self, seq: i64, lock_set: &[InstanceId]) {
        let waiting = self.ctx.with_state(|s| s.tasks.contains_key(&seq));
        if waiting && self.outcome.is_none() {
            self.deliver(seq, Ok(Payload::null()));
            return;
        }
        self.ctx.with_state(|s| {
            for entity in lock_set {
                s.issue(
                    |id| Action::UnlockEntity {
                        id,
                        entity: entity.clone(),
                    },
                    false,
                );
            }
        });
    }

    fn deliver(&mut self, seq: i64, result: Result<Payload, FailureDetails>) {
        let waker = self.ctx.with_state(|s| s.complete_task(seq, result));
        self.wake_and_run(waker);
    }

    fn wake_and_run(&mut self, waker: Option<Waker>) {
        if let Some(waker) = waker {
            waker.wake();
        }
        if self.flag.0.load(Ordering::Acquire) {
            self.run_code();
        }
    }

    /// Polls the orchestrator until it stops making progress.
    fn run_code(&mut self) {
        loop {
            self.flag.0.store(false, Ordering::Release);
            let Some(future) = self.future.as_mut() else {
                return;
            };
            let mut cx = Context::from_waker(&self.waker);
            let polled =
                std::panic::catch_unwind(AssertUnwindSafe(|| Pin::as_mut(future).poll(&mut cx)));
            match polled {
                Ok(Poll::Ready(Ok(output))) => {
                    let next = self.ctx.with_state(|s| s.continue_as_new.take());
                    let outcome = match next {
                        Some((input, keep_events)) => {
                            // Events arriving later in this turn are unprocessed too, so the
                            // carry-over is collected when the turn ends.
                            self.keep_unconsumed_events = keep_events;
                            Outcome::ContinuedAsNew {
                                input,
                                carryover: Vec::new(),
                            }
                        }
                        None => Outcome::Completed(output),
                    };
                    self.finish(outcome);
                    return;
                }
                Ok(Poll::Ready(Err(error))) => {
                    self.finish(Outcome::Failed(error.into_failure()));
                    return;
                }
                Ok(Poll::Pending) => {
                    if !self.flag.0.load(Ordering::Acquire) {
                        return;
                    }
                }
                Err(panic) => {
                    let name = self.name.clone();
                    self.finish(Outcome::Failed(panicked(&name, panic)));
                    return;
                }
            }
        }
    }

    /// Events that arrived but were never consumed, as `EventRaised` events for the next
    /// execution; events held while suspended count too.
    fn unconsumed_events(&self) -> Vec<HistoryEvent> {
        let now = self.ctx.current_utc_datetime();
        let mut events: Vec<HistoryEvent> = self.ctx.with_state(|s| {
            s.buffered
                .iter()
                .map(|(name, input)| {
                    HistoryEvent::new(
                        now,
                        EventKind::EventRaised {
                            name: name.clone(),
                            input: input.clone(),
                        },
                    )
                })
                .collect()
        });
        events.extend(
            self.held_while_suspended
                .iter()
                .filter(|e| matches!(e.kind, EventKind::EventRaised { .. }))
                .cloned(),
        );
        events
    }

    fn finish(&mut self, outcome: Outcome) {
        if self.outcome.is_some() {
            return;
        }
        self.outcome = Some(outcome);
        // Dropping the future runs the drop glue of its durable futures, which locks the state:
        // it must happen outside any `with_state`.
        self.future = None;
        self.suspended = false;
    }

    /// Checks a recorded scheduling event against the action the code issued with that id.
    fn match_recorded(&mut self, event: &HistoryEvent) {
        let issued = self
            .ctx
            .with_state(|s| s.unmatched.remove(&event.event_id.0));
        let problem = match &issued {
            Some(action) if action.matches(&event.kind) => None,
            Some(action) => Some(format!(
                "history records {} at step {}, but the code now schedules {}",
                describe_recorded(&event.kind),
                event.event_id,
                action.describe()
            )),
            None => Some(format!(
                "history records {} at step {}, but the code now schedules nothing there",
                describe_recorded(&event.kind),
                event.event_id
            )),
        };
        if let Some(problem) = problem {
            if matches!(self.outcome, Some(Outcome::Failed(ref f)) if f.is(SystemFailure::NonDeterminism))
            {
                return;
            }
            // The code may have finished where history says it went on: that is non-determinism
            // too, and it overrides the outcome the code produced.
            let message = format!(
                "non-deterministic orchestration '{}': {problem}. Orchestrator code must make the same durable calls in the same order on every replay.",
                self.name
            );
            let location = self
                .ctx
                .with_state(|s| s.locations.get(&event.event_id.0).map(ToString::to_string));
            self.divergence = Some(Divergence {
                history_index: self.position,
                event_id: event.event_id.0,
                recorded: Some(event.clone()),
                issued,
                location,
                message: message.clone(),
            });
            self.outcome = None;
            self.finish(Outcome::Failed(FailureDetails::system(
                SystemFailure::NonDeterminism,
                message,
            )));
        }
    }
}

/// While suspended, completions and events wait; terminate and resume do not. (Public for
/// orchestrators that rebuild what their code saw from history, such as those run out of
/// process: they must hold back the same events.)
pub fn holds_while_suspended(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::TaskCompleted { .. }
            | EventKind::TaskFailed { .. }
            | EventKind::SubOrchestrationInstanceCompleted { .. }
            | EventKind::SubOrchestrationInstanceFailed { .. }
            | EventKind::TimerFired { .. }
            | EventKind::EventRaised { .. }
            | EventKind::EntityOperationCompleted { .. }
            | EventKind::EntityOperationFailed { .. }
            | EventKind::EntityLockGranted { .. }
    )
}

/// The pure turn function: replays `history` in a fresh executor, then applies `messages`.
pub fn run_turn(
    registry: Arc<Registry>,
    history: &[HistoryEvent],
    messages: Vec<HistoryEvent>,
    now: DateTime<Utc>,
) -> (OrchestrationExecutor, Turn) {
    let mut executor = OrchestrationExecutor::new(registry);
    executor.replay(history);
    let turn = executor.run_turn(messages, now);
    (executor, turn)
}
