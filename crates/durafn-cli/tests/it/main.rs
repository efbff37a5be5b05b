//! The command line's integration tests, in one binary: the operator commands against a real
//! host (`cli`), and `durafn start` with real Python apps (`start`, feature `python`).

// Tests may unwrap: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used)]

mod cli;
#[cfg(feature = "python")]
mod start;
