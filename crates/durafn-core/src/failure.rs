//! Why something failed: [`FailureDetails`] as recorded in history and shown to callers, and the
//! failures durafn itself raises ([`SystemFailure`]), each with a stable code.
//!
//! User code fails with whatever error type it likes; durafn's own failures (an unknown function,
//! a panic, non-determinism, poison work, ...) are one closed list, so that operators and tests can
//! match on a code instead of a message. `docs/errors.md` documents every code once; the
//! `error_type` string of each is the name status responses have always shown.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::payload::Payload;

/// Why something failed, as recorded in history and shown to callers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureDetails {
    /// A short classification, such as the Rust type of the error or `ActivityNotFound`.
    #[serde(rename = "ErrorType")]
    pub error_type: String,
    /// The human-readable message.
    #[serde(rename = "Reason")]
    pub message: String,
    /// Structured details chosen by the code that failed.
    #[serde(rename = "Details", default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Payload>,
    /// Set when durafn itself raised the failure (recorded as its code, `ErrorCode`).
    #[serde(
        rename = "ErrorCode",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_code"
    )]
    pub system: Option<SystemFailure>,
}

impl FailureDetails {
    /// A failure with a type and a message and no details (a failure of user code).
    pub fn new(error_type: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            error_type: error_type.into(),
            message: message.into(),
            details: None,
            system: None,
        }
    }

    /// A failure durafn raised itself.
    pub fn system(kind: SystemFailure, message: impl Into<String>) -> Self {
        Self {
            error_type: kind.error_type().to_string(),
            message: message.into(),
            details: None,
            system: Some(kind),
        }
    }

    /// Whether this is the system failure `kind`.
    pub fn is(&self, kind: SystemFailure) -> bool {
        self.system == Some(kind)
    }
}

/// A code written by a newer version reads as no code rather than as corrupt data.
fn lenient_code<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SystemFailure>, D::Error> {
    let code: Option<String> = Option::deserialize(d)?;
    Ok(code.as_deref().and_then(SystemFailure::from_code))
}

macro_rules! system_failures {
    ($($(#[doc = $doc:literal])* $variant:ident = $code:literal, $error_type:literal;)*) => {
        /// A failure raised by durafn itself rather than by user code. Each has a stable code
        /// (`DF0001`, ...) and an error type name; see `docs/errors.md` for when each happens and
        /// what to do about it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum SystemFailure {
            $($(#[doc = $doc])* $variant,)*
        }

        impl SystemFailure {
            /// Every system failure, in code order.
            pub const ALL: &'static [SystemFailure] = &[$(SystemFailure::$variant,)*];

            /// The stable code, such as `DF0001`.
            pub fn code(self) -> &'static str {
                match self {
                    $(SystemFailure::$variant => $code,)*
                }
            }

            /// The `error_type` recorded in failure details (the name status responses show).
            pub fn error_type(self) -> &'static str {
                match self {
                    $(SystemFailure::$variant => $error_type,)*
                }
            }

            /// The failure with this code.
            pub fn from_code(code: &str) -> Option<Self> {
                match code {
                    $($code => Some(SystemFailure::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

system_failures! {
    /// Replay found that the orchestrator no longer makes the durable calls its history records.
    NonDeterminism = "DF0001", "NonDeterministicOrchestration";
    /// An instance names an orchestrator function the app does not register.
    OrchestratorNotFound = "DF0002", "OrchestratorNotFound";
    /// An orchestration called an activity function the app does not register.
    ActivityNotFound = "DF0003", "ActivityNotFound";
    /// A request was sent to an entity function the app does not register.
    EntityNotFound = "DF0004", "EntityNotFound";
    /// Orchestrator code panicked.
    OrchestratorPanicked = "DF0005", "OrchestratorPanicked";
    /// Activity code panicked.
    ActivityPanicked = "DF0006", "ActivityPanicked";
    /// An entity operation panicked (its state change was rolled back).
    EntityPanicked = "DF0007", "EntityPanicked";
    /// An instance's messages were delivered too often without a committed turn.
    PoisonMessage = "DF0008", "PoisonMessage";
    /// An activity was delivered too often without its result being committed.
    DeadLettered = "DF0009", "DeadLettered";
    /// A call broke a rule of critical sections (entity locks).
    LockingRulesViolation = "DF0010", "LockingRulesViolation";
    /// A sub-orchestration was terminated (or restarted itself) instead of finishing.
    SubOrchestrationTerminated = "DF0011", "Terminated";
    /// No external event of the awaited name arrived before the timeout.
    Timeout = "DF0012", "TimeoutError";
    /// A task's result did not decode into the requested type, or an input did not encode.
    DataError = "DF0013", "DataError";
    /// A function's input did not decode into its parameter type.
    InputError = "DF0014", "InputError";
    /// A function's output could not be encoded as JSON.
    OutputError = "DF0015", "OutputError";
    /// An entity's stored state did not decode into its state type.
    EntityStateError = "DF0016", "StateError";
    /// An entity was asked for an operation it does not have.
    UnknownOperation = "DF0017", "UnknownOperation";
    /// A sub-orchestration's instance id is taken by an instance that is still active.
    InstanceExists = "DF0018", "InstanceExists";
    /// The built-in HTTP activity (`call_http`) could not complete its request.
    HttpRequestFailed = "DF0019", "HttpRequestFailed";
    /// An activity ran longer than the function timeout (`functionTimeout` in host.json).
    FunctionTimeout = "DF0020", "FunctionTimeout";
    /// A host whose version may not run an instance's version failed it
    /// (`versionFailureStrategy` `Fail`).
    VersionMismatch = "DF0021", "VersionMismatch";
    /// An input, output or event payload was larger than the payload limit
    /// (`maxPayloadSize` in host.json).
    PayloadTooLarge = "DF0022", "PayloadTooLarge";
}

impl std::fmt::Display for SystemFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code(), self.error_type())
    }
}

impl Serialize for SystemFailure {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for SystemFailure {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Self::from_code(&code)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown error code {code:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_dense_and_round_trip() {
        for (i, kind) in SystemFailure::ALL.iter().enumerate() {
            assert_eq!(kind.code(), format!("DF{:04}", i + 1));
            assert_eq!(SystemFailure::from_code(kind.code()), Some(*kind));
        }
        let mut types: Vec<&str> = SystemFailure::ALL.iter().map(|k| k.error_type()).collect();
        types.sort_unstable();
        types.dedup();
        assert_eq!(
            types.len(),
            SystemFailure::ALL.len(),
            "error types are unique"
        );
    }

    #[test]
    fn the_code_is_carried_in_json_and_unknown_codes_are_dropped() {
        let f = FailureDetails::system(SystemFailure::PoisonMessage, "stuck");
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(
            json,
            r#"{"ErrorType":"PoisonMessage","Reason":"stuck","ErrorCode":"DF0008"}"#
        );
        assert_eq!(serde_json::from_str::<FailureDetails>(&json).unwrap(), f);
        let newer: FailureDetails =
            serde_json::from_str(r#"{"ErrorType":"X","Reason":"r","ErrorCode":"DF9999"}"#).unwrap();
        assert_eq!(newer.system, None);
        let user = FailureDetails::new("ParseIntError", "bad digit");
        assert_eq!(
            serde_json::to_string(&user).unwrap(),
            r#"{"ErrorType":"ParseIntError","Reason":"bad digit"}"#
        );
    }
}
