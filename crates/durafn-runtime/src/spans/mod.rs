//! Distributed tracing: the spans of orchestrations, activities, timers, sub-orchestrations,
//! events and entity calls, named and attributed as the Durable Task tools name them, handed to
//! a [`SpanSink`] (the host's OpenTelemetry exporter) once the work they describe is durable.
//!
//! Spans are plain records here, not live objects: an orchestration span lasts across turns,
//! hosts and crashes, so it cannot be an object in one process's memory. Each turn derives the
//! spans that *ended* in it from its new events alone ([`turn`]), which is why a replay never
//! emits a span again; the ids come from durable facts (see `durafn_core::trace`), so a span's
//! children, produced on other hosts or after a restart, name the right parent.

pub(crate) mod client;
pub mod names;
pub(crate) mod turn;

use chrono::{DateTime, Utc};
use durafn_core::TraceContext;
use durafn_core::trace::{TraceParent, derive_span_id};

/// What a span describes, as OpenTelemetry's span kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    /// Work done inside the process (timers).
    Internal,
    /// Serving a request: an orchestration's execution, an activity attempt, an HTTP trigger.
    Server,
    /// Waiting for a request to another party: an activity or sub-orchestration call.
    Client,
    /// Sending a message without waiting: a start, an event, a signal.
    Producer,
}

/// An attribute's value.
#[derive(Debug, Clone, PartialEq)]
pub enum SpanValue {
    /// Text.
    Str(String),
    /// A number (task ids).
    Int(i64),
}

/// One finished span.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanRecord {
    /// Its name (`activity:{name}`, `orchestration:{name}@({version})`, ...).
    pub name: String,
    /// Its kind.
    pub kind: SpanKind,
    /// The trace it belongs to.
    pub trace_id: [u8; 16],
    /// Its id.
    pub span_id: [u8; 8],
    /// Its parent's id; `None` for a root span.
    pub parent_span_id: Option<[u8; 8]>,
    /// The W3C trace flags of the trace (`01` = sampled).
    pub flags: u8,
    /// The W3C `tracestate` travelling with the trace.
    pub trace_state: Option<String>,
    /// When it began.
    pub start: DateTime<Utc>,
    /// When it ended.
    pub end: DateTime<Utc>,
    /// Its attributes (names in [`names`]).
    pub attributes: Vec<(&'static str, SpanValue)>,
    /// The failure message when the work failed (the span's status is then error).
    pub error: Option<String>,
}

impl SpanRecord {
    /// A span that begins now under the caller's context, or a new trace's root span when there
    /// is none (a request without `traceparent`); `random` is a fresh random id (its span id is
    /// derived from it). The host uses it for the spans of HTTP requests.
    pub fn begin(
        parent: Option<&TraceContext>,
        name: String,
        kind: SpanKind,
        random: &str,
        now: DateTime<Utc>,
    ) -> Self {
        let parent = parent.and_then(Parent::of);
        let root = Parent {
            id: TraceParent {
                trace_id: fresh_trace_id(random),
                span_id: [0; 8],
                flags: 1,
            },
            state: None,
        };
        let mut span = Self::child(
            parent.as_ref().unwrap_or(&root),
            name,
            kind,
            fresh_span_id(random, "span"),
            now,
            now,
        );
        if parent.is_none() {
            span.parent_span_id = None;
        }
        span
    }

    /// A span under `parent` (its trace, flags and state) with the given identity and times.
    pub(crate) fn child(
        parent: &Parent,
        name: String,
        kind: SpanKind,
        span_id: [u8; 8],
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Self {
        Self {
            name,
            kind,
            trace_id: parent.id.trace_id,
            span_id,
            parent_span_id: Some(parent.id.span_id),
            flags: parent.id.flags,
            trace_state: parent.state.clone(),
            start,
            end,
            attributes: Vec::new(),
            error: None,
        }
    }

    /// Adds a text attribute.
    pub fn with(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.attributes.push((key, SpanValue::Str(value.into())));
        self
    }

    /// Adds a number attribute.
    pub fn with_int(mut self, key: &'static str, value: i64) -> Self {
        self.attributes.push((key, SpanValue::Int(value)));
        self
    }

    /// Marks the span failed.
    pub fn failed(mut self, error: Option<String>) -> Self {
        self.error = error;
        self
    }

    /// The `traceparent` naming this span as the parent of what it starts.
    pub fn trace_parent(&self) -> TraceParent {
        TraceParent {
            trace_id: self.trace_id,
            span_id: self.span_id,
            flags: self.flags,
        }
    }

    /// The trace context to record on work this span starts (its `traceparent` and state).
    pub fn context(&self) -> TraceContext {
        TraceContext {
            trace_parent: self.trace_parent().to_string(),
            trace_state: self.trace_state.clone(),
            span_id: None,
            span_start_time: None,
        }
    }
}

/// A parent span as far as its children need it: its id in the trace, and the trace state.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Parent {
    pub(crate) id: TraceParent,
    pub(crate) state: Option<String>,
}

impl Parent {
    /// The parent named by a recorded trace context; `None` for a malformed one.
    pub(crate) fn of(context: &TraceContext) -> Option<Self> {
        Some(Self {
            id: TraceParent::parse(&context.trace_parent)?,
            state: context.trace_state.clone(),
        })
    }

    /// A child context with the span id `span_id`, as recorded on the work a span starts.
    pub(crate) fn context_for(&self, span_id: [u8; 8]) -> TraceContext {
        TraceContext {
            trace_parent: self.id.with_span(span_id).to_string(),
            trace_state: self.state.clone(),
            span_id: None,
            span_start_time: None,
        }
    }
}

/// Where finished spans go. Emitting must never block or fail the caller: an exporter queues
/// them and drops (and counts) what it cannot send.
pub trait SpanSink: Send + Sync + 'static {
    /// Takes finished spans.
    fn emit(&self, spans: Vec<SpanRecord>);
}

/// A fresh span id from a random id (client starts, activity attempts: things that happen once,
/// outside any replayed history).
pub(crate) fn fresh_span_id(random: &str, tag: &str) -> [u8; 8] {
    derive_span_id(random.as_bytes(), tag, 0)
}

/// A fresh trace id from a random id, for a start that arrives without a trace.
pub(crate) fn fresh_trace_id(random: &str) -> [u8; 16] {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&derive_span_id(random.as_bytes(), "trace", 0));
    id[8..].copy_from_slice(&derive_span_id(random.as_bytes(), "trace", 1));
    id
}

/// `prefix:name`, with `@(version)` appended when there is a version, as Durable Task names
/// versioned spans.
pub(crate) fn span_name(prefix: &str, name: &str, version: Option<&str>) -> String {
    match version {
        Some(v) if !v.is_empty() => format!("{prefix}:{name}@({v})"),
        _ => format!("{prefix}:{name}"),
    }
}

tokio::task_local! {
    /// The trace context of the function running on this task (an HTTP trigger's span), which
    /// starts and events made from it continue.
    static CURRENT: TraceContext;
}

/// Runs `future` with `context` as the current trace context: a client start or raise made
/// inside it (an HTTP function starting its job) becomes a child of that span.
pub async fn with_trace_context<F: std::future::Future>(
    context: Option<TraceContext>,
    future: F,
) -> F::Output {
    match context {
        Some(context) => CURRENT.scope(context, future).await,
        None => future.await,
    }
}

/// The current trace context set by [`with_trace_context`], if any.
pub fn current_trace_context() -> Option<TraceContext> {
    CURRENT.try_with(Clone::clone).ok()
}
