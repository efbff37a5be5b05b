//! The dashboard's tests: over HTTP (`server`) and in headless Chromium (`browser`), against a
//! real host serving the seed app and a few more orchestrations (`common`).

// Tests may unwrap: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used)]

mod browser;
mod common;
mod server;
