//! The schedules' tests, in one binary: Azure's documented NCRONTAB and TimeSpan examples, time
//! zones across daylight-saving changes, past-due occurrences, properties and purity.

// Tests may unwrap: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used)]

mod common;
mod documented_examples;
mod dst;
mod past_due;
mod properties;
mod purity;
