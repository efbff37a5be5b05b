//! The integration tests of the SQLite task hub, as one test binary.

// Tests may unwrap: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used)]

mod carry;
mod common;
mod conformance;
mod durability;
mod errors;
mod group_commit;
mod throughput;
