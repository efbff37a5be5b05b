//! Times on the command line (`--from 2h`, `--to 2024-05-01T12:00:00Z`) and in tables.

use chrono::{DateTime, NaiveDate, SecondsFormat, TimeDelta, Utc};

/// The current time (the workspace's chrono has no clock feature: the core reads no clock).
pub(crate) fn now() -> DateTime<Utc> {
    DateTime::<Utc>::from(std::time::SystemTime::now())
}

/// Parses a point in time: RFC 3339 (`2024-05-01T12:00:00Z`, `…+02:00`), a date (`2024-05-01`,
/// midnight UTC), or an age relative to `now` (`15m`, `2h`, `7d`, `1h 30m`: that long ago).
pub(crate) fn parse_time(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let t = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(t) {
        return Ok(time.with_timezone(&Utc));
    }
    if let Ok(date) = NaiveDate::parse_from_str(t, "%Y-%m-%d")
        && let Some(midnight) = date.and_hms_opt(0, 0, 0)
    {
        return Ok(midnight.and_utc());
    }
    match humantime::parse_duration(t) {
        Ok(age) => TimeDelta::from_std(age)
            .ok()
            .and_then(|age| now.checked_sub_signed(age))
            .ok_or_else(|| format!("{text:?} is too long ago")),
        Err(_) => Err(format!(
            "{text:?} is neither an RFC 3339 time (2024-05-01T12:00:00Z), a date (2024-05-01) nor an age (15m, 2h, 7d)"
        )),
    }
}

/// The API's spelling of a time (UTC, `Z`).
pub(crate) fn api_time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A time for a table: UTC to the second.
pub(crate) fn show_time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%SZ").to_string()
}

/// A duration for a table: `850µs`, `12ms`, `1.25s`, `2m05s`, `3h04m`, `2d03h`.
pub(crate) fn show_duration(d: TimeDelta) -> String {
    let us = d.num_microseconds().unwrap_or(i64::MAX).max(0);
    let s = us / 1_000_000;
    match us {
        0..1_000 => format!("{us}µs"),
        1_000..1_000_000 => format!("{}ms", us / 1_000),
        1_000_000..60_000_000 => format!("{:.2}s", us as f64 / 1e6),
        _ if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ if s < 86_400 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn absolute_and_relative_times() {
        let now = Utc.with_ymd_and_hms(2024, 5, 8, 12, 0, 0).unwrap();
        assert_eq!(
            parse_time("2024-05-01T12:00:00+02:00", now).unwrap(),
            Utc.with_ymd_and_hms(2024, 5, 1, 10, 0, 0).unwrap()
        );
        assert_eq!(
            parse_time("2024-05-01", now).unwrap(),
            Utc.with_ymd_and_hms(2024, 5, 1, 0, 0, 0).unwrap()
        );
        assert_eq!(
            parse_time("15m", now).unwrap(),
            now - TimeDelta::minutes(15)
        );
        assert_eq!(parse_time("2h", now).unwrap(), now - TimeDelta::hours(2));
        assert_eq!(parse_time("7d", now).unwrap(), now - TimeDelta::days(7));
        assert!(
            parse_time("yesterday", now)
                .unwrap_err()
                .contains("RFC 3339")
        );
        assert_eq!(api_time(&now), "2024-05-08T12:00:00Z");
    }

    #[test]
    fn durations() {
        assert_eq!(show_duration(TimeDelta::microseconds(850)), "850µs");
        assert_eq!(show_duration(TimeDelta::milliseconds(12)), "12ms");
        assert_eq!(show_duration(TimeDelta::milliseconds(1250)), "1.25s");
        assert_eq!(show_duration(TimeDelta::seconds(125)), "2m05s");
        assert_eq!(show_duration(TimeDelta::seconds(3 * 3600 + 240)), "3h04m");
        assert_eq!(show_duration(TimeDelta::hours(51)), "2d03h");
        assert_eq!(show_duration(TimeDelta::milliseconds(-5)), "0µs");
    }
}
