//! The Python host's integration tests, in one binary: the worker's own pytest suite and the
//! worker driven through the host.

mod common;
mod pytest;
mod worker;
