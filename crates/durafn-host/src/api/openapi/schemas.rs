//! The JSON schemas of every body the host writes (`components.schemas`) and of the bodies it
//! reads. They describe what the handlers serialise (`status_json`, `durable_http`,
//! `management`, `admin`); the schemathesis run of CI checks every response against them.

use serde_json::{Value, json};

fn string() -> Value {
    json!({"type": "string"})
}

fn date_time() -> Value {
    json!({"type": "string", "format": "date-time"})
}

/// Any JSON value (inputs, outputs, custom status, entity state).
fn any() -> Value {
    json!({})
}

fn error() -> Value {
    json!({
        "type": "object",
        "description": "An error: what was wrong, and for bad arguments the detail Durable Functions clients read.",
        "required": ["Message"],
        "properties": {
            "Message": string(),
            "ExceptionMessage": string(),
            "ExceptionType": string(),
        },
    })
}

fn history_event() -> Value {
    json!({
        "type": "object",
        "required": ["EventType", "Timestamp"],
        "properties": {
            "EventType": string(),
            "Timestamp": date_time(),
            "FunctionName": string(),
            "Name": string(),
            "InstanceId": string(),
            "ScheduledTime": date_time(),
            "FireAt": date_time(),
            "OrchestrationStatus": string(),
            "Input": any(),
            "Result": any(),
            "Reason": string(),
            "Details": any(),
            "ErrorType": string(),
            "Version": string(),
            "ParentTraceContext": {
                "type": "object",
                "required": ["TraceParent"],
                "properties": {"TraceParent": string(), "TraceState": string()},
            },
        },
    })
}

fn status() -> Value {
    json!({
        "type": "object",
        "description": "An instance's status; historyEvents only with showHistory, version only when it has one.",
        "required": ["name", "instanceId", "runtimeStatus", "createdTime", "lastUpdatedTime"],
        "properties": {
            "name": string(),
            "instanceId": string(),
            "runtimeStatus": {
                "type": "string",
                "enum": ["Pending", "Running", "Completed", "ContinuedAsNew", "Failed", "Terminated", "Suspended"],
            },
            "input": any(),
            "customStatus": any(),
            "output": any(),
            "createdTime": date_time(),
            "lastUpdatedTime": date_time(),
            "version": string(),
            "historyEvents": {"type": "array", "items": {"$ref": "#/components/schemas/HistoryEvent"}},
        },
    })
}

const CHECK_STATUS_URIS: [&str; 8] = [
    "statusQueryGetUri",
    "sendEventPostUri",
    "terminatePostUri",
    "rewindPostUri",
    "purgeHistoryDeleteUri",
    "restartPostUri",
    "suspendPostUri",
    "resumePostUri",
];

fn check_status() -> Value {
    let mut properties = serde_json::Map::new();
    properties.insert("id".into(), string());
    let mut required = vec![Value::from("id")];
    for name in CHECK_STATUS_URIS {
        properties.insert(name.into(), string());
        required.push(Value::from(name));
    }
    json!({
        "type": "object",
        "description": "The check-status payload: the management URLs of one instance (they carry the system key).",
        "required": required,
        "properties": properties,
    })
}

fn entity() -> Value {
    json!({
        "type": "object",
        "required": ["entityId", "lastOperationTime"],
        "properties": {
            "entityId": {
                "type": "object",
                "required": ["name", "key"],
                "properties": {"name": string(), "key": string()},
            },
            "lastOperationTime": date_time(),
            "state": any(),
        },
    })
}

fn key() -> Value {
    json!({
        "type": "object",
        "required": ["name", "value"],
        "properties": {"name": string(), "value": string()},
    })
}

fn function() -> Value {
    json!({
        "type": "object",
        "description": "A function and its bindings, as function.json describes them.",
        "required": ["name", "language", "isDisabled", "href", "config"],
        "properties": {
            "name": string(),
            "language": string(),
            "isDisabled": {"type": "boolean"},
            "href": string(),
            "invoke_url_template": string(),
            "config": {
                "type": "object",
                "required": ["bindings"],
                "properties": {"bindings": {"type": "array", "items": {
                    "type": "object",
                    "required": ["type", "direction", "name"],
                    "properties": {"type": string(), "direction": string(), "name": string()},
                }}},
            },
        },
    })
}

fn host_status() -> Value {
    json!({
        "type": "object",
        "required": ["id", "state", "version", "processUptime", "taskHubName", "storageProvider", "functionCount"],
        "properties": {
            "id": string(),
            "state": {"type": "string", "enum": ["Running", "Stopping"]},
            "version": string(),
            "processUptime": {"type": "integer", "minimum": 0},
            "taskHubName": string(),
            "storageProvider": string(),
            "functionCount": {"type": "integer", "minimum": 0},
        },
    })
}

fn binding() -> Value {
    json!({
        "type": "object",
        "description": "The durable client binding: what other languages' clients are built from. rpcBaseUrl is left out when the local RPC endpoint is switched off.",
        "required": ["taskHubName", "connectionName", "creationUrls", "managementUrls", "baseUrl", "requiredQueryStringParameters"],
        "properties": {
            "taskHubName": string(),
            "connectionName": string(),
            "creationUrls": {
                "type": "object",
                "required": ["createNewInstancePostUri", "createAndWaitOnNewInstancePostUri"],
                "properties": {
                    "createNewInstancePostUri": string(),
                    "createAndWaitOnNewInstancePostUri": string(),
                },
            },
            "managementUrls": {"$ref": "#/components/schemas/CheckStatus"},
            "baseUrl": string(),
            "requiredQueryStringParameters": string(),
            "rpcBaseUrl": {"type": "string", "pattern": "/$"},
        },
    })
}

/// Every schema, by name.
pub(super) fn all() -> Value {
    let count =
        |description: &str| json!({"type": "integer", "minimum": 0, "description": description});
    json!({
        "Error": error(),
        "HistoryEvent": history_event(),
        "Status": status(),
        "StatusList": {"type": "array", "items": {"$ref": "#/components/schemas/Status"}},
        "CheckStatus": check_status(),
        "Purged": {
            "type": "object",
            "required": ["instancesDeleted"],
            "properties": {"instancesDeleted": {"type": "integer", "minimum": 1}},
        },
        "Entity": entity(),
        "EntityList": {"type": "array", "items": {"$ref": "#/components/schemas/Entity"}},
        "Cleaned": {
            "type": "object",
            "required": ["emptyEntitiesRemoved", "orphanedLocksReleased"],
            "properties": {
                "emptyEntitiesRemoved": count("Entities without state whose records were removed."),
                "orphanedLocksReleased": count("Locks held by finished orchestrations that were released."),
            },
        },
        "Key": key(),
        "Keys": {
            "type": "object",
            "required": ["keys"],
            "properties": {"keys": {"type": "array", "items": {"$ref": "#/components/schemas/Key"}}},
        },
        "Function": function(),
        "Functions": {"type": "array", "items": {"$ref": "#/components/schemas/Function"}},
        "HostStatus": host_status(),
        "Binding": binding(),
        "Health": {
            "type": "object",
            "required": ["status"],
            "properties": {
                "status": {"type": "string", "enum": ["Healthy", "Unhealthy"]},
                "reason": string(),
            },
        },
        "InstanceCounts": super::inspect_schemas::counts(),
        "Diagnosis": super::inspect_schemas::diagnosis(),
        "HubHealth": super::inspect_schemas::health(),
        "ReplayCheckPage": super::inspect_schemas::replay_check(),
        "OpenApi": {
            "type": "object",
            "required": ["openapi", "info", "paths"],
            "properties": {"openapi": string(), "info": {"type": "object"}, "paths": {"type": "object"}},
        },
    })
}

/// The schema of a request body: the key routes take `{"value": …}`; the others any JSON.
pub(super) fn request_body(path: &str, media: &str) -> Value {
    if path.starts_with("/admin/") {
        json!({
            "type": "object",
            "required": ["value"],
            "properties": {"name": string(), "value": string()},
        })
    } else if media == "application/json" {
        any()
    } else {
        json!({"type": "string"})
    }
}
