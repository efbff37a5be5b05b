//! The wire types of the Durable Functions management API and the durafn admin API.
//!
//! A durafn host serves the management API under [`MANAGEMENT_BASE`] exactly as the Durable
//! Functions extension does, and an admin API under [`ADMIN_BASE`] shaped like the Azure
//! Functions host's. This crate holds the JSON of both, so that the host that writes it and the
//! clients that read it (the `durafn` command line, tests, other tools) cannot drift apart. It
//! depends on no part of durafn: a client needs nothing but these types and an HTTP client, and
//! the same types read what an Azure Functions host answers.
//!
//! Every type serializes and deserializes. Field names and their order follow what the host
//! writes; unknown fields are ignored when reading, so newer hosts and the Azure host (which
//! adds a few fields of its own) are read without errors. Inputs, outputs, custom status and
//! event data are kept as the verbatim JSON text the host sent ([`RawValue`]), so nothing is
//! re-encoded on the way through.
//!
//! | module | what |
//! |---|---|
//! | [`status`] | the status object of an instance, its runtime status, and its history as the API shows it |
//! | [`management`] | check-status links, the durable client binding, purge results, listing parameters |
//! | [`entities`] | entity ids, listing entries |
//! | [`admin`] | `/admin/functions` entries, keys, the host status |
//! | [`error`] | the error body (`Message`, `ExceptionMessage`, `ExceptionType`) |
//! | [`inspect`] | durafn's operator extensions: counts per status, an instance's diagnosis, hub health |
//! | [`replay_check`] | the pre-deploy replay check of live instances, a page at a time |
//!
//! ```
//! use durafn_api::{InstanceStatus, RuntimeStatus};
//!
//! let body = r#"{"name":"hello","instanceId":"abc","runtimeStatus":"Completed",
//!     "input":{"city":"Tokyo"},"customStatus":null,"output":"Hello Tokyo!",
//!     "createdTime":"2021-10-12T10:00:00Z","lastUpdatedTime":"2021-10-12T10:00:03Z"}"#;
//! let status: InstanceStatus = serde_json::from_str(body)?;
//! assert_eq!(status.runtime_status, RuntimeStatus::Completed);
//! assert_eq!(status.output.unwrap().get(), r#""Hello Tokyo!""#);
//! # Ok::<(), serde_json::Error>(())
//! ```

pub mod admin;
pub mod entities;
pub mod error;
pub mod inspect;
pub mod management;
mod raw;
pub mod replay_check;
pub mod status;
mod time;

pub use admin::{Binding, FunctionConfig, FunctionInfo, HostStatus, Key, KeyList, SetKey};
pub use entities::{EntityEntry, EntityId};
pub use error::ErrorBody;
pub use inspect::{DiagnosisJson, HubHealthJson, InstanceCounts};
pub use management::{
    CreationUrls, DurableClientBinding, HttpManagementPayload, PurgeResult, query,
};
pub use replay_check::{ReplayCheckPage, ReplayFailure, ReplayGroup};
pub use status::{EventType, HistoryEvent, InstanceStatus, RuntimeStatus, TraceContext};

/// A JSON value kept as the text it arrived as.
pub use serde_json::value::RawValue;

/// The path of the Durable Functions management API, under the host's origin.
pub const MANAGEMENT_BASE: &str = "/runtime/webhooks/durabletask";

/// The path of the admin API (functions, keys, host status), under the host's origin.
pub const ADMIN_BASE: &str = "/admin";

/// The header that carries a key (it wins over the `code` query parameter).
pub const KEY_HEADER: &str = "x-functions-key";

/// The header of listings: a response carries it when more pages exist, and the request for
/// the next page sends it back.
pub const CONTINUATION_HEADER: &str = "x-ms-continuation-token";
