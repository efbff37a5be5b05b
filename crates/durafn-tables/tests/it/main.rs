//! The integration tests of the table store, as one test binary.

mod azurite;
mod common;
mod embedded;
mod filter_props;
