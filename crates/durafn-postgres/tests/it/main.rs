//! The integration tests of the PostgreSQL task hub, as one test binary. They need
//! `DURAFN_TEST_POSTGRES_URL` (skipped without it, except in CI).

// Tests may unwrap: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used)]

mod common;
mod conformance;
mod errors;
mod faults;
mod postgres;
mod round_trips;
mod throughput;
mod vacuum;
mod versioning;
