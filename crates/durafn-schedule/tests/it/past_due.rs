//! The schedule monitor's rules with an injected clock: missed
//! occurrences after a downtime, schedule changes, early firing.

use crate::common;

use chrono::{DateTime, TimeDelta, Utc};
use common::utc;
use durafn_schedule::{
    Invocation, Schedule, ScheduleStatus, TimeZone, check_past_due, status_after_invocation,
};

fn weekday_mornings() -> Schedule {
    Schedule::parse("0 30 9 * * 1-5", TimeZone::UTC).expect("parses")
}

#[test]
fn a_first_start_records_the_next_occurrence() {
    let schedule = weekday_mornings();
    let now = utc("2024-01-08 08:00:00"); // Monday
    let check = check_past_due(&schedule, now, None);
    assert!(!check.is_past_due());
    assert!(check.status_changed);
    assert_eq!(
        check.status,
        ScheduleStatus {
            last: None,
            next: Some(utc("2024-01-08 09:30:00")),
            last_updated: Some(now),
        }
    );
}

#[test]
fn a_downtime_over_an_occurrence_is_past_due_once() {
    let schedule = weekday_mornings();
    // Ran on Monday at 09:30, as scheduled.
    let status = status_after_invocation(
        &schedule,
        utc("2024-01-08 09:30:00"),
        &ScheduleStatus {
            next: Some(utc("2024-01-08 09:30:00")),
            ..ScheduleStatus::default()
        },
        Invocation::Scheduled,
    );
    assert_eq!(status.next, Some(utc("2024-01-09 09:30:00")));

    // A restart before Tuesday's run: nothing missed.
    let early = check_past_due(&schedule, utc("2024-01-09 09:00:00"), Some(&status));
    assert!(!early.is_past_due());
    assert!(!early.status_changed);

    // The host was down from Monday noon to Thursday 10:00: Tuesday's,
    // Wednesday's and Thursday's runs were missed; it runs once, now.
    let now = utc("2024-01-11 10:00:00");
    let check = check_past_due(&schedule, now, Some(&status));
    assert!(check.is_past_due());
    assert!(!check.status_changed);
    assert_eq!(
        check.past_due_by,
        Some(std::time::Duration::from_secs(2 * 86_400 + 1800))
    );
    assert_eq!(
        schedule.occurrences(status.last.expect("ran"), now).count(),
        3,
        "three occurrences were missed"
    );
    let after = status_after_invocation(&schedule, now, &check.status, Invocation::PastDue);
    assert_eq!(after.last, Some(now));
    assert_eq!(after.next, Some(utc("2024-01-12 09:30:00")));
    // And after that run it is not past due any more.
    assert!(!check_past_due(&schedule, now + TimeDelta::minutes(1), Some(&after)).is_past_due());
}

#[test]
fn a_changed_schedule_is_not_past_due_at_once() {
    let old = weekday_mornings();
    let status = status_after_invocation(
        &old,
        utc("2024-01-08 09:30:00"),
        &ScheduleStatus::default(),
        Invocation::Scheduled,
    );
    // Redeployed on Tuesday at 12:00 with an hourly schedule: by its rule
    // the next occurrence after Monday 09:30 was Monday 10:00, long gone;
    // it is recomputed from now instead.
    let hourly = Schedule::parse("0 0 * * * *", TimeZone::UTC).expect("parses");
    let now = utc("2024-01-09 12:00:00");
    let check = check_past_due(&hourly, now, Some(&status));
    assert!(!check.is_past_due());
    assert!(check.status_changed);
    assert_eq!(
        check.status,
        ScheduleStatus {
            last: None,
            next: Some(utc("2024-01-09 13:00:00")),
            last_updated: Some(now),
        }
    );
}

#[test]
fn a_run_that_fires_a_moment_early_counts_from_its_occurrence() {
    let schedule = weekday_mornings();
    let previous = ScheduleStatus {
        next: Some(utc("2024-01-08 09:30:00")),
        ..ScheduleStatus::default()
    };
    let fired = utc("2024-01-08 09:29:59") + TimeDelta::milliseconds(600);
    let status = status_after_invocation(&schedule, fired, &previous, Invocation::Scheduled);
    assert_eq!(status.last, Some(utc("2024-01-08 09:30:00")));
    assert_eq!(status.next, Some(utc("2024-01-09 09:30:00")));
    // A run on startup counts from when it ran.
    let status = status_after_invocation(&schedule, fired, &previous, Invocation::RunOnStartup);
    assert_eq!(status.last, Some(fired));
    assert_eq!(status.next, Some(utc("2024-01-08 09:30:00")));
}

/// A month of a host that is down at random-looking times, driven by an
/// injected clock minute by minute: every occurrence during an up period
/// runs once on time, and every downtime that swallowed occurrences runs
/// exactly once on restart, past due.
#[test]
fn a_month_with_downtimes() {
    let schedule = Schedule::parse("0 0 */6 * * *", TimeZone::UTC).expect("parses");
    let start = utc("2024-02-01 00:00:00");
    let end = utc("2024-03-01 00:00:00");
    // Down for a stretch of minutes starting every 1,013 minutes, lasting
    // between 7 and 900 minutes; up at the start, when the timer is first
    // seen (occurrences before a timer's first start are not "missed").
    let down = |t: DateTime<Utc>| {
        let minute = (t - start).num_minutes() + 500;
        minute % 1013 < 7 + (minute / 1013 * 389) % 893
    };
    assert!(!down(start));
    let mut stored: Option<ScheduleStatus> = None;
    let mut runs: Vec<(DateTime<Utc>, bool)> = Vec::new();
    let mut up = false;
    let mut t = start;
    while t < end {
        if down(t) {
            up = false;
        } else {
            if !up {
                // A host starts: the monitor check.
                let check = check_past_due(&schedule, t, stored.as_ref());
                let mut status = check.status;
                if check.is_past_due() {
                    status = status_after_invocation(&schedule, t, &status, Invocation::PastDue);
                    runs.push((t, true));
                }
                stored = Some(status);
                up = true;
            }
            let status = stored.expect("initialised on start");
            if status.next.is_some_and(|next| next <= t) {
                stored = Some(status_after_invocation(
                    &schedule,
                    t,
                    &status,
                    Invocation::Scheduled,
                ));
                runs.push((t, false));
            }
        }
        t += TimeDelta::minutes(1);
    }
    let occurrences: Vec<_> = schedule.occurrences(start, end).collect();
    let on_time: Vec<_> = occurrences.iter().filter(|o| !down(**o)).copied().collect();
    let scheduled: Vec<_> = runs
        .iter()
        .filter(|(_, late)| !late)
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(
        scheduled, on_time,
        "every occurrence while up ran on time, once"
    );
    // Each past-due run stands for one or more occurrences missed since the
    // previous run, and every missed occurrence is covered by one.
    let mut covered = 0;
    let mut previous_run = start;
    for (at, late) in &runs {
        let missed = occurrences
            .iter()
            .filter(|o| **o > previous_run && **o <= *at && down(**o))
            .count();
        if *late {
            assert!(missed >= 1, "a past-due run at {at} with nothing missed");
            covered += missed;
        } else {
            assert_eq!(missed, 0, "an occurrence before {at} was missed silently");
        }
        previous_run = *at;
    }
    let missed_total = occurrences.iter().filter(|o| down(**o)).count();
    let still_down_at_end = occurrences
        .iter()
        .filter(|o| **o > previous_run && down(**o))
        .count();
    assert_eq!(covered + still_down_at_end, missed_total);
    assert!(
        runs.iter().any(|(_, late)| *late),
        "the downtimes swallowed some occurrences"
    );
    assert!(
        scheduled.len() > 50,
        "most ran on time: {}",
        scheduled.len()
    );
}

#[test]
fn interval_and_never_schedules() {
    let every_hour = Schedule::parse("01:00:00", TimeZone::UTC).expect("parses");
    let last = utc("2024-01-08 09:00:00");
    let status = status_after_invocation(
        &every_hour,
        last,
        &ScheduleStatus::default(),
        Invocation::Scheduled,
    );
    assert_eq!(status.next, Some(utc("2024-01-08 10:00:00")));
    let check = check_past_due(&every_hour, utc("2024-01-08 10:30:00"), Some(&status));
    assert_eq!(
        check.past_due_by,
        Some(std::time::Duration::from_secs(1800))
    );

    let never = Schedule::parse("0 0 0 30 2 *", TimeZone::UTC).expect("parses");
    let check = check_past_due(&never, utc("2024-01-08 10:30:00"), None);
    assert_eq!(check.status.next, None);
    assert!(!check.is_past_due());
    let later = check_past_due(&never, utc("2030-01-01 00:00:00"), Some(&check.status));
    assert!(!later.is_past_due());
}

#[test]
fn the_monitor_is_off_for_schedules_under_a_minute() {
    let now = utc("2024-01-08 09:00:00");
    let applies = |e: &str| {
        Schedule::parse(e, TimeZone::UTC)
            .expect(e)
            .monitor_applies(now)
    };
    assert!(!applies("*/10 * * * * *"));
    assert!(!applies("00:00:30"));
    assert!(applies("0 * * * * *"));
    assert!(applies("*/10 * 9 * * *"), "the hours are restricted");
    assert!(applies("00:05:00"));
    assert!(applies("0 30 9 * * 1-5"));
}
