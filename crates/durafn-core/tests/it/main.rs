//! The integration tests of the core, as one test binary (one module per concern).

// Tests may unwrap: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used)]

mod canned;
mod duplicates;
mod entities;
mod errors;
mod logging;
mod module_graph;
mod purity;
mod replay_equivalence;
mod scheduler;
mod semantics;
mod tracing_ledger;
