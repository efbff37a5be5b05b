//! The sample app's integration tests, in one binary: the seed article's answers end to end,
//! the real Python client, Key Vault references, the Azure Table task hub on Azurite, and the
//! date parser against dateutil's golden table.

// Tests may unwrap: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used)]

mod azurite;
mod common;
mod dateparse_golden;
mod e2e;
mod python_client;
mod queue;
mod secrets;
mod tracing;
