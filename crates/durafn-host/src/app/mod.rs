//! The function app: registration, start-up, serving and graceful shutdown.

mod builder;
#[cfg(feature = "dashboard")]
pub(crate) mod dashboard;
mod host;
pub(crate) mod log;
pub(crate) mod router;
pub(crate) mod rpc;
pub(crate) mod serve;
pub(crate) mod state;

pub use builder::{App, SECRETS_DIR};
pub use host::Host;
