//! Test orchestration semantics as data: history in, actions out.
//!
//! [`HistoryBuilder`] writes histories by hand (to test replay of a given record, such as a
//! non-determinism case), and [`TestOrchestration`] drives an orchestrator turn by turn like the
//! runtime does. Every [`TestOrchestration::turn`] runs the turn twice, incrementally on the live
//! executor and by full replay on a fresh one, and panics if the two differ.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;

use crate::engine::{self, OrchestrationExecutor, Turn};
use crate::failure::FailureDetails;
use crate::history::{EventKind, HistoryEvent, ParentInstance, RuntimeStatus};
use crate::ids::{EventId, ExecutionId, InstanceId};
use crate::payload::Payload;
use crate::registry::Registry;

/// The instant test histories start at, unless told otherwise.
pub fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2021, 10, 12, 10, 0, 0)
        .single()
        .expect("a valid date")
}

fn payload(value: impl Serialize) -> Payload {
    Payload::encode(&value).expect("test value encodes as JSON")
}

/// Message constructors, as the runtime would deliver them.
pub mod msg {
    use super::*;

    /// The first message of every execution.
    pub fn execution_started(
        name: &str,
        instance_id: &str,
        input: impl Serialize,
        at: DateTime<Utc>,
    ) -> HistoryEvent {
        HistoryEvent::new(
            at,
            EventKind::ExecutionStarted {
                name: name.to_string(),
                instance_id: InstanceId::from_trusted(instance_id),
                execution_id: ExecutionId::new(format!("{instance_id}-exec")),
                input: payload(input),
                parent: None::<ParentInstance>,
                version: None,
                parent_trace_context: None,
            },
        )
    }

    /// An activity's result.
    pub fn task_completed(id: i64, result: impl Serialize, at: DateTime<Utc>) -> HistoryEvent {
        HistoryEvent::new(
            at,
            EventKind::TaskCompleted {
                task_scheduled_id: EventId(id),
                result: payload(result),
            },
        )
    }

    /// An activity's failure.
    pub fn task_failed(id: i64, message: &str, at: DateTime<Utc>) -> HistoryEvent {
        HistoryEvent::new(
            at,
            EventKind::TaskFailed {
                task_scheduled_id: EventId(id),
                failure: FailureDetails::new("ActivityError", message),
            },
        )
    }

    /// A sub-orchestration's output.
    pub fn sub_completed(id: i64, result: impl Serialize, at: DateTime<Utc>) -> HistoryEvent {
        HistoryEvent::new(
            at,
            EventKind::SubOrchestrationInstanceCompleted {
                task_scheduled_id: EventId(id),
                result: payload(result),
            },
        )
    }

    /// A sub-orchestration's failure.
    pub fn sub_failed(id: i64, failure: FailureDetails, at: DateTime<Utc>) -> HistoryEvent {
        HistoryEvent::new(
            at,
            EventKind::SubOrchestrationInstanceFailed {
                task_scheduled_id: EventId(id),
                failure,
            },
        )
    }

    /// A timer firing.
    pub fn timer_fired(id: i64, fire_at: DateTime<Utc>) -> HistoryEvent {
        HistoryEvent::new(
            fire_at,
            EventKind::TimerFired {
                timer_id: EventId(id),
                fire_at,
            },
        )
    }

    /// An external event.
    pub fn event_raised(name: &str, data: impl Serialize, at: DateTime<Utc>) -> HistoryEvent {
        HistoryEvent::new(
            at,
            EventKind::EventRaised {
                name: name.to_string(),
                input: payload(data),
            },
        )
    }

    /// An operator's terminate.
    pub fn terminated(reason: &str, at: DateTime<Utc>) -> HistoryEvent {
        HistoryEvent::new(
            at,
            EventKind::ExecutionTerminated {
                input: payload(reason),
            },
        )
    }

    /// An operator's suspend.
    pub fn suspended(at: DateTime<Utc>) -> HistoryEvent {
        HistoryEvent::new(at, EventKind::ExecutionSuspended { reason: None })
    }

    /// An operator's resume.
    pub fn resumed(at: DateTime<Utc>) -> HistoryEvent {
        HistoryEvent::new(at, EventKind::ExecutionResumed { reason: None })
    }
}

/// Writes a history by hand, one turn at a time.
#[derive(Debug, Clone)]
pub struct HistoryBuilder {
    events: Vec<HistoryEvent>,
    now: DateTime<Utc>,
}

impl Default for HistoryBuilder {
    fn default() -> Self {
        Self::new(epoch())
    }
}

impl HistoryBuilder {
    /// A history starting at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            events: Vec::new(),
            now: start,
        }
    }

    /// Moves the clock forward.
    pub fn advance(&mut self, by: Duration) -> &mut Self {
        self.now = crate::context::add_duration(self.now, by);
        self
    }

    /// Appends any event at the current time.
    pub fn push(&mut self, kind: EventKind) -> &mut Self {
        self.events.push(HistoryEvent::new(self.now, kind));
        self
    }

    /// Appends a scheduling event with action id `id` at the current time.
    pub fn scheduled(&mut self, id: i64, kind: EventKind) -> &mut Self {
        self.events
            .push(HistoryEvent::scheduled(EventId(id), self.now, kind));
        self
    }

    /// Begins a turn.
    pub fn orchestrator_started(&mut self) -> &mut Self {
        self.push(EventKind::OrchestratorStarted)
    }

    /// Ends a turn.
    pub fn orchestrator_completed(&mut self) -> &mut Self {
        self.push(EventKind::OrchestratorCompleted)
    }

    /// `ExecutionStarted` for `name` with `input`.
    pub fn execution_started(
        &mut self,
        name: &str,
        instance_id: &str,
        input: impl Serialize,
    ) -> &mut Self {
        self.events
            .push(msg::execution_started(name, instance_id, input, self.now));
        self
    }

    /// `TaskScheduled` with action id `id`.
    pub fn task_scheduled(&mut self, id: i64, name: &str, input: impl Serialize) -> &mut Self {
        self.events.push(HistoryEvent::scheduled(
            EventId(id),
            self.now,
            EventKind::TaskScheduled {
                name: name.to_string(),
                input: payload(input),
            },
        ));
        self
    }

    /// `TaskCompleted` for action `id`.
    pub fn task_completed(&mut self, id: i64, result: impl Serialize) -> &mut Self {
        self.events.push(msg::task_completed(id, result, self.now));
        self
    }

    /// `TaskFailed` for action `id`.
    pub fn task_failed(&mut self, id: i64, message: &str) -> &mut Self {
        self.events.push(msg::task_failed(id, message, self.now));
        self
    }

    /// `TimerCreated` with action id `id`.
    pub fn timer_created(&mut self, id: i64, fire_at: DateTime<Utc>) -> &mut Self {
        self.events.push(HistoryEvent::scheduled(
            EventId(id),
            self.now,
            EventKind::TimerCreated { fire_at },
        ));
        self
    }

    /// `TimerFired` for action `id`.
    pub fn timer_fired(&mut self, id: i64, fire_at: DateTime<Utc>) -> &mut Self {
        self.events.push(msg::timer_fired(id, fire_at));
        self
    }

    /// `EventRaised`.
    pub fn event_raised(&mut self, name: &str, data: impl Serialize) -> &mut Self {
        self.events.push(msg::event_raised(name, data, self.now));
        self
    }

    /// The history so far.
    pub fn build(&self) -> Vec<HistoryEvent> {
        self.events.clone()
    }

    /// The builder's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }
}

/// Drives one orchestration instance turn by turn, checking full replay against incremental
/// execution on every turn.
pub struct TestOrchestration {
    registry: Arc<Registry>,
    live: OrchestrationExecutor,
    history: Vec<HistoryEvent>,
    now: DateTime<Utc>,
    last: Option<Turn>,
}

impl std::fmt::Debug for TestOrchestration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestOrchestration")
            .field("history_len", &self.history.len())
            .field("now", &self.now)
            .finish()
    }
}

impl TestOrchestration {
    /// Starts `name` with `input` as instance `test-instance` and runs the first turn.
    pub fn start(registry: Registry, name: &str, input: impl Serialize) -> Self {
        let registry = Arc::new(registry);
        let mut test = Self {
            live: OrchestrationExecutor::new(registry.clone()),
            registry,
            history: Vec::new(),
            now: epoch(),
            last: None,
        };
        let started = msg::execution_started(name, "test-instance", input, test.now);
        test.turn(vec![started]);
        test
    }

    /// Runs one turn with `messages` at the current time, incrementally and by full replay.
    ///
    /// # Panics
    /// If the two disagree.
    pub fn turn(&mut self, messages: Vec<HistoryEvent>) -> Turn {
        let incremental = self.live.run_turn(messages.clone(), self.now);
        let (_, replayed) =
            engine::run_turn(self.registry.clone(), &self.history, messages, self.now);
        assert_eq!(
            incremental, replayed,
            "incremental execution and full replay disagree"
        );
        self.history.extend(incremental.new_events.iter().cloned());
        self.last = Some(incremental.clone());
        incremental
    }

    /// Moves the clock forward.
    pub fn advance(&mut self, by: Duration) -> &mut Self {
        self.now = crate::context::add_duration(self.now, by);
        self
    }

    /// The current time of the test clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// The whole history so far.
    pub fn history(&self) -> &[HistoryEvent] {
        &self.history
    }

    /// The last turn's result.
    pub fn last_turn(&self) -> &Turn {
        self.last.as_ref().expect("start runs a turn")
    }

    /// The status after the last turn.
    pub fn status(&self) -> RuntimeStatus {
        self.last_turn().status
    }

    /// The registry under test.
    pub fn registry(&self) -> Arc<Registry> {
        self.registry.clone()
    }

    /// `TaskCompleted` for action `id` at the current time.
    pub fn completed(&self, id: i64, result: impl Serialize) -> HistoryEvent {
        msg::task_completed(id, result, self.now)
    }

    /// `TaskFailed` for action `id` at the current time.
    pub fn failed(&self, id: i64, message: &str) -> HistoryEvent {
        msg::task_failed(id, message, self.now)
    }

    /// `EventRaised` at the current time.
    pub fn event(&self, name: &str, data: impl Serialize) -> HistoryEvent {
        msg::event_raised(name, data, self.now)
    }

    /// `TimerFired` for the timer with action id `id`, due when it was created for.
    ///
    /// # Panics
    /// If history has no such timer.
    pub fn fired(&self, id: i64) -> HistoryEvent {
        let fire_at = self.timer_due(id).expect("no TimerCreated with that id");
        msg::timer_fired(id, fire_at)
    }

    /// When timer `id` is due, from its `TimerCreated` event.
    pub fn timer_due(&self, id: i64) -> Option<DateTime<Utc>> {
        self.history.iter().find_map(|e| match e.kind {
            EventKind::TimerCreated { fire_at } if e.event_id == EventId(id) => Some(fire_at),
            _ => None,
        })
    }
}
