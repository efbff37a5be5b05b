//! durafn's operator extensions of the management API (under
//! `/runtime/webhooks/durabletask/durafn`): counts per status for a filter, an instance's
//! diagnosis, and the task hub's health. They answer from the same [`DurableClient`] queries the
//! dashboard shows, in the JSON of [`durafn_api::inspect`].
//!
//! [`DurableClient`]: durafn_runtime::DurableClient

pub(crate) mod routes;

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, SecondsFormat, Utc};
use durafn_api::inspect::{
    ActivityItemJson, DiagnosisJson, FindingJson, HostLeasesJson, HubHealthJson, InstanceCounts,
    LeaseJson, QueueJson, QueuedMessageJson,
};
use durafn_core::RuntimeStatus;
use durafn_store::inspect::{InstanceQuery, LeaseInfo, QueueHealth};

use crate::api::management::{check_hub, filter_of, instance_id};
use crate::app::state::HostState;
use crate::error::{ApiError, empty, json_response};
use crate::functions::request::Call;

type Answer = Result<Response, ApiError>;

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn by_status(counts: &[(RuntimeStatus, u64)]) -> BTreeMap<String, u64> {
    counts
        .iter()
        .map(|(s, n)| (s.as_str().to_string(), *n))
        .collect()
}

fn lease(l: &LeaseInfo) -> LeaseJson {
    LeaseJson {
        owner: l.owner.clone(),
        until: time(l.until),
    }
}

/// GET `durafn/counts`: the listing's filter plus `name` and `customStatus`.
pub(crate) async fn counts(s: HostState, call: Call) -> Answer {
    check_hub(&s, &call)?;
    let mut filter = filter_of(&call)?;
    filter.name = call
        .query
        .get("name")
        .filter(|n| !n.is_empty())
        .map(String::from);
    let query = InstanceQuery {
        filter,
        custom_status_contains: call
            .query
            .get("customStatus")
            .filter(|t| !t.is_empty())
            .map(String::from),
        orchestrations_only: true,
        ..InstanceQuery::default()
    };
    let counts = s
        .client
        .count(&query)
        .await
        .map_err(ApiError::from_client)?;
    let body = InstanceCounts {
        total: counts.iter().map(|(_, n)| n).sum(),
        counts: by_status(&counts),
    };
    Ok(json_response(StatusCode::OK, &body))
}

/// GET `durafn/instances/{instanceId}/diagnosis`.
pub(crate) async fn diagnosis(s: HostState, call: Call) -> Answer {
    check_hub(&s, &call)?;
    let id = instance_id(&call)?;
    let Some(d) = s
        .client
        .diagnose(id.as_str())
        .await
        .map_err(ApiError::from_client)?
    else {
        return Ok(empty(StatusCode::NOT_FOUND));
    };
    let event_type = |e: &durafn_core::HistoryEvent| {
        serde_json::to_value(e)
            .ok()
            .and_then(|v| v.get("EventType")?.as_str().map(String::from))
            .unwrap_or_default()
    };
    let body = DiagnosisJson {
        instance_id: id.to_string(),
        runtime_status: d.status.as_str().to_string(),
        lease: d.work.lease.as_ref().map(lease),
        messages: d
            .work
            .messages
            .iter()
            .map(|m| QueuedMessageJson {
                id: m.id.0,
                event_type: event_type(&m.event),
                sent_time: time(m.event.timestamp),
                visible_time: m.visible_at.map(time),
                deliveries: m.delivery,
            })
            .collect(),
        activities: d
            .work
            .activities
            .iter()
            .map(|a| ActivityItemJson {
                id: a.id.0,
                name: a.name.clone(),
                task_id: a.task_id.0,
                visible_time: a.visible_at.map(time),
                lease: a.lease.as_ref().map(lease),
                deliveries: a.delivery,
            })
            .collect(),
        awaited_events: d.awaited_events.clone(),
        max_deliveries: d.max_deliveries,
        findings: d
            .findings
            .iter()
            .map(|f| FindingJson {
                kind: f.kind().to_string(),
                message: f.to_string(),
            })
            .collect(),
    };
    Ok(json_response(StatusCode::OK, &body))
}

fn queue(q: &QueueHealth, oldest: Option<DateTime<Utc>>) -> QueueJson {
    QueueJson {
        ready: q.ready,
        scheduled: q.scheduled,
        leased: q.leased,
        oldest_ready_time: oldest.map(time),
    }
}

/// GET `durafn/health`.
pub(crate) async fn health(s: HostState, call: Call) -> Answer {
    check_hub(&s, &call)?;
    let r = s.client.hub_report().await.map_err(ApiError::from_client)?;
    let h = &r.health;
    let body = HubHealthJson {
        time: time(r.at),
        counts: by_status(&r.counts),
        orchestrations: queue(&h.orchestrations, h.orchestrations.oldest_ready_since),
        activities: queue(&h.activities, r.oldest_activity_since),
        hosts: h
            .hosts
            .iter()
            .map(|host| HostLeasesJson {
                owner: host.owner.clone(),
                instances: host.instances,
                activities: host.activities,
                expired: host.expired,
                latest_lease_until: host.latest_until.map(time),
            })
            .collect(),
    };
    Ok(json_response(StatusCode::OK, &body))
}
