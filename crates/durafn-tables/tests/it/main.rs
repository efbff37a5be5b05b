//! The integration tests of the table store, as one test binary.

// Tests may unwrap: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used)]

mod azurite;
mod common;
mod embedded;
mod filter_props;
