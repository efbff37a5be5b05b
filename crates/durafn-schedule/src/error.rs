//! Why a schedule was refused.

use std::fmt;

/// The six fields of an NCRONTAB expression, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CronField {
    /// `{second}`, 0–59.
    Second,
    /// `{minute}`, 0–59.
    Minute,
    /// `{hour}`, 0–23.
    Hour,
    /// `{day}` of the month, 1–31.
    Day,
    /// `{month}`, 1–12 or `Jan`–`Dec`.
    Month,
    /// `{day-of-week}`, 0–6 (Sunday = 0) or `Sun`–`Sat`.
    DayOfWeek,
}

impl CronField {
    /// The field's name as the Azure documentation writes it.
    pub fn name(self) -> &'static str {
        match self {
            CronField::Second => "second",
            CronField::Minute => "minute",
            CronField::Hour => "hour",
            CronField::Day => "day",
            CronField::Month => "month",
            CronField::DayOfWeek => "day-of-week",
        }
    }
}

impl fmt::Display for CronField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a schedule, a time zone or a `%Setting%` could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// An NCRONTAB expression without five or six fields.
    #[error(
        "`{expression}` has {found} fields; a schedule has six: \
         {{second}} {{minute}} {{hour}} {{day}} {{month}} {{day-of-week}}"
    )]
    FieldCount {
        /// The expression.
        expression: String,
        /// How many fields it has.
        found: usize,
    },
    /// One field of an NCRONTAB expression is wrong.
    #[error("the {field} field `{text}` is invalid: {reason}")]
    Field {
        /// Which field.
        field: CronField,
        /// The field as written.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A `TimeSpan` schedule (`hh:mm:ss`, `d.hh:mm:ss`, ...) is wrong.
    #[error("the interval `{text}` is invalid: {reason}")]
    TimeSpan {
        /// The interval as written.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Neither an NCRONTAB expression nor a `TimeSpan`.
    #[error(
        "`{expression}` is neither an NCRONTAB expression \
         (`{{second}} {{minute}} {{hour}} {{day}} {{month}} {{day-of-week}}`) nor a TimeSpan (`hh:mm:ss`)"
    )]
    Unrecognized {
        /// The expression.
        expression: String,
    },
    /// A time zone name that is not in the IANA database.
    #[error(
        "unknown time zone `{name}` (from {setting}): use an IANA name such as `Europe/London`"
    )]
    UnknownTimeZone {
        /// The name.
        name: String,
        /// Where it came from (`WEBSITE_TIME_ZONE`, `TZ`, ...).
        setting: String,
    },
    /// A `%` without its closing `%`.
    #[error("the `%` at position {position} of `{expression}` has no closing `%`")]
    UnclosedSetting {
        /// The expression.
        expression: String,
        /// The byte offset of the lone `%`.
        position: usize,
    },
    /// A `%Name%` whose app setting does not exist.
    #[error("`%{name}%` does not resolve to a value: no app setting `{name}`")]
    UnknownSetting {
        /// The setting's name.
        name: String,
    },
}
