//! The integration tests of the storage contract, as one test binary.

// Tests may unwrap: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used)]

mod memory_conformance;
