//! The crash and scale-out tests, as one test binary: real app processes killed with SIGKILL.

// Tests may unwrap: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used)]

mod crash;
mod crash_entities;
mod replay_check;
mod scale_out;
