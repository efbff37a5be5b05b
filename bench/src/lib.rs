//! Benchmarks for durafn; see the benches.
