//! The Durable Functions management API under `/runtime/webhooks/durabletask`.
//!
//! Status codes, headers and bodies follow the Durable Functions extension, so its clients
//! (and scripts written against it) work unchanged. Where the extension answers an unknown or
//! finished instance with an empty 404 or 410, so does this API. Entities (instances whose ids
//! start with `@`) have their own routes and are left out of instance listings.

pub(crate) mod routes;

use std::time::Duration;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use durafn_core::{InstanceId, RuntimeStatus, TraceContext};
use durafn_runtime::{ClientError, StartOptions, StatusOptions};
use durafn_store::InstanceFilter;
use serde::Serialize;

use crate::api::status_json::StatusJson;
use crate::app::state::HostState;
use crate::error::{ApiError, empty, json_response};
use crate::functions::durable_http::{check_status_response, finished_response};
use crate::functions::request::Call;

/// The default page size of instance listings; `top` may ask for up to [`MAX_PAGE`].
pub const DEFAULT_PAGE: usize = 100;
/// The largest page of an instance listing.
pub const MAX_PAGE: usize = 1000;

/// The longest wait a start request may ask for with `timeout`, in seconds (longer ones are
/// cut to this).
pub const MAX_WAIT_SECS: u64 = 3600;

/// The continuation header of listings.
pub const CONTINUATION_HEADER: &str = "x-ms-continuation-token";

type Answer = Result<Response, ApiError>;

/// Refuses a `taskHub` other than this host's (hub names ignore case, as in Azure Storage)
/// with 404 and a message.
pub(crate) fn check_hub(s: &HostState, call: &Call) -> Result<(), ApiError> {
    match call.query.get("taskHub") {
        Some(h) if !h.is_empty() && !h.eq_ignore_ascii_case(&s.hub) => Err(ApiError::not_found(
            format!("The task hub {h:?} is not served by this host."),
        )),
        _ => Ok(()),
    }
}

/// [`check_hub`] for the routes whose 404 ("no such instance") has no body, as in Durable
/// Functions: another task hub is then an empty 404 too, so each status code of a route has one
/// shape.
fn check_hub_bodiless(s: &HostState, call: &Call) -> Result<(), ApiError> {
    check_hub(s, call).map_err(|e| ApiError::bodiless(StatusCode::NOT_FOUND, e.message()))
}

pub(crate) fn instance_id(call: &Call) -> Result<InstanceId, ApiError> {
    InstanceId::parse(call.param("instanceId"))
        .map_err(|e| ApiError::bad_request(format!("Invalid instance id: {e}.")))
}

/// Answers an operation on one instance that did not succeed: an unknown instance is an empty
/// 404 and a finished one an empty 410, as in Durable Functions; the rest are explained.
fn op_error(e: ClientError) -> Response {
    match e {
        ClientError::NotFound(_) => empty(StatusCode::NOT_FOUND),
        ClientError::Finished { .. } => empty(StatusCode::GONE),
        other => ApiError::from_client(other).into_response(),
    }
}

fn http(r: crate::functions::request::HttpResponse) -> Response {
    r.into_response()
}

/// The W3C trace context of a request (`traceparent`, `tracestate`); a `traceparent` that is
/// not of the W3C form is ignored, as the recommendation says.
pub(crate) fn trace_context(call: &Call) -> Option<TraceContext> {
    let header = |name: &str| {
        call.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let parent = header("traceparent")?;
    let parts: Vec<&str> = parent.split('-').collect();
    let hex = |p: &str, len: usize| p.len() == len && p.bytes().all(|b| b.is_ascii_hexdigit());
    let valid = parts.len() >= 4
        && hex(parts[0], 2)
        && parts[0] != "ff"
        && hex(parts[1], 32)
        && hex(parts[2], 16)
        && hex(parts[3], 2)
        && parts[1].bytes().any(|b| b != b'0')
        && parts[2].bytes().any(|b| b != b'0');
    if !valid {
        tracing::debug!(
            traceparent = parent,
            "ignored a traceparent header that is not W3C trace context"
        );
        return None;
    }
    Some(TraceContext {
        trace_parent: parent.to_string(),
        trace_state: header("tracestate").map(str::to_string),
        span_id: None,
        span_start_time: None,
    })
}

/// POST `orchestrators/{functionName}[/{instanceId}]`: `?version=` sets the instance's version
/// and the `traceparent`/`tracestate` headers are kept with it.
pub(crate) async fn start(s: HostState, call: Call) -> Answer {
    check_hub(&s, &call)?;
    let name = call.param("functionName").to_string();
    let id = match call.param("instanceId") {
        "" => None,
        raw => Some(InstanceId::parse(raw).map_err(|e| ApiError::bad_argument(e.to_string()))?),
    };
    let input = call.json_payload()?;
    let timeout = call.query.number("timeout")?;
    let polling = call.query.number("pollingInterval")?;
    if let (Some(t), Some(p)) = (timeout, polling)
        && p > t
    {
        return Err(ApiError::bad_argument(format!(
            "Total timeout {t} should be bigger than retry timeout {p}"
        )));
    }
    let options = StartOptions {
        instance_id: id,
        version: call
            .query
            .get("version")
            .filter(|v| !v.is_empty())
            .map(str::to_string),
        trace_context: trace_context(&call),
    };
    let id = s
        .client
        .start_payload_with(&name, input, options)
        .await
        .map_err(ApiError::from_client)?;
    let origin = s.links_origin(&call);
    if let (Some(timeout), Some(_)) = (timeout, polling) {
        match s
            .client
            .wait_for_completion(id.as_str(), Duration::from_secs(timeout.min(MAX_WAIT_SECS)))
            .await
        {
            Ok(status) => return Ok(http(finished_response(&status, true))),
            Err(ClientError::Timeout(_)) => {}
            Err(e) => return Err(ApiError::from_client(e)),
        }
    }
    Ok(http(check_status_response(&s.urls(origin), id.as_str())))
}

/// Parses a time filter: RFC 3339, a date and time without zone (UTC), or a date.
fn parse_time(name: &str, value: &str) -> Result<DateTime<Utc>, ApiError> {
    let v = value.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S%.f") {
        return Ok(t.and_utc());
    }
    if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d")
        && let Some(t) = d.and_hms_opt(0, 0, 0)
    {
        return Ok(t.and_utc());
    }
    Err(ApiError::bad_request(format!(
        "The query parameter {name} is not an ISO 8601 date and time: {value:?}."
    )))
}

pub(crate) fn filter_of(call: &Call) -> Result<InstanceFilter, ApiError> {
    let mut filter = InstanceFilter::default();
    if let Some(v) = call.query.get("createdTimeFrom").filter(|v| !v.is_empty()) {
        filter.created_from = Some(parse_time("createdTimeFrom", v)?);
    }
    if let Some(v) = call.query.get("createdTimeTo").filter(|v| !v.is_empty()) {
        filter.created_to = Some(parse_time("createdTimeTo", v)?);
    }
    for csv in call.query.all("runtimeStatus") {
        for part in csv.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let status = RuntimeStatus::parse(part).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "Unknown runtimeStatus {part:?} (expected Pending, Running, Completed, ContinuedAsNew, Failed, Terminated or Suspended)."
                ))
            })?;
            if !filter.statuses.contains(&status) {
                filter.statuses.push(status);
            }
        }
    }
    if let Some(p) = call.query.get("instanceIdPrefix").filter(|p| !p.is_empty()) {
        filter.instance_id_prefix = Some(p.to_string());
    }
    // A durafn extension: the instances of one version (`version=` alone: those without one).
    if let Some(v) = call.query.get("version") {
        filter.version = Some(v.to_string());
    }
    Ok(filter)
}

/// GET `instances`: one page of status objects.
pub(crate) async fn list(s: HostState, call: Call) -> Answer {
    check_hub(&s, &call)?;
    let filter = filter_of(&call)?;
    let show_input = call.query.bool("showInput", true)?;
    let (top, token) = page_request(&call)?;
    let page = s
        .client
        .list(&filter, top, token)
        .await
        .map_err(ApiError::from_client)?;
    let body: Vec<StatusJson<'_>> = page
        .instances
        .iter()
        .filter(|r| !r.instance_id.as_str().starts_with('@'))
        .map(|r| StatusJson::from_record(r, show_input))
        .collect();
    Ok(page_response(&body, page.continuation))
}

/// The page size (`top`) and the continuation token of a listing request.
fn page_request(call: &Call) -> Result<(usize, Option<&str>), ApiError> {
    let top = match call.query.number("top")? {
        None => DEFAULT_PAGE,
        Some(0) => {
            return Err(ApiError::bad_request(
                "The query parameter top must be at least 1.",
            ));
        }
        Some(n) => usize::try_from(n).unwrap_or(MAX_PAGE).min(MAX_PAGE),
    };
    let token = call
        .headers
        .get(CONTINUATION_HEADER)
        .map(|v| {
            v.to_str()
                .map_err(|_| ApiError::bad_request("The continuation token is not valid."))
        })
        .transpose()?
        .filter(|t| !t.is_empty());
    Ok((top, token))
}

/// A 200 listing, with the continuation header when more pages exist.
fn page_response(body: &impl Serialize, continuation: Option<String>) -> Response {
    let mut response = json_response(StatusCode::OK, body);
    if let Some(next) = continuation
        && let Ok(v) = next.parse()
    {
        response.headers_mut().insert(CONTINUATION_HEADER, v);
    }
    response
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Purged {
    instances_deleted: u64,
}

/// DELETE `instances`: purge finished instances by filter; `createdTimeFrom` is required.
pub(crate) async fn purge_many(s: HostState, call: Call) -> Answer {
    check_hub_bodiless(&s, &call)?;
    if call.query.get("createdTimeFrom").is_none_or(str::is_empty) {
        return Err(ApiError::bad_request(
            "The query parameter createdTimeFrom is required to purge instances.",
        ));
    }
    let filter = filter_of(&call)?;
    let n = s
        .client
        .purge_where(&filter)
        .await
        .map_err(ApiError::from_client)?;
    if n == 0 {
        return Ok(empty(StatusCode::NOT_FOUND));
    }
    Ok(json_response(
        StatusCode::OK,
        &Purged {
            instances_deleted: n,
        },
    ))
}

/// GET `instances/{instanceId}`.
pub(crate) async fn status(s: HostState, call: Call) -> Answer {
    check_hub_bodiless(&s, &call)?;
    let id = instance_id(&call)?;
    let show_history = call.query.bool("showHistory", false)?;
    let show_history_output = call.query.bool("showHistoryOutput", false)?;
    let show_input = call.query.bool("showInput", true)?;
    let fail_500 = call
        .query
        .bool("returnInternalServerErrorOnFailure", false)?;
    let options = StatusOptions {
        show_history,
        show_input,
    };
    let Some(status) = s
        .client
        .get_status(id.as_str(), options)
        .await
        .map_err(ApiError::from_client)?
    else {
        return Ok(empty(StatusCode::NOT_FOUND));
    };
    let code = match status.runtime_status {
        RuntimeStatus::Pending
        | RuntimeStatus::Running
        | RuntimeStatus::ContinuedAsNew
        | RuntimeStatus::Suspended => StatusCode::ACCEPTED,
        RuntimeStatus::Failed if fail_500 => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::OK,
    };
    let mut response = json_response(code, &StatusJson::from_status(&status, show_history_output));
    if code == StatusCode::ACCEPTED {
        let origin = s.origin_of(&call.headers);
        let location = format!(
            "{origin}{}",
            call.uri.path_and_query().map(|p| p.as_str()).unwrap_or("")
        );
        if let Ok(v) = location.parse() {
            response.headers_mut().insert(header::LOCATION, v);
        }
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
    }
    Ok(response)
}

/// DELETE `instances/{instanceId}`.
pub(crate) async fn purge_one(s: HostState, call: Call) -> Answer {
    check_hub_bodiless(&s, &call)?;
    let id = instance_id(&call)?;
    match s.client.purge(id.as_str()).await {
        Ok(true) => Ok(json_response(
            StatusCode::OK,
            &Purged {
                instances_deleted: 1,
            },
        )),
        Ok(false) => Ok(empty(StatusCode::NOT_FOUND)),
        Err(e) => Err(ApiError::from_client(e)),
    }
}

fn reason(call: &Call) -> Option<&str> {
    call.query.get("reason")
}

/// POST `instances/{instanceId}/terminate`.
pub(crate) async fn terminate(s: HostState, call: Call) -> Answer {
    check_hub_bodiless(&s, &call)?;
    let id = instance_id(&call)?;
    Ok(
        match s
            .client
            .terminate(id.as_str(), reason(&call).unwrap_or(""))
            .await
        {
            Ok(()) => empty(StatusCode::ACCEPTED),
            Err(e) => op_error(e),
        },
    )
}

/// POST `instances/{instanceId}/suspend`.
pub(crate) async fn suspend(s: HostState, call: Call) -> Answer {
    check_hub_bodiless(&s, &call)?;
    let id = instance_id(&call)?;
    Ok(match s.client.suspend(id.as_str(), reason(&call)).await {
        Ok(()) => empty(StatusCode::ACCEPTED),
        Err(e) => op_error(e),
    })
}

/// POST `instances/{instanceId}/resume`.
pub(crate) async fn resume(s: HostState, call: Call) -> Answer {
    check_hub_bodiless(&s, &call)?;
    let id = instance_id(&call)?;
    Ok(match s.client.resume(id.as_str(), reason(&call)).await {
        Ok(()) => empty(StatusCode::ACCEPTED),
        Err(e) => op_error(e),
    })
}

/// POST `instances/{instanceId}/rewind`: a Failed instance is rewound; Completed and Terminated
/// ones are gone (410); one that is still active is left alone (202), as in Durable Functions.
pub(crate) async fn rewind(s: HostState, call: Call) -> Answer {
    check_hub_bodiless(&s, &call)?;
    let id = instance_id(&call)?;
    Ok(match s.client.rewind(id.as_str(), reason(&call)).await {
        Ok(()) => empty(StatusCode::ACCEPTED),
        Err(ClientError::NotFailed { status, .. }) if status.is_terminal() => {
            empty(StatusCode::GONE)
        }
        Err(ClientError::NotFailed { .. }) => empty(StatusCode::ACCEPTED),
        Err(e) => op_error(e),
    })
}

/// POST `instances/{instanceId}/restart`: the same orchestrator and input, under a new id
/// unless `restartWithNewInstanceId=false`.
pub(crate) async fn restart(s: HostState, call: Call) -> Answer {
    check_hub_bodiless(&s, &call)?;
    let id = instance_id(&call)?;
    let new_id = call.query.bool("restartWithNewInstanceId", true)?;
    match s.client.restart(id.as_str(), new_id).await {
        Ok(started) => {
            let origin = s.links_origin(&call);
            Ok(http(check_status_response(
                &s.urls(origin),
                started.as_str(),
            )))
        }
        Err(ClientError::NotFound(_)) => Ok(empty(StatusCode::NOT_FOUND)),
        Err(e) => Err(ApiError::from_client(e)),
    }
}

/// POST `instances/{instanceId}/raiseEvent/{eventName}`: the body is the event data and must
/// be JSON with `Content-Type: application/json`.
pub(crate) async fn raise_event(s: HostState, call: Call) -> Answer {
    check_hub_bodiless(&s, &call)?;
    let id = instance_id(&call)?;
    if !call.is_json() {
        return Err(ApiError::bad_request(
            "The event data must be sent with Content-Type: application/json.",
        ));
    }
    let data = call.json_payload()?;
    let name = call.param("eventName");
    if name.is_empty() {
        return Err(ApiError::bad_request("The event name must not be empty."));
    }
    let raised = durafn_runtime::with_trace_context(
        trace_context(&call),
        s.client.raise_event_payload(id.as_str(), name, data),
    );
    Ok(match raised.await {
        Ok(()) => empty(StatusCode::ACCEPTED),
        Err(e) => op_error(e),
    })
}

fn entity_id(call: &Call) -> Result<durafn_core::EntityId, ApiError> {
    durafn_core::EntityId::parse(call.param("entityName"), call.param("entityKey"))
        .map_err(|e| ApiError::bad_request(format!("Invalid entity id: {e}.")))
}

/// The id of an entity of one of the app's entity functions: a signal to a function the app
/// does not have could never run (every host of an app has the same functions).
fn known_entity_id(s: &HostState, call: &Call) -> Result<durafn_core::EntityId, ApiError> {
    let id = entity_id(call)?;
    if s.registry.entity(&id.name).is_none() {
        return Err(ApiError::bad_argument(format!(
            "There is no entity function named {:?} in this function app.",
            id.name
        )));
    }
    Ok(id)
}

/// GET `entities/{entityName}/{entityKey}`: the entity's state, or 404 if it holds none.
pub(crate) async fn get_entity(s: HostState, call: Call) -> Answer {
    check_hub(&s, &call)?;
    let id = entity_id(&call)?;
    let state = s
        .client
        .read_entity_state_payload(&id)
        .await
        .map_err(ApiError::from_client)?;
    Ok(match state {
        Some(state) => Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "application/json")
            .body(axum::body::Body::from(state.as_json().to_string()))
            .unwrap_or_else(|_| empty(StatusCode::INTERNAL_SERVER_ERROR)),
        None => ApiError::not_found(format!("The entity {id} holds no state.")).into_response(),
    })
}

#[derive(Serialize)]
struct EntityIdJson<'a> {
    name: &'a str,
    key: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EntityJson<'a> {
    entity_id: EntityIdJson<'a>,
    last_operation_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<serde_json::Value>,
}

/// GET `entities/{entityName?}`: entities, one page at a time (`top`, the continuation header),
/// filtered by `lastOperationTimeFrom`/`To` within the page; states only with `fetchState=true`.
pub(crate) async fn list_entities(s: HostState, call: Call) -> Answer {
    check_hub(&s, &call)?;
    let name = Some(call.param("entityName")).filter(|n| !n.is_empty());
    let fetch_state = call.query.bool("fetchState", false)?;
    let from = call
        .query
        .get("lastOperationTimeFrom")
        .map(|v| parse_time("lastOperationTimeFrom", v))
        .transpose()?;
    let to = call
        .query
        .get("lastOperationTimeTo")
        .map(|v| parse_time("lastOperationTimeTo", v))
        .transpose()?;
    let (top, token) = page_request(&call)?;
    let page = s
        .client
        .list_entities(name, top, token)
        .await
        .map_err(ApiError::from_client)?;
    let body: Vec<EntityJson<'_>> = page
        .entities
        .iter()
        .filter(|e| {
            from.is_none_or(|f| e.last_operation_time >= f)
                && to.is_none_or(|t| e.last_operation_time <= t)
        })
        .map(|e| EntityJson {
            entity_id: EntityIdJson {
                name: &e.entity_id.name,
                key: &e.entity_id.key,
            },
            last_operation_time: e
                .last_operation_time
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            state: if fetch_state {
                e.state.as_ref().map(|p| p.to_value())
            } else {
                None
            },
        })
        .collect();
    Ok(page_response(&body, page.continuation))
}

/// POST `entities/{entityName}/{entityKey}?op=…`: signals the operation (one-way) with the
/// JSON body as its input.
pub(crate) async fn signal_entity(s: HostState, call: Call) -> Answer {
    check_hub(&s, &call)?;
    let id = known_entity_id(&s, &call)?;
    let op = call
        .query
        .get("op")
        .filter(|op| !op.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request("The query parameter op (the operation) is required.")
        })?
        .to_string();
    // As in Durable Functions: a JSON body is the operation's input; any other body is a string.
    let input = if call.body.is_empty() || call.is_json() {
        call.json_payload()?
    } else {
        let text = std::str::from_utf8(&call.body)
            .map_err(|_| ApiError::bad_request("The request body is not valid UTF-8."))?;
        durafn_core::Payload::encode(text).map_err(|e| ApiError::bad_request(e.to_string()))?
    };
    s.client
        .signal_entity_payload(&id, &op, input)
        .await
        .map_err(ApiError::from_client)?;
    Ok(empty(StatusCode::ACCEPTED))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Cleaned {
    empty_entities_removed: u64,
    orphaned_locks_released: u64,
}

/// DELETE `entities`: a durafn route, the management API's form of the clients'
/// `clean_entity_storage`: removes the records of entities that hold no state and are neither
/// locked nor waited on.
pub(crate) async fn clean_entities(s: HostState, call: Call) -> Answer {
    check_hub(&s, &call)?;
    let n = s
        .client
        .clean_entity_storage()
        .await
        .map_err(ApiError::from_client)?;
    Ok(json_response(
        StatusCode::OK,
        &Cleaned {
            empty_entities_removed: n,
            orphaned_locks_released: 0,
        },
    ))
}

/// DELETE `entities/{entityName}/{entityKey}`: signals the built-in `delete` operation.
pub(crate) async fn delete_entity(s: HostState, call: Call) -> Answer {
    check_hub(&s, &call)?;
    let id = known_entity_id(&s, &call)?;
    s.client
        .signal_entity_payload(&id, "delete", durafn_core::Payload::null())
        .await
        .map_err(ApiError::from_client)?;
    Ok(empty(StatusCode::ACCEPTED))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_filters() {
        let t = parse_time("x", "2021-10-12T10:00:00Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2021-10-12T10:00:00+00:00");
        assert_eq!(
            parse_time("x", "2021-10-12T10:00:00.5")
                .unwrap()
                .timestamp_subsec_millis(),
            500
        );
        assert_eq!(
            parse_time("x", "2021-10-12").unwrap(),
            t - chrono::TimeDelta::hours(10)
        );
        let e = parse_time("createdTimeFrom", "yesterday").unwrap_err();
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        assert!(e.message().contains("createdTimeFrom"));
    }
}
