//! Entities as the management API lists them (`GET entities/{name?}`). An entity's state
//! (`GET entities/{name}/{key}`) is its JSON as stored, with no wrapper.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// An entity's address: its entity function's name and a key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EntityId {
    /// The entity function's name (durafn keeps it lower-case, as Durable Functions does).
    pub name: String,
    /// The key within that function.
    pub key: String,
}

impl std::fmt::Display for EntityId {
    /// The Durable Functions spelling, `@name@key`, which is also the entity's instance id.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "@{}@{}", self.name, self.key)
    }
}

/// One entry of an entity listing.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityEntry {
    /// Which entity.
    pub entity_id: EntityId,
    /// When its last operation ran.
    #[serde(with = "crate::time")]
    pub last_operation_time: DateTime<Utc>,
    /// Its state, with `fetchState=true` (absent otherwise, and for entities that hold none).
    #[serde(
        default,
        deserialize_with = "crate::raw::deserialize",
        skip_serializing_if = "Option::is_none"
    )]
    pub state: Option<Box<RawValue>>,
}
