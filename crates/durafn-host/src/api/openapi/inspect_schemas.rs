//! The schemas of durafn's operator extensions (`durafn_api::inspect`): counts per status, an
//! instance's diagnosis, the task hub's health.

use serde_json::{Value, json};

fn count() -> Value {
    json!({"type": "integer", "minimum": 0})
}

fn time() -> Value {
    json!({"type": "string", "format": "date-time"})
}

fn by_status() -> Value {
    json!({"type": "object", "additionalProperties": count()})
}

fn lease() -> Value {
    json!({
        "type": "object",
        "required": ["owner", "until"],
        "properties": {"owner": {"type": "string"}, "until": time()},
    })
}

pub(super) fn counts() -> Value {
    json!({
        "type": "object",
        "required": ["total", "counts"],
        "properties": {"total": count(), "counts": by_status()},
    })
}

pub(super) fn diagnosis() -> Value {
    json!({
        "type": "object",
        "required": ["instanceId", "runtimeStatus", "messages", "activities", "awaitedEvents", "findings"],
        "properties": {
            "instanceId": {"type": "string"},
            "runtimeStatus": {"type": "string"},
            "lease": lease(),
            "messages": {"type": "array", "items": {
                "type": "object",
                "required": ["id", "eventType", "sentTime", "deliveries"],
                "properties": {
                    "id": {"type": "integer"}, "eventType": {"type": "string"}, "sentTime": time(),
                    "visibleTime": time(), "deliveries": count(),
                },
            }},
            "activities": {"type": "array", "items": {
                "type": "object",
                "required": ["id", "name", "taskId", "deliveries"],
                "properties": {
                    "id": {"type": "integer"}, "name": {"type": "string"}, "taskId": {"type": "integer"},
                    "visibleTime": time(), "lease": lease(), "deliveries": count(),
                },
            }},
            "awaitedEvents": {"type": "array", "items": {"type": "string"}},
            "maxDeliveries": count(),
            "findings": {"type": "array", "items": {
                "type": "object",
                "required": ["kind", "message"],
                "properties": {"kind": {"type": "string"}, "message": {"type": "string"}},
            }},
        },
    })
}

pub(super) fn health() -> Value {
    let queue = json!({
        "type": "object",
        "required": ["ready", "scheduled", "leased"],
        "properties": {
            "ready": count(), "scheduled": count(), "leased": count(), "oldestReadyTime": time(),
        },
    });
    json!({
        "type": "object",
        "required": ["time", "counts", "orchestrations", "activities", "hosts"],
        "properties": {
            "time": time(),
            "counts": by_status(),
            "orchestrations": queue,
            "activities": queue,
            "hosts": {"type": "array", "items": {
                "type": "object",
                "required": ["owner", "instances", "activities", "expired"],
                "properties": {
                    "owner": {"type": "string"}, "instances": count(), "activities": count(),
                    "expired": count(), "latestLeaseUntil": time(),
                },
            }},
        },
    })
}

pub(super) fn replay_check() -> Value {
    let text = json!({"type": "string"});
    json!({
        "type": "object",
        "required": ["checked", "ok", "groups", "failures"],
        "properties": {
            "checked": count(),
            "ok": count(),
            "groups": {"type": "array", "items": {
                "type": "object",
                "required": ["name", "version", "ok", "failed"],
                "properties": {"name": text, "version": text, "ok": count(), "failed": count()},
            }},
            "failures": {"type": "array", "items": {
                "type": "object",
                "required": ["instanceId", "name", "eventId", "message"],
                "properties": {
                    "instanceId": text, "name": text, "version": text,
                    "historyIndex": count(), "eventId": {"type": "integer"},
                    "recorded": text, "issued": text, "location": text, "message": text,
                },
            }},
            "continuationToken": text,
        },
    })
}
