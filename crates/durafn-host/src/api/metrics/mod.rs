//! `GET /metrics` (master key): the host and runtime in the Prometheus text format. Every metric
//! is listed, with its labels, in `docs/metrics.md`; the runtime's names live in
//! `durafn_runtime::metrics`, the host's here. Label values are bounded: statuses, queue names,
//! registered function names and route templates, never instance ids.
//!
//! Gauges of the task hub (instances by status, work ready and scheduled, the oldest ready
//! message's age, leases) are read from the task hub at scrape time, with the query the
//! dashboard's hub page uses. The route needs the master key, because instance counts and rates
//! describe the business. [`collect`] is also what the OTLP metrics exporter sends.

use std::fmt::Write as _;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use durafn_runtime::HistogramSnapshot;

use crate::app::state::HostState;
use crate::app::telemetry::metric_set::{Family, Labels, Points};
use crate::error::ApiError;
use crate::functions::request::Call;

/// The content type of the Prometheus text format.
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Spans dropped because the trace collector did not take them.
const SPANS_DROPPED: &str = "durafn_spans_dropped_total";
/// HTTP request latency by route.
const HTTP_SECONDS: &str = "durafn_http_request_duration_seconds";

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

/// `name="value",...` for a label set (empty for none), values escaped.
fn label_text(labels: &Labels) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect::<Vec<_>>()
        .join(",")
}

/// Writes one histogram's samples.
fn histogram(out: &mut String, name: &str, labels: &Labels, h: &HistogramSnapshot) {
    let label = label_text(labels);
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

/// The families in the Prometheus text format.
pub(crate) fn render(families: &[Family]) -> String {
    let mut out = String::new();
    for f in families {
        let kind = match f.points {
            Points::Counter(_) => "counter",
            Points::Gauge(_) => "gauge",
            Points::Histogram(_) => "histogram",
        };
        let _ = writeln!(out, "# HELP {} {}", f.name, f.help);
        let _ = writeln!(out, "# TYPE {} {kind}", f.name);
        match &f.points {
            Points::Counter(points) | Points::Gauge(points) => {
                for (labels, v) in points {
                    let label = label_text(labels);
                    if label.is_empty() {
                        let _ = writeln!(out, "{} {v}", f.name);
                    } else {
                        let _ = writeln!(out, "{}{{{label}}} {v}", f.name);
                    }
                }
            }
            Points::Histogram(points) => {
                for (labels, h) in points {
                    histogram(&mut out, f.name, labels, h);
                }
            }
        }
    }
    out
}

/// GET `/metrics`.
pub(crate) async fn metrics(s: HostState, _: Call) -> Result<Response, ApiError> {
    let out = render(&collect(&s).await?);
    let mut response = (StatusCode::OK, out).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(PROMETHEUS_CONTENT_TYPE),
    );
    Ok(response)
}

/// Every metric of the host and its runtime as of now.
pub(crate) async fn collect(s: &HostState) -> Result<Vec<Family>, ApiError> {
    let report = s.client.hub_report().await.map_err(ApiError::from_client)?;
    let mut out = Vec::new();
    let counts: Vec<(Labels, f64)> = durafn_core::RuntimeStatus::ALL
        .iter()
        .map(|status| {
            let n = report
                .counts
                .iter()
                .find(|(st, _)| st == status)
                .map_or(0, |(_, n)| *n);
            (vec![("runtime_status", status.to_string())], n as f64)
        })
        .collect();
    out.push(Family::gauge(
        "durafn_instances",
        "Instances in the task hub by runtime status.",
        counts,
    ));
    let h = &report.health;
    let queues = [
        ("orchestrations", &h.orchestrations),
        ("activities", &h.activities),
    ];
    let per_queue = |f: &dyn Fn(&durafn_store::inspect::QueueHealth) -> u64| -> Vec<(Labels, f64)> {
        queues
            .iter()
            .map(|(q, health)| (queue(q), f(health) as f64))
            .collect()
    };
    out.push(Family::gauge(
        "durafn_work_ready",
        "Work that can be handed out now, by queue.",
        per_queue(&|q| q.ready),
    ));
    out.push(Family::gauge(
        "durafn_work_scheduled",
        "Work not visible yet (durable timers, delayed retries), by queue.",
        per_queue(&|q| q.scheduled),
    ));
    out.push(Family::gauge(
        "durafn_work_leased",
        "Work held under a live lease by any host, by queue.",
        per_queue(&|q| q.leased),
    ));
    let age = |since: Option<chrono::DateTime<chrono::Utc>>| {
        since.map_or(0.0, |t| (report.at - t).as_seconds_f64().max(0.0))
    };
    out.push(Family::gauge(
        "durafn_work_oldest_ready_age_seconds",
        "How long the oldest ready item has waited (0 when nothing is ready), by queue.",
        vec![
            (
                queue("orchestrations"),
                age(h.orchestrations.oldest_ready_since),
            ),
            (queue("activities"), age(report.oldest_activity_since)),
        ],
    ));
    let mine = h.hosts.iter().find(|l| l.owner == s.host_id);
    out.push(Family::gauge(
        "durafn_leases_held",
        "Leases this host holds, by queue.",
        vec![
            (
                queue("orchestrations"),
                mine.map_or(0, |l| l.instances) as f64,
            ),
            (queue("activities"), mine.map_or(0, |l| l.activities) as f64),
        ],
    ));

    let runtime = s.runtime.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(rt) = runtime.as_ref() {
        let m = rt.metrics();
        for (name, help, v) in m.snapshot() {
            // The raw time totals are the histograms' sums.
            if name.ends_with("_seconds_total") {
                continue;
            }
            out.push(Family::counter(name, help, v as f64));
        }
        for (name, help, snapshot) in m.histograms() {
            out.push(Family::histogram(name, help, vec![(Vec::new(), snapshot)]));
        }
        for (name, help, label, by) in m.labeled_histograms() {
            let points = by
                .into_iter()
                .map(|(value, snapshot)| (vec![(label, value)], snapshot))
                .collect();
            out.push(Family::histogram(name, help, points));
        }
        let (hits, misses) = (
            m.cache_hits.load(std::sync::atomic::Ordering::Relaxed),
            m.cache_misses.load(std::sync::atomic::Ordering::Relaxed),
        );
        out.push(Family::gauge(
            "durafn_instance_cache_entries",
            "Live orchestrations held in memory between turns.",
            vec![(Vec::new(), rt.cached_instances() as f64)],
        ));
        out.push(Family::gauge(
            "durafn_instance_cache_hit_ratio",
            "Turns served by a cached orchestration, of all turns so far (0 before the first).",
            vec![(
                Vec::new(),
                if hits + misses == 0 {
                    0.0
                } else {
                    hits as f64 / (hits + misses) as f64
                },
            )],
        ));
    }
    drop(runtime);
    let routes = s
        .http_seconds
        .snapshot()
        .into_iter()
        .map(|(route, snapshot)| (vec![("route", route)], snapshot))
        .collect();
    out.push(Family::histogram(
        HTTP_SECONDS,
        "HTTP request latency by route.",
        routes,
    ));
    out.push(Family::counter(
        SPANS_DROPPED,
        "Spans dropped because the trace collector did not take them.",
        s.telemetry.dropped() as f64,
    ));
    out.push(Family::counter(
        "durafn_metric_exports_failed_total",
        "OTLP metrics exports the collector did not take (OTEL_METRICS_EXPORTER=otlp).",
        s.telemetry.metric_exports_failed() as f64,
    ));
    out.push(Family::gauge(
        "durafn_host_uptime_seconds",
        "Seconds since the host started.",
        vec![(Vec::new(), s.started.elapsed().as_secs_f64())],
    ));
    Ok(out)
}

fn queue(name: &str) -> Labels {
    vec![("queue", name.to_string())]
}
