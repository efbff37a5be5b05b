//! The integration tests of the PostgreSQL task hub, as one test binary. They need
//! `DURAFN_TEST_POSTGRES_URL` (skipped without it, except in CI).

mod common;
mod conformance;
mod faults;
mod postgres;
mod round_trips;
mod throughput;
mod versioning;
