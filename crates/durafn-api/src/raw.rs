//! Optional JSON payloads that tell `null` from absent.
//!
//! A history entry or entity listing leaves a payload out when there is none or it was not asked
//! for, and writes `null` when the payload is the JSON value `null`. Plain `Option<Box<RawValue>>`
//! reads both as `None`; with [`deserialize`], a present `null` is `Some("null")`, so writing the
//! value back gives what was read.

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Box<RawValue>>, D::Error> {
    Box::<RawValue>::deserialize(d).map(Some)
}
