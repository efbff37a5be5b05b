//! The macros' tests, as one test binary: what the registered functions do, and (with trybuild,
//! over `tests/ui`) the compile errors for misuse.

// Tests may unwrap: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used)]

mod entity;
mod http_trigger;
mod registration;
mod triggers;
mod ui;
