//! The OTLP exporter: durafn's span records become OpenTelemetry spans with the ids, parents
//! and times they were given (an orchestration span ends on the host that ran its last turn,
//! with the id and start its first turn recorded), batched by the SDK's span processor on its
//! own thread and sent over OTLP/HTTP (protobuf) or gRPC as `OTEL_EXPORTER_OTLP_PROTOCOL` says.
//!
//! The standard variables apply: `OTEL_EXPORTER_OTLP_ENDPOINT` (and `..._TRACES_ENDPOINT`),
//! `OTEL_EXPORTER_OTLP_PROTOCOL` (`http/protobuf`, the default, or `grpc`), `OTEL_SERVICE_NAME`
//! (default: the task hub's name) and `OTEL_BSP_MAX_QUEUE_SIZE` as app settings (the environment
//! or local.settings.json); the SDK reads `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER` and
//! the batch processor's other `OTEL_BSP_*` from the environment. Each host's spans carry its
//! host id as `service.instance.id`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use durafn_runtime::{SpanKind, SpanRecord, SpanSink, SpanValue};
use opentelemetry::trace::{
    Span as _, SpanContext, SpanId, Status, TraceContextExt, TraceFlags, TraceId, TraceState,
    Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracer, SdkTracerProvider, Span, SpanData,
    SpanExporter, SpanProcessor,
};

use crate::config::TracingConfig;
use crate::error::HostError;

/// The running exporter.
pub(super) struct Exporter {
    provider: SdkTracerProvider,
    sink: Arc<OtlpSink>,
}

impl Exporter {
    /// Builds the exporter from the `OTEL_*` variables; spans it fails to send add to `dropped`.
    pub(super) fn start(
        config: &TracingConfig,
        service: &str,
        host_id: &str,
        dropped: Arc<AtomicU64>,
    ) -> Result<Self, HostError> {
        let failed = |e: opentelemetry_otlp::ExporterBuildError| {
            HostError::Tracing(format!("the OTLP exporter could not be built: {e}"))
        };
        let protocol = config.protocol.as_deref().unwrap_or("http/protobuf");
        let exporter = match protocol {
            "http/protobuf" => {
                let endpoint = config.traces_endpoint.clone().unwrap_or_else(|| {
                    format!(
                        "{}/v1/traces",
                        config
                            .endpoint
                            .as_deref()
                            .unwrap_or("http://localhost:4318")
                    )
                });
                opentelemetry_otlp::SpanExporter::builder()
                    .with_http()
                    .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                    .with_endpoint(endpoint)
                    .with_http_client(blocking_client()?)
                    .build()
                    .map_err(failed)?
            }
            "grpc" => {
                let endpoint = config
                    .traces_endpoint
                    .clone()
                    .or_else(|| config.endpoint.clone())
                    .unwrap_or_else(|| "http://localhost:4317".into());
                opentelemetry_otlp::SpanExporter::builder()
                    .with_tonic()
                    .with_endpoint(endpoint)
                    .build()
                    .map_err(failed)?
            }
            other => {
                return Err(HostError::Tracing(format!(
                    "OTEL_EXPORTER_OTLP_PROTOCOL={other:?} is not supported (use http/protobuf or grpc)"
                )));
            }
        };
        let resource = Resource::builder()
            .with_service_name(
                config
                    .service_name
                    .clone()
                    .unwrap_or_else(|| service.to_string()),
            )
            .with_attribute(KeyValue::new("service.instance.id", host_id.to_string()));
        let capacity = config.queue_size.unwrap_or(2048);
        let pending = Arc::new(AtomicUsize::new(0));
        let batch = BatchSpanProcessor::builder(Counting {
            inner: exporter,
            dropped: dropped.clone(),
            pending: pending.clone(),
        })
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_max_queue_size(capacity)
                .build(),
        )
        .build();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(Bounded {
                inner: batch,
                capacity,
                pending,
                dropped,
            })
            .with_resource(resource.build())
            .build();
        let tracer = provider.tracer("durafn");
        Ok(Self {
            sink: Arc::new(OtlpSink { tracer }),
            provider,
        })
    }

    pub(super) fn sink(&self) -> Arc<dyn SpanSink> {
        self.sink.clone()
    }

    /// Flushes and stops (on a blocking thread: the SDK waits for its exporter thread).
    pub(super) async fn shutdown(&self) {
        let provider = self.provider.clone();
        let _ = tokio::task::spawn_blocking(move || provider.shutdown()).await;
    }
}

/// The HTTP client of the exporter's thread, which has no async runtime.
fn blocking_client() -> Result<reqwest::blocking::Client, HostError> {
    // Building a blocking client inside an async runtime is refused; build it on a thread.
    std::thread::spawn(|| {
        reqwest::blocking::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
    })
    .join()
    .map_err(|_| HostError::Tracing("the OTLP HTTP client could not be built".into()))?
    .map_err(|e| HostError::Tracing(format!("the OTLP HTTP client could not be built: {e}")))
}

/// The batch processor behind a count of the spans it holds (queued, batched or being sent): a
/// span that would overflow its queue is dropped here and counted, where the SDK would drop it
/// silently. The count is never below the SDK's queue length, so the SDK itself never drops.
#[derive(Debug)]
struct Bounded<P> {
    inner: P,
    capacity: usize,
    pending: Arc<AtomicUsize>,
    dropped: Arc<AtomicU64>,
}

impl<P: SpanProcessor> SpanProcessor for Bounded<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        let taken = self
            .pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.capacity).then_some(n + 1)
            })
            .is_ok();
        if taken {
            self.inner.on_end(span);
        } else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// Counts the spans of every batch the collector did not take, and gives the spans of every
/// batch sent (or not) back to [`Bounded`]'s count.
#[derive(Debug)]
struct Counting<E> {
    inner: E,
    dropped: Arc<AtomicU64>,
    pending: Arc<AtomicUsize>,
}

impl<E: SpanExporter> SpanExporter for Counting<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let n = batch.len();
        let result = self.inner.export(batch).await;
        if result.is_err() {
            self.dropped.fetch_add(n as u64, Ordering::Relaxed);
        }
        self.pending.fetch_sub(n, Ordering::AcqRel);
        result
    }

    fn shutdown(&mut self) -> OTelSdkResult {
        self.inner.shutdown()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

struct OtlpSink {
    tracer: SdkTracer,
}

impl SpanSink for OtlpSink {
    fn emit(&self, spans: Vec<SpanRecord>) {
        for record in spans {
            self.export(record);
        }
    }
}

impl OtlpSink {
    fn export(&self, record: SpanRecord) {
        let trace_id = TraceId::from_bytes(record.trace_id);
        let parent = match record.parent_span_id {
            Some(parent) => Context::new().with_remote_span_context(SpanContext::new(
                trace_id,
                SpanId::from_bytes(parent),
                TraceFlags::new(record.flags),
                true,
                record
                    .trace_state
                    .as_deref()
                    .and_then(|s| s.parse::<TraceState>().ok())
                    .unwrap_or_default(),
            )),
            None => Context::new(),
        };
        let attributes: Vec<KeyValue> = record
            .attributes
            .into_iter()
            .map(|(key, value)| match value {
                SpanValue::Str(s) => KeyValue::new(key, s),
                SpanValue::Int(n) => KeyValue::new(key, n),
            })
            .collect();
        let mut builder = self
            .tracer
            .span_builder(record.name)
            .with_kind(kind(record.kind))
            .with_trace_id(trace_id)
            .with_span_id(SpanId::from_bytes(record.span_id))
            .with_start_time(SystemTime::from(record.start))
            .with_attributes(attributes);
        if let Some(message) = record.error {
            builder = builder.with_status(Status::error(message));
        }
        let mut span = self.tracer.build_with_context(builder, &parent);
        span.end_with_timestamp(SystemTime::from(record.end));
    }
}

fn kind(kind: SpanKind) -> opentelemetry::trace::SpanKind {
    match kind {
        SpanKind::Internal => opentelemetry::trace::SpanKind::Internal,
        SpanKind::Server => opentelemetry::trace::SpanKind::Server,
        SpanKind::Client => opentelemetry::trace::SpanKind::Client,
        SpanKind::Producer => opentelemetry::trace::SpanKind::Producer,
    }
}
