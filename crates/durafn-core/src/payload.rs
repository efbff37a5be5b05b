//! JSON payloads: inputs, outputs, event data and custom status.
//!
//! A payload is kept as the JSON text it arrived as, so it is stored and returned verbatim (a
//! client that sends `"42"` gets `"42"` back, not `42`) and is never re-encoded on the way through.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// A JSON value kept as text.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Payload(Box<RawValue>);

impl Payload {
    /// The JSON `null`, the payload of "no input" and "no output".
    pub fn null() -> Self {
        Self::from_json_text("null").expect("null is valid JSON")
    }

    /// Encodes a value.
    pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Self, PayloadError> {
        serde_json::value::to_raw_value(value)
            .map(Self)
            .map_err(|e| PayloadError::Encode(e.to_string()))
    }

    /// Wraps JSON text after checking that it is one valid JSON value.
    pub fn from_json_text(text: impl Into<String>) -> Result<Self, PayloadError> {
        RawValue::from_string(text.into())
            .map(Self)
            .map_err(|e| PayloadError::InvalidJson(e.to_string()))
    }

    /// Decodes the payload into a typed value.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, PayloadError> {
        serde_json::from_str(self.0.get()).map_err(|e| PayloadError::Decode {
            expected: std::any::type_name::<T>(),
            message: e.to_string(),
        })
    }

    /// The JSON text.
    pub fn as_json(&self) -> &str {
        self.0.get()
    }

    /// Whether the payload is the JSON `null`.
    pub fn is_null(&self) -> bool {
        self.0.get().trim() == "null"
    }

    /// The payload as a `serde_json::Value`, for callers that inspect it.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::from_str(self.0.get()).unwrap_or(serde_json::Value::Null)
    }
}

impl Default for Payload {
    fn default() -> Self {
        Self::null()
    }
}

impl PartialEq for Payload {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

impl Eq for Payload {}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Payload({})", self.0.get())
    }
}

impl fmt::Display for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.get())
    }
}

impl From<serde_json::Value> for Payload {
    fn from(value: serde_json::Value) -> Self {
        Self::encode(&value).expect("a serde_json::Value always encodes")
    }
}

/// Why a payload could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// The text was not one valid JSON value.
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    /// A value could not be encoded as JSON.
    #[error("could not encode as JSON: {0}")]
    Encode(String),
    /// The JSON did not have the shape of the expected type.
    #[error("could not decode JSON as {expected}: {message}")]
    Decode {
        /// The Rust type that was asked for.
        expected: &'static str,
        /// What serde said.
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_is_kept_verbatim() {
        let p = Payload::from_json_text(r#"{"b": 1,  "a":[1, 2]}"#).unwrap();
        assert_eq!(p.as_json(), r#"{"b": 1,  "a":[1, 2]}"#);
        let wrapped = serde_json::to_string(&vec![p.clone()]).unwrap();
        assert_eq!(wrapped, r#"[{"b": 1,  "a":[1, 2]}]"#);
        let back: Vec<Payload> = serde_json::from_str(&wrapped).unwrap();
        assert_eq!(back[0], p);
    }

    #[test]
    fn typed_round_trip_and_errors() {
        let p = Payload::encode(&("x", 3)).unwrap();
        assert_eq!(p.decode::<(String, u8)>().unwrap(), ("x".into(), 3));
        assert!(matches!(p.decode::<u8>(), Err(PayloadError::Decode { .. })));
        assert!(Payload::from_json_text("{").is_err());
        assert!(Payload::null().is_null());
    }
}
