//! The steps of an execution, from its history: each activity, sub-orchestration, timer, event
//! and entity call once, with when it started, when it finished and how long it took.
//!
//! The management API already shows a finished step once, as its completion carrying the
//! `ScheduledTime` of its scheduling event (Durable Functions and durafn both do this), so such
//! a step spans `ScheduledTime..Timestamp`. A history that lists scheduling and completion
//! separately (without `ScheduledTime`) is paired here: a completion closes the oldest open
//! scheduling of the same kind and name. Timers pair by their fire time.

use chrono::{DateTime, TimeDelta, Utc};
use durafn_api::{EventType, HistoryEvent, RuntimeStatus};
use serde::Serialize;

/// What a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum StepKind {
    /// The execution started.
    Start,
    /// An activity.
    Activity,
    /// A sub-orchestration.
    SubOrchestration,
    /// A durable timer.
    Timer,
    /// An external event arrived.
    Event,
    /// An event sent to another instance.
    Send,
    /// An entity operation.
    Entity,
    /// A suspend, resume, rewind or terminate request.
    Request,
    /// The execution continued as new.
    ContinueAsNew,
    /// The execution finished.
    End,
    /// An entry of another kind.
    Other,
}

impl StepKind {
    /// The word shown in tables.
    pub(crate) fn label(self) -> &'static str {
        match self {
            StepKind::Start => "start",
            StepKind::Activity => "activity",
            StepKind::SubOrchestration => "sub-orchestration",
            StepKind::Timer => "timer",
            StepKind::Event => "event",
            StepKind::Send => "send",
            StepKind::Entity => "entity",
            StepKind::Request => "request",
            StepKind::ContinueAsNew => "continue-as-new",
            StepKind::End => "end",
            StepKind::Other => "other",
        }
    }
}

/// One step.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Step {
    /// What it is.
    pub(crate) kind: StepKind,
    /// The function, event, operation or request it is about.
    pub(crate) name: String,
    /// `Completed`, `Failed`, `Running`, `Fired`, `Received`, … or, for the end, how the
    /// execution ended.
    pub(crate) status: String,
    /// When it was scheduled or happened.
    #[serde(serialize_with = "ser_time")]
    pub(crate) started: DateTime<Utc>,
    /// When it finished, if it has.
    #[serde(
        serialize_with = "ser_opt_time",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) finished: Option<DateTime<Utc>>,
    /// How long it took (or, while it runs, has taken so far), in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) duration_ms: Option<f64>,
    /// The instance it addresses: a sub-orchestration's, an entity's, an event's target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) instance_id: Option<String>,
    /// A failure's message, a request's reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) detail: Option<String>,
    /// The step's result as JSON text, when the history carries it.
    #[serde(skip)]
    pub(crate) result: Option<String>,
    #[serde(skip)]
    open: bool,
    /// A timer's fire time, which its TimerFired repeats.
    #[serde(skip)]
    fire_at: Option<DateTime<Utc>>,
}

fn ser_time<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::time::api_time(t))
}

fn ser_opt_time<S: serde::Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => ser_time(t, s),
        None => s.serialize_none(),
    }
}

impl Step {
    fn new(kind: StepKind, name: impl Into<String>, status: &str, at: DateTime<Utc>) -> Self {
        Self {
            kind,
            name: name.into(),
            status: status.to_string(),
            started: at,
            finished: None,
            duration_ms: None,
            instance_id: None,
            detail: None,
            result: None,
            open: false,
            fire_at: None,
        }
    }

    /// How long it took, or has taken so far.
    pub(crate) fn duration(&self) -> Option<TimeDelta> {
        self.duration_ms
            .map(|ms| TimeDelta::microseconds((ms * 1000.0).round() as i64))
    }

    fn finish(&mut self, at: DateTime<Utc>, status: &str) {
        self.finished = Some(at);
        self.status = status.to_string();
        self.duration_ms = Some(ms(at - self.started));
        self.open = false;
    }
}

fn ms(d: TimeDelta) -> f64 {
    d.num_microseconds().unwrap_or(0).max(0) as f64 / 1000.0
}

fn text(raw: &Option<Box<durafn_api::RawValue>>) -> Option<String> {
    raw.as_ref().map(|r| r.get().to_string())
}

/// A JSON string's text, or the JSON itself (reasons are stored as JSON strings).
fn plain(raw: &Option<Box<durafn_api::RawValue>>) -> Option<String> {
    raw.as_ref()
        .map(|r| serde_json::from_str::<String>(r.get()).unwrap_or_else(|_| r.get().to_string()))
}

fn completion_kind(t: &EventType) -> Option<(StepKind, bool)> {
    Some(match t {
        EventType::TaskCompleted => (StepKind::Activity, true),
        EventType::TaskFailed => (StepKind::Activity, false),
        EventType::SubOrchestrationInstanceCompleted => (StepKind::SubOrchestration, true),
        EventType::SubOrchestrationInstanceFailed => (StepKind::SubOrchestration, false),
        EventType::EntityOperationCompleted => (StepKind::Entity, true),
        EventType::EntityOperationFailed => (StepKind::Entity, false),
        _ => return None,
    })
}

/// The steps of a history, in the order they started. `status` is the instance's runtime
/// status: while it runs, open steps are `Running` (timers `Waiting`) and their duration runs
/// up to `now`; once it has finished, steps that never finished are `Cancelled`.
pub(crate) fn steps(
    events: &[HistoryEvent],
    status: RuntimeStatus,
    now: DateTime<Utc>,
) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::new();
    let mut began: Option<(DateTime<Utc>, String)> = None;
    for e in events {
        let name = e
            .function_name
            .clone()
            .or_else(|| e.name.clone())
            .unwrap_or_default();
        let at = e.timestamp;
        let step = match &e.event_type {
            EventType::OrchestratorStarted | EventType::OrchestratorCompleted => continue,
            EventType::ExecutionStarted => {
                began = Some((at, name.clone()));
                Step::new(StepKind::Start, name, "Started", at)
            }
            EventType::TaskScheduled | EventType::SubOrchestrationInstanceCreated => {
                let kind = if e.event_type == EventType::TaskScheduled {
                    StepKind::Activity
                } else {
                    StepKind::SubOrchestration
                };
                let mut s = Step::new(kind, name, "Running", at);
                s.open = true;
                s.instance_id = e.instance_id.clone();
                s
            }
            EventType::EntityOperationCalled => {
                let mut s = Step::new(StepKind::Entity, name, "Running", at);
                s.open = true;
                s.instance_id = e.instance_id.clone();
                s
            }
            t if completion_kind(t).is_some() => {
                let (kind, ok) = completion_kind(t).unwrap_or((StepKind::Other, true));
                let outcome = if ok { "Completed" } else { "Failed" };
                let opened = match e.scheduled_time {
                    Some(_) => None,
                    None => out
                        .iter_mut()
                        .find(|s| s.open && s.kind == kind && s.name == name),
                };
                let target = match opened {
                    Some(s) => s,
                    None => {
                        let mut s = Step::new(kind, name, outcome, e.scheduled_time.unwrap_or(at));
                        s.instance_id = e.instance_id.clone();
                        out.push(s);
                        out.last_mut().expect("just pushed")
                    }
                };
                target.finish(at, outcome);
                target.result = text(&e.result);
                target.detail = e.reason.clone();
                continue;
            }
            EventType::TimerCreated => {
                let until = e
                    .fire_at
                    .map(|t| crate::time::show_time(&t))
                    .unwrap_or_default();
                let mut s = Step::new(StepKind::Timer, format!("until {until}"), "Waiting", at);
                s.open = true;
                s.fire_at = e.fire_at;
                s
            }
            EventType::TimerFired => {
                match out
                    .iter_mut()
                    .find(|s| s.open && s.kind == StepKind::Timer && s.fire_at == e.fire_at)
                {
                    Some(s) => s.finish(at, "Fired"),
                    None => {
                        let until = e
                            .fire_at
                            .map(|t| crate::time::show_time(&t))
                            .unwrap_or_default();
                        out.push(Step::new(
                            StepKind::Timer,
                            format!("until {until}"),
                            "Fired",
                            at,
                        ));
                    }
                }
                continue;
            }
            EventType::EventRaised => {
                let mut s = Step::new(StepKind::Event, name, "Received", at);
                s.result = text(&e.input);
                s
            }
            EventType::EventSent => {
                let mut s = Step::new(StepKind::Send, name, "Sent", at);
                s.instance_id = e.instance_id.clone();
                s
            }
            EventType::ExecutionSuspended
            | EventType::ExecutionResumed
            | EventType::ExecutionRewound => {
                let word = match e.event_type {
                    EventType::ExecutionSuspended => "suspend",
                    EventType::ExecutionResumed => "resume",
                    _ => "rewind",
                };
                let mut s = Step::new(StepKind::Request, word, "Received", at);
                s.detail = e.reason.clone();
                s
            }
            EventType::ExecutionTerminated => {
                let mut s = Step::new(StepKind::Request, "terminate", "Received", at);
                s.detail = plain(&e.input).filter(|r| !r.is_empty());
                s
            }
            EventType::ContinueAsNew => Step::new(StepKind::ContinueAsNew, name, "Received", at),
            EventType::ExecutionCompleted => {
                let outcome = e
                    .orchestration_status
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "Completed".into());
                let (start, orchestrator) = began.clone().unwrap_or((at, name));
                let mut s = Step::new(StepKind::End, orchestrator, &outcome, start);
                s.finish(at, &outcome);
                s.result = text(&e.result);
                s.detail = e.reason.clone();
                s
            }
            other => Step::new(StepKind::Other, other.as_str(), "", at),
        };
        out.push(step);
    }
    for s in out.iter_mut().filter(|s| s.open) {
        if status.is_terminal() {
            s.status = "Cancelled".into();
        } else {
            s.duration_ms = Some(ms(now - s.started));
        }
    }
    // The end spans the whole execution; it is listed last.
    out.sort_by_key(|s| (s.kind == StepKind::End, s.started));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(ms: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 5, 1, 10, 0, 0).unwrap() + TimeDelta::milliseconds(ms)
    }

    fn ev(kind: EventType, at: i64, name: Option<&str>) -> HistoryEvent {
        let mut e = HistoryEvent::new(kind, t(at));
        e.function_name = name.map(String::from);
        e
    }

    #[test]
    fn merged_completions_span_from_their_scheduled_time() {
        let mut done = ev(EventType::TaskCompleted, 300, Some("leaf"));
        done.scheduled_time = Some(t(100));
        let mut failed = ev(
            EventType::SubOrchestrationInstanceFailed,
            900,
            Some("branch"),
        );
        failed.scheduled_time = Some(t(150));
        failed.reason = Some("it broke".into());
        let mut end = ev(EventType::ExecutionCompleted, 1000, None);
        end.orchestration_status = Some(RuntimeStatus::Failed);
        let events = vec![
            ev(EventType::ExecutionStarted, 0, Some("root")),
            done,
            failed,
            end,
        ];
        let s = steps(&events, RuntimeStatus::Failed, t(5000));
        let summary: Vec<(StepKind, &str, &str, Option<f64>)> = s
            .iter()
            .map(|s| (s.kind, s.name.as_str(), s.status.as_str(), s.duration_ms))
            .collect();
        assert_eq!(
            summary,
            [
                (StepKind::Start, "root", "Started", None),
                (StepKind::Activity, "leaf", "Completed", Some(200.0)),
                (StepKind::SubOrchestration, "branch", "Failed", Some(750.0)),
                (StepKind::End, "root", "Failed", Some(1000.0)),
            ]
        );
        assert_eq!(s[2].detail.as_deref(), Some("it broke"));
    }

    #[test]
    fn raw_histories_pair_scheduling_with_completion() {
        let events = vec![
            ev(EventType::ExecutionStarted, 0, Some("root")),
            ev(EventType::OrchestratorStarted, 0, None),
            ev(EventType::TaskScheduled, 10, Some("a")),
            ev(EventType::TaskScheduled, 10, Some("a")),
            ev(EventType::TaskCompleted, 50, Some("a")),
            {
                let mut e = ev(EventType::TimerCreated, 60, None);
                e.fire_at = Some(t(1060));
                e
            },
        ];
        let s = steps(&events, RuntimeStatus::Running, t(2000));
        assert_eq!(s.len(), 4);
        assert_eq!(
            (s[1].status.as_str(), s[1].duration_ms),
            ("Completed", Some(40.0))
        );
        assert_eq!(
            (s[2].status.as_str(), s[2].duration_ms),
            ("Running", Some(1990.0))
        );
        assert_eq!(s[3].kind, StepKind::Timer);
        assert_eq!(s[3].status, "Waiting");
        let done = steps(&events, RuntimeStatus::Terminated, t(2000));
        assert_eq!(done[2].status, "Cancelled");
        assert_eq!(done[2].duration_ms, None);
    }

    #[test]
    fn timers_pair_by_fire_time() {
        let mut created = ev(EventType::TimerCreated, 0, None);
        created.fire_at = Some(t(500));
        let mut fired = ev(EventType::TimerFired, 510, None);
        fired.fire_at = Some(t(500));
        let s = steps(&[created, fired], RuntimeStatus::Running, t(600));
        assert_eq!(s.len(), 1);
        assert_eq!(
            (s[0].status.as_str(), s[0].duration_ms),
            ("Fired", Some(510.0))
        );
    }
}
