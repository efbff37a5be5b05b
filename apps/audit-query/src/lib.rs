//! The article's audit-query system on durafn.
//!
//! A client submits a date range (`GET /api/submit/query?s=…&e=…`), an
//! orchestration runs one activity that counts the distinct ids in an audit
//! table over that range, and the client polls `GET /api/status/{id}` until
//! the job is `Completed` with its result. The HTTP answers are those of
//! the original Python functions, byte for byte.
//!
//! Modules, from the outside in:
//!
//! * [`functions`]: the four functions and their wiring to the host;
//! * [`submit`]: the client function's validation and bodies;
//! * [`status`]: the status function's body;
//! * [`dateparse`]: dates read as Python's `dateutil` reads them;
//! * [`pyjson`]: JSON written as Python's `json.dumps` writes it;
//! * [`query`]: the activity's table query;
//! * [`settings`] and [`secrets`]: app settings and Key Vault references;
//! * [`demo`]: synthetic audit rows and the loader.

pub mod dateparse;
pub mod demo;
pub mod functions;
pub mod pyjson;
pub mod query;
/// Key Vault references, resolved by the host's secret providers.
pub use durafn::host::secrets;
pub mod settings;
pub mod status;
pub mod submit;
