//! The rest of the management API's JSON: the check-status links, the durable client binding,
//! purge results, and the names of its query parameters.

use serde::{Deserialize, Serialize};

/// Links to manage one instance, as `create_check_status_response` answers them (the body of a
/// 202 from `POST orchestrators/{name}` and `POST instances/{id}/restart`).
///
/// Every link carries the system key in its `code` parameter: only an operator should see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpManagementPayload {
    /// The instance id.
    pub id: String,
    /// GET: the instance's status.
    pub status_query_get_uri: String,
    /// POST: raise an event (replace `{eventName}`).
    pub send_event_post_uri: String,
    /// POST: terminate (replace `{text}` with a reason).
    pub terminate_post_uri: String,
    /// POST: rewind a failed instance.
    pub rewind_post_uri: String,
    /// DELETE: purge the instance's history.
    pub purge_history_delete_uri: String,
    /// POST: start it again.
    pub restart_post_uri: String,
    /// POST: suspend.
    pub suspend_post_uri: String,
    /// POST: resume.
    pub resume_post_uri: String,
}

/// The URL templates that start an instance, in the durable client binding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreationUrls {
    /// POST `{functionName}` (and optionally `/{instanceId}`) to start an instance.
    pub create_new_instance_post_uri: String,
    /// The same, waiting up to `{timeoutInSeconds}` for the output.
    pub create_and_wait_on_new_instance_post_uri: String,
}

/// The durable client binding (`GET /admin/durabletask/binding`): the JSON that non-Rust
/// durable clients are built from; its text is the `starter` string of the Python client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DurableClientBinding {
    /// The task hub's name.
    pub task_hub_name: String,
    /// The storage connection's name (`Storage`).
    pub connection_name: String,
    /// How to start instances.
    pub creation_urls: CreationUrls,
    /// The management links, with the literal placeholder `INSTANCEID` as the id.
    pub management_urls: HttpManagementPayload,
    /// The management API's base URL.
    pub base_url: String,
    /// The query string every management call needs (`code=…`).
    pub required_query_string_parameters: String,
    /// The base URL of the host's local RPC endpoint, which out-of-process clients send their
    /// calls to without a key (ends in `/`); absent when the endpoint is off or not bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpc_base_url: Option<String>,
}

/// What a purge answers (`DELETE instances/{id}`, `DELETE instances`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PurgeResult {
    /// How many instances were deleted.
    pub instances_deleted: u64,
}

/// The query parameters of the management API. Names are matched ignoring case; booleans are
/// `true`, `True` or `TRUE`; times are ISO 8601.
pub mod query {
    /// Selects the task hub (any route); a host that serves another hub answers 404.
    pub const TASK_HUB: &str = "taskHub";
    /// Names the storage connection (any route); accepted and ignored by durafn.
    pub const CONNECTION: &str = "connection";
    /// A key, when it is not sent in the `x-functions-key` header.
    pub const CODE: &str = "code";

    /// Listings and bulk purge: only instances whose id starts with this.
    pub const INSTANCE_ID_PREFIX: &str = "instanceIdPrefix";
    /// Listings and bulk purge: created at or after (required by bulk purge).
    pub const CREATED_TIME_FROM: &str = "createdTimeFrom";
    /// Listings and bulk purge: created at or before.
    pub const CREATED_TIME_TO: &str = "createdTimeTo";
    /// Listings and bulk purge: comma-separated statuses; may repeat.
    pub const RUNTIME_STATUS: &str = "runtimeStatus";
    /// Listings: the page size (durafn: default 100, at most 1000).
    pub const TOP: &str = "top";
    /// Listings (default false) and status (default true): include inputs.
    pub const SHOW_INPUT: &str = "showInput";

    /// Status: include the history (default false).
    pub const SHOW_HISTORY: &str = "showHistory";
    /// Status: include results and payloads in the history (default false).
    pub const SHOW_HISTORY_OUTPUT: &str = "showHistoryOutput";
    /// Status: answer a failed instance with 500 instead of 200 (default false).
    pub const RETURN_INTERNAL_SERVER_ERROR_ON_FAILURE: &str = "returnInternalServerErrorOnFailure";

    /// Start: with [`POLLING_INTERVAL`], wait up to this many seconds for the output.
    pub const TIMEOUT: &str = "timeout";
    /// Start: with [`TIMEOUT`], wait for the output.
    pub const POLLING_INTERVAL: &str = "pollingInterval";
    /// Terminate, suspend, resume, rewind: why (recorded in history).
    pub const REASON: &str = "reason";
    /// Restart: under a new instance id (default true) or the same one.
    pub const RESTART_WITH_NEW_INSTANCE_ID: &str = "restartWithNewInstanceId";

    /// Entity listings: last operation at or after.
    pub const LAST_OPERATION_TIME_FROM: &str = "lastOperationTimeFrom";
    /// Entity listings: last operation at or before.
    pub const LAST_OPERATION_TIME_TO: &str = "lastOperationTimeTo";
    /// Entity listings: include each entity's state (default false).
    pub const FETCH_STATE: &str = "fetchState";
    /// Entity signal: the operation's name.
    pub const OP: &str = "op";
}
