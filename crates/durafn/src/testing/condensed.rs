//! Replaying the management API's condensed history, which leaves out what replay matches on:
//! turn boundaries, sequence numbers, and the scheduling events of calls that were answered (a
//! completion stands for its call, carrying the call's name and scheduled time).
//!
//! The turns are rebuilt from the times: every call was made in the turn that began at its
//! scheduled time, and every message was consumed by the first turn after it arrived (and after
//! the call it answers). Each turn is then replayed with its messages, and the calls the code
//! makes in it are checked against the calls history records for it, by kind and name; the
//! sequence numbers the code gives them answer the completions of later turns. Two calls of the
//! same activity in one turn are told apart by order only, and a turn that consumed a message
//! but made no call and did not end leaves no trace of its own: its messages are replayed with
//! the next turn's.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use durafn_core::replay::ReplayVerdict;
use durafn_core::{
    Action, Divergence, EventId, EventKind, ExecutionId, FailureDetails, HistoryEvent, InstanceId,
    OrchestrationExecutor, Payload, Registry, RuntimeStatus,
};

use super::files::{Entry, History};

/// The kinds of durable calls, as far as a condensed history tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Call {
    Activity,
    Sub,
    Timer,
    Send,
    Entity,
    Signal,
    Lock,
    Unlock,
}

/// A call history records, in the turn it was made.
struct Recorded {
    call: Call,
    name: Option<String>,
    index: usize,
    fire_at: Option<DateTime<Utc>>,
    used: bool,
}

impl Entry {
    /// The call this entry records and when it was made, if it records one.
    fn call(&self) -> Option<(Call, Option<String>, DateTime<Utc>)> {
        let at = self.timestamp;
        let sched = self.scheduled_time.unwrap_or(at);
        let f = self.function_name.clone();
        Some(match self.event_type.as_str() {
            "TaskScheduled" => (Call::Activity, f, at),
            "TaskCompleted" | "TaskFailed" => (Call::Activity, f, sched),
            "SubOrchestrationInstanceCreated" => (Call::Sub, f, at),
            "SubOrchestrationInstanceCompleted" | "SubOrchestrationInstanceFailed" => {
                (Call::Sub, f, sched)
            }
            "TimerCreated" => (Call::Timer, None, at),
            "EventSent" => (Call::Send, self.name.clone(), at),
            "EntityOperationCalled" => (Call::Entity, self.name.clone(), at),
            "EntityOperationCompleted" | "EntityOperationFailed" => (Call::Entity, f, sched),
            "EntityOperationSignaled" => (Call::Signal, self.name.clone(), at),
            "EntityLockRequested" => (Call::Lock, None, at),
            "EntityUnlockSent" => (Call::Unlock, None, at),
            _ => return None,
        })
    }

    /// Whether the entry is a message a turn consumed.
    fn is_message(&self) -> bool {
        matches!(
            self.event_type.as_str(),
            "ExecutionStarted"
                | "TaskCompleted"
                | "TaskFailed"
                | "SubOrchestrationInstanceCompleted"
                | "SubOrchestrationInstanceFailed"
                | "TimerFired"
                | "EventRaised"
                | "ExecutionTerminated"
                | "ExecutionSuspended"
                | "ExecutionResumed"
                | "EntityOperationCompleted"
                | "EntityOperationFailed"
                | "EntityLockGranted"
        )
    }

    fn is_end(&self) -> bool {
        matches!(
            self.event_type.as_str(),
            "ExecutionCompleted" | "ContinueAsNew"
        )
    }

    fn failure(&self) -> FailureDetails {
        FailureDetails {
            error_type: self.error_type.clone().unwrap_or_default(),
            message: self.reason.clone().unwrap_or_default(),
            details: self.details.clone(),
            system: None,
        }
    }

    fn payload(p: &Option<Payload>) -> Payload {
        p.clone().unwrap_or_default()
    }

    /// The scheduling event this entry stands for, to show beside the code's action.
    fn as_scheduling_event(&self) -> HistoryEvent {
        let name = || {
            self.function_name
                .clone()
                .or(self.name.clone())
                .unwrap_or_default()
        };
        let at = self.scheduled_time.unwrap_or(self.timestamp);
        let id = || InstanceId::from_trusted(self.instance_id.clone().unwrap_or_default());
        let kind = match self.call().map(|c| c.0) {
            Some(Call::Activity) => EventKind::TaskScheduled {
                name: name(),
                input: Self::payload(&self.input),
            },
            Some(Call::Sub) => EventKind::SubOrchestrationInstanceCreated {
                name: name(),
                instance_id: id(),
                input: Self::payload(&self.input),
            },
            Some(Call::Timer) => EventKind::TimerCreated {
                fire_at: self.fire_at.unwrap_or(at),
            },
            Some(Call::Send) => EventKind::EventSent {
                instance_id: id(),
                name: name(),
                input: Self::payload(&self.input),
            },
            Some(Call::Entity) => EventKind::EntityOperationCalled {
                instance_id: id(),
                operation: name(),
                input: Self::payload(&self.input),
            },
            Some(Call::Signal) => EventKind::EntityOperationSignaled {
                instance_id: id(),
                operation: name(),
                input: Self::payload(&self.input),
                scheduled_time: None,
            },
            Some(Call::Lock) => EventKind::EntityLockRequested {
                lock_set: Vec::new(),
            },
            Some(Call::Unlock) | None => EventKind::EntityUnlockSent { instance_id: id() },
        };
        HistoryEvent::new(at, kind)
    }
}

fn call_of(action: &Action) -> (Call, Option<&str>) {
    match action {
        Action::ScheduleActivity { name, .. } => (Call::Activity, Some(name)),
        Action::StartSubOrchestration { name, .. } => (Call::Sub, Some(name)),
        Action::CreateTimer { .. } => (Call::Timer, None),
        Action::SendEvent { name, .. } => (Call::Send, Some(name)),
        Action::CallEntity { operation, .. } => (Call::Entity, Some(operation)),
        Action::SignalEntity { operation, .. } => (Call::Signal, Some(operation)),
        Action::LockEntities { .. } => (Call::Lock, None),
        Action::UnlockEntity { .. } => (Call::Unlock, None),
    }
}

/// The sequence numbers the code gave its calls, for the completions that answer them.
#[derive(Default)]
struct Calls {
    /// By (kind, name, turn of the call).
    named: HashMap<(Call, String, usize), VecDeque<i64>>,
    /// Timers by the fire time history records for them.
    timers: Vec<(DateTime<Utc>, i64)>,
    /// Lock requests, oldest first.
    locks: VecDeque<(i64, Vec<InstanceId>)>,
}

struct Turns {
    times: Vec<DateTime<Utc>>,
    recorded: Vec<Vec<Recorded>>,
    messages: Vec<Vec<usize>>,
    end: Option<(usize, usize)>,
}

/// Rebuilds the turns: their times, the calls each made, the messages each consumed.
fn turns(entries: &[Entry]) -> Turns {
    let mut set = BTreeSet::new();
    for e in entries {
        if let Some((_, _, at)) = e.call() {
            set.insert(at);
        }
        if e.is_end() || e.event_type == "PatchMarker" {
            set.insert(e.timestamp);
        }
    }
    let mut times: Vec<DateTime<Utc>> = set.into_iter().collect();
    let mut messages: Vec<Vec<usize>> = vec![Vec::new(); times.len()];
    let mut previous = 0;
    for (index, e) in entries.iter().enumerate() {
        if !e.is_message() {
            continue;
        }
        let after = e.scheduled_time;
        let found = (previous..times.len())
            .find(|&k| times[k] >= e.timestamp && after.is_none_or(|s| times[k] > s));
        let k = match found {
            Some(k) => k,
            None => {
                // A turn that made no call and did not end: it stands at its message's time.
                let last = times.last().copied();
                let at = match last {
                    Some(l) if l >= e.timestamp => l + TimeDelta::microseconds(1),
                    _ => e.timestamp,
                };
                times.push(at);
                messages.push(Vec::new());
                times.len() - 1
            }
        };
        messages[k].push(index);
        previous = k;
    }
    let mut recorded: Vec<Vec<Recorded>> = (0..times.len()).map(|_| Vec::new()).collect();
    let turn_at = |t: DateTime<Utc>| times.binary_search(&t).ok();
    for (index, e) in entries.iter().enumerate() {
        if let Some((call, name, at)) = e.call()
            && let Some(k) = turn_at(at)
        {
            recorded[k].push(Recorded {
                call,
                name,
                index,
                fire_at: e.fire_at,
                used: false,
            });
        }
    }
    let end = entries
        .iter()
        .enumerate()
        .rev()
        .find(|(_, e)| e.is_end())
        .and_then(|(index, e)| turn_at(e.timestamp).map(|k| (k, index)));
    Turns {
        times,
        recorded,
        messages,
        end,
    }
}

/// Replays a condensed history turn by turn (see the module docs).
pub(crate) fn replay(
    registry: Arc<Registry>,
    history: &History,
    entries: &[Entry],
) -> ReplayVerdict {
    let name = history.name.clone();
    if registry.orchestrator(&name).is_none() {
        return diverged(
            Some(0),
            None,
            None,
            format!("orchestrator function '{name}' is not registered in this function app"),
        );
    }
    let mut turns = turns(entries);
    let mut executor = OrchestrationExecutor::new(registry);
    executor.assume_patches(
        entries
            .iter()
            .filter(|e| e.event_type == "PatchMarker")
            .filter_map(|e| e.name.clone()),
    );
    let mut calls = Calls::default();
    for k in 0..turns.times.len() {
        let mut messages = Vec::new();
        for &index in &turns.messages[k] {
            match message(&entries[index], history, &mut calls, &turns.times) {
                Ok(event) => messages.push(event),
                Err(message) => {
                    return diverged(
                        Some(index),
                        None,
                        None,
                        format!("orchestration '{name}': {message}"),
                    );
                }
            }
        }
        let issued = executor.replay_turn_unscheduled(&messages, turns.times[k]);
        if let Some(d) = check_turn(
            &name,
            k,
            &mut turns.recorded[k],
            issued,
            entries,
            &mut calls,
        ) {
            return ReplayVerdict::Diverged(Box::new(d));
        }
        let ended = executor.outcome().map(|o| o.status());
        match (ended, turns.end) {
            (Some(status), Some((end, index))) if end == k => {
                let recorded = recorded_status(&entries[index]);
                if recorded != Some(status) {
                    return diverged(
                        Some(index),
                        None,
                        None,
                        format!(
                            "orchestration '{name}': history records the execution ended {}, but the code now ends {}",
                            entries[index]
                                .orchestration_status
                                .as_deref()
                                .unwrap_or("ContinuedAsNew"),
                            status.as_str()
                        ),
                    );
                }
                return ReplayVerdict::Ok;
            }
            (Some(RuntimeStatus::Terminated), None) => return ReplayVerdict::Ok,
            (Some(status), _) if k + 1 < turns.times.len() || turns.end.is_none() => {
                return diverged(
                    None,
                    None,
                    None,
                    format!(
                        "orchestration '{name}': the code now ends the execution ({}) in the turn at {}, where history records it going on",
                        status.as_str(),
                        turns.times[k]
                    ),
                );
            }
            _ => {}
        }
    }
    if let Some((_, index)) = turns.end {
        return diverged(
            Some(index),
            None,
            None,
            format!(
                "orchestration '{name}': history records the execution ended, but the code does not end it"
            ),
        );
    }
    ReplayVerdict::Ok
}

fn recorded_status(e: &Entry) -> Option<RuntimeStatus> {
    if e.event_type == "ContinueAsNew" {
        return Some(RuntimeStatus::ContinuedAsNew);
    }
    e.orchestration_status
        .as_deref()
        .and_then(RuntimeStatus::parse)
}

/// Checks the calls the code made in turn `k` against those history records for it.
fn check_turn(
    name: &str,
    k: usize,
    recorded: &mut [Recorded],
    issued: Vec<(Action, Option<String>)>,
    entries: &[Entry],
    calls: &mut Calls,
) -> Option<Divergence> {
    for (action, location) in issued {
        let (call, call_name) = call_of(&action);
        let matching = recorded.iter_mut().find(|r| {
            !r.used && r.call == call && (r.name.is_none() || r.name.as_deref() == call_name)
        });
        let Some(r) = matching else {
            let first = recorded.iter().find(|r| !r.used);
            let event = first.map(|r| entries[r.index].as_scheduling_event());
            let message = match &event {
                Some(e) => format!(
                    "non-deterministic orchestration '{name}': history records {} in this turn, but the code now schedules {}",
                    durafn_core::action::describe_recorded(&e.kind),
                    action.describe()
                ),
                None => format!(
                    "non-deterministic orchestration '{name}': the code now schedules {}, which history does not record in this turn",
                    action.describe()
                ),
            };
            let id = action.id().0;
            return Some(Divergence {
                history_index: first.map(|r| r.index),
                event_id: id,
                recorded: event,
                issued: Some(action),
                location,
                message,
            });
        };
        r.used = true;
        let seq = action.id().0;
        match (&action, call) {
            (Action::CreateTimer { fire_at, .. }, _) => {
                calls.timers.push((r.fire_at.unwrap_or(*fire_at), seq));
            }
            (Action::LockEntities { lock_set, .. }, _) => {
                calls.locks.push_back((seq, lock_set.clone()));
            }
            (_, Call::Activity | Call::Sub | Call::Entity) => {
                calls
                    .named
                    .entry((call, call_name.unwrap_or_default().to_string(), k))
                    .or_default()
                    .push_back(seq);
            }
            _ => {}
        }
    }
    let missing = recorded.iter().find(|r| !r.used)?;
    let event = entries[missing.index].as_scheduling_event();
    Some(Divergence {
        history_index: Some(missing.index),
        event_id: -1,
        message: format!(
            "non-deterministic orchestration '{name}': history records {} in this turn, but the code now schedules nothing there",
            durafn_core::action::describe_recorded(&event.kind)
        ),
        recorded: Some(event),
        issued: None,
        location: None,
    })
}

/// The full history event of a message entry, answering the call the code made for it.
fn message(
    e: &Entry,
    history: &History,
    calls: &mut Calls,
    times: &[DateTime<Utc>],
) -> Result<HistoryEvent, String> {
    let named = |calls: &mut Calls, call: Call| -> Result<EventId, String> {
        let name = e.function_name.clone().unwrap_or_default();
        let turn = e
            .scheduled_time
            .and_then(|s| times.binary_search(&s).ok())
            .unwrap_or(0);
        calls
            .named
            .get_mut(&(call, name.clone(), turn))
            .and_then(VecDeque::pop_front)
            .map(EventId)
            .ok_or_else(|| {
                format!("history records an answer to '{name}', which the code never called")
            })
    };
    let kind = match e.event_type.as_str() {
        "ExecutionStarted" => EventKind::ExecutionStarted {
            name: e
                .function_name
                .clone()
                .unwrap_or_else(|| history.name.clone()),
            instance_id: InstanceId::from_trusted(history.instance_id.clone()),
            execution_id: ExecutionId::new("replay"),
            input: e
                .input
                .clone()
                .or(history.input.clone())
                .unwrap_or_default(),
            parent: None,
            version: e.version.clone().or(history.version.clone()),
            parent_trace_context: None,
        },
        "TaskCompleted" => EventKind::TaskCompleted {
            task_scheduled_id: named(calls, Call::Activity)?,
            result: Entry::payload(&e.result),
        },
        "TaskFailed" => EventKind::TaskFailed {
            task_scheduled_id: named(calls, Call::Activity)?,
            failure: e.failure(),
        },
        "SubOrchestrationInstanceCompleted" => EventKind::SubOrchestrationInstanceCompleted {
            task_scheduled_id: named(calls, Call::Sub)?,
            result: Entry::payload(&e.result),
        },
        "SubOrchestrationInstanceFailed" => EventKind::SubOrchestrationInstanceFailed {
            task_scheduled_id: named(calls, Call::Sub)?,
            failure: e.failure(),
        },
        "EntityOperationCompleted" => EventKind::EntityOperationCompleted {
            task_scheduled_id: named(calls, Call::Entity)?,
            result: Entry::payload(&e.result),
        },
        "EntityOperationFailed" => EventKind::EntityOperationFailed {
            task_scheduled_id: named(calls, Call::Entity)?,
            failure: e.failure(),
        },
        "TimerFired" => {
            let fire_at = e.fire_at.unwrap_or(e.timestamp);
            let position = calls
                .timers
                .iter()
                .position(|(at, _)| *at == fire_at)
                .ok_or_else(|| {
                    "history records a timer firing that the code never set".to_string()
                })?;
            let (_, seq) = calls.timers.remove(position);
            EventKind::TimerFired {
                timer_id: EventId(seq),
                fire_at,
            }
        }
        "EntityLockGranted" => {
            let (seq, lock_set) = calls.locks.pop_front().ok_or_else(|| {
                "history records a lock grant the code never asked for".to_string()
            })?;
            EventKind::EntityLockGranted {
                task_scheduled_id: EventId(seq),
                lock_set,
            }
        }
        "EventRaised" => EventKind::EventRaised {
            name: e.name.clone().unwrap_or_default(),
            input: Entry::payload(&e.input),
        },
        "ExecutionTerminated" => EventKind::ExecutionTerminated {
            input: Entry::payload(&e.input),
        },
        "ExecutionSuspended" => EventKind::ExecutionSuspended {
            reason: e.reason.clone(),
        },
        _ => EventKind::ExecutionResumed {
            reason: e.reason.clone(),
        },
    };
    Ok(HistoryEvent::new(e.timestamp, kind))
}

fn diverged(
    history_index: Option<usize>,
    recorded: Option<HistoryEvent>,
    issued: Option<Action>,
    message: String,
) -> ReplayVerdict {
    ReplayVerdict::Diverged(Box::new(Divergence {
        history_index,
        event_id: -1,
        recorded,
        issued,
        location: None,
        message,
    }))
}
