//! The durafn runtime: the I/O shell around the pure core.
//!
//! It runs orchestrations and activities against a task hub ([`durafn_store::Store`]):
//!
//! - orchestration dispatchers fetch instances with new messages, run one turn each (reusing live
//!   executors from the instance cache, replaying history on a miss) and commit the batch in one
//!   group commit;
//! - the activity dispatcher runs activities under a concurrency limit, renews their leases while
//!   they run, and commits their results in batches;
//! - durable timers are messages that become visible at their time; dispatchers sleep until the
//!   next one, are woken at once by work created in this process, and poll with backoff for work
//!   from other hosts;
//! - [`DurableClient`] starts and manages instances;
//! - [`replay_check`] replays a hub's live instances against a registry before a deploy.
//!
//! Orchestration turns are exactly-once; activities are at-least-once (a crash between running an
//! activity and recording its result runs it again after the lease expires).

mod activities;
mod cache;
mod client;
mod clock;
mod error;
mod finishes;
mod handoff;
mod http_activity;
mod ids;
mod metrics;
mod options;
mod orchestrations;
mod payload_limit;
mod poll;
pub mod replay_check;
mod runtime;
mod shared;
pub mod spans;
mod turn;

pub use client::inspect::{Diagnosis, Finding, HubReport};
pub use client::{
    DurableClient, EntityMetadata, EntityPage, InstanceStatus, StartOptions, StatusOptions,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::ClientError;
pub use http_activity::{HttpFuture, HttpSender, TcpHttpSender};
pub use ids::{IdGen, RandomIds, SeededIds, new_id};
pub use metrics::{
    Histogram, HistogramSnapshot, LATENCY_BUCKETS, LONG_BUCKETS, Labeled, LabeledSnapshot, Metrics,
    OTHER as OTHER_LABEL, SIZE_BUCKETS,
};
pub use options::{DEFAULT_MAX_PAYLOAD_BYTES, RuntimeOptions};
pub use runtime::{Runtime, RuntimeBuilder};
pub use spans::{
    SpanKind, SpanRecord, SpanSink, SpanValue, current_trace_context, with_trace_context,
};
