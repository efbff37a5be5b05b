//! The sample app's integration tests, in one binary: the seed article's answers end to end,
//! the real Python client, Key Vault references, the Azure Table task hub on Azurite, and the
//! date parser against dateutil's golden table.

mod azurite;
mod common;
mod dateparse_golden;
mod e2e;
mod python_client;
mod secrets;
