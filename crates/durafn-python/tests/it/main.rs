//! The Python host's integration tests, in one binary: the worker's own pytest suite and the
//! worker driven through the host.

// Tests may unwrap: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used)]

mod common;
mod pytest;
mod worker;
