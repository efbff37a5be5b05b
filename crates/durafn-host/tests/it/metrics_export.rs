//! OTLP metrics export beside `/metrics` (`OTEL_METRICS_EXPORTER=otlp`), against the test
//! collector over HTTP/protobuf and gRPC: the same families as `/metrics` arrive as cumulative
//! sums, gauges and histograms; a collector that is down costs exports (counted), not the app.

use std::time::Duration;

use durafn_core::RuntimeStatus;
use durafn_host::{AppSettings, Host, HostArgs, HostConfig};
use durafn_testenv::otlp::metrics_proto::{Metric, metric, number_data_point};
use durafn_testenv::otlp::{ExportMetricsServiceRequest, OtlpReceiver};

/// A host on its SQLite task hub exporting metrics with `settings`, running `fan`, which calls
/// `square` `n` times.
async fn host(root: &std::path::Path, settings: AppSettings) -> Result<Host, String> {
    let args = HostArgs {
        data_dir: Some(root.join("data")),
        port: Some(0),
        ..HostArgs::default()
    };
    let host_json = r#"{"version":"2.0","extensions":{"durableTask":{"hubName":"Metered"}}}"#;
    let config = HostConfig::from_parts(root.to_path_buf(), &args, settings, Some(host_json))
        .map_err(|e| e.to_string())?;
    crate::apps::fan()
        .config(config)
        .start()
        .await
        .map_err(|e| e.to_string())
}

/// The metric `name` in the latest export that has it.
fn latest<'a>(exports: &'a [ExportMetricsServiceRequest], name: &str) -> Option<&'a Metric> {
    exports.iter().rev().find_map(|e| {
        e.resource_metrics
            .iter()
            .flat_map(|r| &r.scope_metrics)
            .flat_map(|s| &s.metrics)
            .find(|m| m.name == name)
    })
}

/// A sum's or gauge's value for a point with the attribute `key` = `value` (any point when
/// `key` is empty).
fn number(metric: &Metric, key: &str, value: &str) -> Option<f64> {
    let points = match metric.data.as_ref()? {
        metric::Data::Sum(s) => &s.data_points,
        metric::Data::Gauge(g) => &g.data_points,
        _ => return None,
    };
    points
        .iter()
        .find(|p| {
            key.is_empty()
                || p.attributes.iter().any(|a| {
                    a.key == key
                        && a.value.as_ref().and_then(|v| v.value.as_ref())
                            == Some(&durafn_testenv::otlp::metrics_proto::any_value_string(
                                value,
                            ))
                })
        })
        .and_then(|p| match p.value {
            Some(number_data_point::Value::AsDouble(v)) => Some(v),
            Some(number_data_point::Value::AsInt(v)) => Some(v as f64),
            None => None,
        })
}

async fn run_fan(host: &Host, n: i64) {
    let client = host.client();
    let id = client.start_new("fan", None, &n).await.unwrap();
    let done = client
        .wait_for_completion(id.as_str(), Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(done.runtime_status, RuntimeStatus::Completed);
}

async fn exports_arrive(collector: OtlpReceiver, protocol: &str) {
    let root = tempfile::tempdir().unwrap();
    let settings = AppSettings::new()
        .with("OTEL_METRICS_EXPORTER", "otlp")
        .with("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint())
        .with("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
        .with("OTEL_METRIC_EXPORT_INTERVAL", "100")
        .with("OTEL_SERVICE_NAME", "metered");
    let host = host(root.path(), settings).await.unwrap();
    run_fan(&host, 5).await;
    let exports = collector.wait_for_metrics(Duration::from_secs(30), |exports| {
        latest(exports, "durafn_activities_total").and_then(|m| number(m, "", "")) == Some(5.0)
    });
    host.shutdown().await;

    let activities = latest(&exports, "durafn_activities_total").expect("the counter arrives");
    let Some(metric::Data::Sum(sum)) = &activities.data else {
        panic!("a counter is a sum: {activities:?}");
    };
    assert!(sum.is_monotonic, "{activities:?}");
    assert_eq!(number(activities, "", ""), Some(5.0));
    let completed = latest(&exports, "durafn_instances").expect("the instances gauge");
    assert!(matches!(completed.data, Some(metric::Data::Gauge(_))));
    assert_eq!(number(completed, "runtime_status", "Completed"), Some(1.0));
    let durations =
        latest(&exports, "durafn_activity_duration_seconds").expect("the activity histogram");
    assert_eq!(durations.unit, "s");
    let Some(metric::Data::Histogram(histogram)) = &durations.data else {
        panic!("a histogram: {durations:?}");
    };
    let point = histogram
        .data_points
        .iter()
        .find(|p| p.attributes.iter().any(|a| a.key == "activity"))
        .expect("the square activity's distribution");
    assert_eq!(point.count, 5);
    assert_eq!(point.bucket_counts.iter().sum::<u64>(), 5);
    assert_eq!(point.bucket_counts.len(), point.explicit_bounds.len() + 1);
    assert!(point.start_time_unix_nano <= point.time_unix_nano);
    let resource = exports[0].resource_metrics[0]
        .resource
        .as_ref()
        .expect("a resource");
    let service = resource
        .attributes
        .iter()
        .find(|a| a.key == "service.name")
        .and_then(|a| a.value.as_ref()?.value.clone());
    assert_eq!(
        service,
        Some(durafn_testenv::otlp::metrics_proto::any_value_string(
            "metered"
        ))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_export_over_http() {
    exports_arrive(OtlpReceiver::start(), "http/protobuf").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_export_over_grpc() {
    exports_arrive(OtlpReceiver::start_grpc(), "grpc").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_collector_costs_exports_not_the_app() {
    // A port nobody listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let root = tempfile::tempdir().unwrap();
    let settings = AppSettings::new()
        .with("OTEL_METRICS_EXPORTER", "otlp")
        .with(
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            format!("http://127.0.0.1:{port}/v1/metrics"),
        )
        .with("OTEL_METRIC_EXPORT_INTERVAL", "50");
    let host = host(root.path(), settings).await.unwrap();
    run_fan(&host, 3).await;
    let router = host.router();
    let master = host.keys().master_key();
    let failed = durafn_testenv::eventually(30, "failed metric exports counted", || {
        let router = router.clone();
        let master = master.clone();
        let text = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap()
                .block_on(async move {
                    use tower::ServiceExt as _;
                    let response = router
                        .oneshot(
                            axum::http::Request::get("/metrics")
                                .header("x-functions-key", master)
                                .body(axum::body::Body::empty())
                                .unwrap(),
                        )
                        .await
                        .unwrap();
                    let body = axum::body::to_bytes(response.into_body(), 1 << 22)
                        .await
                        .unwrap();
                    String::from_utf8(body.to_vec()).unwrap()
                })
        })
        .join()
        .unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix("durafn_metric_exports_failed_total "))
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|n| *n >= 2.0)
    });
    println!("{failed} exports to a dead collector failed; the job completed");
    host.shutdown().await;
}

#[tokio::test]
async fn bad_export_settings_are_refused_by_name() {
    let root = tempfile::tempdir().unwrap();
    for (name, value) in [
        ("OTEL_METRICS_EXPORTER", "prometheus"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "soon"),
        ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/json"),
    ] {
        let settings = AppSettings::new().with(name, value);
        let error = host(root.path(), settings).await.unwrap_err();
        assert!(error.contains(name), "{name}: {error}");
    }
}
