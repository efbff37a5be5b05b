//! The spans of a client: starting an orchestration and raising an event. They happen once, in
//! the caller's process, so their ids are fresh.

use chrono::{DateTime, Utc};
use durafn_core::TraceContext;

use super::names::*;
use super::{SpanKind, SpanRecord, span_name};

/// `create_orchestration:{name}`: the start of an instance, whose context the instance records
/// as its parent.
pub(crate) fn create_orchestration(
    name: &str,
    version: Option<&str>,
    instance_id: &str,
    parent: Option<&TraceContext>,
    random: &str,
    now: DateTime<Utc>,
) -> SpanRecord {
    let mut span = SpanRecord::begin(
        parent,
        span_name(TYPE_CREATE_ORCHESTRATION, name, version),
        SpanKind::Producer,
        random,
        now,
    )
    .with(TYPE, TYPE_CREATE_ORCHESTRATION)
    .with(TASK_NAME, name)
    .with(INSTANCE_ID, instance_id);
    if let Some(version) = version {
        span = span.with(TASK_VERSION, version);
    }
    span
}

/// `orchestration_event:{name}`: an event a client raised on an instance.
pub(crate) fn raise_event(
    name: &str,
    target: &str,
    parent: Option<&TraceContext>,
    random: &str,
    now: DateTime<Utc>,
) -> SpanRecord {
    SpanRecord::begin(
        parent,
        span_name("orchestration_event", name, None),
        SpanKind::Producer,
        random,
        now,
    )
    .with(TYPE, TYPE_EVENT)
    .with(TASK_NAME, name)
    .with(TARGET_INSTANCE_ID, target)
}
