//! An execution's history as steps: each scheduling event and its completion as one step with
//! its duration (activities, sub-orchestrations, timers, entity calls, lock requests), and the
//! events and requests that happened at one moment.

use chrono::{DateTime, TimeDelta, Utc};
use durafn_core::{EventId, EventKind, HistoryEvent, InstanceId, Payload, RuntimeStatus};
use std::collections::HashMap;

/// What a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Start,
    Activity,
    SubOrchestration,
    Timer,
    Entity,
    Lock,
    EventReceived,
    EventSent,
    Signal,
    Request,
    ContinueAsNew,
    End,
}

impl Kind {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Kind::Start => "start",
            Kind::Activity => "activity",
            Kind::SubOrchestration => "sub-orchestration",
            Kind::Timer => "timer",
            Kind::Entity => "entity call",
            Kind::Lock => "entity lock",
            Kind::EventReceived => "event received",
            Kind::EventSent => "event sent",
            Kind::Signal => "entity signal",
            Kind::Request => "operator request",
            Kind::ContinueAsNew => "continue as new",
            Kind::End => "end",
        }
    }

    /// The CSS class of its bar in the timeline.
    pub(crate) fn class(self) -> &'static str {
        match self {
            Kind::Activity => "k-activity",
            Kind::SubOrchestration => "k-sub",
            Kind::Timer => "k-timer",
            Kind::Entity | Kind::Lock | Kind::Signal => "k-entity",
            Kind::EventReceived | Kind::EventSent => "k-event",
            _ => "k-other",
        }
    }

    /// Whether it spans time (a scheduling and its completion) rather than being a moment.
    pub(crate) fn spans(self) -> bool {
        matches!(
            self,
            Kind::Activity | Kind::SubOrchestration | Kind::Timer | Kind::Entity | Kind::Lock
        )
    }
}

/// One step of an execution.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Step {
    pub(crate) kind: Kind,
    pub(crate) name: String,
    /// `Completed`, `Failed`, `Running`, `Fired`, `Waiting`, `Received`, …
    pub(crate) status: &'static str,
    pub(crate) started: DateTime<Utc>,
    pub(crate) finished: Option<DateTime<Utc>>,
    /// The instance it addresses (a sub-orchestration, an entity, an event's receiver).
    pub(crate) instance: Option<InstanceId>,
    /// A failure's message, a request's reason, a timer's fire time.
    pub(crate) detail: Option<String>,
    /// Its result or input, as recorded.
    pub(crate) payload: Option<Payload>,
    /// Which attempt of this activity it is (1 unless earlier attempts failed).
    pub(crate) attempt: u32,
    /// For a timer that waits before retrying a failed activity: which one, and the attempt
    /// it will start.
    pub(crate) retry_of: Option<(String, u32)>,
    /// A timer's fire time.
    pub(crate) fire_at: Option<DateTime<Utc>>,
}

impl Step {
    fn new(kind: Kind, name: impl Into<String>, status: &'static str, at: DateTime<Utc>) -> Self {
        Self {
            kind,
            name: name.into(),
            status,
            started: at,
            finished: None,
            instance: None,
            detail: None,
            payload: None,
            attempt: 1,
            retry_of: None,
            fire_at: None,
        }
    }

    /// Still waiting for its completion.
    pub(crate) fn is_open(&self) -> bool {
        self.kind.spans() && self.finished.is_none()
    }

    /// How long it took, or has taken until `now`.
    pub(crate) fn duration(&self, now: DateTime<Utc>) -> Option<TimeDelta> {
        match (self.kind.spans(), self.finished) {
            (true, Some(end)) => Some(end - self.started),
            (true, None) => Some(now - self.started),
            _ => None,
        }
    }
}

/// What a completion event closes: the scheduling event's id, the step's status, its result and
/// a failure's message.
fn completion(
    kind: &EventKind,
) -> Option<(EventId, &'static str, Option<Payload>, Option<String>)> {
    let failed = |f: &durafn_core::FailureDetails| Some(format!("{}: {}", f.error_type, f.message));
    Some(match kind {
        EventKind::TaskCompleted {
            task_scheduled_id,
            result,
        }
        | EventKind::SubOrchestrationInstanceCompleted {
            task_scheduled_id,
            result,
        }
        | EventKind::EntityOperationCompleted {
            task_scheduled_id,
            result,
        } => (*task_scheduled_id, "Completed", Some(result.clone()), None),
        EventKind::TaskFailed {
            task_scheduled_id,
            failure,
        }
        | EventKind::SubOrchestrationInstanceFailed {
            task_scheduled_id,
            failure,
        }
        | EventKind::EntityOperationFailed {
            task_scheduled_id,
            failure,
        } => (*task_scheduled_id, "Failed", None, failed(failure)),
        EventKind::TimerFired { timer_id, .. } => (*timer_id, "Fired", None, None),
        EventKind::EntityLockGranted {
            task_scheduled_id, ..
        } => (*task_scheduled_id, "Granted", None, None),
        _ => return None,
    })
}

/// The steps of a history, in the order they started.
pub(crate) fn steps(history: &[HistoryEvent]) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::new();
    let mut open: HashMap<EventId, usize> = HashMap::new();
    let mut failures: HashMap<String, u32> = HashMap::new();
    let mut failed_this_turn: Option<(String, u32)> = None;
    for e in history {
        let at = e.timestamp;
        if let Some((id, status, payload, detail)) = completion(&e.kind) {
            let Some(i) = open.remove(&id) else { continue };
            let s = &mut out[i];
            s.finished = Some(at);
            s.status = status;
            s.payload = payload.or(s.payload.take());
            s.detail = detail.or(s.detail.take());
            if s.kind == Kind::Activity {
                if status == "Failed" {
                    failures.insert(s.name.clone(), s.attempt);
                    failed_this_turn = Some((s.name.clone(), s.attempt));
                } else {
                    failures.remove(&s.name);
                }
            }
            continue;
        }
        match &e.kind {
            EventKind::OrchestratorStarted => failed_this_turn = None,
            EventKind::OrchestratorCompleted => {}
            EventKind::ExecutionStarted { name, input, .. } => {
                let mut s = Step::new(Kind::Start, name, "Started", at);
                s.payload = Some(input.clone());
                out.push(s);
            }
            EventKind::TaskScheduled { name, input } => {
                let mut s = Step::new(Kind::Activity, name, "Running", at);
                s.attempt = failures.get(name).copied().unwrap_or(0) + 1;
                s.payload = Some(input.clone());
                open.insert(e.event_id, out.len());
                out.push(s);
            }
            EventKind::SubOrchestrationInstanceCreated {
                name,
                instance_id,
                input,
            } => {
                let mut s = Step::new(Kind::SubOrchestration, name, "Running", at);
                s.instance = Some(instance_id.clone());
                s.payload = Some(input.clone());
                open.insert(e.event_id, out.len());
                out.push(s);
            }
            EventKind::TimerCreated { fire_at } => {
                let mut s = Step::new(Kind::Timer, "", "Waiting", at);
                s.fire_at = Some(*fire_at);
                s.detail = Some(format!(
                    "fires at {}",
                    fire_at.format("%Y-%m-%d %H:%M:%S%.3f")
                ));
                if let Some((name, attempt)) = failed_this_turn.take() {
                    s.name = format!("retry {name}");
                    s.retry_of = Some((name, attempt + 1));
                }
                open.insert(e.event_id, out.len());
                out.push(s);
            }
            EventKind::EntityOperationCalled {
                instance_id,
                operation,
                input,
            } => {
                let mut s = Step::new(Kind::Entity, operation, "Running", at);
                s.instance = Some(instance_id.clone());
                s.payload = Some(input.clone());
                open.insert(e.event_id, out.len());
                out.push(s);
            }
            EventKind::EntityLockRequested { lock_set } => {
                let names: Vec<&str> = lock_set.iter().map(InstanceId::as_str).collect();
                let mut s = Step::new(Kind::Lock, "lock", "Waiting", at);
                s.detail = Some(names.join(", "));
                open.insert(e.event_id, out.len());
                out.push(s);
            }
            EventKind::EntityUnlockSent { instance_id } => {
                let mut s = Step::new(Kind::Signal, "unlock", "Sent", at);
                s.instance = Some(instance_id.clone());
                out.push(s);
            }
            EventKind::EntityOperationSignaled {
                instance_id,
                operation,
                input,
                ..
            } => {
                let mut s = Step::new(Kind::Signal, operation, "Sent", at);
                s.instance = Some(instance_id.clone());
                s.payload = Some(input.clone());
                out.push(s);
            }
            EventKind::EventRaised { name, input } => {
                let mut s = Step::new(Kind::EventReceived, name, "Received", at);
                s.payload = Some(input.clone());
                out.push(s);
            }
            EventKind::EventSent {
                instance_id,
                name,
                input,
            } => {
                let mut s = Step::new(Kind::EventSent, name, "Sent", at);
                s.instance = Some(instance_id.clone());
                s.payload = Some(input.clone());
                out.push(s);
            }
            EventKind::ExecutionTerminated { input } => {
                let mut s = Step::new(Kind::Request, "terminate", "Requested", at);
                s.payload = Some(input.clone());
                out.push(s);
            }
            EventKind::ExecutionSuspended { reason } => {
                let mut s = Step::new(Kind::Request, "suspend", "Requested", at);
                s.detail = reason.clone();
                out.push(s);
            }
            EventKind::ExecutionResumed { reason } => {
                let mut s = Step::new(Kind::Request, "resume", "Requested", at);
                s.detail = reason.clone();
                out.push(s);
            }
            EventKind::ExecutionRewound { reason } => {
                let mut s = Step::new(Kind::Request, "rewind", "Requested", at);
                s.detail = reason.clone();
                out.push(s);
            }
            EventKind::ContinueAsNew { input } => {
                let mut s = Step::new(Kind::ContinueAsNew, "continue as new", "Done", at);
                s.payload = Some(input.clone());
                out.push(s);
            }
            EventKind::ExecutionCompleted {
                orchestration_status,
                result,
                failure_details,
            } => {
                let status = match orchestration_status {
                    RuntimeStatus::Failed => "Failed",
                    RuntimeStatus::Terminated => "Terminated",
                    _ => "Completed",
                };
                let mut s = Step::new(Kind::End, "end", status, at);
                s.payload = result.clone();
                s.detail = failure_details
                    .as_ref()
                    .map(|f| format!("{}: {}", f.error_type, f.message));
                out.push(s);
            }
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }
    out
}

/// When the execution began and ended (or `now`, while it runs), for the timeline's scale.
pub(crate) fn span(
    history: &[HistoryEvent],
    now: DateTime<Utc>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let first = history.first()?.timestamp;
    let ended = history
        .iter()
        .rev()
        .find(|e| {
            matches!(
                e.kind,
                EventKind::ExecutionCompleted { .. } | EventKind::ContinueAsNew { .. }
            )
        })
        .map(|e| e.timestamp);
    Some((first, ended.unwrap_or(now).max(first)))
}

/// When the last turn began (a wait for an event started no later than that).
pub(crate) fn last_turn(history: &[HistoryEvent]) -> Option<DateTime<Utc>> {
    history
        .iter()
        .rev()
        .find(|e| matches!(e.kind, EventKind::OrchestratorStarted))
        .map(|e| e.timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use durafn_core::{FailureDetails, HistoryEvent as E};

    fn t(ms: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp_millis(1_700_000_000_000 + ms).unwrap()
    }

    #[test]
    fn schedulings_pair_with_completions_and_retries_count_attempts() {
        let p = Payload::null();
        let h = vec![
            E::new(t(0), EventKind::OrchestratorStarted),
            E::new(
                t(0),
                EventKind::ExecutionStarted {
                    name: "flow".into(),
                    instance_id: InstanceId::from_trusted("i"),
                    execution_id: durafn_core::ExecutionId::new("e"),
                    input: p.clone(),
                    parent: None,
                    version: None,
                    parent_trace_context: None,
                },
            ),
            E::scheduled(
                EventId(0),
                t(1),
                EventKind::TaskScheduled {
                    name: "charge".into(),
                    input: p.clone(),
                },
            ),
            E::new(t(5), EventKind::OrchestratorStarted),
            E::new(
                t(5),
                EventKind::TaskFailed {
                    task_scheduled_id: EventId(0),
                    failure: FailureDetails::new("Boom", "card declined"),
                },
            ),
            E::scheduled(
                EventId(1),
                t(5),
                EventKind::TimerCreated { fire_at: t(1005) },
            ),
            E::new(t(1006), EventKind::OrchestratorStarted),
            E::new(
                t(1006),
                EventKind::TimerFired {
                    timer_id: EventId(1),
                    fire_at: t(1005),
                },
            ),
            E::scheduled(
                EventId(2),
                t(1006),
                EventKind::TaskScheduled {
                    name: "charge".into(),
                    input: p.clone(),
                },
            ),
        ];
        let s = steps(&h);
        let kinds: Vec<Kind> = s.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [Kind::Start, Kind::Activity, Kind::Timer, Kind::Activity]
        );
        assert_eq!(s[1].status, "Failed");
        assert_eq!(s[1].duration(t(0)), Some(TimeDelta::milliseconds(4)));
        assert_eq!(s[1].detail.as_deref(), Some("Boom: card declined"));
        assert_eq!(s[2].retry_of, Some(("charge".into(), 2)));
        assert_eq!(s[2].duration(t(0)), Some(TimeDelta::milliseconds(1001)));
        assert_eq!(s[3].attempt, 2);
        assert!(s[3].is_open());
        assert_eq!(s[3].duration(t(2006)), Some(TimeDelta::milliseconds(1000)));
        assert_eq!(span(&h, t(3000)), Some((t(0), t(3000))));
    }
}
