//! The host's integration tests, in one binary: the API through the router without a socket
//! (`api`), and the app as a real process (`e2e`, `host_json`, `rpc`, `clients` with the real
//! Durable Functions clients, `postgres` on a shared PostgreSQL task hub, `traces` a job's spans
//! across a SIGKILL), in-process hosts on a socket: under load (`metrics_load`), exporting to
//! real collectors (`tracing_export`).

// Tests may unwrap: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used)]

mod api;
mod apps;
mod clients;
mod e2e;
mod host_json;
mod metrics_export;
mod metrics_load;
mod postgres;
mod process;
mod rpc;
mod traces;
mod tracing_export;
mod triggers;
