//! Date parsing as the original app does it: Python's
//! `dateutil.parser.parse(s, dayfirst=True)`.
//!
//! The article's client function accepts whatever that call accepts, so
//! this module reproduces its algorithm rather than a list of formats: the
//! same tokenizer, the same token-by-token rules, the same year/month/day
//! resolution, the same defaults. Among what that covers:
//!
//! | input | result |
//! | --- | --- |
//! | `10/08/2021`, `10-08-2021`, `10.08.2021` | 10 August 2021 (day first) |
//! | `13/08/2021` | 13 August 2021; `08/13/2021` falls back to 13 August too |
//! | `2021-10-25`, `2021/10/25`, `20211025` | 25 October 2021 |
//! | `2021-10-05` | **10 May 2021**: with `dayfirst` the reference reads `YYYY-DD-MM` whenever both readings are valid |
//! | `10 Oct 2021`, `Oct 10 2021`, `October 10, 2021`, `10th of October 2021`, `Sunday, 10 Oct 2021` | 10 October 2021 |
//! | `10/10/2021 13:45`, `10/10/2021 1:45 PM`, `2021-10-10T13:45:30.5` | with a time |
//! | `2021-10-10T13:45:00Z`, `… +02:00`, `… -0300`, `… UTC`, `… GMT+3` | with a UTC offset |
//! | `10/10/21` | two-digit years land within 50 years of the current year |
//! | `Oct 2021`, `10/2021` | the day defaults to today's (clamped to the month's end) |
//! | `abcd`, `32/10/2021`, `10/10/2021 25:00` | invalid |
//!
//! Missing parts are taken from a default of today at midnight, as in the
//! reference; [`Context`] carries "today" so results are reproducible.
//! Time zones follow the reference running on a host whose local zone is
//! UTC (as the service's are): `UTC`, `GMT` and `Z` are UTC, numeric
//! offsets are fixed offsets, and other zone names are ignored.
//!
//! Not supported (these inputs are rejected, or read differently from the
//! reference): digits of scripts other than ASCII (the reference accepts
//! e.g. Arabic-Indic digits); the reference's optional modes (fuzzy
//! parsing, `yearfirst`, custom `tzinfos`). A handful of letters that
//! Python and Rust classify differently as alphabetic only matter inside
//! words the parser rejects anyway.

mod lex;
mod scan;
#[cfg(test)]
mod tests;
mod ymd;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};

use self::scan::Parser;

/// Why a string is not a date. There is one reason: the caller only
/// reports "invalid format", as the original does for any exception.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a date the parser understands")]
pub struct Invalid;

/// What the parser needs to know about "now": the date that fills in
/// missing parts, and the year two-digit years are placed around.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context {
    /// Today (in UTC, the service's local zone).
    pub today: NaiveDate,
    /// The current year (normally `today`'s).
    pub current_year: i32,
}

impl Context {
    /// The context for a given today.
    pub fn on(today: NaiveDate) -> Context {
        Context {
            today,
            current_year: today.year(),
        }
    }

    /// The context for the current UTC date.
    pub fn now() -> Context {
        let seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(0))
            .unwrap_or(0);
        let today = chrono::DateTime::from_timestamp(seconds, 0)
            .map(|t| t.date_naive())
            .unwrap_or_default();
        Context::on(today)
    }
}

/// The time zone a parsed date carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Zone {
    /// None: a naive date and time.
    Naive,
    /// UTC (`Z`, `UTC`, `GMT`, `+00:00`).
    Utc,
    /// A fixed offset from UTC, possibly named (`BRST+3`, `-0300 (BRST)`).
    Fixed {
        /// The zone name given with the offset, if any.
        name: Option<String>,
        /// Seconds east of UTC. The reference accepts any value here and
        /// only fails when the offset is used; see [`DateTime::days_until`].
        offset_seconds: i64,
    },
}

/// A parsed date and time: the wall-clock reading and its zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateTime {
    /// The date and time as written (in its own zone).
    pub local: NaiveDateTime,
    /// Its zone.
    pub zone: Zone,
}

/// Two dates that cannot be subtracted: one has a zone and the other has
/// none (or an offset of a day or more is involved). The original app
/// fails with an unhandled error here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot subtract a date with a time zone and one without")]
pub struct Incomparable;

impl DateTime {
    /// The date as `%Y-%m-%d`, as Python formats it on the service: the
    /// year is not zero-padded (years before 1000 are rare but possible).
    pub fn date_key(&self) -> String {
        format!(
            "{}-{:02}-{:02}",
            self.local.year(),
            self.local.month(),
            self.local.day()
        )
    }

    /// `(later - self).days` in Python: whole days from `self` to `later`,
    /// rounded down (so a negative fraction of a day is -1).
    pub fn days_until(&self, later: &DateTime) -> Result<i64, Incomparable> {
        let delta = match (&self.zone, &later.zone) {
            (Zone::Naive, Zone::Naive) => later.local - self.local,
            (Zone::Naive, _) | (_, Zone::Naive) => return Err(Incomparable),
            // The same zone object: Python subtracts the wall times.
            (a, b) if a == b => later.local - self.local,
            _ => later.utc()? - self.utc()?,
        };
        let micros = delta.num_microseconds().ok_or(Incomparable)?;
        Ok(micros.div_euclid(86_400_000_000))
    }

    /// The instant in UTC; fails for offsets Python refuses to apply.
    fn utc(&self) -> Result<NaiveDateTime, Incomparable> {
        let offset = match &self.zone {
            Zone::Naive => return Err(Incomparable),
            Zone::Utc => 0,
            Zone::Fixed { offset_seconds, .. } => *offset_seconds,
        };
        if offset.abs() >= 86_400 {
            return Err(Incomparable);
        }
        Ok(self.local - TimeDelta::seconds(offset))
    }
}

/// Parses `input` as `dateutil.parser.parse(input, dayfirst=True)` does.
pub fn parse(input: &str, ctx: &Context) -> Result<DateTime, Invalid> {
    let mut res = Parser::new(input, ctx).run()?;
    res.validate(ctx);
    if res.is_empty() {
        // "String does not contain a date."
        return Err(Invalid);
    }
    let local = res.build_naive(ctx.today)?;
    Ok(DateTime {
        local,
        zone: res.zone(),
    })
}

/// The fields a string gave, before defaults are applied.
#[derive(Debug, Default)]
struct Fields {
    year: Option<i64>,
    month: Option<i64>,
    day: Option<i64>,
    weekday: Option<u32>,
    hour: Option<i64>,
    minute: Option<i64>,
    second: Option<i64>,
    microsecond: Option<i64>,
    tzname: Option<String>,
    tzoffset: Option<i64>,
    ampm: Option<u8>,
    century_specified: bool,
}

impl Fields {
    /// Whether nothing at all was found.
    fn is_empty(&self) -> bool {
        [
            self.year,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            self.microsecond,
            self.tzoffset,
        ]
        .iter()
        .all(Option::is_none)
            && self.weekday.is_none()
            && self.tzname.is_none()
            && self.ampm.is_none()
    }

    /// Widens two-digit years and normalises UTC zone names.
    fn validate(&mut self, ctx: &Context) {
        if let Some(year) = self.year {
            self.year = Some(convert_year(year, self.century_specified, ctx));
        }
        let name = self.tzname.as_deref();
        if (self.tzoffset == Some(0) && name.is_none()) || matches!(name, Some("Z" | "z")) {
            self.tzname = Some("UTC".to_owned());
            self.tzoffset = Some(0);
        } else if self.tzoffset != Some(0) && name.is_some_and(is_utc_name) {
            self.tzoffset = Some(0);
        }
    }

    /// Applies the parsed fields over the default (today at midnight).
    fn build_naive(&self, today: NaiveDate) -> Result<NaiveDateTime, Invalid> {
        let year = self.year.unwrap_or(i64::from(today.year()));
        let month = self.month.unwrap_or(i64::from(today.month()));
        let day = match self.day {
            Some(day) => day,
            None => {
                let last = days_in_month(year, month).ok_or(Invalid)?;
                i64::from(today.day()).min(last)
            }
        };
        let narrow = |v: i64, range: std::ops::RangeInclusive<i64>| {
            if range.contains(&v) {
                u32::try_from(v).map_err(|_| Invalid)
            } else {
                Err(Invalid)
            }
        };
        let year = i32::try_from(year)
            .ok()
            .filter(|y| (1..=9999).contains(y))
            .ok_or(Invalid)?;
        let date = NaiveDate::from_ymd_opt(year, narrow(month, 1..=12)?, narrow(day, 1..=31)?)
            .ok_or(Invalid)?;
        let time = NaiveTime::from_hms_micro_opt(
            narrow(self.hour.unwrap_or(0), 0..=23)?,
            narrow(self.minute.unwrap_or(0), 0..=59)?,
            narrow(self.second.unwrap_or(0), 0..=59)?,
            narrow(self.microsecond.unwrap_or(0), 0..=999_999)?,
        )
        .ok_or(Invalid)?;
        let mut naive = date.and_time(time);
        if let (Some(weekday), None) = (self.weekday, self.day) {
            // The next such weekday, today included.
            let current = naive.weekday().num_days_from_monday();
            let ahead = (7 - current + weekday) % 7;
            naive = naive
                .checked_add_signed(TimeDelta::days(i64::from(ahead)))
                .filter(|d| d.year() <= 9999)
                .ok_or(Invalid)?;
        }
        Ok(naive)
    }

    /// The zone, as the reference builds it on a host whose local zone is
    /// UTC.
    fn zone(&self) -> Zone {
        match (&self.tzname, self.tzoffset) {
            (Some(name), _) if name == "UTC" => Zone::Utc,
            (_, Some(0)) => Zone::Utc,
            (name, Some(offset)) => Zone::Fixed {
                name: name.clone(),
                offset_seconds: offset,
            },
            // No zone, or a name the reference does not know (it warns
            // and returns a naive date).
            (_, None) => Zone::Naive,
        }
    }
}

/// Places a year given without its century within 50 years of now.
fn convert_year(year: i64, century_specified: bool, ctx: &Context) -> i64 {
    if year >= 100 || century_specified {
        return year;
    }
    let now = i64::from(ctx.current_year);
    let year = year + now / 100 * 100;
    if year >= now + 50 {
        year - 100
    } else if year < now - 50 {
        year + 100
    } else {
        year
    }
}

/// The number of days in a month of the proleptic Gregorian calendar, for
/// any year; `None` for a month outside 1–12.
pub(crate) fn days_in_month(year: i64, month: i64) -> Option<i64> {
    let leap = year.rem_euclid(4) == 0 && (year.rem_euclid(100) != 0 || year.rem_euclid(400) == 0);
    Some(match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    })
}

/// Whether a zone name means UTC.
fn is_utc_name(word: &str) -> bool {
    matches!(word.to_lowercase().as_str(), "utc" | "gmt" | "z")
}
