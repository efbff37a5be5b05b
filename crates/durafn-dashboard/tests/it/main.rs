//! The dashboard's tests: over HTTP (`server`) and in headless Chromium (`browser`), against a
//! real host serving the seed app and a few more orchestrations (`common`).

mod browser;
mod common;
mod server;
