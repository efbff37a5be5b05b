//! The frames of the worker protocol (`workers/python/PROTOCOL.md`, version 1), both directions.
//!
//! Payloads the SDK reads or writes (the orchestrator context and state, activity input and
//! output, the entity batch and its result) travel as JSON strings holding JSON text, so they
//! are `String`s here and the host stores exactly the text the SDK produced.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The protocol version this host speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// What a function is, as `initResult` and `invoke` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FunctionKind {
    /// Triggered by `httpTrigger`.
    Http,
    /// Triggered by `orchestrationTrigger`.
    Orchestrator,
    /// Triggered by `activityTrigger`.
    Activity,
    /// Triggered by `entityTrigger`.
    Entity,
}

impl FunctionKind {
    /// The trigger binding type of this kind.
    pub fn trigger(self) -> &'static str {
        match self {
            FunctionKind::Http => "httpTrigger",
            FunctionKind::Orchestrator => "orchestrationTrigger",
            FunctionKind::Activity => "activityTrigger",
            FunctionKind::Entity => "entityTrigger",
        }
    }
}

/// A v1 function as the host parsed its `function.json`, sent in `init`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionSpec {
    /// The folder name.
    pub name: String,
    /// The folder, relative to the script root.
    pub directory: String,
    /// `scriptFile` as written (relative to `directory`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script_file: Option<String>,
    /// `entryPoint` as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry_point: Option<String>,
    /// The bindings, verbatim.
    pub bindings: Vec<serde_json::Value>,
}

/// `init`: the script root, the app settings and the v1 functions.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Init<'a> {
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) id: &'a str,
    pub(crate) protocol_version: u32,
    pub(crate) script_root: &'a str,
    pub(crate) app_settings: &'a BTreeMap<String, String>,
    pub(crate) functions: &'a [FunctionSpec],
}

/// The HTTP request of an `http` invocation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRequestFrame {
    /// The method, upper case.
    pub method: String,
    /// The absolute URL with the scheme and host the client used.
    pub url: String,
    /// Headers; repeated values joined with `,`.
    pub headers: BTreeMap<String, String>,
    /// Decoded query parameters; repeated values joined with `,`.
    pub params: BTreeMap<String, String>,
    /// The route's placeholders, decoded.
    pub route_params: BTreeMap<String, String>,
    /// Base64 of the body bytes.
    pub body: String,
}

/// What an invocation carries, by kind.
#[derive(Debug, Clone)]
pub enum Invocation {
    /// An HTTP function: the request and the client binding JSON of each client binding.
    Http {
        /// The request.
        request: HttpRequestFrame,
        /// Binding name → client binding JSON text.
        inputs: BTreeMap<String, String>,
    },
    /// An orchestrator turn: the context JSON text.
    Orchestrator {
        /// The context JSON text.
        context: String,
    },
    /// An activity: its input JSON text.
    Activity {
        /// The input JSON text.
        input: String,
    },
    /// An entity batch: the batch JSON text.
    Entity {
        /// The batch JSON text.
        context: String,
    },
}

impl Invocation {
    /// The kind of function it invokes.
    pub fn kind(&self) -> FunctionKind {
        match self {
            Invocation::Http { .. } => FunctionKind::Http,
            Invocation::Orchestrator { .. } => FunctionKind::Orchestrator,
            Invocation::Activity { .. } => FunctionKind::Activity,
            Invocation::Entity { .. } => FunctionKind::Entity,
        }
    }
}

/// `invoke`, as written on the wire.
#[derive(Debug, Serialize)]
pub(crate) struct InvokeFrame<'a> {
    #[serde(rename = "type")]
    pub(crate) kind_tag: &'static str,
    pub(crate) id: &'a str,
    pub(crate) function: &'a str,
    pub(crate) kind: FunctionKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) request: Option<&'a HttpRequestFrame>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) inputs: Option<&'a BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) context: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) input: Option<&'a str>,
}

impl<'a> InvokeFrame<'a> {
    pub(crate) fn new(id: &'a str, function: &'a str, invocation: &'a Invocation) -> Self {
        let mut frame = InvokeFrame {
            kind_tag: "invoke",
            id,
            function,
            kind: invocation.kind(),
            request: None,
            inputs: None,
            context: None,
            input: None,
        };
        match invocation {
            Invocation::Http { request, inputs } => {
                frame.request = Some(request);
                frame.inputs = Some(inputs);
            }
            Invocation::Orchestrator { context } | Invocation::Entity { context } => {
                frame.context = Some(context)
            }
            Invocation::Activity { input } => frame.input = Some(input),
        }
        frame
    }
}

/// A frame without fields but its type and id (`ping`, `shutdown`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Control<'a> {
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) grace_ms: Option<u64>,
}

/// An error as the worker reports it (of a function, of loading, of the app).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct WorkerError {
    /// The exception's class name (or the worker's own error type).
    #[serde(rename = "type")]
    pub error_type: String,
    /// Its message.
    pub message: String,
    /// The traceback from the app's first frame on.
    pub traceback: String,
    /// For load errors: the file, relative to the script root.
    pub file: Option<String>,
    /// For load errors: the field at fault (`scriptFile`, `entryPoint`, `bindings`, …).
    pub field: Option<String>,
}

/// A function as `initResult` describes it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionInfo {
    /// Its name.
    pub name: String,
    /// What it is; `None` when it did not load.
    pub kind: Option<FunctionKind>,
    /// The script, relative to the script root.
    #[serde(default)]
    pub script_file: Option<String>,
    /// The entry point.
    #[serde(default)]
    pub entry_point: Option<String>,
    /// Whether it is an `async def`.
    #[serde(default)]
    pub is_async: bool,
    /// Its bindings in the `function.json` shape.
    #[serde(default)]
    pub bindings: Vec<serde_json::Value>,
    /// Why it did not load.
    #[serde(default)]
    pub error: Option<WorkerError>,
}

/// Versions of the app's packages, as `hello` reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Packages {
    /// `azure-functions`.
    #[serde(rename = "azure-functions")]
    pub azure_functions: Option<String>,
    /// `azure-functions-durable`.
    #[serde(rename = "azure-functions-durable")]
    pub azure_functions_durable: Option<String>,
}

/// Every frame the worker sends, as one flat record (the fields of each type are optional),
/// so that a frame is read in one pass whatever its type.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct Incoming {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) id: Option<String>,
    // hello
    pub(crate) protocol_version: Option<u32>,
    pub(crate) worker_version: Option<String>,
    pub(crate) pid: Option<u32>,
    pub(crate) python: Option<String>,
    pub(crate) packages: Option<Packages>,
    // initResult
    pub(crate) programming_model: Option<String>,
    pub(crate) functions: Option<Vec<FunctionInfo>>,
    // result (and initResult's `error`)
    pub(crate) ok: Option<bool>,
    pub(crate) error: Option<WorkerError>,
    pub(crate) state: Option<String>,
    pub(crate) output: Option<String>,
    pub(crate) result: Option<String>,
    pub(crate) response: Option<HttpResponseFrame>,
    // log
    pub(crate) invocation_id: Option<String>,
    pub(crate) level: Option<String>,
    pub(crate) category: Option<String>,
    pub(crate) message: Option<String>,
    // pong, shutdownComplete
    pub(crate) in_flight: Option<u64>,
    pub(crate) abandoned: Option<u64>,
}

/// The HTTP response of an `http` invocation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct HttpResponseFrame {
    /// The status code.
    pub status: u16,
    /// `[name, value]` pairs in order.
    pub headers: Vec<(String, String)>,
    /// Base64 of the body bytes.
    pub body: String,
    /// The response's mimetype.
    pub mimetype: Option<String>,
    /// The response's charset.
    pub charset: Option<String>,
}

/// The outcome of one invocation: the output field of its kind, or the function's error.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// An orchestrator turn's state JSON text; `error` describes the user's exception when the
    /// code threw (the state then has an `error` field too).
    State {
        /// The state JSON text.
        state: String,
        /// The user's exception, for the log.
        error: Option<WorkerError>,
    },
    /// An activity's output JSON text.
    Output(String),
    /// An entity batch's result JSON text.
    EntityResult(String),
    /// An HTTP function's response.
    Response(HttpResponseFrame),
    /// The function failed (it raised, its result could not be encoded, or the frame was
    /// refused).
    Failed(WorkerError),
}

impl Incoming {
    /// The outcome carried by a `result` frame of an invocation of `kind`.
    pub(crate) fn into_outcome(self, kind: FunctionKind) -> Outcome {
        if self.ok != Some(true) {
            return Outcome::Failed(self.error.unwrap_or_else(|| WorkerError {
                error_type: "ProtocolError".into(),
                message: "the worker answered without ok or error".into(),
                ..WorkerError::default()
            }));
        }
        let missing = |field: &str| {
            Outcome::Failed(WorkerError {
                error_type: "ProtocolError".into(),
                message: format!("the worker's result has no {field}"),
                ..WorkerError::default()
            })
        };
        match kind {
            FunctionKind::Orchestrator => match self.state {
                Some(state) => Outcome::State {
                    state,
                    error: self.error,
                },
                None => missing("state"),
            },
            FunctionKind::Activity => match self.output {
                Some(output) => Outcome::Output(output),
                None => missing("output"),
            },
            FunctionKind::Entity => match self.result {
                Some(result) => Outcome::EntityResult(result),
                None => missing("result"),
            },
            FunctionKind::Http => match self.response {
                Some(response) => Outcome::Response(response),
                None => missing("response"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invoke_frames_carry_the_field_of_their_kind() {
        let activity = Invocation::Activity {
            input: "\"Tokyo\"".into(),
        };
        let text = serde_json::to_string(&InvokeFrame::new("r1", "say_hello", &activity)).unwrap();
        assert_eq!(
            text,
            r#"{"type":"invoke","id":"r1","function":"say_hello","kind":"activity","input":"\"Tokyo\""}"#
        );
        let turn = Invocation::Orchestrator {
            context: r#"{"history":[]}"#.into(),
        };
        let text = serde_json::to_string(&InvokeFrame::new("t1", "o", &turn)).unwrap();
        assert!(text.contains(r#""kind":"orchestrator","context":"{\"history\":[]}""#));
    }

    #[test]
    fn results_become_outcomes() {
        let ok: Incoming =
            serde_json::from_str(r#"{"type":"result","id":"r1","ok":true,"output":"616"}"#)
                .unwrap();
        assert_eq!(
            ok.into_outcome(FunctionKind::Activity),
            Outcome::Output("616".into())
        );
        let failed: Incoming = serde_json::from_str(
            r#"{"type":"result","id":"r2","ok":false,"error":{"type":"ValueError","message":"no","traceback":"tb"}}"#,
        )
        .unwrap();
        match failed.into_outcome(FunctionKind::Activity) {
            Outcome::Failed(e) => {
                assert_eq!(
                    (e.error_type.as_str(), e.message.as_str()),
                    ("ValueError", "no")
                )
            }
            other => panic!("{other:?}"),
        }
        let no_state: Incoming =
            serde_json::from_str(r#"{"type":"result","id":"t","ok":true}"#).unwrap();
        assert!(matches!(
            no_state.into_outcome(FunctionKind::Orchestrator),
            Outcome::Failed(_)
        ));
        let response: Incoming = serde_json::from_str(
            r#"{"type":"result","id":"h","ok":true,"response":{"status":400,"headers":[["Content-Type","application/json"]],"body":"e30=","mimetype":"text/plain","charset":"utf-8"}}"#,
        )
        .unwrap();
        match response.into_outcome(FunctionKind::Http) {
            Outcome::Response(r) => {
                assert_eq!(r.status, 400);
                assert_eq!(r.headers[0].1, "application/json");
            }
            other => panic!("{other:?}"),
        }
    }
}
