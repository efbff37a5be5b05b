//! The examples of the Azure Functions timer trigger documentation, with
//! their next occurrences worked out by hand from what the documentation
//! says they mean.

use crate::common;

use common::{chain, utc};
use durafn_schedule::{Schedule, ScheduleError, TimeZone, parse_interval};

fn next_n(expression: &str, from: &str, n: usize) -> Vec<String> {
    chain(expression, "UTC", from, n, "%a %Y-%m-%d %H:%M:%S")
}

/// The "NCRONTAB examples" table. 2024-01-05 is a Friday.
#[test]
fn ncrontab_examples_table() {
    let cases: &[(&str, &str, &[&str])] = &[
        // once every five minutes
        (
            "0 */5 * * * *",
            "2024-01-05 10:03:20",
            &[
                "Fri 2024-01-05 10:05:00",
                "Fri 2024-01-05 10:10:00",
                "Fri 2024-01-05 10:15:00",
            ],
        ),
        // once at the top of every hour
        (
            "0 0 * * * *",
            "2024-01-05 10:03:20",
            &["Fri 2024-01-05 11:00:00", "Fri 2024-01-05 12:00:00"],
        ),
        // once every two hours
        (
            "0 0 */2 * * *",
            "2024-01-05 10:03:20",
            &["Fri 2024-01-05 12:00:00", "Fri 2024-01-05 14:00:00"],
        ),
        // once every hour from 9 AM to 5 PM
        (
            "0 0 9-17 * * *",
            "2024-01-05 16:30:00",
            &[
                "Fri 2024-01-05 17:00:00",
                "Sat 2024-01-06 09:00:00",
                "Sat 2024-01-06 10:00:00",
            ],
        ),
        // at 9:30 AM every day
        (
            "0 30 9 * * *",
            "2024-01-05 09:30:00",
            &["Sat 2024-01-06 09:30:00", "Sun 2024-01-07 09:30:00"],
        ),
        // at 9:30 AM every weekday
        (
            "0 30 9 * * 1-5",
            "2024-01-05 10:00:00",
            &["Mon 2024-01-08 09:30:00", "Tue 2024-01-09 09:30:00"],
        ),
        // at 9:30 AM every Monday in January
        (
            "0 30 9 * Jan Mon",
            "2024-01-22 12:00:00",
            &[
                "Mon 2024-01-29 09:30:00",
                "Mon 2025-01-06 09:30:00",
                "Mon 2025-01-13 09:30:00",
            ],
        ),
    ];
    for (expression, from, expected) in cases {
        assert_eq!(
            next_n(expression, from, expected.len()),
            *expected,
            "{expression} after {from}"
        );
    }
}

/// The "NCRONTAB expressions" field table: one example per operator.
#[test]
fn ncrontab_field_examples() {
    // A specific value: once every hour, at minute 5.
    assert_eq!(
        next_n("0 5 * * * *", "2024-01-05 10:05:00", 2),
        ["Fri 2024-01-05 11:05:00", "Fri 2024-01-05 12:05:00"]
    );
    // All values: every minute of hour 5.
    assert_eq!(
        next_n("0 * 5 * * *", "2024-01-05 05:58:30", 3),
        [
            "Fri 2024-01-05 05:59:00",
            "Sat 2024-01-06 05:00:00",
            "Sat 2024-01-06 05:01:00"
        ]
    );
    // A range: three times a minute, at seconds 5 to 7.
    assert_eq!(
        next_n("5-7 * * * * *", "2024-01-05 10:00:06", 3),
        [
            "Fri 2024-01-05 10:00:07",
            "Fri 2024-01-05 10:01:05",
            "Fri 2024-01-05 10:01:06"
        ]
    );
    // A set of values: three times a minute, at seconds 5, 8 and 10.
    assert_eq!(
        next_n("5,8,10 * * * * *", "2024-01-05 10:00:09", 3),
        [
            "Fri 2024-01-05 10:00:10",
            "Fri 2024-01-05 10:01:05",
            "Fri 2024-01-05 10:01:08"
        ]
    );
    // An interval: 12 times an hour, at second 0 of every 5th minute.
    let schedule = Schedule::parse("0 */5 * * * *", TimeZone::UTC).expect("parses");
    assert_eq!(
        schedule
            .occurrences(utc("2024-01-05 10:00:00"), utc("2024-01-05 11:00:00"))
            .count(),
        11,
        "10:05 to 10:55; the window's ends are excluded"
    );
    assert_eq!(
        schedule
            .occurrences(utc("2024-01-05 09:59:59"), utc("2024-01-05 11:00:00"))
            .count(),
        12
    );
}

/// "Names are case-insensitive and can be abbreviated; the recommended
/// abbreviation length is three letters."
#[test]
fn month_and_day_names() {
    let from = "2024-01-05 00:00:00";
    let by_number = next_n("0 0 12 * 1 1", from, 4);
    for spelling in [
        "0 0 12 * Jan Mon",
        "0 0 12 * january MONDAY",
        "0 0 12 * JAN mon",
    ] {
        assert_eq!(next_n(spelling, from, 4), by_number, "{spelling}");
    }
    assert_eq!(
        next_n("0 0 12 * * Sun", from, 1),
        ["Sun 2024-01-07 12:00:00"]
    );
    assert_eq!(next_n("0 0 12 * * 0", from, 1), ["Sun 2024-01-07 12:00:00"]);
    let err = Schedule::parse("0 0 12 * * 7", TimeZone::UTC).expect_err("Sunday is 0");
    assert!(err.to_string().contains("day-of-week"), "{err}");
}

/// The TimeSpan table: `hh:mm:ss` below 24 hours, and the days form.
#[test]
fn timespan_examples_table() {
    for (text, seconds) in [
        ("01:00:00", 3600),
        ("00:01:00", 60),
        ("24:00:00", 24 * 86_400),
        ("1.00:00:00", 86_400),
    ] {
        assert_eq!(
            parse_interval(text).expect(text).as_secs(),
            seconds,
            "{text}"
        );
        let schedule = Schedule::parse(text, TimeZone::UTC).expect(text);
        let t = utc("2024-01-05 10:03:20");
        assert_eq!(
            schedule.next_after(t).map(|n| (n - t).num_seconds()),
            Some(seconds as i64)
        );
    }
}

#[test]
fn errors_say_what_is_wrong() {
    let err = |e: &str| Schedule::parse(e, TimeZone::UTC).expect_err(e);
    assert_eq!(
        err("0 */5 * * * * *").to_string(),
        "`0 */5 * * * * *` has 7 fields; a schedule has six: {second} {minute} {hour} {day} {month} {day-of-week}"
    );
    assert_eq!(
        err("0 60 * * * *").to_string(),
        "the minute field `60` is invalid: 60 is out of range: minute values are 0 to 59"
    );
    assert_eq!(
        err("0 30 9 * Jna Mon").to_string(),
        "the month field `Jna` is invalid: `Jna` is not a month name (use one of January, February, \
         March, April, May, June, July, August, September, October, November, December)"
    );
    assert!(matches!(err("25:61:00"), ScheduleError::TimeSpan { .. }));
    assert!(matches!(err("every day"), ScheduleError::FieldCount { .. }));
    assert!(matches!(err("daily"), ScheduleError::Unrecognized { .. }));
}
