//! The integration tests of the storage contract, as one test binary.

mod memory_conformance;
