//! Timer-trigger schedules as Azure Functions reads them.
//!
//! A timer trigger's `schedule` is either an NCRONTAB expression with six
//! fields, seconds first — `{second} {minute} {hour} {day} {month}
//! {day-of-week}`, e.g. `0 */5 * * * *` — or a `TimeSpan` interval such as
//! `00:05:00`. Either may be, or contain, `%Setting%` names that come from
//! app settings. Expressions are evaluated in the app's time zone
//! (`WEBSITE_TIME_ZONE`, else `TZ`, else UTC).
//!
//! # Model
//!
//! * [`resolve_settings`] turns `%Name%` into the setting's value through a
//!   lookup the caller supplies.
//! * [`Schedule::parse`] reads the result the way the host does — NCRONTAB
//!   first ([`CronExpression`], NCrontab's rules), then `TimeSpan`
//!   ([`parse_interval`], .NET's rules) — into a [`Schedule`] evaluated in a
//!   [`TimeZone`].
//! * [`Schedule::next_after`] gives the next occurrence as an instant,
//!   handling daylight saving time as the host does (skipped local times run
//!   after the gap; in the repeated hour point-in-time schedules run once and
//!   interval schedules keep their pace); [`Schedule::occurrences`] and
//!   [`Schedule::last_at_or_before`] walk the same chain.
//! * [`monitor`] holds the schedule monitor's rules (`useMonitor`): the
//!   [`ScheduleStatus`] recorded between runs, [`check_past_due`] for an
//!   occurrence missed while no host ran, and [`status_after_invocation`].
//!
//! Everything here is pure: no clock is read and no file is opened (the
//! IANA database is compiled in), so time is always an argument and the
//! same inputs give the same answer on every machine.
//!
//! ```
//! use chrono::{TimeZone as _, Utc};
//! use durafn_schedule::{Schedule, TimeZone};
//!
//! let zone = TimeZone::from_settings(Some("Europe/London"), None)?;
//! let schedule = Schedule::parse("0 30 9 * * 1-5", zone)?;
//! let friday_evening = Utc.with_ymd_and_hms(2024, 6, 7, 18, 0, 0).unwrap();
//! // Monday 09:30 in London is 08:30 UTC in summer.
//! assert_eq!(
//!     schedule.next_after(friday_evening),
//!     Some(Utc.with_ymd_and_hms(2024, 6, 10, 8, 30, 0).unwrap())
//! );
//! # Ok::<(), durafn_schedule::ScheduleError>(())
//! ```

pub mod cron;
mod error;
pub mod monitor;
mod schedule;
mod settings;
mod timespan;
mod zone;

pub use cron::CronExpression;
pub use error::{CronField, ScheduleError};
pub use monitor::{
    Invocation, PastDueCheck, ScheduleStatus, check_past_due, status_after_invocation,
};
pub use schedule::{Occurrences, Schedule, ScheduleKind};
pub use settings::resolve_settings;
pub use timespan::parse_interval;
pub use zone::TimeZone;
