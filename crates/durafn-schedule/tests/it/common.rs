//! What the schedule tests share: times and chains of occurrences.

#![allow(dead_code, unreachable_pub)]

use chrono::{DateTime, NaiveDateTime, Utc};
use durafn_schedule::{Schedule, TimeZone};

/// `YYYY-MM-DD hh:mm:ss` as a UTC instant.
pub fn utc(s: &str) -> DateTime<Utc> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .expect(s)
        .and_utc()
}

/// The next `n` occurrences of `expression` in the zone `zone` after
/// `from` (UTC), each formatted with `format`.
pub fn chain(expression: &str, zone: &str, from: &str, n: usize, format: &str) -> Vec<String> {
    let zone: TimeZone = zone.parse().expect(zone);
    let schedule = Schedule::parse(expression, zone).expect(expression);
    let mut t = utc(from);
    (0..n)
        .map(|_| {
            t = schedule.next_after(t).expect("occurs");
            t.format(format).to_string()
        })
        .collect()
}
