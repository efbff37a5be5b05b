//! `GET /metrics` (master key): the host and runtime in the Prometheus text format.
//!
//! - `durafn_instances{runtime_status}`: instances in the task hub by status (a gauge, counted
//!   by the task hub at scrape time);
//! - the runtime's counters (`durafn_turns_total`, `durafn_turns_failed_total`,
//!   `durafn_activities_total`, `durafn_activities_failed_total`, `durafn_dead_lettered_total`,
//!   `durafn_instance_cache_hits_total`, `durafn_instance_cache_misses_total`);
//! - `durafn_turn_duration_seconds` and `durafn_activity_duration_seconds`: the time spent in
//!   orchestration code per turn and in activity functions, as the `_sum`/`_count` pair of a
//!   summary. The runtime keeps running totals, not distributions, so there are no buckets or
//!   quantiles; `rate(_sum) / rate(_count)` gives the mean latency over a window;
//! - `durafn_instance_cache_entries`: live orchestrations held in memory;
//! - `durafn_host_uptime_seconds`.
//!
//! Queue depths are not exported: the storage contract has no cheap way to count queued work.
//! The route needs the master key, because instance counts and rates describe the business.

use std::fmt::Write as _;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use durafn_core::RuntimeStatus;

use crate::app::state::HostState;
use crate::error::ApiError;
use crate::functions::request::Call;

/// The content type of the Prometheus text format.
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// GET `/metrics`.
pub(crate) async fn metrics(s: HostState, _: Call) -> Result<Response, ApiError> {
    let counts = s
        .client
        .store()
        .count_by_status()
        .await
        .map_err(|e| ApiError::from_client(e.into()))?;
    let mut out = String::new();
    family(
        &mut out,
        "durafn_instances",
        "gauge",
        "Instances in the task hub by runtime status.",
    );
    for status in RuntimeStatus::ALL {
        let n = counts
            .iter()
            .find(|(st, _)| *st == status)
            .map(|(_, n)| *n)
            .unwrap_or(0);
        let _ = writeln!(out, "durafn_instances{{runtime_status=\"{status}\"}} {n}");
    }
    let runtime = s.runtime.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(rt) = runtime.as_ref() {
        let snapshot = rt.metrics().snapshot();
        let value = |name: &str| {
            snapshot
                .iter()
                .find(|(n, _, _)| *n == name)
                .map(|(_, _, v)| *v)
                .unwrap_or(0)
        };
        for (name, help, v) in &snapshot {
            // The two time totals are exported as summaries below, in seconds.
            if name.ends_with("_seconds_total") {
                continue;
            }
            family(&mut out, name, "counter", help);
            let _ = writeln!(out, "{name} {v}");
        }
        for (name, help, micros, count) in [
            (
                "durafn_turn_duration_seconds",
                "Time spent running orchestration code per turn (sum and count only).",
                value("durafn_turn_seconds_total"),
                value("durafn_turns_total") + value("durafn_turns_failed_total"),
            ),
            (
                "durafn_activity_duration_seconds",
                "Time spent in activity functions per execution (sum and count only).",
                value("durafn_activity_seconds_total"),
                value("durafn_activities_total"),
            ),
        ] {
            family(&mut out, name, "summary", help);
            let _ = writeln!(out, "{name}_sum {}", micros as f64 / 1e6);
            let _ = writeln!(out, "{name}_count {count}");
        }
        family(
            &mut out,
            "durafn_instance_cache_entries",
            "gauge",
            "Live orchestrations held in memory between turns.",
        );
        let _ = writeln!(
            out,
            "durafn_instance_cache_entries {}",
            rt.cached_instances()
        );
    }
    drop(runtime);
    family(
        &mut out,
        "durafn_host_uptime_seconds",
        "gauge",
        "Seconds since the host started.",
    );
    let _ = writeln!(
        out,
        "durafn_host_uptime_seconds {}",
        s.started.elapsed().as_secs_f64()
    );
    let mut response = (StatusCode::OK, out).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(PROMETHEUS_CONTENT_TYPE),
    );
    Ok(response)
}
