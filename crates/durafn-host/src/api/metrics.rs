//! `GET /metrics` (master key): the host and runtime in the Prometheus text format. Every metric
//! is listed, with its labels, in `docs/metrics.md`; the runtime's names live in
//! `durafn_runtime::metrics`, the host's here. Label values are bounded: statuses, queue names,
//! registered function names and route templates, never instance ids.
//!
//! Gauges of the task hub (instances by status, work ready and scheduled, the oldest ready
//! message's age, leases) are read from the task hub at scrape time, with the query the
//! dashboard's hub page uses. The route needs the master key, because instance counts and rates
//! describe the business.

use std::fmt::Write as _;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use durafn_runtime::HistogramSnapshot;

use crate::app::state::HostState;
use crate::error::ApiError;
use crate::functions::request::Call;

/// The content type of the Prometheus text format.
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Spans dropped because the trace collector did not take them.
const SPANS_DROPPED: &str = "durafn_spans_dropped_total";
/// HTTP request latency by route.
const HTTP_SECONDS: &str = "durafn_http_request_duration_seconds";

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A label value with `\`, `"` and line breaks escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn bound(le: f64) -> String {
    if le.is_infinite() {
        "+Inf".into()
    } else {
        le.to_string()
    }
}

/// Writes one histogram's samples; `label` is `name="value"` or empty.
fn histogram(out: &mut String, name: &str, label: &str, h: &HistogramSnapshot) {
    let sep = if label.is_empty() { "" } else { "," };
    for (le, n) in &h.buckets {
        let _ = writeln!(
            out,
            "{name}_bucket{{{label}{sep}le=\"{}\"}} {n}",
            bound(*le)
        );
    }
    let braces = if label.is_empty() {
        String::new()
    } else {
        format!("{{{label}}}")
    };
    let _ = writeln!(out, "{name}_sum{braces} {}", h.sum);
    let _ = writeln!(out, "{name}_count{braces} {}", h.count);
}

fn gauge(out: &mut String, name: &str, help: &str, samples: &[(String, f64)]) {
    family(out, name, "gauge", help);
    for (labels, v) in samples {
        let _ = writeln!(out, "{name}{labels} {v}");
    }
}

/// GET `/metrics`.
pub(crate) async fn metrics(s: HostState, _: Call) -> Result<Response, ApiError> {
    let report = s.client.hub_report().await.map_err(ApiError::from_client)?;
    let mut out = String::new();
    let counts: Vec<(String, f64)> = durafn_core::RuntimeStatus::ALL
        .iter()
        .map(|status| {
            let n = report
                .counts
                .iter()
                .find(|(st, _)| st == status)
                .map_or(0, |(_, n)| *n);
            (format!("{{runtime_status=\"{status}\"}}"), n as f64)
        })
        .collect();
    gauge(
        &mut out,
        "durafn_instances",
        "Instances in the task hub by runtime status.",
        &counts,
    );
    let h = &report.health;
    let queues = [
        ("orchestrations", &h.orchestrations),
        ("activities", &h.activities),
    ];
    let per_queue = |f: &dyn Fn(&durafn_store::inspect::QueueHealth) -> u64| -> Vec<(String, f64)> {
        queues
            .iter()
            .map(|(q, health)| (format!("{{queue=\"{q}\"}}"), f(health) as f64))
            .collect()
    };
    gauge(
        &mut out,
        "durafn_work_ready",
        "Work that can be handed out now, by queue.",
        &per_queue(&|q| q.ready),
    );
    gauge(
        &mut out,
        "durafn_work_scheduled",
        "Work not visible yet (durable timers, delayed retries), by queue.",
        &per_queue(&|q| q.scheduled),
    );
    gauge(
        &mut out,
        "durafn_work_leased",
        "Work held under a live lease by any host, by queue.",
        &per_queue(&|q| q.leased),
    );
    let age = |since: Option<chrono::DateTime<chrono::Utc>>| {
        since.map_or(0.0, |t| (report.at - t).as_seconds_f64().max(0.0))
    };
    gauge(
        &mut out,
        "durafn_work_oldest_ready_age_seconds",
        "How long the oldest ready item has waited (0 when nothing is ready), by queue.",
        &[
            (
                "{queue=\"orchestrations\"}".into(),
                age(h.orchestrations.oldest_ready_since),
            ),
            (
                "{queue=\"activities\"}".into(),
                age(report.oldest_activity_since),
            ),
        ],
    );
    let mine = h.hosts.iter().find(|l| l.owner == s.host_id);
    gauge(
        &mut out,
        "durafn_leases_held",
        "Leases this host holds, by queue.",
        &[
            (
                "{queue=\"orchestrations\"}".into(),
                mine.map_or(0, |l| l.instances) as f64,
            ),
            (
                "{queue=\"activities\"}".into(),
                mine.map_or(0, |l| l.activities) as f64,
            ),
        ],
    );

    let runtime = s.runtime.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(rt) = runtime.as_ref() {
        let m = rt.metrics();
        for (name, help, v) in m.snapshot() {
            // The raw time totals are the histograms' sums.
            if name.ends_with("_seconds_total") {
                continue;
            }
            family(&mut out, name, "counter", help);
            let _ = writeln!(out, "{name} {v}");
        }
        for (name, help, snapshot) in m.histograms() {
            family(&mut out, name, "histogram", help);
            histogram(&mut out, name, "", &snapshot);
        }
        for (name, help, label, by) in m.labeled_histograms() {
            family(&mut out, name, "histogram", help);
            for (value, snapshot) in &by {
                histogram(
                    &mut out,
                    name,
                    &format!("{label}=\"{}\"", escape(value)),
                    snapshot,
                );
            }
        }
        let (hits, misses) = (
            m.cache_hits.load(std::sync::atomic::Ordering::Relaxed),
            m.cache_misses.load(std::sync::atomic::Ordering::Relaxed),
        );
        gauge(
            &mut out,
            "durafn_instance_cache_entries",
            "Live orchestrations held in memory between turns.",
            &[(String::new(), rt.cached_instances() as f64)],
        );
        gauge(
            &mut out,
            "durafn_instance_cache_hit_ratio",
            "Turns served by a cached orchestration, of all turns so far (0 before the first).",
            &[(
                String::new(),
                if hits + misses == 0 {
                    0.0
                } else {
                    hits as f64 / (hits + misses) as f64
                },
            )],
        );
    }
    drop(runtime);
    family(
        &mut out,
        HTTP_SECONDS,
        "histogram",
        "HTTP request latency by route.",
    );
    for (route, snapshot) in s.http_seconds.snapshot() {
        histogram(
            &mut out,
            HTTP_SECONDS,
            &format!("route=\"{}\"", escape(&route)),
            &snapshot,
        );
    }
    family(
        &mut out,
        SPANS_DROPPED,
        "counter",
        "Spans dropped because the trace collector did not take them.",
    );
    let _ = writeln!(out, "{SPANS_DROPPED} {}", s.telemetry.dropped());
    gauge(
        &mut out,
        "durafn_host_uptime_seconds",
        "Seconds since the host started.",
        &[(String::new(), s.started.elapsed().as_secs_f64())],
    );
    let mut response = (StatusCode::OK, out).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(PROMETHEUS_CONTENT_TYPE),
    );
    Ok(response)
}
