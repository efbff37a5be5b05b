//! The function app: registration, start-up, serving and graceful shutdown.

mod builder;
#[cfg(feature = "dashboard")]
pub(crate) mod dashboard;
mod host;
pub(crate) mod log;
mod metrics_export;
pub(crate) mod router;
pub(crate) mod rpc;
pub(crate) mod serve;
pub(crate) mod state;
pub(crate) mod store;
pub(crate) mod telemetry;

pub use builder::App;
pub use host::Host;
pub use store::SECRETS_DIR;
