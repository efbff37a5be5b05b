//! Entities and typed property values, shared by the filter language, the
//! evaluator and the stores.
//!
//! The model mirrors Azure Table Storage's entity data model (EDM) so that a
//! value written through one store reads back with the same type from the
//! other: the three system properties (`PartitionKey`, `RowKey`, `Timestamp`)
//! are fields, and every other property is a typed [`Value`].

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A typed property value, one variant per EDM type Azure Table Storage
/// supports.
///
/// Keeping the type next to the value is what lets the evaluator reproduce
/// the service's strict typing (an `Int32` property never equals an `Int64`
/// literal), and what lets the stores write `odata.type` annotations.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `Edm.String`: UTF-8 text, compared ordinally (byte order).
    String(String),
    /// `Edm.Int32`: a 32-bit signed integer (a plain integer literal).
    Int32(i32),
    /// `Edm.Int64`: a 64-bit signed integer (a literal with the `L` suffix).
    Int64(i64),
    /// `Edm.Double`: an IEEE 754 double.
    Double(f64),
    /// `Edm.Boolean`.
    Bool(bool),
    /// `Edm.DateTime`: an instant in UTC.
    DateTime(DateTime<Utc>),
    /// `Edm.Guid`.
    Guid(Uuid),
    /// `Edm.Binary`: raw bytes.
    Binary(Vec<u8>),
}

impl Value {
    /// The EDM type name (`Edm.String`, `Edm.Int64`, ...), used in `odata.type`
    /// annotations and in error messages.
    pub fn edm_type(&self) -> &'static str {
        match self {
            Value::String(_) => "Edm.String",
            Value::Int32(_) => "Edm.Int32",
            Value::Int64(_) => "Edm.Int64",
            Value::Double(_) => "Edm.Double",
            Value::Bool(_) => "Edm.Boolean",
            Value::DateTime(_) => "Edm.DateTime",
            Value::Guid(_) => "Edm.Guid",
            Value::Binary(_) => "Edm.Binary",
        }
    }

    /// The string inside a `Value::String`, if it is one: the common case of
    /// reading a text property without a `match`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int32(v)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int64(v)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Double(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl From<DateTime<Utc>> for Value {
    fn from(v: DateTime<Utc>) -> Self {
        Value::DateTime(v)
    }
}

impl From<Uuid> for Value {
    fn from(v: Uuid) -> Self {
        Value::Guid(v)
    }
}

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Binary(v)
    }
}

/// The name of the partition key system property.
pub const PARTITION_KEY: &str = "PartitionKey";
/// The name of the row key system property.
pub const ROW_KEY: &str = "RowKey";
/// The name of the timestamp system property (set by the store on write).
pub const TIMESTAMP: &str = "Timestamp";

/// One row of a table: its keys, the time the store last wrote it, and its
/// other properties.
///
/// Properties live in a `BTreeMap` so that entities compare and print
/// deterministically, which keeps tests and snapshots stable.
#[derive(Clone, PartialEq, Default)]
pub struct Entity {
    /// The partition key: entities with the same one live together and can
    /// be written in one batch.
    pub partition_key: String,
    /// The row key: unique within a partition.
    pub row_key: String,
    /// When the store last wrote the entity; `None` on entities not yet
    /// written (stores ignore it on write and set their own).
    pub timestamp: Option<DateTime<Utc>>,
    /// The other properties by name. Names must not be one of the system
    /// property names.
    pub properties: BTreeMap<String, Value>,
}

impl Entity {
    /// An entity with the given keys and no properties yet.
    pub fn new(partition_key: impl Into<String>, row_key: impl Into<String>) -> Self {
        Entity {
            partition_key: partition_key.into(),
            row_key: row_key.into(),
            timestamp: None,
            properties: BTreeMap::new(),
        }
    }

    /// Builder-style: the same entity with one more property, to write test
    /// data and demo rows concisely.
    #[must_use]
    pub fn with(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.properties.insert(name.into(), value.into());
        self
    }

    /// The value of a property by name, system properties included, as the
    /// filter language sees it: `PartitionKey` and `RowKey` are strings and
    /// `Timestamp` a date-time (absent until the entity has been written).
    pub fn get(&self, name: &str) -> Option<Value> {
        match name {
            PARTITION_KEY => Some(Value::String(self.partition_key.clone())),
            ROW_KEY => Some(Value::String(self.row_key.clone())),
            TIMESTAMP => self.timestamp.map(Value::DateTime),
            _ => self.properties.get(name).cloned(),
        }
    }

    /// The value of a non-system property as a string slice, if it is a
    /// string.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.properties.get(name).and_then(Value::as_str)
    }
}

impl fmt::Debug for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Entity");
        s.field("partition_key", &self.partition_key)
            .field("row_key", &self.row_key);
        if let Some(ts) = &self.timestamp {
            s.field("timestamp", ts);
        }
        s.field("properties", &self.properties).finish()
    }
}
