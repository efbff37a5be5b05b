//! The integration tests of the SQLite task hub, as one test binary.

mod common;
mod conformance;
mod durability;
mod group_commit;
mod throughput;
