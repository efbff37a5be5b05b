//! Azure Functions Python apps on durafn, unmodified.
//!
//! A script-root Python app (the v1 model's folders with `function.json`, or the v2 model's
//! `function_app.py`) is served by one worker process, `python -m durafn_worker` from
//! `workers/python`, which imports the app with its own `azure-functions` and
//! `azure-functions-durable` packages. This crate is the host's side of that worker's protocol
//! (`workers/python/PROTOCOL.md`):
//!
//! - [`worker`]: the process (the app's `.venv` Python, the
//!   `languageWorkers__python__defaultExecutablePath` setting, or `python3`), the Unix socket
//!   with length-prefixed JSON frames, concurrent invocations, logs, restarts when it dies;
//! - [`script_root`]: the app on disk, `function.json` checked field by field;
//! - [`PythonApp`]: loads the app and registers its functions with a durafn
//!   [`App`](durafn_host::App): HTTP functions ([`PythonHttpFunction`]), orchestrators
//!   ([`PythonOrchestrator`], which run through the out-of-process protocol with durafn keeping
//!   the history), activities ([`PythonActivity`]) and entities ([`PythonEntity`]).
//!
//! The worker's sources are compiled into this crate and written to the data directory at
//! start, so an installed `durafn` runs Python apps without a checkout of the repository.

mod activity;
mod app;
mod channel;
mod entity;
mod http;
mod orchestrator;
pub mod protocol;
pub mod script_root;
mod sources;
pub mod worker;

pub use activity::{PythonActivity, WORKER_CRASHED};
pub use app::{AppError, PythonApp};
pub use entity::{BatchResult, Operation, PythonEntity, Unavailable};
pub use http::PythonHttpFunction;
pub use orchestrator::PythonOrchestrator;
