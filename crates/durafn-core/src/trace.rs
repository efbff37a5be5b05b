//! Trace identity for distributed tracing, kept pure: W3C `traceparent` values, span ids
//! derived from durable facts, and the ledger of open durable tasks whose spans end when they
//! complete.
//!
//! An orchestration's spans must come out the same however often its history is replayed and on
//! whichever host a turn runs. So no span id is drawn at random inside a turn: the orchestration
//! span's id is derived from its trace and execution id (and recorded on `ExecutionStarted`, as
//! the Durable Task Framework records it), and the id of every task's client span is derived from
//! the orchestration span's id and the task's sequence number. A host that completes the task
//! later, or replays the history after a crash, computes the same id.

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, Utc};

use crate::history::{EventKind, HistoryEvent};
use crate::ids::{EventId, InstanceId};

/// A parsed W3C `traceparent` (version 00): the trace, the parent span and the flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceParent {
    /// The trace id (16 bytes, never all zero).
    pub trace_id: [u8; 16],
    /// The span id of the parent (8 bytes, never all zero).
    pub span_id: [u8; 8],
    /// The trace flags (`01` = sampled).
    pub flags: u8,
}

impl TraceParent {
    /// Parses `00-<32 hex>-<16 hex>-<2 hex>`; `None` for anything else (including the all-zero
    /// ids the specification declares invalid), so a malformed header is ignored, not trusted.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.trim().split('-');
        let (version, trace, span, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if version.len() != 2 || version == "ff" || (version == "00" && parts.next().is_some()) {
            return None;
        }
        let trace_id: [u8; 16] = decode_hex(trace)?;
        let span_id: [u8; 8] = decode_hex(span)?;
        let [flags]: [u8; 1] = decode_hex(flags)?;
        if trace_id == [0; 16] || span_id == [0; 8] {
            return None;
        }
        Some(Self {
            trace_id,
            span_id,
            flags,
        })
    }

    /// The same trace and flags with another parent span.
    pub fn with_span(self, span_id: [u8; 8]) -> Self {
        Self { span_id, ..self }
    }

    /// The trace id as 32 lower-case hex digits (how trace backends show it).
    pub fn trace_id_hex(&self) -> String {
        hex(&self.trace_id)
    }

    /// Whether the sampled flag is set.
    pub fn sampled(&self) -> bool {
        self.flags & 1 == 1
    }
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{}-{}-{:02x}",
            hex(&self.trace_id),
            hex(&self.span_id),
            self.flags
        )
    }
}

/// Lower-case hex of some bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Parses 16 hex digits as a span id.
pub fn parse_span_id(text: &str) -> Option<[u8; 8]> {
    decode_hex(text).filter(|id| *id != [0; 8])
}

/// A span id derived from durable facts: the same inputs give the same id on every host and
/// every replay, different inputs practically never collide (the name-based UUID's SHA-1).
pub fn derive_span_id(seed: &[u8], tag: &str, n: i64) -> [u8; 8] {
    let mut name = Vec::with_capacity(seed.len() + tag.len() + 9);
    name.extend_from_slice(seed);
    name.extend_from_slice(tag.as_bytes());
    name.push(b':');
    name.extend_from_slice(&n.to_le_bytes());
    let uuid = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, &name);
    let mut id = [0u8; 8];
    id.copy_from_slice(&uuid.as_bytes()[..8]);
    if id == [0; 8] {
        id[7] = 1;
    }
    id
}

/// The id of an execution's orchestration span, when none was recorded.
pub fn orchestration_span_id(trace_id: &[u8; 16], execution_id: &str) -> [u8; 8] {
    let mut seed = trace_id.to_vec();
    seed.extend_from_slice(execution_id.as_bytes());
    derive_span_id(&seed, "orchestration", 0)
}

/// The id of the client span of the task with sequence number `task_id` of an orchestration.
pub fn task_span_id(orchestration_span: &[u8; 8], task_id: EventId) -> [u8; 8] {
    derive_span_id(orchestration_span, "task", task_id.0)
}

/// What a durable task that is still open was.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskKind {
    /// An activity call.
    Activity {
        /// The activity function.
        name: String,
    },
    /// A sub-orchestration.
    SubOrchestration {
        /// Its orchestrator function.
        name: String,
        /// Its instance.
        instance_id: InstanceId,
    },
    /// A durable timer.
    Timer {
        /// When it is due.
        fire_at: DateTime<Utc>,
    },
    /// A call of an entity operation.
    EntityCall {
        /// The entity's instance id.
        entity: InstanceId,
        /// The operation.
        operation: String,
    },
}

/// A task that was scheduled and has not completed.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenTask {
    /// What it is.
    pub kind: TaskKind,
    /// When the orchestration scheduled it.
    pub scheduled_at: DateTime<Utc>,
}

/// A task that completed in a live (not replayed) turn: its client span can end now.
#[derive(Debug, Clone, PartialEq)]
pub struct FinishedTask {
    /// Its sequence number.
    pub id: EventId,
    /// What it was and when it was scheduled.
    pub task: OpenTask,
    /// When its result arrived.
    pub finished_at: DateTime<Utc>,
    /// The failure message, when it failed.
    pub failure: Option<String>,
}

/// The open tasks of one execution, kept only while the execution is traced, so the client span
/// of a task can be ended (with its name and start) in the turn that receives its result, even
/// when that turn replayed the history on another host.
#[derive(Debug, Default)]
pub struct TaskLedger {
    open: HashMap<i64, OpenTask>,
    finished: Vec<FinishedTask>,
}

impl TaskLedger {
    /// Notes a scheduling event (recorded or new).
    pub fn scheduled(&mut self, event: &HistoryEvent) {
        let kind = match &event.kind {
            EventKind::TaskScheduled { name, .. } => TaskKind::Activity { name: name.clone() },
            EventKind::SubOrchestrationInstanceCreated {
                name, instance_id, ..
            } => TaskKind::SubOrchestration {
                name: name.clone(),
                instance_id: instance_id.clone(),
            },
            EventKind::TimerCreated { fire_at } => TaskKind::Timer { fire_at: *fire_at },
            EventKind::EntityOperationCalled {
                instance_id,
                operation,
                ..
            } => TaskKind::EntityCall {
                entity: instance_id.clone(),
                operation: operation.clone(),
            },
            _ => return,
        };
        self.open.insert(
            event.event_id.0,
            OpenTask {
                kind,
                scheduled_at: event.timestamp,
            },
        );
    }

    /// Notes a result; `live` results (not replayed) are kept for [`take_finished`](Self::take_finished).
    pub fn completed(&mut self, event: &HistoryEvent, live: bool, now: DateTime<Utc>) {
        // A lock grant answers a lock request, which is never an open task here.
        let Some(id) = event.kind.answered_task() else {
            return;
        };
        match self.open.remove(&id.0) {
            Some(task) if live => self.finished.push(FinishedTask {
                id,
                task,
                finished_at: now,
                failure: event.kind.task_failure().map(|f| f.message.clone()),
            }),
            _ => {}
        }
    }

    /// The tasks that completed in live turns since the last call.
    pub fn take_finished(&mut self) -> Vec<FinishedTask> {
        std::mem::take(&mut self.finished)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_round_trips_and_rejects_bad_values() {
        let text = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        let parsed = TraceParent::parse(text).unwrap();
        assert_eq!(parsed.to_string(), text);
        assert!(parsed.sampled());
        assert_eq!(parsed.trace_id_hex(), "0af7651916cd43dd8448eb211c80319c");
        for bad in [
            "",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319g-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
        ] {
            assert_eq!(TraceParent::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn derived_span_ids_are_stable_and_distinct() {
        let trace = [7u8; 16];
        let a = orchestration_span_id(&trace, "e1");
        assert_eq!(a, orchestration_span_id(&trace, "e1"));
        assert_ne!(a, orchestration_span_id(&trace, "e2"));
        assert_ne!(task_span_id(&a, EventId(0)), task_span_id(&a, EventId(1)));
        assert_eq!(task_span_id(&a, EventId(3)), task_span_id(&a, EventId(3)));
    }

    #[test]
    fn the_ledger_reports_only_live_completions() {
        let t0 = DateTime::<Utc>::UNIX_EPOCH;
        let mut ledger = TaskLedger::default();
        let scheduled = |id| {
            HistoryEvent::scheduled(
                EventId(id),
                t0,
                EventKind::TaskScheduled {
                    name: "a".into(),
                    input: crate::Payload::null(),
                },
            )
        };
        let done = |id| {
            HistoryEvent::new(
                t0,
                EventKind::TaskCompleted {
                    task_scheduled_id: EventId(id),
                    result: crate::Payload::null(),
                },
            )
        };
        ledger.scheduled(&scheduled(0));
        ledger.scheduled(&scheduled(1));
        ledger.completed(&done(0), false, t0);
        ledger.completed(&done(1), true, t0);
        let finished = ledger.take_finished();
        assert_eq!(finished.len(), 1);
        assert_eq!(finished[0].id, EventId(1));
        assert!(ledger.take_finished().is_empty());
    }
}
