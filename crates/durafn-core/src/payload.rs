//! JSON payloads: inputs, outputs, event data and custom status.
//!
//! A payload is kept as the JSON text it arrived as, so it is stored and returned verbatim (a
//! client that sends `"42"` gets `"42"` back, not `42`) and is never re-encoded on the way through.
//!
//! Decoding into a type follows one rule for out-of-process clients: if the JSON does not have
//! the type's shape but is a JSON *string* whose content is itself JSON, the content is decoded
//! instead. The Python client (`azure-functions-durable`) encodes inputs and event data with
//! `json.dumps` and then sends them as JSON again, so an orchestrator that takes a struct receives
//! `"{\"start\": …}"`; with this rule it gets the struct whether the client sent the object or
//! the doubly encoded string. The stored payload is untouched: history and status show what the
//! client sent.

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

    /// Decodes the payload into a typed value. A JSON string holding JSON is decoded by its
    /// content when the value itself does not fit `T` (see the module docs); a type that accepts
    /// strings (`String`, `serde_json::Value`) gets the string.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, PayloadError> {
        let first = match serde_json::from_str(self.0.get()) {
            Ok(value) => return Ok(value),
            Err(e) => e,
        };
        if let Ok(inner) = serde_json::from_str::<String>(self.0.get())
            && let Ok(value) = serde_json::from_str(&inner)
        {
            return Ok(value);
        }
        Err(PayloadError::Decode {
            expected: std::any::type_name::<T>(),
            message: first.to_string(),
        })
    }

    /// The JSON text.
    pub fn as_json(&self) -> &str {
        self.0.get()
    }

    /// The size of the JSON text in bytes, which is what the payload limit is measured in.
    pub fn len(&self) -> usize {
        self.0.get().len()
    }

    /// Whether the JSON text is empty (it never is: a payload is one JSON value).
    pub fn is_empty(&self) -> bool {
        self.0.get().is_empty()
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

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Query {
        start: String,
        end: String,
    }

    #[test]
    fn a_string_holding_json_decodes_by_its_content() {
        let object =
            Payload::from_json_text(r#"{"start": "2021-10-10", "end": "2021-10-12"}"#).unwrap();
        // What `json.dumps` then `json=` sends: the object's text as a JSON string.
        let doubled = Payload::encode(object.as_json()).unwrap();
        assert!(doubled.as_json().starts_with(r#""{\"start\""#), "{doubled}");
        let expected = Query {
            start: "2021-10-10".into(),
            end: "2021-10-12".into(),
        };
        assert_eq!(object.decode::<Query>().unwrap(), expected);
        assert_eq!(doubled.decode::<Query>().unwrap(), expected);
        assert_eq!(Payload::encode("5").unwrap().decode::<i64>().unwrap(), 5);
        // Types that take strings keep the string; the payload itself stays as it arrived.
        assert_eq!(
            doubled.decode::<String>().unwrap(),
            object.as_json().to_string()
        );
        assert!(doubled.decode::<serde_json::Value>().unwrap().is_string());
        assert!(doubled.as_json().starts_with('"'));
        // A string that is not JSON, or JSON of the wrong shape, is still an error naming the
        // type and what serde said about the value itself.
        let e = Payload::encode("not json").unwrap().decode::<Query>();
        assert!(
            matches!(&e, Err(PayloadError::Decode { message, .. }) if message.contains("invalid type: string")),
            "{e:?}"
        );
        assert!(Payload::encode("[1]").unwrap().decode::<Query>().is_err());
    }
}
