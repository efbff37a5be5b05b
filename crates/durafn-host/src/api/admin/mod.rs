//! The admin API (master key): functions and their bindings, host status, keys, and the durable
//! client binding; plus the anonymous health check.

pub(crate) mod routes;

use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::app::state::HostState;
use crate::error::{ApiError, json_response};
use crate::functions::request::Call;
use crate::keys::{DURABLE_SYSTEM_KEY, KeyScope, MASTER_KEY_NAME, validate_name, validate_value};

type Answer = Result<Response, ApiError>;

/// The recorded schedule of each timer function (by name), read from the task hub.
async fn timer_statuses(s: &HostState) -> Vec<Option<crate::timers::ScheduleStatus>> {
    let mut out = Vec::new();
    for t in &s.timer_triggers {
        let status = crate::timers::schedule::recorded_status(&s.client, &t.name).await;
        out.push(status.map(|(_, st)| st));
    }
    out
}

/// The function.json of every function, generated from the code.
fn function_json(
    s: &HostState,
    origin: &str,
    timers: &[Option<crate::timers::ScheduleStatus>],
) -> Vec<Value> {
    let mut out = Vec::new();
    for f in &s.functions {
        let route = f.trigger.route.clone().unwrap_or_else(|| f.name.clone());
        let methods: Vec<String> = f
            .methods
            .iter()
            .map(|m| m.as_str().to_ascii_lowercase())
            .collect();
        let invoke = match s.route_prefix.as_str() {
            "" => format!("{origin}/{}", route.trim_matches('/')),
            p => format!("{origin}/{p}/{}", route.trim_matches('/')),
        };
        out.push(json!({
            "name": f.name,
            "language": "rust",
            "isDisabled": false,
            "invoke_url_template": invoke,
            "href": format!("{origin}/admin/functions/{}", f.name),
            "config": {"bindings": [
                {"type": "httpTrigger", "direction": "in", "name": "req",
                 "authLevel": f.trigger.auth_level.as_str(), "methods": methods, "route": route},
                {"type": "http", "direction": "out", "name": "$return"},
                {"type": "durableClient", "direction": "in", "name": "starter"},
            ]},
        }));
    }
    for q in &s.queue_triggers {
        let connection = if q.connection.is_empty() {
            crate::queues::DEFAULT_CONNECTION
        } else {
            q.connection.as_str()
        };
        out.push(json!({
            "name": q.name, "language": "rust", "isDisabled": false,
            "href": format!("{origin}/admin/functions/{}", q.name),
            "config": {"bindings": [
                {"type": "queueTrigger", "direction": "in", "name": "item",
                 "queueName": q.queue, "connection": connection},
                {"type": "durableClient", "direction": "in", "name": "starter"},
            ]},
        }));
    }
    for (t, status) in s.timer_triggers.iter().zip(timers) {
        let status = status.unwrap_or_default();
        out.push(json!({
            "name": t.name, "language": "rust", "isDisabled": false,
            "href": format!("{origin}/admin/functions/{}", t.name),
            "config": {"bindings": [
                {"type": "timerTrigger", "direction": "in", "name": "timer",
                 "schedule": t.schedule, "runOnStartup": t.run_on_startup,
                 "useMonitor": t.use_monitor},
                {"type": "durableClient", "direction": "in", "name": "starter"},
            ]},
            "schedule": {
                "timeZone": t.zone,
                "last": status.last, "next": status.next, "lastUpdated": status.last_updated,
                "instanceId": crate::timers::schedule_instance_id(&t.name),
            },
        }));
    }
    for name in crate::app::state::user_names(s.registry.orchestrator_names()) {
        out.push(json!({
            "name": name, "language": "rust", "isDisabled": false,
            "href": format!("{origin}/admin/functions/{name}"),
            "config": {"bindings": [
                {"type": "orchestrationTrigger", "direction": "in", "name": "context"},
            ]},
        }));
    }
    for name in s.registry.entity_names() {
        out.push(json!({
            "name": name, "language": "rust", "isDisabled": false,
            "href": format!("{origin}/admin/functions/{name}"),
            "config": {"bindings": [
                {"type": "entityTrigger", "direction": "in", "name": "context"},
            ]},
        }));
    }
    for name in crate::app::state::user_names(s.registry.activity_names()) {
        out.push(json!({
            "name": name, "language": "rust", "isDisabled": false,
            "href": format!("{origin}/admin/functions/{name}"),
            "config": {"bindings": [
                {"type": "activityTrigger", "direction": "in", "name": "input"},
            ]},
        }));
    }
    out
}

/// GET `/admin/functions`.
pub(crate) async fn functions(s: HostState, call: Call) -> Answer {
    let origin = s.origin_of(&call.headers);
    let timers = timer_statuses(&s).await;
    Ok(json_response(
        StatusCode::OK,
        &function_json(&s, &origin, &timers),
    ))
}

/// GET `/admin/functions/{name}`.
pub(crate) async fn function(s: HostState, call: Call) -> Answer {
    let origin = s.origin_of(&call.headers);
    let name = call.param("name");
    let timers = timer_statuses(&s).await;
    function_json(&s, &origin, &timers)
        .into_iter()
        .find(|f| {
            f["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .map(|f| json_response(StatusCode::OK, &f))
        .ok_or_else(|| ApiError::not_found(format!("There is no function named {name:?}.")))
}

/// GET `/admin/host/status`.
pub(crate) async fn host_status(s: HostState, _: Call) -> Answer {
    let state = if s.is_stopping() {
        "Stopping"
    } else {
        "Running"
    };
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "id": s.host_id,
            "state": state,
            "version": env!("CARGO_PKG_VERSION"),
            "processUptime": u64::try_from(s.started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "taskHubName": &*s.hub,
            "storageProvider": s.storage,
            "functionCount": s.functions.len()
                + s.queue_triggers.len()
                + s.timer_triggers.len()
                + crate::app::state::user_names(s.registry.orchestrator_names()).len()
                + crate::app::state::user_names(s.registry.activity_names()).len(),
        }),
    ))
}

/// GET `/healthz`: 200 while the host runs and its task hub answers, 503 otherwise.
pub(crate) async fn health(s: HostState, _: Call) -> Answer {
    if s.is_stopping() {
        return Ok(json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({"status": "Unhealthy", "reason": "the host is stopping"}),
        ));
    }
    let now = chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now());
    match s.client.store().next_visible_at(now).await {
        Ok(_) => Ok(json_response(StatusCode::OK, &json!({"status": "Healthy"}))),
        Err(e) => {
            tracing::warn!(error = %e, "health check: the task hub did not answer");
            Ok(json_response(
                StatusCode::SERVICE_UNAVAILABLE,
                &json!({"status": "Unhealthy", "reason": "the task hub did not answer"}),
            ))
        }
    }
}

/// GET `/admin/durabletask/binding`: what non-Rust durable clients are built from (its JSON
/// text is the `starter` string of the Python client).
pub(crate) async fn binding(s: HostState, call: Call) -> Answer {
    let urls = s.urls(s.origin_of(&call.headers));
    // Out-of-process clients send everything to rpcBaseUrl, without a key; without the local
    // RPC endpoint the field is left out and they fall back to the URLs with the key (or, the
    // Python client, refuse to work).
    let binding = crate::functions::durable_http::binding_json(&s.hub, &urls, s.rpc_base());
    Ok(json_response(StatusCode::OK, &binding))
}

#[derive(Serialize)]
struct KeyJson {
    name: String,
    value: String,
}

#[derive(Serialize)]
struct KeysJson {
    keys: Vec<KeyJson>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetKey {
    #[serde(default)]
    name: Option<String>,
    value: String,
}

/// The function a key path names, by its registered spelling.
fn function_scope(s: &HostState, name: &str) -> Result<KeyScope, ApiError> {
    s.functions
        .iter()
        .find(|f| f.name.eq_ignore_ascii_case(name))
        .map(|f| KeyScope::Function(f.name.clone()))
        .ok_or_else(|| ApiError::not_found(format!("There is no HTTP function named {name:?}.")))
}

/// The scope of `/admin/host/{kind}`: `keys` and `functionkeys` are host keys.
fn host_scope(call: &Call) -> Result<KeyScope, ApiError> {
    let kind = call.param("keyKind");
    if kind.eq_ignore_ascii_case("keys") || kind.eq_ignore_ascii_case("functionkeys") {
        Ok(KeyScope::Host)
    } else if kind.eq_ignore_ascii_case("systemkeys") {
        Ok(KeyScope::System)
    } else {
        Err(ApiError::not_found(format!(
            "Unknown key collection {kind:?} (expected functionkeys or systemkeys)."
        )))
    }
}

fn key_failure(e: crate::keys::KeyError) -> ApiError {
    tracing::error!(error = %e, "the keys file could not be updated");
    ApiError::internal()
}

fn list_of(s: &HostState, scope: &KeyScope) -> Response {
    let keys = s
        .keys
        .list(scope)
        .into_iter()
        .map(|(name, value)| KeyJson { name, value })
        .collect();
    json_response(StatusCode::OK, &KeysJson { keys })
}

fn get_one(s: &HostState, scope: &KeyScope, name: &str) -> Answer {
    s.keys
        .get(scope, name)
        .map(|value| {
            json_response(
                StatusCode::OK,
                &KeyJson {
                    name: name.to_string(),
                    value,
                },
            )
        })
        .ok_or_else(|| ApiError::not_found(format!("There is no key named {name:?}.")))
}

/// POST generates a value; PUT sets the one in `{"value": …}`. 201 for a new key, 200 for a
/// replaced one.
fn set_one(s: &HostState, scope: &KeyScope, name: &str, call: &Call, generate: bool) -> Answer {
    validate_name(name).map_err(ApiError::bad_request)?;
    let injected_system = *scope == KeyScope::System
        && name == DURABLE_SYSTEM_KEY
        && s.settings.get("DURAFN_SYSTEM_KEY").is_some();
    let injected_master = name == MASTER_KEY_NAME && s.settings.get("DURAFN_MASTER_KEY").is_some();
    if injected_system || injected_master {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "This key is set by an app setting; change the setting instead.",
        ));
    }
    if name == MASTER_KEY_NAME && *scope != KeyScope::Host {
        return Err(ApiError::bad_request("_master is a host key."));
    }
    let value = if generate {
        None
    } else {
        let body: SetKey = serde_json::from_slice(&call.body).map_err(|e| {
            ApiError::bad_request(format!("The body must be {{\"value\": \"...\"}}: {e}."))
        })?;
        if body.name.as_deref().is_some_and(|n| n != name) {
            return Err(ApiError::bad_request(
                "The key name in the body differs from the one in the path.",
            ));
        }
        validate_value(&body.value).map_err(ApiError::bad_request)?;
        Some(body.value)
    };
    let (value, created) = s.keys.set(scope, name, value).map_err(key_failure)?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json_response(
        status,
        &KeyJson {
            name: name.to_string(),
            value,
        },
    ))
}

fn delete_one(s: &HostState, scope: &KeyScope, name: &str) -> Answer {
    if name == MASTER_KEY_NAME {
        return Err(ApiError::bad_request("The master key cannot be deleted."));
    }
    if *scope == KeyScope::System && name == DURABLE_SYSTEM_KEY {
        return Err(ApiError::bad_request(
            "The durabletask_extension system key cannot be deleted; regenerate it instead.",
        ));
    }
    match s.keys.delete(scope, name).map_err(key_failure)? {
        true => Ok(crate::error::empty(StatusCode::NO_CONTENT)),
        false => Err(ApiError::not_found(format!(
            "There is no key named {name:?}."
        ))),
    }
}

/// GET `/admin/functions/{name}/keys`.
pub(crate) async fn function_keys(s: HostState, call: Call) -> Answer {
    let scope = function_scope(&s, call.param("name"))?;
    Ok(list_of(&s, &scope))
}

/// GET `/admin/functions/{name}/keys/{keyName}`.
pub(crate) async fn function_key(s: HostState, call: Call) -> Answer {
    let scope = function_scope(&s, call.param("name"))?;
    get_one(&s, &scope, call.param("keyName"))
}

/// POST `/admin/functions/{name}/keys/{keyName}`.
pub(crate) async fn generate_function_key(s: HostState, call: Call) -> Answer {
    let scope = function_scope(&s, call.param("name"))?;
    set_one(&s, &scope, call.param("keyName"), &call, true)
}

/// PUT `/admin/functions/{name}/keys/{keyName}`.
pub(crate) async fn put_function_key(s: HostState, call: Call) -> Answer {
    let scope = function_scope(&s, call.param("name"))?;
    set_one(&s, &scope, call.param("keyName"), &call, false)
}

/// DELETE `/admin/functions/{name}/keys/{keyName}`.
pub(crate) async fn delete_function_key(s: HostState, call: Call) -> Answer {
    let scope = function_scope(&s, call.param("name"))?;
    delete_one(&s, &scope, call.param("keyName"))
}

/// GET `/admin/host/{keyKind}`.
pub(crate) async fn host_keys(s: HostState, call: Call) -> Answer {
    Ok(list_of(&s, &host_scope(&call)?))
}

/// GET `/admin/host/{keyKind}/{keyName}`.
pub(crate) async fn host_key(s: HostState, call: Call) -> Answer {
    get_one(&s, &host_scope(&call)?, call.param("keyName"))
}

/// POST `/admin/host/{keyKind}/{keyName}`.
pub(crate) async fn generate_host_key(s: HostState, call: Call) -> Answer {
    set_one(&s, &host_scope(&call)?, call.param("keyName"), &call, true)
}

/// PUT `/admin/host/{keyKind}/{keyName}`.
pub(crate) async fn put_host_key(s: HostState, call: Call) -> Answer {
    set_one(&s, &host_scope(&call)?, call.param("keyName"), &call, false)
}

/// DELETE `/admin/host/{keyKind}/{keyName}`.
pub(crate) async fn delete_host_key(s: HostState, call: Call) -> Answer {
    delete_one(&s, &host_scope(&call)?, call.param("keyName"))
}
