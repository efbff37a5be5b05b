//! A timer trigger's schedule: an NCRONTAB expression in a time zone, or a
//! constant interval, and its occurrences as instants.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use crate::cron::CronExpression;
use crate::error::ScheduleError;
use crate::timespan::parse_interval;
use crate::zone::TimeZone;

/// What a schedule is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleKind {
    /// An NCRONTAB expression, evaluated in the schedule's time zone.
    Cron(CronExpression),
    /// A constant interval (the `TimeSpan` form): each occurrence is the
    /// interval after the one before, whatever the time zone says.
    Interval(Duration),
}

/// When a timer trigger fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    kind: ScheduleKind,
    zone: TimeZone,
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ScheduleKind::Cron(cron) => write!(f, "Cron: '{cron}' ({})", self.zone),
            ScheduleKind::Interval(every) => write!(f, "Constant: every {every:?}"),
        }
    }
}

impl Schedule {
    /// Reads a schedule as the Functions host does: an NCRONTAB expression
    /// if it is one, otherwise a `TimeSpan` interval. `%Setting%` names
    /// must be resolved first ([`crate::resolve_settings`]).
    pub fn parse(expression: &str, zone: TimeZone) -> Result<Schedule, ScheduleError> {
        let cron_error = match CronExpression::parse(expression) {
            Ok(cron) => return Ok(Schedule::cron(cron, zone)),
            Err(e) => e,
        };
        let interval_error = match parse_interval(expression) {
            Ok(every) => return Schedule::interval(every),
            Err(e) => e,
        };
        // Report the error of the form the expression was meant to be.
        let tokens = expression.split_ascii_whitespace().count();
        let timespan_like = expression
            .trim()
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ':' | '.' | '-'));
        Err(if tokens >= 2 {
            cron_error
        } else if timespan_like {
            interval_error
        } else {
            ScheduleError::Unrecognized {
                expression: expression.to_owned(),
            }
        })
    }

    /// An NCRONTAB schedule in `zone`.
    pub fn cron(expression: CronExpression, zone: TimeZone) -> Schedule {
        Schedule {
            kind: ScheduleKind::Cron(expression),
            zone,
        }
    }

    /// A constant interval, which must be longer than zero.
    pub fn interval(every: Duration) -> Result<Schedule, ScheduleError> {
        if every.is_zero() {
            return Err(ScheduleError::TimeSpan {
                text: format!("{every:?}"),
                reason: "a schedule interval must be longer than zero".to_owned(),
            });
        }
        Ok(Schedule {
            kind: ScheduleKind::Interval(every),
            zone: TimeZone::UTC,
        })
    }

    /// What the schedule is made of.
    pub fn kind(&self) -> &ScheduleKind {
        &self.kind
    }

    /// The time zone NCRONTAB expressions are evaluated in.
    pub fn zone(&self) -> TimeZone {
        self.zone
    }

    /// The first occurrence strictly after `t`, or `None` if there is none
    /// (an NCRONTAB expression that never occurs, or beyond the year 9999).
    ///
    /// For NCRONTAB schedules this is the Functions host's `CronSchedule`:
    /// the expression is evaluated in local time, and then
    ///
    /// * a local time skipped when clocks go forward runs that much after
    ///   the gap (a daily 02:30 runs at 03:30 on that day);
    /// * in the hour repeated when clocks go back, a point-in-time schedule
    ///   (see [`CronExpression::is_interval`]) runs once, in the first
    ///   (daylight) pass, while an interval schedule runs through both
    ///   passes (every 30 minutes stays every 30 minutes).
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match &self.kind {
            ScheduleKind::Interval(every) => {
                t.checked_add_signed(TimeDelta::from_std(*every).ok()?)
            }
            ScheduleKind::Cron(cron) => self.next_cron(cron, t),
        }
    }

    fn next_cron(&self, cron: &CronExpression, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let zone = self.zone;
        let now_local = zone.local(now);
        let first = cron.next_after(now_local)?;
        let early = zone.first_instant(first);
        if !cron.is_interval() {
            // A point in time runs once, in the first pass of a repeated hour.
            if early > now {
                return Some(early);
            }
            // `now` is in the second pass, after that first pass: the times
            // still repeated ran in their first pass; take the next time that
            // is not repeated.
            let mut local = first;
            while zone.is_ambiguous(local) {
                local = cron.next_after(local)?;
            }
            return Some(zone.instant(local));
        }
        // An interval: every instant whose wall time matches, through both
        // passes of a repeated hour. The earliest pass of the next local
        // match that is still ahead ...
        let mut next = if early > now {
            early
        } else {
            zone.instant(first)
        };
        // ... unless `now` is in the first pass of a repeated period, whose
        // second pass replays the local times before `now_local`.
        if zone.is_ambiguous(now_local) && zone.first_instant(now_local) == now {
            let start = zone.repeat_start(now_local);
            if let Some(replayed) = cron.next_after(start - TimeDelta::seconds(1))
                && replayed <= now_local
            {
                next = next.min(zone.instant(replayed));
            }
        }
        Some(next)
    }

    /// The occurrences strictly after `after` and strictly before `before`,
    /// in order.
    pub fn occurrences(&self, after: DateTime<Utc>, before: DateTime<Utc>) -> Occurrences<'_> {
        Occurrences {
            schedule: self,
            cursor: after,
            before,
        }
    }

    /// The latest occurrence at or before `t`, following the chain of
    /// [`next_after`](Schedule::next_after) from just before it. `None` for
    /// an interval schedule, which has no fixed points, and for an
    /// expression that never occurred before `t`.
    pub fn last_at_or_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let ScheduleKind::Cron(cron) = &self.kind else {
            return None;
        };
        let before_or_at = |first: Option<DateTime<Utc>>| first.filter(|f| *f <= t);
        // The latest local match, then the chain from a second before it;
        // around clock changes that chain may skip it (the second pass of a
        // repeated hour), so step back through earlier matches.
        let mut local = self.zone.local(t);
        for _ in 0..8 {
            let candidate = cron.last_at_or_before(local)?;
            let start = self.zone.instant(candidate) - TimeDelta::seconds(1);
            if let Some(mut last) = before_or_at(self.next_after(start)) {
                while let Some(next) = before_or_at(self.next_after(last)) {
                    last = next;
                }
                return Some(last);
            }
            local = candidate - TimeDelta::seconds(1);
        }
        None
    }

    /// Whether the host keeps `useMonitor` on for this schedule: it turns it
    /// off for schedules that fire more often than once a minute (an
    /// interval under a minute, or `x * * * * *` with more than one
    /// occurrence in the minute after `now`).
    pub fn monitor_applies(&self, now: DateTime<Utc>) -> bool {
        match &self.kind {
            ScheduleKind::Interval(every) => *every >= Duration::from_secs(60),
            ScheduleKind::Cron(cron) => {
                !cron.only_seconds_restricted()
                    || self
                        .occurrences(now, now + TimeDelta::minutes(1))
                        .nth(1)
                        .is_none()
            }
        }
    }
}

/// The occurrences of a schedule in a window, from
/// [`Schedule::occurrences`].
#[derive(Debug, Clone)]
pub struct Occurrences<'a> {
    schedule: &'a Schedule,
    cursor: DateTime<Utc>,
    before: DateTime<Utc>,
}

impl Iterator for Occurrences<'_> {
    type Item = DateTime<Utc>;

    fn next(&mut self) -> Option<DateTime<Utc>> {
        let next = self.schedule.next_after(self.cursor)?;
        if next >= self.before {
            return None;
        }
        self.cursor = next;
        Some(next)
    }
}
