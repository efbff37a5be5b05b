//! The `TimeSpan` form of a schedule (`00:05:00`), read as .NET's
//! `TimeSpan.TryParse` reads it, which is what the Functions host calls.
//!
//! The accepted shapes are `d`, `hh:mm`, `hh:mm:ss`, `d.hh:mm`,
//! `d.hh:mm:ss`, `hh:mm:ss.fffffff` and `d.hh:mm:ss.fffffff`, with `:`
//! also allowed after the days (`d:hh:mm:ss`). Hours are 0–23, minutes and
//! seconds 0–59, fractions up to seven digits. One .NET quirk matters in
//! practice and is kept: three numbers whose first is 24 or more are
//! `d:hh:mm`, so `24:00:00` is 24 *days*, not a day (as the Functions
//! documentation warns). A bare number is days (`5` is five days).

use std::time::Duration;

use crate::error::ScheduleError;

const MAX_DAYS: u64 = 10_675_199;

/// Parses a `TimeSpan` schedule into its (positive) interval.
pub fn parse_interval(text: &str) -> Result<Duration, ScheduleError> {
    let error = |reason: &str| ScheduleError::TimeSpan {
        text: text.to_owned(),
        reason: reason.to_owned(),
    };
    let trimmed = text.trim();
    if trimmed.starts_with('-') {
        return Err(error("a schedule interval must be positive"));
    }
    let (numbers, separators) = tokenize(trimmed).map_err(|r| error(&r))?;
    let n = |i: usize| {
        numbers[i]
            .parse::<u64>()
            .map_err(|_| error("a number is too large"))
    };
    let seps: String = separators.iter().collect();
    let day_sep = |c: char| c == '.' || c == ':';
    let parts = match (numbers.len(), seps.as_str()) {
        (1, "") => Parts::days(n(0)?),
        (2, ":") => Parts::hms(0, n(0)?, n(1)?, 0, None),
        (3, "::") if n(0)? <= 23 => Parts::hms(0, n(0)?, n(1)?, n(2)?, None),
        (3, s) if s.ends_with(':') && s.starts_with(day_sep) => {
            Parts::hms(n(0)?, n(1)?, n(2)?, 0, None)
        }
        (4, "::.") => Parts::hms(0, n(0)?, n(1)?, n(2)?, Some(numbers[3])),
        (4, s) if s.ends_with("::") && s.starts_with(day_sep) => {
            Parts::hms(n(0)?, n(1)?, n(2)?, n(3)?, None)
        }
        (5, s) if s.ends_with("::.") && s.starts_with(day_sep) => {
            Parts::hms(n(0)?, n(1)?, n(2)?, n(3)?, Some(numbers[4]))
        }
        _ => return Err(error("expected hh:mm:ss, d.hh:mm:ss or a number of days")),
    };
    let interval = parts.duration().map_err(|r| error(&r))?;
    if interval.is_zero() {
        return Err(error("a schedule interval must be longer than zero"));
    }
    Ok(interval)
}

/// The numbers and the separators between them.
fn tokenize(text: &str) -> Result<(Vec<&str>, Vec<char>), String> {
    if text.is_empty() {
        return Err("it is empty".to_owned());
    }
    let mut numbers = Vec::new();
    let mut separators = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '0'..='9' => {}
            ':' | '.' => {
                if start == i {
                    return Err(format!("a number is missing before `{c}`"));
                }
                numbers.push(&text[start..i]);
                separators.push(c);
                start = i + 1;
            }
            _ => return Err(format!("`{c}` is not a digit, `:` or `.`")),
        }
    }
    if start == text.len() {
        return Err("it ends with a separator".to_owned());
    }
    numbers.push(&text[start..]);
    Ok((numbers, separators))
}

struct Parts<'a> {
    days: u64,
    hours: u64,
    minutes: u64,
    seconds: u64,
    fraction: Option<&'a str>,
}

impl<'a> Parts<'a> {
    fn days(days: u64) -> Parts<'a> {
        Parts::hms(days, 0, 0, 0, None)
    }

    fn hms(
        days: u64,
        hours: u64,
        minutes: u64,
        seconds: u64,
        fraction: Option<&'a str>,
    ) -> Parts<'a> {
        Parts {
            days,
            hours,
            minutes,
            seconds,
            fraction,
        }
    }

    fn duration(&self) -> Result<Duration, String> {
        if self.days > MAX_DAYS {
            return Err(format!("at most {MAX_DAYS} days"));
        }
        if self.hours > 23 {
            return Err(format!("{} hours: hours are 0 to 23", self.hours));
        }
        if self.minutes > 59 {
            return Err(format!("{} minutes: minutes are 0 to 59", self.minutes));
        }
        if self.seconds > 59 {
            return Err(format!("{} seconds: seconds are 0 to 59", self.seconds));
        }
        let nanos = match self.fraction {
            None => 0,
            Some(digits) if digits.len() > 7 => {
                return Err("a fraction of a second has at most 7 digits".to_owned());
            }
            Some(digits) => {
                let value: u32 = digits.parse().map_err(|_| "bad fraction".to_owned())?;
                value * 10_u32.pow(9 - digits.len() as u32)
            }
        };
        let secs = ((self.days * 24 + self.hours) * 60 + self.minutes) * 60 + self.seconds;
        Ok(Duration::new(secs, nanos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: u64 = 60;
    const HOUR: u64 = 3600;
    const DAY: u64 = 86_400;

    fn secs(text: &str) -> u64 {
        parse_interval(text).expect(text).as_secs()
    }

    #[test]
    fn documented_examples() {
        // The Functions documentation's TimeSpan table.
        assert_eq!(secs("01:00:00"), HOUR);
        assert_eq!(secs("00:01:00"), MINUTE);
        assert_eq!(secs("24:00:00"), 24 * DAY, "24 days, not one");
        assert_eq!(secs("1.00:00:00"), DAY);
        assert_eq!(secs("00:05:00"), 5 * MINUTE);
    }

    #[test]
    fn every_shape() {
        assert_eq!(secs("5"), 5 * DAY);
        assert_eq!(secs("01:30"), HOUR + 30 * MINUTE);
        assert_eq!(secs("23:59:59"), DAY - 1);
        assert_eq!(secs("25:01:02"), 25 * DAY + HOUR + 2 * MINUTE);
        assert_eq!(secs("2.03:04"), 2 * DAY + 3 * HOUR + 4 * MINUTE);
        assert_eq!(secs("2:03:04:05"), 2 * DAY + 3 * HOUR + 4 * MINUTE + 5);
        assert_eq!(secs("2.03:04:05"), 2 * DAY + 3 * HOUR + 4 * MINUTE + 5);
        assert_eq!(secs(" 0:0:30 "), 30);
        let fraction = parse_interval("00:00:01.25").expect("fraction");
        assert_eq!(fraction, Duration::from_millis(1250));
        let fraction = parse_interval("1.00:00:00.0000001").expect("one tick");
        assert_eq!(fraction, Duration::new(DAY, 100));
    }

    #[test]
    fn errors() {
        for (text, reason) in [
            ("", "empty"),
            ("00:00:00", "longer than zero"),
            ("-01:00:00", "positive"),
            ("24:00", "hours are 0 to 23"),
            ("01:60:00", "minutes are 0 to 59"),
            ("01:00:60", "seconds are 0 to 59"),
            ("10:75:00", "minutes are 0 to 59"),
            ("1.24:00:00", "hours are 0 to 23"),
            ("00:00:01.12345678", "7 digits"),
            ("1h", "not a digit"),
            ("01::00", "missing"),
            ("01:00:", "ends with"),
            ("1.2", "expected"),
            ("1:2:3:4:5:6", "expected"),
            ("99999999", "days"),
            ("0 */5 * * * *", "not a digit"),
        ] {
            let err = parse_interval(text).expect_err(text).to_string();
            assert!(err.contains(reason), "{text}: {err}");
            assert!(err.starts_with("the interval `"), "{err}");
        }
    }
}
