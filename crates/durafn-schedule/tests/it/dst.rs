//! Daylight saving time, as the Functions host's `CronSchedule` handles it.
//!
//! US Pacific, 2024: clocks go from 02:00 PST to 03:00 PDT on 10 March and
//! from 02:00 PDT back to 01:00 PST on 3 November. The expected instants
//! are the host's documented behaviour worked out by hand.

use crate::common;

use common::utc;
use durafn_schedule::{Schedule, TimeZone};

fn zone(name: &str) -> TimeZone {
    name.parse().expect(name)
}

/// The next `n` occurrences after `from` (UTC), in UTC.
fn chain(expression: &str, zone_name: &str, from: &str, n: usize) -> Vec<String> {
    common::chain(expression, zone_name, from, n, "%Y-%m-%d %H:%M:%S")
}

#[test]
fn a_point_in_time_in_the_spring_gap_runs_after_it() {
    // Daily at 02:30, which does not exist on 10 March: it runs at 03:30 PDT.
    assert_eq!(
        chain(
            "0 30 2 * * *",
            "America/Los_Angeles",
            "2024-03-09 12:00:00",
            3
        ),
        [
            "2024-03-10 10:30:00", // 03:30 PDT
            "2024-03-11 09:30:00", // 02:30 PDT
            "2024-03-12 09:30:00",
        ]
    );
}

#[test]
fn an_interval_crosses_the_spring_gap() {
    // Every 30 minutes: 01:00 and 01:30 PST, then 03:00 and 03:30 PDT.
    assert_eq!(
        chain(
            "0 */30 * * * *",
            "America/Los_Angeles",
            "2024-03-10 08:45:00",
            4
        ),
        [
            "2024-03-10 09:00:00", // 01:00 PST
            "2024-03-10 09:30:00", // 01:30 PST
            "2024-03-10 10:00:00", // 03:00 PDT (02:00 does not exist)
            "2024-03-10 10:30:00", // 03:30 PDT
        ]
    );
}

#[test]
fn a_point_in_time_in_the_repeated_hour_runs_once() {
    // Daily at 01:30: on 3 November it runs at 01:30 PDT only.
    assert_eq!(
        chain(
            "0 30 1 * * *",
            "America/Los_Angeles",
            "2024-11-02 12:00:00",
            3
        ),
        [
            "2024-11-03 08:30:00", // 01:30 PDT, the first pass
            "2024-11-04 09:30:00", // 01:30 PST, the next day
            "2024-11-05 09:30:00",
        ]
    );
    // A host that starts in the second pass (01:29 PST) does not run it again.
    assert_eq!(
        chain(
            "0 30 1 * * *",
            "America/Los_Angeles",
            "2024-11-03 09:29:00",
            1
        ),
        ["2024-11-04 09:30:00"]
    );
    // From 00:59 PDT the adjusted occurrence is the first pass.
    assert_eq!(
        chain(
            "0 30 1 * * *",
            "America/Los_Angeles",
            "2024-11-03 07:59:00",
            1
        ),
        ["2024-11-03 08:30:00"]
    );
}

#[test]
fn an_interval_keeps_its_pace_through_the_repeated_hour() {
    // Every 30 minutes through both passes of 01:00–02:00.
    assert_eq!(
        chain(
            "0 */30 * * * *",
            "America/Los_Angeles",
            "2024-11-03 07:15:00",
            6
        ),
        [
            "2024-11-03 07:30:00", // 00:30 PDT
            "2024-11-03 08:00:00", // 01:00 PDT
            "2024-11-03 08:30:00", // 01:30 PDT
            "2024-11-03 09:00:00", // 01:00 PST
            "2024-11-03 09:30:00", // 01:30 PST
            "2024-11-03 10:00:00", // 02:00 PST
        ]
    );
    // Hourly too.
    assert_eq!(
        chain(
            "0 0 * * * *",
            "America/Los_Angeles",
            "2024-11-03 06:30:00",
            4
        ),
        [
            "2024-11-03 07:00:00", // 00:00 PDT
            "2024-11-03 08:00:00", // 01:00 PDT
            "2024-11-03 09:00:00", // 01:00 PST
            "2024-11-03 10:00:00", // 02:00 PST
        ]
    );
}

#[test]
fn europe_and_a_half_hour_shift() {
    // London, 27 October 2024: 02:00 BST goes back to 01:00 GMT.
    assert_eq!(
        chain("0 30 1 * * *", "Europe/London", "2024-10-26 12:00:00", 2),
        ["2024-10-27 00:30:00", "2024-10-28 01:30:00"]
    );
    // London, 31 March 2024: 01:00 GMT goes to 02:00 BST; 01:30 runs at 02:30.
    assert_eq!(
        chain("0 30 1 * * *", "Europe/London", "2024-03-30 12:00:00", 2),
        ["2024-03-31 01:30:00", "2024-04-01 00:30:00"]
    );
    // Lord Howe Island moves by 30 minutes (6 October 2024, 02:00 → 02:30).
    assert_eq!(
        chain(
            "0 15 2 * * *",
            "Australia/Lord_Howe",
            "2024-10-05 00:00:00",
            2
        ),
        [
            "2024-10-05 15:45:00", // 02:45 (+11:00): 02:15 did not exist
            "2024-10-06 15:15:00", // 02:15 (+11:00)
        ]
    );
}

#[test]
fn intervals_ignore_the_clock_change() {
    let every_hour = Schedule::parse("01:00:00", zone("America/Los_Angeles")).expect("parses");
    let mut t = utc("2024-11-03 07:00:00");
    for _ in 0..4 {
        let next = every_hour.next_after(t).expect("occurs");
        assert_eq!((next - t).num_seconds(), 3600);
        t = next;
    }
}

#[test]
fn zones_without_daylight_saving_are_plain() {
    assert_eq!(
        chain("0 0 9 * * *", "Asia/Tokyo", "2024-03-10 00:00:00", 2),
        ["2024-03-11 00:00:00", "2024-03-12 00:00:00"]
    );
}

#[test]
fn the_last_occurrence_follows_the_same_rules() {
    let la = zone("America/Los_Angeles");
    let daily = Schedule::parse("0 30 1 * * *", la).expect("parses");
    // After both passes of 01:30 on 3 November, the last run was the first pass.
    assert_eq!(
        daily.last_at_or_before(utc("2024-11-03 10:00:00")),
        Some(utc("2024-11-03 08:30:00"))
    );
    let half_hourly = Schedule::parse("0 */30 * * * *", la).expect("parses");
    assert_eq!(
        half_hourly.last_at_or_before(utc("2024-11-03 09:45:00")),
        Some(utc("2024-11-03 09:30:00")) // 01:30 PST, the second pass
    );
    // The spring gap: 02:30 ran at 03:30 PDT.
    let gap = Schedule::parse("0 30 2 * * *", la).expect("parses");
    assert_eq!(
        gap.last_at_or_before(utc("2024-03-10 11:00:00")),
        Some(utc("2024-03-10 10:30:00"))
    );
    assert_eq!(
        gap.last_at_or_before(utc("2024-03-10 10:29:59")),
        Some(utc("2024-03-09 10:30:00"))
    );
}

#[test]
fn a_clock_change_far_from_the_next_occurrence_does_not_move_it() {
    // From the first pass of Berlin's repeated hour (02:00 CEST on
    // 29 October 2062), the next 1st of the month is midnight CET, days
    // after the change.
    assert_eq!(
        chain("* * * 1 * *", "Europe/Berlin", "2062-10-29 00:00:00", 2),
        ["2062-10-31 23:00:00", "2062-10-31 23:00:01"]
    );
    // A yearly time in the repeated hour, from the standard time a year
    // before, still runs in the first pass.
    assert_eq!(
        chain(
            "0 30 1 3 11 *",
            "America/Los_Angeles",
            "2023-11-10 12:00:00",
            1
        ),
        ["2024-11-03 08:30:00"]
    );
}
