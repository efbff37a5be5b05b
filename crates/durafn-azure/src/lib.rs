//! Azure Storage over REST: connection strings, SharedKey signing, the
//! queue client.
//!
//! durafn talks to Azure Storage (and to its emulator, Azurite) in two
//! places: the sample app's table store and the queue triggers and outputs
//! of function apps. Both reach an account the way Functions apps do, by a
//! connection string, and sign every request with the account key. This
//! crate holds what they share:
//!
//! * [`account`]: [`AccountConfig`] from `UseDevelopmentStorage=true` or
//!   `DefaultEndpointsProtocol=…;AccountName=…;AccountKey=…`, with an
//!   [`Endpoint`] per [`Service`]. The key never shows in `Debug` output or
//!   errors.
//! * [`signing`]: the one implementation of "Authorize with Shared Key",
//!   for the table service's rules and the blob/queue rules, SharedKey and
//!   SharedKeyLite ([`AccountConfig::sign`]).
//! * [`queue`] (feature `queue`, on by default): a client for the Queue
//!   service REST API — create and delete queues; send, receive, peek,
//!   update and delete messages; clear; the poison queue move — with
//!   message bodies encoded as the Functions host does (`messageEncoding`
//!   base64 or none).
//! * [`http`] (feature `http`, part of `queue`): the pooled HTTP client
//!   with per-attempt timeouts and the retry policy, which the table store
//!   uses too.

pub mod account;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "queue")]
pub mod queue;
pub mod signing;

pub use account::{
    AccountConfig, ConfigError, DEV_ACCOUNT_KEY, DEV_ACCOUNT_NAME, DEV_BLOB_ENDPOINT,
    DEV_QUEUE_ENDPOINT, DEV_TABLE_ENDPOINT, Endpoint, Service,
};
pub use signing::Scheme;
