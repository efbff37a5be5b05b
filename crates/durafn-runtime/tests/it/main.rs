//! The integration tests of the runtime, as one test binary (one module per concern).

mod app;
mod backends;
mod delivery;
mod determinism;
mod entities;
mod http;
mod load;
mod scenarios;
mod spans;
mod start_options;
