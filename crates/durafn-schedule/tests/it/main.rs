//! The schedules' tests, in one binary: Azure's documented NCRONTAB and TimeSpan examples, time
//! zones across daylight-saving changes, past-due occurrences, properties and purity.

mod common;
mod documented_examples;
mod dst;
mod past_due;
mod properties;
mod purity;
