//! The command line's integration tests, in one binary: the operator commands against a real
//! host (`cli`), and `durafn start` with real Python apps (`start`, feature `python`).

mod cli;
#[cfg(feature = "python")]
mod start;
