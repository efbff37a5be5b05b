//! The time zone schedules are evaluated in, and the mapping between local
//! wall-clock time and instants as .NET does it.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, LocalResult, NaiveDateTime, Offset, TimeDelta, TimeZone as _, Utc};
use chrono_tz::Tz;

use crate::error::ScheduleError;

/// An IANA time zone (`Europe/London`, `America/New_York`, `UTC`), from
/// the IANA database compiled into the binary, so evaluation reads no
/// files and gives the same answer on every machine.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(Tz);

impl fmt::Debug for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TimeZone({})", self.0.name())
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name())
    }
}

impl Default for TimeZone {
    /// UTC, the Functions default.
    fn default() -> Self {
        TimeZone::UTC
    }
}

impl FromStr for TimeZone {
    type Err = ScheduleError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        TimeZone::parse(name, "the time zone setting")
    }
}

impl TimeZone {
    /// Coordinated Universal Time.
    pub const UTC: TimeZone = TimeZone(Tz::UTC);

    /// The zone an IANA name denotes (exact case, as in the database); a
    /// leading `:` (POSIX `TZ=:Europe/Paris`) is ignored. `setting` names
    /// where the name came from, for the error.
    pub fn parse(name: &str, setting: &str) -> Result<TimeZone, ScheduleError> {
        let trimmed = name.trim();
        let trimmed = trimmed.strip_prefix(':').unwrap_or(trimmed);
        trimmed
            .parse::<Tz>()
            .map(TimeZone)
            .map_err(|_| ScheduleError::UnknownTimeZone {
                name: name.chars().take(80).collect(),
                setting: setting.to_owned(),
            })
    }

    /// The zone function apps use: `WEBSITE_TIME_ZONE` if set, else `TZ`,
    /// else UTC. Empty values count as unset. The caller reads the
    /// settings; this only interprets them.
    pub fn from_settings(
        website_time_zone: Option<&str>,
        tz: Option<&str>,
    ) -> Result<TimeZone, ScheduleError> {
        fn set(value: Option<&str>) -> Option<&str> {
            value.filter(|v| !v.trim().is_empty())
        }
        if let Some(name) = set(website_time_zone) {
            return TimeZone::parse(name, "WEBSITE_TIME_ZONE");
        }
        if let Some(name) = set(tz) {
            return TimeZone::parse(name, "TZ");
        }
        Ok(TimeZone::UTC)
    }

    /// The IANA name.
    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// The local wall-clock time of an instant.
    pub fn local(&self, t: DateTime<Utc>) -> NaiveDateTime {
        t.with_timezone(&self.0).naive_local()
    }

    /// The zone's offset from UTC at an instant, in seconds.
    pub fn offset_at(&self, t: DateTime<Utc>) -> i32 {
        self.0
            .offset_from_utc_datetime(&t.naive_utc())
            .fix()
            .local_minus_utc()
    }

    /// Whether a local time happens twice (the hour repeated when daylight
    /// saving time ends).
    pub fn is_ambiguous(&self, local: NaiveDateTime) -> bool {
        matches!(
            self.0.from_local_datetime(&local),
            LocalResult::Ambiguous(..)
        )
    }

    /// The first instant a local time names: the daylight pass of a time
    /// that happens twice, otherwise the same as [`instant`](Self::instant).
    pub fn first_instant(&self, local: NaiveDateTime) -> DateTime<Utc> {
        match self.0.from_local_datetime(&local) {
            LocalResult::Ambiguous(a, b) => a.min(b).with_timezone(&Utc),
            _ => self.instant(local),
        }
    }

    /// Where the repeated period holding `local` starts, as local time: the
    /// earliest local time from which every time up to `local` happens
    /// twice. `local` itself when it does not happen twice.
    pub fn repeat_start(&self, local: NaiveDateTime) -> NaiveDateTime {
        // Repeated periods are at most a few hours long and months apart,
        // so ambiguity over the three hours before `local` is one run
        // ending at `local`: search for its first second.
        if !self.is_ambiguous(local) {
            return local;
        }
        let (mut outside, mut inside) = (local - TimeDelta::hours(3), local);
        while inside - outside > TimeDelta::seconds(1) {
            let middle = outside + (inside - outside) / 2;
            if self.is_ambiguous(middle) {
                inside = middle;
            } else {
                outside = middle;
            }
        }
        inside
    }

    /// The instant of a local time, as .NET's `DateTimeOffset` gives it for
    /// a local `DateTime`: a time that happens twice is taken in standard
    /// time, its later occurrence; a time skipped when clocks go forward
    /// is taken with the offset before the change, which lands it as far
    /// after the gap's start as it was (02:30 becomes 03:30 when 02:00
    /// jumps to 03:00).
    pub fn instant(&self, local: NaiveDateTime) -> DateTime<Utc> {
        match self.0.from_local_datetime(&local) {
            LocalResult::Single(t) => t.with_timezone(&Utc),
            LocalResult::Ambiguous(a, b) => a.max(b).with_timezone(&Utc),
            LocalResult::None => {
                // The offsets a day either side are those before and after
                // the change; the smaller one (before clocks went forward)
                // gives the later instant.
                let as_utc = local.and_utc();
                let before = self.offset_at(as_utc - TimeDelta::days(1));
                let after = self.offset_at(as_utc + TimeDelta::days(1));
                as_utc - TimeDelta::seconds(i64::from(before.min(after)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").expect(s)
    }

    fn utc(s: &str) -> DateTime<Utc> {
        local(s).and_utc()
    }

    #[test]
    fn settings() {
        assert_eq!(
            TimeZone::from_settings(None, None).expect("utc"),
            TimeZone::UTC
        );
        assert_eq!(
            TimeZone::from_settings(Some(""), Some(" ")).expect("utc"),
            TimeZone::UTC
        );
        let zone =
            TimeZone::from_settings(Some("Europe/London"), Some("Asia/Tokyo")).expect("known");
        assert_eq!(zone.name(), "Europe/London");
        assert_eq!(
            TimeZone::from_settings(None, Some(":Asia/Tokyo"))
                .expect("known")
                .name(),
            "Asia/Tokyo"
        );
        let err =
            TimeZone::from_settings(Some("Eastern Standard Time"), None).expect_err("windows name");
        assert_eq!(
            err.to_string(),
            "unknown time zone `Eastern Standard Time` (from WEBSITE_TIME_ZONE): use an IANA name such as `Europe/London`"
        );
        assert!(TimeZone::from_settings(None, Some("Mars/Olympus")).is_err());
        assert_eq!("UTC".parse::<TimeZone>().expect("utc"), TimeZone::UTC);
    }

    #[test]
    fn local_times_and_instants() {
        let la: TimeZone = "America/Los_Angeles".parse().expect("known");
        // Spring forward 2024-03-10: 02:00 PST jumps to 03:00 PDT.
        assert_eq!(
            la.instant(local("2024-03-10 01:30:00")),
            utc("2024-03-10 09:30:00")
        );
        assert_eq!(
            la.instant(local("2024-03-10 02:30:00")),
            utc("2024-03-10 10:30:00")
        );
        assert_eq!(
            la.local(utc("2024-03-10 10:30:00")),
            local("2024-03-10 03:30:00")
        );
        assert_eq!(
            la.instant(local("2024-03-10 03:00:00")),
            utc("2024-03-10 10:00:00")
        );
        // Fall back 2024-11-03: 01:00–02:00 happens twice; standard time wins.
        assert!(la.is_ambiguous(local("2024-11-03 01:30:00")));
        assert!(!la.is_ambiguous(local("2024-11-03 02:00:00")));
        assert!(!la.is_ambiguous(local("2024-11-03 00:59:59")));
        assert_eq!(
            la.instant(local("2024-11-03 01:30:00")),
            utc("2024-11-03 09:30:00")
        );
        assert_eq!(la.offset_at(utc("2024-11-03 08:30:00")), -7 * 3600);
        assert_eq!(la.offset_at(utc("2024-11-03 09:30:00")), -8 * 3600);
        // A 30-minute shift (Lord Howe Island, 2024-10-06 02:00 → 02:30).
        let lord_howe: TimeZone = "Australia/Lord_Howe".parse().expect("known");
        assert_eq!(
            lord_howe.local(lord_howe.instant(local("2024-10-06 02:10:00"))),
            local("2024-10-06 02:40:00")
        );
    }
}
