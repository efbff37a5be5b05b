//! The integration tests of the runtime, as one test binary (one module per concern).

// Tests may unwrap: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used)]

mod app;
mod backends;
mod delivery;
mod determinism;
mod entities;
mod handoff;
mod http;
mod load;
mod payloads;
mod scenarios;
mod spans;
mod start_options;
mod versioning;
