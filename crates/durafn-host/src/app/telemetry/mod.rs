//! Distributed tracing in the host: the exporter the runtime's spans go to, and the server span
//! of each HTTP-triggered function call, whose context everything the function starts continues.
//!
//! Tracing is off by default; off, no span is made anywhere (the runtime gets no sink). On, the
//! spans go to an OTLP exporter (`otlp`, feature `otel`) that batches them on its own thread:
//! handing a span over never waits for the network, and spans a dead collector cannot take are
//! dropped and counted (`durafn_spans_dropped_total`).

pub(crate) mod metric_set;
#[cfg(feature = "otel")]
mod otlp;
#[cfg(feature = "otel")]
pub(crate) mod otlp_metrics;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use durafn_runtime::SpanSink;

use crate::config::TracingConfig;
use crate::error::HostError;

/// The host's span exporter, when tracing is on.
pub(crate) struct Telemetry {
    sink: Option<Arc<dyn SpanSink>>,
    dropped: Arc<AtomicU64>,
    /// OTLP metrics exports the collector did not take.
    metric_exports_failed: AtomicU64,
    #[cfg(feature = "otel")]
    exporter: Option<otlp::Exporter>,
}

impl Telemetry {
    /// Starts the exporter if `config` turns tracing on (inside the tokio runtime: the gRPC
    /// transport needs it). A host built without the `otel` feature refuses to turn it on.
    pub(crate) fn start(
        config: &TracingConfig,
        service: &str,
        host_id: &str,
    ) -> Result<Self, HostError> {
        let dropped = Arc::new(AtomicU64::new(0));
        if !config.enabled {
            return Ok(Self::off(dropped));
        }
        #[cfg(feature = "otel")]
        {
            let exporter = otlp::Exporter::start(config, service, host_id, dropped.clone())?;
            Ok(Self {
                sink: Some(exporter.sink()),
                dropped,
                metric_exports_failed: AtomicU64::new(0),
                exporter: Some(exporter),
            })
        }
        #[cfg(not(feature = "otel"))]
        {
            let _ = (service, host_id);
            Err(HostError::Tracing(
                "this host was built without the `otel` feature, so it cannot export spans".into(),
            ))
        }
    }

    fn off(dropped: Arc<AtomicU64>) -> Self {
        Self {
            sink: None,
            dropped,
            metric_exports_failed: AtomicU64::new(0),
            #[cfg(feature = "otel")]
            exporter: None,
        }
    }

    /// Where spans go; `None` when tracing is off.
    pub(crate) fn sink(&self) -> Option<Arc<dyn SpanSink>> {
        self.sink.clone()
    }

    /// Spans dropped because the collector did not take them.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Counts an OTLP metrics export that did not reach the collector.
    #[cfg_attr(not(feature = "otel"), allow(dead_code))]
    pub(crate) fn metric_export_failed(&self) {
        self.metric_exports_failed.fetch_add(1, Ordering::Relaxed);
    }

    /// OTLP metrics exports that did not reach the collector.
    pub(crate) fn metric_exports_failed(&self) -> u64 {
        self.metric_exports_failed.load(Ordering::Relaxed)
    }

    /// Sends what is queued (bounded by the exporter's timeout) and stops the exporter.
    pub(crate) async fn shutdown(&self) {
        #[cfg(feature = "otel")]
        if let Some(exporter) = &self.exporter {
            exporter.shutdown().await;
        }
    }
}
