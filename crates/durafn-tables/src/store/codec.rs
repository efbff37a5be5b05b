//! Entities as JSON in the Table service's wire format (OData JSON with
//! `name@odata.type` annotations), used both on the wire to Azure and for
//! the embedded store's property column, so a value keeps its type through
//! either store.
//!
//! Encoding: strings, booleans and `Int32` are plain JSON; `Int64` is a
//! string annotated `Edm.Int64` (JSON numbers cannot hold every i64 exactly
//! for every reader); doubles are numbers annotated `Edm.Double` (`NaN`,
//! `Infinity`, `-Infinity` as strings); date-times, GUIDs and binary
//! (base64) are annotated strings. Date-times are written with the service's
//! precision, 100 ns.
//!
//! Decoding accepts what the service returns with minimal metadata: the
//! annotations above when present; otherwise a JSON integer that fits is an
//! `Int32`, a larger one an `Int64`, a JSON number with a fraction or
//! exponent a `Double`. `null` means absent. Other `odata.*` keys and
//! annotations are skipped.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Timelike, Utc};
use serde_json::value::RawValue;
use serde_json::{Map, Number, Value as Json};

use crate::entity::{Entity, PARTITION_KEY, ROW_KEY, TIMESTAMP, Value};

const ANNOTATION: &str = "@odata.type";

/// A date-time as the service writes it: UTC, 100 ns precision.
pub(crate) fn format_datetime(value: &DateTime<Utc>) -> String {
    let base = value.format("%Y-%m-%dT%H:%M:%S");
    // Leap-second representations carry nanos >= 1e9; clamp them.
    let ticks = (value.nanosecond() / 100).min(9_999_999);
    if ticks == 0 {
        format!("{base}Z")
    } else {
        format!("{base}.{ticks:07}Z")
    }
}

pub(crate) fn parse_datetime(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// Appends `properties` to a JSON object.
pub(crate) fn write_properties(properties: &BTreeMap<String, Value>, out: &mut Map<String, Json>) {
    for (name, value) in properties {
        let (json, edm) = encode(value);
        out.insert(name.clone(), json);
        if let Some(edm) = edm {
            out.insert(format!("{name}{ANNOTATION}"), Json::String(edm.to_owned()));
        }
    }
}

/// The entity as a JSON object with its keys (but not its timestamp, which
/// the store sets).
pub(crate) fn entity_to_json(entity: &Entity) -> Json {
    let mut map = Map::new();
    map.insert(
        PARTITION_KEY.to_owned(),
        Json::String(entity.partition_key.clone()),
    );
    map.insert(ROW_KEY.to_owned(), Json::String(entity.row_key.clone()));
    write_properties(&entity.properties, &mut map);
    Json::Object(map)
}

fn encode(value: &Value) -> (Json, Option<&'static str>) {
    match value {
        Value::String(s) => (Json::String(s.clone()), None),
        Value::Int32(v) => (Json::Number((*v).into()), None),
        Value::Int64(v) => (Json::String(v.to_string()), Some("Edm.Int64")),
        Value::Double(v) => {
            let json = match Number::from_f64(*v) {
                Some(n) => Json::Number(n),
                None if v.is_nan() => Json::String("NaN".to_owned()),
                None if *v > 0.0 => Json::String("Infinity".to_owned()),
                None => Json::String("-Infinity".to_owned()),
            };
            (json, Some("Edm.Double"))
        }
        Value::Bool(v) => (Json::Bool(*v), None),
        Value::DateTime(v) => (Json::String(format_datetime(v)), Some("Edm.DateTime")),
        Value::Guid(v) => (Json::String(v.hyphenated().to_string()), Some("Edm.Guid")),
        Value::Binary(v) => (Json::String(BASE64.encode(v)), Some("Edm.Binary")),
    }
}

/// Reads the non-system properties of a JSON object.
pub(crate) fn read_properties(obj: &Map<String, Json>) -> Result<BTreeMap<String, Value>, String> {
    let mut properties = BTreeMap::new();
    for (name, json) in obj {
        if name.starts_with("odata.")
            || name.contains('@')
            || matches!(name.as_str(), PARTITION_KEY | ROW_KEY | TIMESTAMP)
        {
            continue;
        }
        let edm = obj
            .get(&format!("{name}{ANNOTATION}"))
            .and_then(Json::as_str);
        if let Some(value) = decode(json, edm).map_err(|e| format!("property {name:?}: {e}"))? {
            properties.insert(name.clone(), value);
        }
    }
    Ok(properties)
}

/// Reads properties from stored JSON text, decoding only the `wanted` ones
/// (all when `None`): a query that selects one property and filters on two
/// should not pay for decoding ten.
pub(crate) fn read_stored_properties(
    text: &str,
    wanted: Option<&BTreeSet<String>>,
) -> Result<BTreeMap<String, Value>, String> {
    let raw: BTreeMap<String, &RawValue> =
        serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let mut properties = BTreeMap::new();
    for (name, json) in &raw {
        if name.contains('@') || wanted.is_some_and(|w| !w.contains(name)) {
            continue;
        }
        let edm = match raw.get(&format!("{name}{ANNOTATION}")) {
            Some(annotation) => Some(
                serde_json::from_str::<String>(annotation.get()).map_err(|_| {
                    format!("property {name:?}: the type annotation is not a string")
                })?,
            ),
            None => None,
        };
        let json: Json = serde_json::from_str(json.get())
            .map_err(|e| format!("property {name:?}: invalid JSON: {e}"))?;
        if let Some(value) =
            decode(&json, edm.as_deref()).map_err(|e| format!("property {name:?}: {e}"))?
        {
            properties.insert(name.clone(), value);
        }
    }
    Ok(properties)
}

/// Reads a whole entity (keys, timestamp, properties) from a JSON object.
pub(crate) fn entity_from_json(json: &Json) -> Result<Entity, String> {
    let obj = json.as_object().ok_or("an entity is not a JSON object")?;
    let key = |name: &str| -> Result<String, String> {
        obj.get(name)
            .and_then(Json::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("an entity has no string {name}"))
    };
    let timestamp = match obj.get(TIMESTAMP) {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) => {
            Some(parse_datetime(s).ok_or_else(|| format!("invalid Timestamp {s:?}"))?)
        }
        Some(_) => return Err("Timestamp is not a string".to_owned()),
    };
    Ok(Entity {
        partition_key: key(PARTITION_KEY)?,
        row_key: key(ROW_KEY)?,
        timestamp,
        properties: read_properties(obj)?,
    })
}

fn decode(json: &Json, edm: Option<&str>) -> Result<Option<Value>, String> {
    let value = match (edm, json) {
        (_, Json::Null) => return Ok(None),
        (None | Some("Edm.String"), Json::String(s)) => Value::String(s.clone()),
        (None | Some("Edm.Boolean"), Json::Bool(b)) => Value::Bool(*b),
        (Some("Edm.Int32"), Json::Number(n)) => Value::Int32(
            n.as_i64()
                .and_then(|v| i32::try_from(v).ok())
                .ok_or_else(|| format!("{n} is not an Int32"))?,
        ),
        (Some("Edm.Int64"), Json::String(s)) => {
            Value::Int64(s.parse().map_err(|_| format!("{s:?} is not an Int64"))?)
        }
        (Some("Edm.Int64"), Json::Number(n)) => {
            Value::Int64(n.as_i64().ok_or_else(|| format!("{n} is not an Int64"))?)
        }
        (Some("Edm.Double"), Json::Number(n)) => {
            Value::Double(n.as_f64().ok_or_else(|| format!("{n} is not a Double"))?)
        }
        (Some("Edm.Double"), Json::String(s)) => Value::Double(match s.as_str() {
            "NaN" => f64::NAN,
            "Infinity" | "INF" => f64::INFINITY,
            "-Infinity" | "-INF" => f64::NEG_INFINITY,
            other => other
                .parse()
                .map_err(|_| format!("{other:?} is not a Double"))?,
        }),
        (Some("Edm.DateTime"), Json::String(s)) => {
            Value::DateTime(parse_datetime(s).ok_or_else(|| format!("{s:?} is not a DateTime"))?)
        }
        (Some("Edm.Guid"), Json::String(s)) => {
            Value::Guid(uuid::Uuid::try_parse(s).map_err(|_| format!("{s:?} is not a Guid"))?)
        }
        (Some("Edm.Binary"), Json::String(s)) => Value::Binary(
            BASE64
                .decode(s)
                .map_err(|_| "binary value is not base64".to_owned())?,
        ),
        (None, Json::Number(n)) => {
            if let Some(v) = n.as_i64() {
                match i32::try_from(v) {
                    Ok(v) => Value::Int32(v),
                    Err(_) => Value::Int64(v),
                }
            } else {
                Value::Double(n.as_f64().ok_or_else(|| format!("{n} is not a number"))?)
            }
        }
        (Some(edm), other) => {
            return Err(format!("a {} JSON value annotated {edm}", json_kind(other)));
        }
        (None, other) => return Err(format!("unsupported JSON {}", json_kind(other))),
    };
    Ok(Some(value))
}

fn json_kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_type() -> Entity {
        Entity::new("p", "r")
            .with("s", "text")
            .with("i", -7)
            .with("l", i64::MIN)
            .with("d", 5.0)
            .with("nan", f64::NAN)
            .with("inf", f64::NEG_INFINITY)
            .with("b", false)
            .with(
                "t",
                parse_datetime("2021-10-10T01:02:03.1234567Z").expect("valid"),
            )
            .with("g", uuid::Uuid::from_u64_pair(1, 2))
            .with("x", vec![0_u8, 1, 254])
    }

    #[test]
    fn round_trips_every_type() {
        let entity = every_type();
        let json = entity_to_json(&entity);
        let text = serde_json::to_string(&json).expect("serializes");
        let back =
            entity_from_json(&serde_json::from_str(&text).expect("parses")).expect("decodes");
        assert_eq!(back.partition_key, "p");
        assert_eq!(back.row_key, "r");
        for (name, value) in &entity.properties {
            let got = back.properties.get(name).expect("present");
            match (value, got) {
                (Value::Double(a), Value::Double(b)) if a.is_nan() => assert!(b.is_nan()),
                _ => assert_eq!(value, got, "{name}"),
            }
        }
        assert_eq!(back.properties.len(), entity.properties.len());
    }

    #[test]
    fn reads_service_json() {
        let json: Json = serde_json::from_str(
            r#"{"odata.etag":"W/\"x\"","PartitionKey":"p","RowKey":"r",
                "Timestamp":"2024-01-01T00:00:00.1234567Z",
                "n":5,"big":"12","big@odata.type":"Edm.Int64","f":1.5,"w":2,
                "w@odata.type":"Edm.Double","gone":null}"#,
        )
        .expect("valid json");
        let e = entity_from_json(&json).expect("decodes");
        assert_eq!(e.properties.get("n"), Some(&Value::Int32(5)));
        assert_eq!(e.properties.get("big"), Some(&Value::Int64(12)));
        assert_eq!(e.properties.get("f"), Some(&Value::Double(1.5)));
        assert_eq!(e.properties.get("w"), Some(&Value::Double(2.0)));
        assert!(!e.properties.contains_key("gone"));
        assert_eq!(e.properties.len(), 4);
        assert_eq!(
            e.timestamp.map(|t| format_datetime(&t)).as_deref(),
            Some("2024-01-01T00:00:00.1234567Z")
        );
    }

    #[test]
    fn rejects_mistyped_values() {
        let json: Json = serde_json::from_str(
            r#"{"PartitionKey":"p","RowKey":"r","x":"abc","x@odata.type":"Edm.Int64"}"#,
        )
        .expect("valid json");
        assert!(entity_from_json(&json).is_err());
        let json: Json = serde_json::from_str(r#"{"PartitionKey":"p","RowKey":"r","x":[1]}"#)
            .expect("valid json");
        assert!(entity_from_json(&json).is_err());
    }

    #[test]
    fn stored_properties_decode_only_what_is_wanted() {
        let entity = every_type();
        let mut map = Map::new();
        write_properties(&entity.properties, &mut map);
        let text = Json::Object(map).to_string();
        let all = read_stored_properties(&text, None).expect("decodes");
        assert_eq!(all.len(), entity.properties.len());
        assert_eq!(all.get("l"), Some(&Value::Int64(i64::MIN)));
        let wanted: BTreeSet<String> = ["l".to_owned(), "t".to_owned(), "nope".to_owned()].into();
        let some = read_stored_properties(&text, Some(&wanted)).expect("decodes");
        assert_eq!(some.keys().collect::<Vec<_>>(), ["l", "t"]);
        assert_eq!(some.get("t"), entity.properties.get("t"));
        assert!(read_stored_properties("[1]", None).is_err());
        assert!(read_stored_properties(r#"{"a":"x","a@odata.type":"Edm.Guid"}"#, None).is_err());
    }

    #[test]
    fn datetime_precision_is_100ns() {
        let t = parse_datetime("2021-10-10T00:00:00.123456789Z").expect("valid");
        assert_eq!(format_datetime(&t), "2021-10-10T00:00:00.1234567Z");
        let t = parse_datetime("2021-10-10T00:00:00Z").expect("valid");
        assert_eq!(format_datetime(&t), "2021-10-10T00:00:00Z");
    }
}
