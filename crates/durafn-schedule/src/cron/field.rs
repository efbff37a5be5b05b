//! One field of an NCRONTAB expression: the set of values it allows, and
//! its parser, which follows NCrontab's rules.

use crate::error::{CronField, ScheduleError};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

impl CronField {
    /// The smallest and largest value.
    pub(crate) fn range(self) -> (u32, u32) {
        match self {
            CronField::Second | CronField::Minute => (0, 59),
            CronField::Hour => (0, 23),
            CronField::Day => (1, 31),
            CronField::Month => (1, 12),
            CronField::DayOfWeek => (0, 6),
        }
    }

    fn names(self) -> &'static [&'static str] {
        match self {
            CronField::Month => &MONTHS,
            CronField::DayOfWeek => &DAYS,
            _ => &[],
        }
    }
}

/// The values a field allows, as bits (every field's values fit in 64).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ValueSet(u64);

impl ValueSet {
    /// Only `value`.
    pub(crate) fn single(value: u32) -> ValueSet {
        ValueSet(1 << value)
    }

    pub(crate) fn contains(self, value: u32) -> bool {
        value < 64 && self.0 & (1 << value) != 0
    }

    /// The smallest value at least `from`.
    pub(crate) fn first_from(self, from: u32) -> Option<u32> {
        if from >= 64 {
            return None;
        }
        let rest = self.0 >> from;
        (rest != 0).then(|| from + rest.trailing_zeros())
    }

    /// The largest value at most `to`.
    pub(crate) fn last_to(self, to: u32) -> Option<u32> {
        let masked = if to >= 63 {
            self.0
        } else {
            self.0 & ((1 << (to + 1)) - 1)
        };
        (masked != 0).then(|| 63 - masked.leading_zeros())
    }

    /// The values up to `to`, descending.
    pub(crate) fn iter_down_from(self, to: u32) -> impl Iterator<Item = u32> {
        std::iter::successors(self.last_to(to), move |v| {
            v.checked_sub(1).and_then(|v| self.last_to(v))
        })
    }

    /// The values from `from` on, ascending.
    pub(crate) fn iter_from(self, from: u32) -> impl Iterator<Item = u32> {
        std::iter::successors(self.first_from(from), move |v| self.first_from(v + 1))
    }

    /// Whether two consecutive values are both in the set: what makes
    /// NCrontab print a `-` or `*` for the field.
    pub(crate) fn has_run(self) -> bool {
        self.0 & (self.0 >> 1) != 0
    }

    /// Whether the set is the field's whole range.
    pub(crate) fn is_full(self, field: CronField) -> bool {
        let (min, max) = field.range();
        (min..=max).all(|v| self.contains(v))
    }
}

/// Parses one field as NCrontab does: a comma-separated list of `*`,
/// `a`, `a-b` (swapped when `a > b`), each optionally `/step` (`a/step`
/// means from `a` to the maximum; a step of 0 counts as 1); values are
/// numbers or, for months and days of the week, any case-insensitive
/// prefix of an English name (`Jan`, `january`, `Mon`).
pub(crate) fn parse(field: CronField, text: &str) -> Result<ValueSet, ScheduleError> {
    let error = |reason: String| ScheduleError::Field {
        field,
        text: text.to_owned(),
        reason,
    };
    let mut bits = 0_u64;
    for part in text.split(',') {
        bits |= parse_part(field, part).map_err(error)?;
    }
    Ok(ValueSet(bits))
}

fn parse_part(field: CronField, part: &str) -> Result<u64, String> {
    if part.is_empty() {
        return Err("a list entry is empty".to_owned());
    }
    let (base, step) = match part.split_once('/') {
        Some((base, step)) if !base.is_empty() => (base, Some(parse_number(step, "the step")?)),
        _ => (part, None),
    };
    let (min, max) = field.range();
    let (start, end) = if base == "*" {
        (min, max)
    } else if let Some((first, last)) = base.split_once('-').filter(|(first, _)| !first.is_empty())
    {
        let (a, b) = (value(field, first)?, value(field, last)?);
        (a.min(b), a.max(b))
    } else {
        let v = value(field, base)?;
        if step.is_some() { (v, max) } else { (v, v) }
    };
    for v in [start, end] {
        if v < min || v > max {
            return Err(format!(
                "{v} is out of range: {} values are {min} to {max}",
                field.name()
            ));
        }
    }
    let step = step.unwrap_or(1).max(1);
    let mut bits = 0;
    let mut v = start;
    while v <= end {
        bits |= 1 << v;
        v = v.saturating_add(step);
    }
    Ok(bits)
}

fn parse_number(text: &str, what: &str) -> Result<u32, String> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{what} `{text}` is not a number"));
    }
    text.parse()
        .map_err(|_| format!("{what} `{text}` is too large"))
}

fn value(field: CronField, text: &str) -> Result<u32, String> {
    if text.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
        return parse_number(text, "the value");
    }
    let names = field.names();
    if names.is_empty() {
        return Err(format!("`{text}` is not a number"));
    }
    let (min, _) = field.range();
    names
        .iter()
        .position(|name| name.len() >= text.len() && name[..text.len()].eq_ignore_ascii_case(text))
        .filter(|_| !text.is_empty())
        .map(|i| min + i as u32)
        .ok_or_else(|| {
            format!(
                "`{text}` is not a {} name (use one of {})",
                field.name(),
                names.join(", ")
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(field: CronField, text: &str) -> Vec<u32> {
        let set = parse(field, text).expect(text);
        set.iter_from(0).collect()
    }

    #[test]
    fn lists_ranges_steps_and_names() {
        use CronField::*;
        assert_eq!(values(Minute, "*/15"), [0, 15, 30, 45]);
        assert_eq!(values(Hour, "9-17"), (9..=17).collect::<Vec<_>>());
        assert_eq!(
            values(Hour, "17-9"),
            (9..=17).collect::<Vec<_>>(),
            "swapped"
        );
        assert_eq!(values(Second, "5-7,10"), [5, 6, 7, 10]);
        assert_eq!(values(Minute, "50/5"), [50, 55]);
        assert_eq!(values(Minute, "10-20/4"), [10, 14, 18]);
        assert_eq!(
            values(Minute, "*/0"),
            (0..=59).collect::<Vec<_>>(),
            "step 0 is 1"
        );
        assert_eq!(values(Day, "*/10"), [1, 11, 21, 31]);
        assert_eq!(values(Month, "Jan"), [1]);
        assert_eq!(values(Month, "DECEMBER"), [12]);
        assert_eq!(values(Month, "j"), [1], "the first name with that prefix");
        assert_eq!(values(Month, "Mar-May"), [3, 4, 5]);
        assert_eq!(values(DayOfWeek, "Mon-Fri"), [1, 2, 3, 4, 5]);
        assert_eq!(values(DayOfWeek, "sun,SAT"), [0, 6]);
        assert_eq!(values(DayOfWeek, "Tu"), [2]);
        assert_eq!(values(DayOfWeek, "0"), [0]);
        assert_eq!(values(Minute, "05"), [5]);
        assert_eq!(values(DayOfWeek, "Mon/2"), [1, 3, 5]);
    }

    #[test]
    fn errors_name_the_field_and_the_problem() {
        let err = |field, text| parse(field, text).expect_err(text).to_string();
        assert_eq!(
            err(CronField::DayOfWeek, "7"),
            "the day-of-week field `7` is invalid: 7 is out of range: day-of-week values are 0 to 6"
        );
        assert_eq!(
            err(CronField::Hour, "24"),
            "the hour field `24` is invalid: 24 is out of range: hour values are 0 to 23"
        );
        assert!(err(CronField::Day, "0").contains("day values are 1 to 31"));
        assert!(err(CronField::Month, "13").contains("out of range"));
        assert!(err(CronField::Month, "Foo").contains("not a month name"));
        assert!(err(CronField::Minute, "Jan").contains("`Jan` is not a number"));
        assert!(err(CronField::Minute, "*/").contains("the step `` is not a number"));
        assert!(err(CronField::Minute, "1,,2").contains("empty"));
        assert!(err(CronField::Minute, "5a").contains("not a number"));
        assert!(err(CronField::Day, "?").contains("not a number"));
        assert!(err(CronField::Day, "L").contains("not a number"));
        assert!(err(CronField::Second, "99999999999").contains("too large"));
        assert!(err(CronField::Second, "-5").contains("not a number"));
    }

    #[test]
    fn runs() {
        let set = |t| parse(CronField::Hour, t).expect(t);
        assert!(set("9-17").has_run());
        assert!(set("*").has_run());
        assert!(set("9,10").has_run());
        assert!(!set("*/2").has_run());
        assert!(!set("9").has_run());
        assert!(set("*").is_full(CronField::Hour));
        assert!(!set("1-23").is_full(CronField::Hour));
    }
}
