//! OTLP metrics export beside `/metrics`: the same families, pushed every
//! `OTEL_METRIC_EXPORT_INTERVAL` to an OTLP collector over HTTP/protobuf or gRPC, as cumulative
//! sums, gauges and explicit-bucket histograms.
//!
//! Written on the OTLP protobuf types (`opentelemetry-proto`) rather than the SDK's meter: the
//! host's metrics are already aggregated (cumulative counters and fixed-bucket histograms kept by
//! the runtime, gauges read from the task hub at collection time), which the SDK's instruments,
//! built to aggregate raw measurements themselves, cannot take as they are.

use std::time::{Duration, SystemTime};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message as _;

use crate::app::telemetry::metric_set::{Family, Labels, Points};
use crate::config::MetricsExportConfig;

/// Where and how the exports go.
#[derive(Debug, Clone)]
pub(crate) struct MetricsTarget {
    grpc: bool,
    endpoint: String,
    timeout: Duration,
    resource: Vec<KeyValue>,
    /// When the cumulative series began (the host's start).
    start: SystemTime,
}

impl MetricsTarget {
    /// The target `config` names, for the host `host_id` of `service`.
    pub(crate) fn new(config: &MetricsExportConfig, service: &str, host_id: &str) -> Self {
        let grpc = config.protocol.as_deref() == Some("grpc");
        let endpoint = config.endpoint.clone().unwrap_or_else(|| {
            if grpc {
                "http://localhost:4317".into()
            } else {
                "http://localhost:4318/v1/metrics".into()
            }
        });
        let mut resource = vec![
            text("service.name", service),
            text("service.instance.id", host_id),
        ];
        // `OTEL_RESOURCE_ATTRIBUTES`, as the trace exporter's SDK reads it: `k=v,k=v`.
        if let Ok(extra) = std::env::var("OTEL_RESOURCE_ATTRIBUTES") {
            for pair in extra.split(',') {
                if let Some((k, v)) = pair.split_once('=')
                    && !k.trim().is_empty()
                    && k.trim() != "service.name"
                {
                    resource.push(text(k.trim(), v.trim()));
                }
            }
        }
        Self {
            grpc,
            endpoint,
            timeout: config.timeout,
            resource,
            start: SystemTime::now(),
        }
    }

    /// Sends one export of `families` taken at `at`; an error says why the collector did not
    /// take it.
    pub(crate) async fn send(&self, families: &[Family], at: SystemTime) -> Result<(), String> {
        let request = self.request(families, at);
        let send = async {
            if self.grpc {
                let mut client = MetricsServiceClient::connect(self.endpoint.clone())
                    .await
                    .map_err(|e| format!("cannot reach {}: {e}", self.endpoint))?;
                client
                    .export(request)
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("{}: {e}", self.endpoint))
            } else {
                let body = request.encode_to_vec();
                let endpoint = self.endpoint.clone();
                let timeout = self.timeout;
                tokio::task::spawn_blocking(move || {
                    let client = reqwest::blocking::Client::builder()
                        .timeout(timeout)
                        .build()
                        .map_err(|e| e.to_string())?;
                    let response = client
                        .post(&endpoint)
                        .header("content-type", "application/x-protobuf")
                        .body(body)
                        .send()
                        .map_err(|e| format!("{endpoint}: {e}"))?;
                    if response.status().is_success() {
                        Ok(())
                    } else {
                        Err(format!("{endpoint} answered {}", response.status()))
                    }
                })
                .await
                .map_err(|e| e.to_string())?
            }
        };
        tokio::time::timeout(self.timeout, send)
            .await
            .unwrap_or_else(|_| Err(format!("{} did not answer in time", self.endpoint)))
    }

    /// The OTLP request for `families` taken at `at`.
    pub(crate) fn request(
        &self,
        families: &[Family],
        at: SystemTime,
    ) -> ExportMetricsServiceRequest {
        let start = nanos(self.start);
        let now = nanos(at);
        let metrics = families
            .iter()
            .map(|f| Metric {
                name: f.name.to_string(),
                description: f.help.to_string(),
                unit: unit(f.name).to_string(),
                data: Some(data(&f.points, start, now)),
                ..Default::default()
            })
            .collect();
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(Resource {
                    attributes: self.resource.clone(),
                    ..Default::default()
                }),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(InstrumentationScope {
                        name: "durafn".into(),
                        version: env!("CARGO_PKG_VERSION").into(),
                        ..Default::default()
                    }),
                    metrics,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }
}

fn data(points: &Points, start: u64, now: u64) -> metric::Data {
    let number = |labels: &Labels, v: f64| NumberDataPoint {
        attributes: attributes(labels),
        start_time_unix_nano: start,
        time_unix_nano: now,
        value: Some(number_data_point::Value::AsDouble(v)),
        ..Default::default()
    };
    match points {
        Points::Counter(points) => metric::Data::Sum(Sum {
            data_points: points.iter().map(|(l, v)| number(l, *v)).collect(),
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
            is_monotonic: true,
        }),
        Points::Gauge(points) => metric::Data::Gauge(Gauge {
            data_points: points.iter().map(|(l, v)| number(l, *v)).collect(),
        }),
        Points::Histogram(points) => metric::Data::Histogram(Histogram {
            data_points: points
                .iter()
                .map(|(labels, h)| {
                    // Prometheus buckets are cumulative and end with +Inf; OTLP's are per
                    // bucket, with the bounds given without +Inf.
                    let mut below = 0;
                    let bucket_counts = h
                        .buckets
                        .iter()
                        .map(|(_, cumulative)| {
                            let n = cumulative - below;
                            below = *cumulative;
                            n
                        })
                        .collect();
                    HistogramDataPoint {
                        attributes: attributes(labels),
                        start_time_unix_nano: start,
                        time_unix_nano: now,
                        count: h.count,
                        sum: Some(h.sum),
                        bucket_counts,
                        explicit_bounds: h
                            .buckets
                            .iter()
                            .map(|(le, _)| *le)
                            .filter(|le| le.is_finite())
                            .collect(),
                        ..Default::default()
                    }
                })
                .collect(),
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
        }),
    }
}

/// The UCUM unit a metric's name ends in.
fn unit(name: &str) -> &'static str {
    if name.ends_with("_seconds") || name.ends_with("_seconds_total") {
        "s"
    } else {
        "1"
    }
}

fn attributes(labels: &Labels) -> Vec<KeyValue> {
    labels.iter().map(|(k, v)| text(k, v)).collect()
}

fn text(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_string())),
        }),
    }
}

fn nanos(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use durafn_runtime::HistogramSnapshot;

    use super::*;

    #[test]
    fn cumulative_buckets_become_per_bucket_counts() {
        let target = MetricsTarget::new(&MetricsExportConfig::default(), "hub", "host-1");
        let h = HistogramSnapshot {
            buckets: vec![(0.1, 2), (1.0, 5), (f64::INFINITY, 6)],
            sum: 3.5,
            count: 6,
        };
        let families = [Family::histogram(
            "durafn_turn_duration_seconds",
            "t",
            vec![(vec![("route", "GET /x".into())], h)],
        )];
        let request = target.request(&families, SystemTime::now());
        let metric = &request.resource_metrics[0].scope_metrics[0].metrics[0];
        assert_eq!(metric.unit, "s");
        let Some(metric::Data::Histogram(histogram)) = &metric.data else {
            panic!("a histogram: {metric:?}");
        };
        let point = &histogram.data_points[0];
        assert_eq!(point.bucket_counts, vec![2, 3, 1]);
        assert_eq!(point.explicit_bounds, vec![0.1, 1.0]);
        assert_eq!((point.count, point.sum), (6, Some(3.5)));
        assert_eq!(point.attributes[0].key, "route");
    }
}
