//! Properties of `next_after` over random expressions and times.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Timelike, Utc};
use durafn_schedule::{CronExpression, Schedule, TimeZone};
use proptest::prelude::*;

/// One field: `*`, a value, a range, a step, or a short list of those.
fn field(min: u32, max: u32, names: &'static [&'static str]) -> impl Strategy<Value = String> {
    let value = move || {
        prop_oneof![
            4 => (min..=max).prop_map(|v| v.to_string()),
            1 => (min..=max).prop_map(move |v| {
                if names.is_empty() { v.to_string() } else { names[(v - min) as usize].to_owned() }
            }),
        ]
    };
    let item = prop_oneof![
        3 => Just("*".to_owned()),
        3 => value(),
        2 => (value(), value()).prop_map(|(a, b)| format!("{a}-{b}")),
        2 => (1..=max.max(2)).prop_map(|s| format!("*/{s}")),
        1 => (value(), 1..=max.max(2)).prop_map(|(a, s)| format!("{a}/{s}")),
    ];
    proptest::collection::vec(item, 1..=3).prop_map(|items| items.join(","))
}

const MONTHS: &[&str] = &[
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const DAYS: &[&str] = &["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

fn expression() -> impl Strategy<Value = String> {
    (
        field(0, 59, &[]),
        field(0, 59, &[]),
        field(0, 23, &[]),
        field(1, 31, &[]),
        field(1, 12, MONTHS),
        field(0, 6, DAYS),
    )
        .prop_map(|(s, m, h, d, mo, w)| format!("{s} {m} {h} {d} {mo} {w}"))
}

/// A time between 2000 and 2100, with a fraction of a second sometimes.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (
        946_684_800_i64..4_102_444_800,
        prop_oneof![Just(0_u32), 0..1_000_000_000_u32],
    )
        .prop_map(|(secs, nanos)| DateTime::from_timestamp(secs, nanos).expect("in range"))
}

/// Every whole second of `day` in the open interval `(from, to)`.
fn seconds_between(
    day: NaiveDate,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> impl Iterator<Item = NaiveDateTime> {
    let midnight = day.and_hms_opt(0, 0, 0).expect("midnight");
    let first = (from.with_nanosecond(0).expect("valid") + TimeDelta::seconds(1)).max(midnight);
    let end = to.min(midnight + TimeDelta::days(1));
    let count = (end - first).num_seconds().max(0);
    (0..count)
        .map(move |s| first + TimeDelta::seconds(s))
        .filter(move |t| *t < to)
}

/// Checks that no time strictly between `from` and `to` matches, by an
/// independent search: every day in between must not match at all (a
/// matching day always has occurrences), and the two end days are scanned
/// second by second.
fn nothing_between(
    cron: &CronExpression,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<(), TestCaseError> {
    let mut day = from.date();
    while day <= to.date() {
        let ends = day == from.date() || day == to.date();
        if ends {
            if cron.matches_day(day) {
                if let Some(t) = seconds_between(day, from, to).find(|t| cron.matches(*t)) {
                    return Err(TestCaseError::fail(format!(
                        "{t} matches {cron} but was skipped"
                    )));
                }
            }
        } else {
            prop_assert!(
                !cron.matches_day(day),
                "{day} matches {cron} but was skipped"
            );
        }
        day = day.succ_opt().expect("before 9999");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// In UTC: the next occurrence is strictly after, matches, and nothing
    /// in between matches.
    #[test]
    fn next_is_the_first_match_after(expr in expression(), t in instant()) {
        let cron = CronExpression::parse(&expr).expect("generated expressions parse");
        let schedule = Schedule::cron(cron.clone(), TimeZone::UTC);
        match schedule.next_after(t) {
            Some(next) => {
                prop_assert!(next > t);
                prop_assert!(cron.matches(next.naive_utc()), "{next} does not match {expr}");
                nothing_between(&cron, t.naive_utc(), next.naive_utc())?;
                // The chain continues strictly forward.
                if let Some(after) = schedule.next_after(next) {
                    prop_assert!(after > next);
                }
            }
            None => {
                // Only expressions naming no real date never occur.
                let any_day = (0..366 * 4)
                    .filter_map(|d| NaiveDate::from_ymd_opt(2024, 1, 1).map(|s| s + TimeDelta::days(d)))
                    .any(|d| cron.matches_day(d));
                prop_assert!(!any_day, "{expr} has matching days but no next occurrence");
            }
        }
    }

    /// The latest occurrence at or before `t` matches, and the next one is
    /// after `t`.
    #[test]
    fn last_at_or_before_is_consistent(expr in expression(), t in instant()) {
        let cron = CronExpression::parse(&expr).expect("generated expressions parse");
        let schedule = Schedule::cron(cron.clone(), TimeZone::UTC);
        if let Some(last) = schedule.last_at_or_before(t) {
            prop_assert!(last <= t);
            prop_assert!(cron.matches(last.naive_utc()));
            prop_assert!(schedule.next_after(last).is_none_or(|next| next > t));
            // Nothing later matches up to and including t.
            let t_whole = t.naive_utc().with_nanosecond(0).expect("valid") + TimeDelta::seconds(1);
            nothing_between(&cron, last.naive_utc(), t_whole)?;
        } else {
            prop_assert!(schedule.next_after(DateTime::<Utc>::MIN_UTC).is_none_or(|first| first > t));
        }
    }

    /// In zones with clock changes: always strictly after, and the local
    /// time matches, or was skipped by the change and lands after the gap.
    #[test]
    fn next_is_after_in_every_zone(
        expr in expression(),
        t in instant(),
        zone in prop::sample::select(vec![
            "America/Los_Angeles", "Europe/Berlin", "Australia/Lord_Howe",
            "America/Sao_Paulo", "Asia/Tokyo", "Pacific/Apia",
        ]),
    ) {
        let zone: TimeZone = zone.parse().expect("known zone");
        let cron = CronExpression::parse(&expr).expect("generated expressions parse");
        let schedule = Schedule::cron(cron.clone(), zone);
        if let Some(next) = schedule.next_after(t) {
            prop_assert!(next > t, "{next} is not after {t} in {zone:?}");
            let local = zone.local(next);
            let skipped = |minutes: i64| {
                let wall = local - TimeDelta::minutes(minutes);
                zone.local(zone.instant(wall)) != wall && cron.matches(wall)
            };
            prop_assert!(
                cron.matches(local) || [30, 60, 120, 1440].into_iter().any(skipped),
                "{next} ({local} in {zone:?}) does not match {expr}"
            );
        }
    }

    /// Interval schedules advance by exactly their interval.
    #[test]
    fn intervals_advance_by_the_interval(secs in 1_u64..10_000_000, t in instant()) {
        let schedule = Schedule::interval(std::time::Duration::from_secs(secs)).expect("positive");
        let next = schedule.next_after(t).expect("in range");
        prop_assert_eq!((next - t).num_seconds(), secs as i64);
        prop_assert_eq!(schedule.last_at_or_before(t), None);
    }
}
