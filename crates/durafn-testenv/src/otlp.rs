//! A test OTLP collector: a listener on 127.0.0.1 that accepts OTLP trace and metrics exports,
//! over HTTP with protobuf bodies (`POST /v1/traces`, `POST /v1/metrics`,
//! [`OtlpReceiver::start`]) or over gRPC (`…TraceService/Export`, `…MetricsService/Export` on
//! HTTP/2, [`OtlpReceiver::start_grpc`]), decodes them with the `opentelemetry-proto` messages and
//! keeps the spans and metrics for the test to check. Set `OTEL_EXPORTER_OTLP_ENDPOINT` to [`endpoint`].
//!
//! [`endpoint`]: OtlpReceiver::endpoint

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

pub use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
/// The OTLP metrics messages, for tests that read [`OtlpReceiver::metrics`].
pub mod metrics_proto {
    pub use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
    pub use opentelemetry_proto::tonic::metrics::v1::*;

    /// A string attribute value, to compare with what arrived.
    pub fn any_value_string(s: &str) -> AnyValue {
        AnyValue::StringValue(s.to_string())
    }
}
use prost::Message as _;

/// One span as the collector received it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedSpan {
    /// The `service.name` of the exporting process.
    pub service: String,
    /// The `service.instance.id` of the exporting host.
    pub instance: String,
    /// The span's name.
    pub name: String,
    /// Its kind (OTLP numbering: 1 internal, 2 server, 3 client, 4 producer, 5 consumer).
    pub kind: i32,
    /// The trace id (lower-case hex).
    pub trace_id: String,
    /// The span id (lower-case hex).
    pub span_id: String,
    /// The parent span id (lower-case hex), empty for a root.
    pub parent_span_id: String,
    /// Start, in nanoseconds since the epoch.
    pub start_ns: u64,
    /// End, in nanoseconds since the epoch.
    pub end_ns: u64,
    /// Attributes with their values as text.
    pub attributes: Vec<(String, String)>,
    /// Whether the status is error.
    pub error: bool,
    /// The status message (an error's text).
    pub message: String,
}

impl ReceivedSpan {
    /// An attribute's value.
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The OTLP span kinds.
pub mod kind {
    /// Internal.
    pub const INTERNAL: i32 = 1;
    /// Server.
    pub const SERVER: i32 = 2;
    /// Client.
    pub const CLIENT: i32 = 3;
    /// Producer.
    pub const PRODUCER: i32 = 4;
}

/// The running collector; it stops with the test process.
#[derive(Debug, Clone)]
pub struct OtlpReceiver {
    port: u16,
    spans: Arc<Received>,
}

/// The spans so far, and a signal for each export that arrives.
#[derive(Debug, Default)]
struct Received {
    spans: Mutex<Vec<ReceivedSpan>>,
    metrics: Mutex<Vec<ExportMetricsServiceRequest>>,
    arrived: Condvar,
}

impl OtlpReceiver {
    /// Binds a free port and serves exports on background threads.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binds a port");
        let port = listener.local_addr().expect("address").port();
        let spans: Arc<Received> = Arc::default();
        let kept = spans.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let kept = kept.clone();
                std::thread::spawn(move || serve(stream, &kept));
            }
        });
        Self { port, spans }
    }

    /// Binds a free port and serves gRPC exports (HTTP/2 without TLS, as an OTLP exporter sends
    /// to an `http://` endpoint) on a background thread.
    pub fn start_grpc() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binds a port");
        let port = listener.local_addr().expect("address").port();
        let spans: Arc<Received> = Arc::default();
        let kept = spans.clone();
        std::thread::spawn(move || grpc::serve(listener, kept));
        Self { port, spans }
    }

    /// The base address to export to (`http://127.0.0.1:{port}`).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The spans received so far.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.spans
            .spans
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The metrics exports received so far, oldest first.
    pub fn metrics(&self) -> Vec<ExportMetricsServiceRequest> {
        self.spans
            .metrics
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Waits until `done` holds for the metrics exports received (checked as exports arrive),
    /// up to `limit`; returns them either way.
    pub fn wait_for_metrics(
        &self,
        limit: Duration,
        done: impl Fn(&[ExportMetricsServiceRequest]) -> bool,
    ) -> Vec<ExportMetricsServiceRequest> {
        let deadline = Instant::now() + limit;
        let mut spans = self.spans.spans.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let metrics = self.metrics();
            let now = Instant::now();
            if done(&metrics) || now >= deadline {
                return metrics;
            }
            spans = self
                .spans
                .arrived
                .wait_timeout(spans, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Waits until `done` holds for the spans received (checked as exports arrive), up to
    /// `limit`; returns the spans either way.
    pub fn wait_for(
        &self,
        limit: Duration,
        done: impl Fn(&[ReceivedSpan]) -> bool,
    ) -> Vec<ReceivedSpan> {
        let deadline = Instant::now() + limit;
        let mut spans = self.spans.spans.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let now = Instant::now();
            if done(&spans) || now >= deadline {
                return spans.clone();
            }
            spans = self
                .spans
                .arrived
                .wait_timeout(spans, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

impl Received {
    fn keep_metrics(&self, request: ExportMetricsServiceRequest) {
        self.metrics
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(request);
        // Waiters hold the spans' lock while they wait.
        let _spans = self.spans.lock().unwrap_or_else(|p| p.into_inner());
        self.arrived.notify_all();
    }

    fn keep(&self, request: ExportTraceServiceRequest) {
        let mut spans = self.spans.lock().unwrap_or_else(|p| p.into_inner());
        spans.extend(decode(request));
        self.arrived.notify_all();
    }
}

fn serve(stream: TcpStream, kept: &Received) {
    let mut writer = match stream.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let status = if line.starts_with("POST /v1/metrics") {
            match ExportMetricsServiceRequest::decode(body.as_slice()) {
                Ok(request) => {
                    kept.keep_metrics(request);
                    "200 OK"
                }
                Err(_) => "400 Bad Request",
            }
        } else {
            match ExportTraceServiceRequest::decode(body.as_slice()) {
                Ok(request) if line.starts_with("POST /v1/traces") => {
                    kept.keep(request);
                    "200 OK"
                }
                _ => "400 Bad Request",
            }
        };
        let answer = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n"
        );
        if writer.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::IntValue(n)) => n.to_string(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::DoubleValue(d)) => d.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode(request: ExportTraceServiceRequest) -> Vec<ReceivedSpan> {
    let mut out = Vec::new();
    for resource in request.resource_spans {
        let resource_attr = |key: &str| {
            resource
                .resource
                .as_ref()
                .and_then(|r| r.attributes.iter().find(|a| a.key == key))
                .map(|a| text(a.value.as_ref().and_then(|v| v.value.as_ref())))
                .unwrap_or_default()
        };
        let service = resource_attr("service.name");
        let instance = resource_attr("service.instance.id");
        for scope in resource.scope_spans {
            for span in scope.spans {
                out.push(ReceivedSpan {
                    service: service.clone(),
                    instance: instance.clone(),
                    name: span.name,
                    kind: span.kind,
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    start_ns: span.start_time_unix_nano,
                    end_ns: span.end_time_unix_nano,
                    attributes: span
                        .attributes
                        .iter()
                        .map(|a| {
                            (
                                a.key.clone(),
                                text(a.value.as_ref().and_then(|v| v.value.as_ref())),
                            )
                        })
                        .collect(),
                    // STATUS_CODE_ERROR = 2
                    error: span.status.as_ref().is_some_and(|s| s.code == 2),
                    message: span
                        .status
                        .as_ref()
                        .map(|s| s.message.clone())
                        .unwrap_or_default(),
                });
            }
        }
    }
    out
}

/// The gRPC side: unary `Export` calls on HTTP/2, each request one length-prefixed message.
mod grpc {
    use std::sync::Arc;

    use bytes::Bytes;
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use prost::Message as _;

    use super::Received;

    const EXPORT: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
    const METRICS_EXPORT: &str = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

    pub(super) fn serve(listener: std::net::TcpListener, kept: Arc<Received>) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .expect("a runtime for the gRPC collector");
        runtime.block_on(async move {
            listener.set_nonblocking(true).expect("non-blocking");
            let listener = tokio::net::TcpListener::from_std(listener).expect("a listener");
            while let Ok((socket, _)) = listener.accept().await {
                let kept = kept.clone();
                tokio::spawn(async move {
                    let Ok(mut connection) = h2::server::handshake(socket).await else {
                        return;
                    };
                    while let Some(Ok((request, respond))) = connection.accept().await {
                        tokio::spawn(call(request, respond, kept.clone()));
                    }
                });
            }
        });
    }

    async fn call(
        request: http::Request<h2::RecvStream>,
        mut respond: h2::server::SendResponse<Bytes>,
        kept: Arc<Received>,
    ) {
        let path = request.uri().path().to_string();
        let mut body = request.into_body();
        let mut message = Vec::new();
        while let Some(chunk) = body.data().await {
            let Ok(chunk) = chunk else { return };
            let _ = body.flow_control().release_capacity(chunk.len());
            message.extend_from_slice(&chunk);
        }
        // A gRPC message: a compressed flag (0: not), a big-endian length, the message.
        let body = match message.as_slice() {
            [0, a, b, c, d, rest @ ..]
                if u32::from_be_bytes([*a, *b, *c, *d]) as usize == rest.len() =>
            {
                Some(rest)
            }
            _ => None,
        };
        let status = match (path.as_str(), body) {
            (EXPORT, Some(body)) => match ExportTraceServiceRequest::decode(body) {
                Ok(request) => {
                    kept.keep(request);
                    "0"
                }
                Err(_) => "3", // INVALID_ARGUMENT
            },
            (METRICS_EXPORT, Some(body)) => match ExportMetricsServiceRequest::decode(body) {
                Ok(request) => {
                    kept.keep_metrics(request);
                    "0"
                }
                Err(_) => "3",
            },
            (EXPORT | METRICS_EXPORT, None) => "3",
            _ => "12", // UNIMPLEMENTED
        };
        let head = http::Response::builder()
            .status(200)
            .header("content-type", "application/grpc")
            .body(())
            .expect("a response head");
        let Ok(mut stream) = respond.send_response(head, false) else {
            return;
        };
        if status == "0" {
            // An empty ExportTraceServiceResponse.
            let _ = stream.send_data(Bytes::from_static(&[0, 0, 0, 0, 0]), false);
        }
        let mut trailers = http::HeaderMap::new();
        trailers.insert("grpc-status", http::HeaderValue::from_static(status));
        let _ = stream.send_trailers(trailers);
    }
}
