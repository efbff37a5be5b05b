//! The admin API (master key only): the app's functions, its keys and the host's status, in
//! the shape of the Azure Functions host's admin API.

use serde::{Deserialize, Serialize};

/// One entry of `GET /admin/functions` (and the body of `GET /admin/functions/{name}`): what
/// Azure keeps in a function's `function.json`, generated from the code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionInfo {
    /// The function's name.
    pub name: String,
    /// The language it is written in (`rust` for durafn apps).
    pub language: String,
    /// Whether it is switched off.
    #[serde(default)]
    pub is_disabled: bool,
    /// For HTTP functions: the URL that invokes it, with its route parameters as `{name}`.
    #[serde(
        rename = "invoke_url_template",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub invoke_url_template: Option<String>,
    /// This entry's own URL in the admin API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    /// Its bindings.
    pub config: FunctionConfig,
}

impl FunctionInfo {
    /// The binding that triggers it (the first `…Trigger` binding).
    pub fn trigger(&self) -> Option<&Binding> {
        self.config
            .bindings
            .iter()
            .find(|b| b.binding_type.ends_with("Trigger"))
    }
}

/// A function's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionConfig {
    /// Its bindings: the trigger first, then outputs and inputs such as the durable client.
    pub bindings: Vec<Binding>,
}

/// One binding of a function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Binding {
    /// `httpTrigger`, `orchestrationTrigger`, `activityTrigger`, `entityTrigger`, `http`,
    /// `durableClient`, …
    #[serde(rename = "type")]
    pub binding_type: String,
    /// `in` or `out`.
    pub direction: String,
    /// The parameter's name.
    pub name: String,
    /// HTTP triggers: `anonymous`, `function` or `admin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_level: Option<String>,
    /// HTTP triggers: the methods it answers, lower-case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<String>>,
    /// HTTP triggers: the route template, under the route prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
}

/// A key and its value (`GET`/`POST`/`PUT …/keys/{name}`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    /// The key's name (`default`, `_master`, `durabletask_extension`, …).
    pub name: String,
    /// The secret value.
    pub value: String,
}

impl std::fmt::Debug for Key {
    /// Names only: a value is a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key").field("name", &self.name).finish()
    }
}

/// The keys of one collection (`GET /admin/functions/{name}/keys`,
/// `GET /admin/host/{functionkeys|systemkeys}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyList {
    /// The keys, by name.
    pub keys: Vec<Key>,
}

/// The body of `PUT …/keys/{name}`: the value to set (the name, if given, must match the path).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetKey {
    /// The key's name, if repeated from the path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The value to set.
    pub value: String,
}

impl std::fmt::Debug for SetKey {
    /// The name only: a value is a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetKey").field("name", &self.name).finish()
    }
}

/// `GET /admin/host/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostStatus {
    /// The host's id (unique per process).
    pub id: String,
    /// `Running` or `Stopping`.
    pub state: String,
    /// The host's version.
    pub version: String,
    /// Milliseconds since the process started.
    pub process_uptime: u64,
    /// The task hub it serves.
    pub task_hub_name: String,
    /// `sqlite`, `postgres`, `memory` or `custom`.
    pub storage_provider: String,
    /// How many functions the app has.
    pub function_count: u64,
}
