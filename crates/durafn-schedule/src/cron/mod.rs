//! NCRONTAB expressions as Azure Functions reads them:
//! `{second} {minute} {hour} {day} {month} {day-of-week}`.
//!
//! Semantics follow NCrontab, the library the Functions host uses:
//!
//! * A five-field expression (no seconds) is accepted too, with second 0,
//!   as the host does.
//! * The day of the month *and* the day of the week must both match
//!   (`0 0 0 13 * Fri` is Friday the 13th), unlike Vixie cron's "either".
//! * Days of the week are 0–6 with Sunday 0; 7 is refused.
//! * Occurrences are whole seconds, strictly after the given time.
//!
//! Fields may be separated by any ASCII whitespace (the host splits on
//! spaces only, so this accepts a superset).

mod field;

use std::fmt;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

use crate::error::{CronField, ScheduleError};
use field::ValueSet;

/// The latest year searched, as NCrontab (.NET's `DateTime` ends with
/// 9999).
const LAST_YEAR: i32 = 9999;
/// The earliest year searched backwards.
const FIRST_YEAR: i32 = 1;

/// A parsed NCRONTAB expression, evaluated in local wall-clock time.
#[derive(Clone, PartialEq, Eq)]
pub struct CronExpression {
    text: String,
    has_seconds: bool,
    seconds: ValueSet,
    minutes: ValueSet,
    hours: ValueSet,
    days: ValueSet,
    months: ValueSet,
    days_of_week: ValueSet,
}

impl fmt::Debug for CronExpression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CronExpression").field(&self.text).finish()
    }
}

impl fmt::Display for CronExpression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl CronExpression {
    /// Parses six fields (or five, without seconds). Errors say which field
    /// is wrong and why.
    pub fn parse(expression: &str) -> Result<CronExpression, ScheduleError> {
        let tokens: Vec<&str> = expression.split_ascii_whitespace().collect();
        let fields: &[CronField] = match tokens.len() {
            6 => &[
                CronField::Second,
                CronField::Minute,
                CronField::Hour,
                CronField::Day,
                CronField::Month,
                CronField::DayOfWeek,
            ],
            5 => &[
                CronField::Minute,
                CronField::Hour,
                CronField::Day,
                CronField::Month,
                CronField::DayOfWeek,
            ],
            found => {
                return Err(ScheduleError::FieldCount {
                    expression: expression.to_owned(),
                    found,
                });
            }
        };
        let mut sets = [ValueSet::single(0); 6];
        let offset = 6 - fields.len();
        for (i, (kind, token)) in fields.iter().zip(&tokens).enumerate() {
            sets[i + offset] = field::parse(*kind, token)?;
        }
        let [seconds, minutes, hours, days, months, days_of_week] = sets;
        Ok(CronExpression {
            text: tokens.join(" "),
            has_seconds: fields.len() == 6,
            seconds,
            minutes,
            hours,
            days,
            months,
            days_of_week,
        })
    }

    /// Whether a local time is an occurrence.
    pub fn matches(&self, t: NaiveDateTime) -> bool {
        t.nanosecond() == 0
            && self.seconds.contains(t.second())
            && self.minutes.contains(t.minute())
            && self.hours.contains(t.hour())
            && self.matches_day(t.date())
    }

    /// Whether a local date has occurrences: its day of the month, month
    /// and day of the week all match.
    pub fn matches_day(&self, date: NaiveDate) -> bool {
        self.days.contains(date.day())
            && self.months.contains(date.month())
            && self
                .days_of_week
                .contains(date.weekday().num_days_from_sunday())
    }

    /// The first local time after `t` (strictly, in whole seconds) that
    /// matches, or `None` if there is none before the year 10000 (an
    /// expression such as `0 0 0 30 2 *` never occurs).
    pub fn next_after(&self, t: NaiveDateTime) -> Option<NaiveDateTime> {
        if !self.can_occur() {
            return None;
        }
        let start = t
            .with_nanosecond(0)?
            .checked_add_signed(chrono::TimeDelta::seconds(1))?;
        let (mut year, mut month) = (start.year(), start.month());
        let mut first_day = start.day();
        while year <= LAST_YEAR {
            if self.months.contains(month) {
                for day in self.days.iter_from(first_day) {
                    let Some(date) = NaiveDate::from_ymd_opt(year, month, day) else {
                        break; // past the month's last day
                    };
                    if !self
                        .days_of_week
                        .contains(date.weekday().num_days_from_sunday())
                    {
                        continue;
                    }
                    let from = if date == start.date() {
                        start.time()
                    } else {
                        NaiveTime::MIN
                    };
                    if let Some(time) = self.first_time_from(from) {
                        return Some(date.and_time(time));
                    }
                }
            }
            first_day = 1;
            (year, month) = if month == 12 {
                (year + 1, 1)
            } else {
                (year, month + 1)
            };
        }
        None
    }

    /// The last local time at or before `t` (in whole seconds) that
    /// matches, or `None` if there is none after the year 1.
    pub fn last_at_or_before(&self, t: NaiveDateTime) -> Option<NaiveDateTime> {
        if !self.can_occur() {
            return None;
        }
        let end = t.with_nanosecond(0)?;
        let (mut year, mut month) = (end.year(), end.month());
        let mut last_day = end.day();
        while year >= FIRST_YEAR {
            if self.months.contains(month) {
                for day in self.days.iter_down_from(last_day) {
                    let Some(date) = NaiveDate::from_ymd_opt(year, month, day) else {
                        continue; // past the month's last day
                    };
                    if !self
                        .days_of_week
                        .contains(date.weekday().num_days_from_sunday())
                    {
                        continue;
                    }
                    let to = if date == end.date() {
                        end.time()
                    } else {
                        NaiveTime::from_hms_opt(23, 59, 59)?
                    };
                    if let Some(time) = self.last_time_to(to) {
                        return Some(date.and_time(time));
                    }
                }
            }
            last_day = 31;
            (year, month) = if month == 1 {
                (year - 1, 12)
            } else {
                (year, month - 1)
            };
        }
        None
    }

    /// The last time of day at or before `to` that the second, minute and
    /// hour fields allow.
    fn last_time_to(&self, to: NaiveTime) -> Option<NaiveTime> {
        let (h0, m0, s0) = (to.hour(), to.minute(), to.second());
        for hour in self.hours.iter_down_from(h0) {
            let minute_to = if hour == h0 { m0 } else { 59 };
            for minute in self.minutes.iter_down_from(minute_to) {
                let second_to = if hour == h0 && minute == m0 { s0 } else { 59 };
                if let Some(second) = self.seconds.last_to(second_to) {
                    return NaiveTime::from_hms_opt(hour, minute, second);
                }
            }
        }
        None
    }

    /// The first time of day at or after `from` that the second, minute and
    /// hour fields allow.
    fn first_time_from(&self, from: NaiveTime) -> Option<NaiveTime> {
        let (h0, m0, s0) = (from.hour(), from.minute(), from.second());
        for hour in self.hours.iter_from(h0) {
            let minute_from = if hour == h0 { m0 } else { 0 };
            for minute in self.minutes.iter_from(minute_from) {
                let second_from = if hour == h0 && minute == m0 { s0 } else { 0 };
                if let Some(second) = self.seconds.first_from(second_from) {
                    return NaiveTime::from_hms_opt(hour, minute, second);
                }
            }
        }
        None
    }

    /// Whether some month allows some day: every valid date falls on every
    /// weekday in some year, so then an occurrence exists.
    fn can_occur(&self) -> bool {
        const LONGEST: [u32; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        (1..=12).any(|m| {
            self.months.contains(m)
                && self
                    .days
                    .first_from(1)
                    .is_some_and(|d| d <= LONGEST[m as usize - 1])
        })
    }

    /// Whether the host treats the schedule as an *interval* rather than a
    /// point in time, which decides how it runs through the hour repeated
    /// when daylight saving time ends: an interval schedule keeps running
    /// through both passes, a point-in-time one runs once. Azure's rule: one
    /// of the second, minute and hour fields (minute and hour in a
    /// five-field expression) is `*` or a range once NCrontab prints it,
    /// that is, it allows two consecutive values.
    pub fn is_interval(&self) -> bool {
        let mut fields = vec![self.minutes, self.hours];
        if self.has_seconds {
            fields.push(self.seconds);
        }
        fields.into_iter().any(ValueSet::has_run)
    }

    /// Whether every field except the seconds allows every value
    /// (`x * * * * *`): the only shape that can occur more than once a
    /// minute all the time.
    pub(crate) fn only_seconds_restricted(&self) -> bool {
        self.minutes.is_full(CronField::Minute)
            && self.hours.is_full(CronField::Hour)
            && self.days.is_full(CronField::Day)
            && self.months.is_full(CronField::Month)
            && self.days_of_week.is_full(CronField::DayOfWeek)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").expect(s)
    }

    fn next(expr: &str, from: &str) -> Option<String> {
        CronExpression::parse(expr)
            .expect(expr)
            .next_after(at(from))
            .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
    }

    #[test]
    fn next_occurrences() {
        let n = |e, f| next(e, f).expect("occurs");
        assert_eq!(
            n("* * * * * *", "2024-01-01 00:00:00"),
            "2024-01-01 00:00:01"
        );
        assert_eq!(
            n("0 * * * * *", "2024-01-01 00:00:00"),
            "2024-01-01 00:01:00"
        );
        assert_eq!(
            n("0 0 0 * * *", "2024-12-31 23:59:59"),
            "2025-01-01 00:00:00"
        );
        assert_eq!(
            n("0 0 0 29 2 *", "2024-03-01 00:00:00"),
            "2028-02-29 00:00:00"
        );
        assert_eq!(
            n("0 0 0 31 * *", "2024-04-01 00:00:00"),
            "2024-05-31 00:00:00"
        );
        // Day of month and day of week both match: Friday the 13th.
        assert_eq!(
            n("0 0 0 13 * Fri", "2024-01-01 00:00:00"),
            "2024-09-13 00:00:00"
        );
        // Five fields: seconds are 0.
        assert_eq!(
            n("*/5 * * * *", "2024-01-01 10:03:20"),
            "2024-01-01 10:05:00"
        );
        assert_eq!(next("0 0 0 30 2 *", "2024-01-01 00:00:00"), None);
        assert_eq!(next("0 0 0 31 4,6,9,11 *", "2024-01-01 00:00:00"), None);
        assert_eq!(next("* * * * * *", "9999-12-31 23:59:59"), None);
    }

    #[test]
    fn last_occurrences() {
        let last = |e: &str, t: &str| {
            CronExpression::parse(e)
                .expect(e)
                .last_at_or_before(at(t))
                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        };
        assert_eq!(
            last("0 30 9 * * *", "2024-01-02 09:30:00").as_deref(),
            Some("2024-01-02 09:30:00")
        );
        assert_eq!(
            last("0 30 9 * * *", "2024-01-02 09:29:59").as_deref(),
            Some("2024-01-01 09:30:00")
        );
        assert_eq!(
            last("0 0 0 31 * *", "2024-05-30 00:00:00").as_deref(),
            Some("2024-03-31 00:00:00")
        );
        assert_eq!(
            last("0 0 0 29 2 *", "2024-02-28 00:00:00").as_deref(),
            Some("2020-02-29 00:00:00")
        );
        assert_eq!(
            last("*/20 * * * * *", "2024-01-01 00:00:59").as_deref(),
            Some("2024-01-01 00:00:40")
        );
        assert_eq!(last("0 0 0 30 2 *", "2024-01-01 00:00:00"), None);
    }

    #[test]
    fn fractions_of_a_second_count_as_the_second() {
        let e = CronExpression::parse("* * * * * *").expect("parses");
        let t = at("2024-01-01 00:00:00") + chrono::TimeDelta::milliseconds(500);
        assert_eq!(e.next_after(t), Some(at("2024-01-01 00:00:01")));
        assert!(!e.matches(t));
        assert!(e.matches(at("2024-01-01 00:00:01")));
    }

    #[test]
    fn field_counts() {
        for bad in ["", "* * * *", "* * * * * * *", "0 */5"] {
            let err = CronExpression::parse(bad).expect_err(bad);
            assert!(matches!(err, ScheduleError::FieldCount { .. }), "{err:?}");
        }
        let err = CronExpression::parse("0 0 9 * * Mon-Fry").expect_err("bad name");
        assert!(
            matches!(
                err,
                ScheduleError::Field {
                    field: CronField::DayOfWeek,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            CronExpression::parse("  0\t*/5 *  * * * ")
                .expect("spaces")
                .to_string(),
            "0 */5 * * * *"
        );
    }

    #[test]
    fn interval_or_point_in_time() {
        let interval = |e| CronExpression::parse(e).expect(e).is_interval();
        assert!(interval("0 */5 * * * *"));
        assert!(interval("0 0 * * * *"));
        assert!(interval("0 0 9-17 * * *"));
        assert!(interval("* 0 1 * * *"));
        assert!(!interval("*/10 0 1 * * *"), "prints as 0,10,20,30,40,50");
        assert!(interval("0 0,1 1 * * *"), "0,1 prints as 0-1");
        assert!(!interval("0 30 9 * * *"));
        assert!(!interval("0 30 9 * * 1-5"), "days do not count");
        assert!(!interval("0 0 */2 * * *"), "0,2,4,… has no run");
        assert!(!interval("30 9 * * *"), "five fields: minute and hour");
        assert!(interval("* 9 * * *"));
    }
}
