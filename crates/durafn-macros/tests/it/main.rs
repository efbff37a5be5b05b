//! The macros' tests, as one test binary: what the registered functions do, and (with trybuild,
//! over `tests/ui`) the compile errors for misuse.

mod entity;
mod http_trigger;
mod registration;
mod triggers;
mod ui;
