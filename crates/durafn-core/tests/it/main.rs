//! The integration tests of the core, as one test binary (one module per concern).

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
