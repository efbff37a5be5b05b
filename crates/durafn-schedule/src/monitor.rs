//! The schedule monitor's rules (`useMonitor`): what is recorded about a
//! timer between runs, and whether an occurrence was missed while no host
//! ran.
//!
//! This is the Functions host's `ScheduleMonitor.CheckPastDueAsync` and the
//! status update after each invocation, as pure functions: the caller
//! stores the [`ScheduleStatus`] (durafn: in the task hub) and passes the
//! time in.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::schedule::Schedule;

/// What is recorded about a timer, as the host's `ScheduleStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScheduleStatus {
    /// The occurrence the timer last ran for, if it ever ran.
    pub last: Option<DateTime<Utc>>,
    /// The occurrence it is due to run for next (`None`: never again).
    pub next: Option<DateTime<Utc>>,
    /// The time `next` was computed from.
    pub last_updated: Option<DateTime<Utc>>,
}

/// The outcome of [`check_past_due`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PastDueCheck {
    /// The status to keep from now on.
    pub status: ScheduleStatus,
    /// Whether `status` differs from the recorded one and must be stored
    /// (first start, or the schedule changed).
    pub status_changed: bool,
    /// How long ago the recorded next occurrence was, when it has passed:
    /// at least one occurrence was missed and the timer should run once
    /// now, with `is_past_due = true`.
    pub past_due_by: Option<Duration>,
}

impl PastDueCheck {
    /// Whether an occurrence was missed.
    pub fn is_past_due(&self) -> bool {
        self.past_due_by.is_some()
    }
}

/// Checks, when a host starts a timer, whether an occurrence was missed
/// since the status was recorded.
///
/// * No status yet: the next occurrence after `now` is recorded; nothing
///   is past due.
/// * A status: the next occurrence is recomputed from when it was computed
///   (`last`, else `last_updated`). If that differs from the recorded
///   `next`, the schedule changed: the recomputed value is recorded (from
///   `now` instead if it has passed, so a new schedule is not past due at
///   once).
/// * Past due when `now` is after the recorded next occurrence.
pub fn check_past_due(
    schedule: &Schedule,
    now: DateTime<Utc>,
    recorded: Option<&ScheduleStatus>,
) -> PastDueCheck {
    let (status, status_changed) = match recorded {
        None => (
            ScheduleStatus {
                last: None,
                next: schedule.next_after(now),
                last_updated: Some(now),
            },
            true,
        ),
        Some(recorded) => {
            let from = recorded.last.or(recorded.last_updated).unwrap_or(now);
            let mut expected = schedule.next_after(from);
            let mut last_updated = from;
            if recorded.next == expected {
                (*recorded, false)
            } else {
                if expected.is_some_and(|e| now > e) {
                    expected = schedule.next_after(now);
                    last_updated = now;
                }
                (
                    ScheduleStatus {
                        last: None,
                        next: expected,
                        last_updated: Some(last_updated),
                    },
                    true,
                )
            }
        }
    };
    let past_due_by = status
        .next
        .filter(|next| now > *next)
        .and_then(|next| (now - next).to_std().ok());
    PastDueCheck {
        status,
        status_changed,
        past_due_by,
    }
}

/// Why a timer function was invoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invocation {
    /// At its scheduled occurrence.
    Scheduled,
    /// On start, for an occurrence missed while no host ran.
    PastDue,
    /// On start, because of `runOnStartup`.
    RunOnStartup,
}

/// The status to record after an invocation that started at `invoked_at`.
///
/// A scheduled run that fired a moment before its occurrence (clock skew)
/// counts from the occurrence, so the same occurrence is not due twice.
pub fn status_after_invocation(
    schedule: &Schedule,
    invoked_at: DateTime<Utc>,
    previous: &ScheduleStatus,
    why: Invocation,
) -> ScheduleStatus {
    let at = match (why, previous.next) {
        (Invocation::Scheduled, Some(next)) if next > invoked_at => next,
        _ => invoked_at,
    };
    ScheduleStatus {
        last: Some(at),
        next: schedule.next_after(at),
        last_updated: Some(at),
    }
}
