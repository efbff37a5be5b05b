//! The history the Durable Functions SDK sees, and the context JSON it is sent in.
//!
//! The host keeps durafn's own history; each turn it builds this *view* of it in the Durable
//! Task JSON shape the SDK reads (`workers/python/PROTOCOL.md`, section 8): integer
//! `EventType`, payloads as JSON text in JSON strings, timestamps with six fraction digits, the
//! SDK's task ids. Events the SDK never reads (`TaskScheduled`, `TimerCreated`,
//! `SubOrchestrationInstanceCreated`, `OrchestratorCompleted`, signals) are left out, which
//! halves what it parses.

use std::hash::{Hash, Hasher};

use chrono::{DateTime, Utc};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// One event of the view.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct SdkEvent {
    pub(crate) timestamp: DateTime<Utc>,
    pub(crate) kind: SdkKind,
}

/// What happened, with the fields the SDK reads.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum SdkKind {
    /// A turn began (its timestamp is the orchestration's time for the turn).
    OrchestratorStarted,
    /// The code starts.
    ExecutionStarted {
        name: String,
        input: Option<String>,
        /// The instance's version (`context.version` in the SDK); empty for none.
        version: String,
    },
    TaskCompleted {
        id: i64,
        result: Option<String>,
    },
    TaskFailed {
        id: i64,
        reason: String,
        details: String,
    },
    SubOrchestrationCompleted {
        id: i64,
        result: Option<String>,
    },
    SubOrchestrationFailed {
        id: i64,
        reason: String,
        details: String,
    },
    TimerFired {
        id: i64,
        fire_at: DateTime<Utc>,
    },
    /// An entity call was sent (the SDK re-keys the call by the request id in `input`).
    EventSent {
        id: i64,
        instance_id: String,
        input: String,
    },
    /// An external event, or an entity's response (named by the request id).
    EventRaised {
        name: String,
        input: Option<String>,
    },
}

impl SdkKind {
    fn event_type(&self) -> u8 {
        match self {
            SdkKind::ExecutionStarted { .. } => 0,
            SdkKind::TaskCompleted { .. } => 5,
            SdkKind::TaskFailed { .. } => 6,
            SdkKind::SubOrchestrationCompleted { .. } => 8,
            SdkKind::SubOrchestrationFailed { .. } => 9,
            SdkKind::TimerFired { .. } => 11,
            SdkKind::OrchestratorStarted => 12,
            SdkKind::EventSent { .. } => 14,
            SdkKind::EventRaised { .. } => 15,
        }
    }
}

/// The JSON text a payload from an out-of-process client stands for. The Python client
/// JSON-encodes inputs, event data and operation inputs and then sends them as JSON again, so
/// the host stores a JSON string holding JSON text; the SDK decodes once, so it must be handed
/// that inner text. A payload that is not such a string is its own text. (The core reads such
/// payloads the same way when it decodes them into a type.)
pub(crate) fn client_text(payload: &durafn_core::Payload) -> String {
    let text = payload.as_json();
    if text.trim_start().starts_with('"') {
        if let Ok(inner) = serde_json::from_str::<String>(text) {
            if serde_json::from_str::<serde::de::IgnoredAny>(&inner).is_ok() {
                return inner;
            }
        }
    }
    text.to_string()
}

/// The timestamp format the protocol prescribes (UTC, six fraction digits, `Z`).
pub(crate) fn timestamp(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

struct EventJson<'a> {
    event: &'a SdkEvent,
    played: bool,
}

impl Serialize for EventJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let kind = &self.event.kind;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("EventType", &kind.event_type())?;
        let event_id = match kind {
            SdkKind::EventSent { id, .. } => *id,
            _ => -1,
        };
        map.serialize_entry("EventId", &event_id)?;
        map.serialize_entry("IsPlayed", &self.played)?;
        map.serialize_entry("Timestamp", &timestamp(&self.event.timestamp))?;
        match kind {
            SdkKind::OrchestratorStarted => {}
            SdkKind::ExecutionStarted {
                name,
                input,
                version,
            } => {
                map.serialize_entry("Name", name)?;
                map.serialize_entry("Input", input)?;
                map.serialize_entry("Version", version)?;
            }
            SdkKind::TaskCompleted { id, result }
            | SdkKind::SubOrchestrationCompleted { id, result } => {
                map.serialize_entry("TaskScheduledId", id)?;
                map.serialize_entry("Result", result)?;
            }
            SdkKind::TaskFailed {
                id,
                reason,
                details,
            }
            | SdkKind::SubOrchestrationFailed {
                id,
                reason,
                details,
            } => {
                map.serialize_entry("TaskScheduledId", id)?;
                map.serialize_entry("Reason", reason)?;
                map.serialize_entry("Details", details)?;
            }
            SdkKind::TimerFired { id, fire_at } => {
                map.serialize_entry("TimerId", id)?;
                map.serialize_entry("FireAt", &timestamp(fire_at))?;
            }
            SdkKind::EventSent {
                instance_id, input, ..
            } => {
                map.serialize_entry("InstanceId", instance_id)?;
                map.serialize_entry("Name", "op")?;
                map.serialize_entry("Input", input)?;
            }
            SdkKind::EventRaised { name, input } => {
                map.serialize_entry("Name", name)?;
                map.serialize_entry("Input", input)?;
            }
        }
        map.end()
    }
}

struct Events<'a>(&'a [SdkEvent]);

impl Serialize for Events<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Everything before the last OrchestratorStarted is replay; from it on, new.
        let boundary = self
            .0
            .iter()
            .rposition(|e| e.kind == SdkKind::OrchestratorStarted)
            .unwrap_or(0);
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for (i, event) in self.0.iter().enumerate() {
            seq.serialize_element(&EventJson {
                event,
                played: i < boundary,
            })?;
        }
        seq.end()
    }
}

/// What the context says besides the history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Execution {
    pub(crate) instance_id: String,
    pub(crate) execution_id: String,
    pub(crate) name: String,
    /// The orchestration's input as JSON text.
    pub(crate) input: Option<String>,
    pub(crate) parent_instance_id: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ContextJson<'a> {
    history: Events<'a>,
    input: &'a Option<String>,
    instance_id: &'a str,
    is_replaying: bool,
    parent_instance_id: &'a Option<String>,
    upper_schema_version: u8,
}

/// The view, built event by event, with a running fingerprint of its content.
#[derive(Clone, Default)]
pub(crate) struct View {
    events: Vec<SdkEvent>,
    hasher: std::collections::hash_map::DefaultHasher,
    turns: usize,
}

impl std::fmt::Debug for View {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("View")
            .field("events", &self.events.len())
            .finish()
    }
}

impl View {
    pub(crate) fn push(&mut self, event: SdkEvent) {
        if event.kind == SdkKind::OrchestratorStarted {
            self.turns += 1;
        }
        event.hash(&mut self.hasher);
        self.events.push(event);
    }

    /// A fingerprint of everything pushed so far (the same content gives the same value).
    pub(crate) fn fingerprint(&self) -> u64 {
        self.hasher.clone().finish()
    }

    pub(crate) fn len(&self) -> usize {
        self.events.len()
    }

    pub(crate) fn events(&self) -> &[SdkEvent] {
        &self.events
    }

    /// The context JSON text of the view as it stands (upper schema version 1, replay schema
    /// V2: one flat action list with explicit `WhenAll`/`WhenAny`).
    pub(crate) fn context(&self, execution: &Execution) -> String {
        let context = ContextJson {
            history: Events(&self.events),
            input: &execution.input,
            instance_id: &execution.instance_id,
            is_replaying: self.turns > 1,
            parent_instance_id: &execution.parent_instance_id,
            upper_schema_version: 1,
        };
        serde_json::to_string(&context).unwrap_or_default()
    }
}

impl View {
    /// The first `len` events of the view.
    pub(crate) fn prefix(&self, len: usize) -> View {
        let mut prefix = View::default();
        for event in &self.events()[..len.min(self.len())] {
            prefix.push(event.clone());
        }
        prefix
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 7, 0, s).unwrap()
    }

    #[test]
    fn doubly_encoded_client_payloads_are_unwrapped_once() {
        let text = |json: &str| client_text(&durafn_core::Payload::from_json_text(json).unwrap());
        assert_eq!(text(r#""[\"Tokyo\", \"Lima\"]""#), r#"["Tokyo", "Lima"]"#);
        assert_eq!(text(r#""\"42\"""#), r#""42""#);
        assert_eq!(text("5"), "5");
        assert_eq!(text(r#""hello""#), r#""hello""#);
        assert_eq!(text(r#"{"a": "b"}"#), r#"{"a": "b"}"#);
    }

    #[test]
    fn the_worked_example_of_the_protocol() {
        let mut view = View::default();
        view.push(SdkEvent {
            timestamp: at(0),
            kind: SdkKind::OrchestratorStarted,
        });
        view.push(SdkEvent {
            timestamp: at(0),
            kind: SdkKind::ExecutionStarted {
                name: "orchestrator-function".into(),
                input: Some(r#"{"start": "2021-10-10", "end": "2021-12-10"}"#.into()),
                version: String::new(),
            },
        });
        let execution = Execution {
            instance_id: "abc".into(),
            name: "orchestrator-function".into(),
            input: Some(r#"{"start": "2021-10-10", "end": "2021-12-10"}"#.into()),
            ..Execution::default()
        };
        assert_eq!(
            view.context(&execution),
            r#"{"history":[{"EventType":12,"EventId":-1,"IsPlayed":false,"Timestamp":"2026-12-01T07:00:00.000000Z"},{"EventType":0,"EventId":-1,"IsPlayed":false,"Timestamp":"2026-12-01T07:00:00.000000Z","Name":"orchestrator-function","Input":"{\"start\": \"2021-10-10\", \"end\": \"2021-12-10\"}","Version":""}],"input":"{\"start\": \"2021-10-10\", \"end\": \"2021-12-10\"}","instanceId":"abc","isReplaying":false,"parentInstanceId":null,"upperSchemaVersion":1}"#
        );
        let before = view.fingerprint();
        view.push(SdkEvent {
            timestamp: at(1),
            kind: SdkKind::OrchestratorStarted,
        });
        view.push(SdkEvent {
            timestamp: at(1),
            kind: SdkKind::TaskCompleted {
                id: 0,
                result: Some("616".into()),
            },
        });
        assert_ne!(view.fingerprint(), before);
        let context: serde_json::Value = serde_json::from_str(&view.context(&execution)).unwrap();
        let history = context["history"].as_array().unwrap();
        let played: Vec<bool> = history
            .iter()
            .map(|e| e["IsPlayed"].as_bool().unwrap())
            .collect();
        assert_eq!(played, [true, true, false, false]);
        assert_eq!(context["isReplaying"], true);
        assert_eq!(history[3]["TaskScheduledId"], 0);
        assert_eq!(history[3]["Result"], "616");
        assert_eq!(history[3]["Timestamp"], "2026-12-01T07:00:01.000000Z");
    }

    #[test]
    fn every_kind_has_its_event_type_and_fields() {
        let cases = [
            (
                SdkKind::TaskFailed {
                    id: 2,
                    reason: "ValueError: no".into(),
                    details: "tb".into(),
                },
                r#""EventType":6,"EventId":-1"#,
                r#""TaskScheduledId":2,"Reason":"ValueError: no","Details":"tb""#,
            ),
            (
                SdkKind::SubOrchestrationCompleted {
                    id: 3,
                    result: None,
                },
                r#""EventType":8"#,
                r#""TaskScheduledId":3,"Result":null"#,
            ),
            (
                SdkKind::SubOrchestrationFailed {
                    id: 3,
                    reason: "r".into(),
                    details: String::new(),
                },
                r#""EventType":9"#,
                r#""Reason":"r","Details":"""#,
            ),
            (
                SdkKind::TimerFired {
                    id: 4,
                    fire_at: at(5),
                },
                r#""EventType":11"#,
                r#""TimerId":4,"FireAt":"2026-12-01T07:00:05.000000Z""#,
            ),
            (
                SdkKind::EventSent {
                    id: 5,
                    instance_id: "@counter@k".into(),
                    input: "{}".into(),
                },
                r#""EventType":14,"EventId":5"#,
                r#""InstanceId":"@counter@k","Name":"op","Input":"{}""#,
            ),
            (
                SdkKind::EventRaised {
                    name: "Approval".into(),
                    input: Some("true".into()),
                },
                r#""EventType":15"#,
                r#""Name":"Approval","Input":"true""#,
            ),
        ];
        for (kind, head, fields) in cases {
            let event = SdkEvent {
                timestamp: at(0),
                kind,
            };
            let text = serde_json::to_string(&EventJson {
                event: &event,
                played: true,
            })
            .unwrap();
            assert!(text.contains(head), "{text}");
            assert!(text.contains(fields), "{text}");
        }
    }
}
