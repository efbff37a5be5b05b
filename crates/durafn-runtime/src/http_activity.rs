//! The built-in activity behind `ctx.call_http`: one HTTP request per call, sent by the
//! runtime's [`HttpSender`].
//!
//! The default sender, [`TcpHttpSender`], speaks plain HTTP/1.1 over a TCP connection (no TLS in
//! this build; an `https` URI fails with a clear error), with `Content-Length` or chunked
//! responses. The 202-polling loop lives in the orchestrator (`durafn-core`), so each poll is a
//! durable step and the sender only ever sends one request.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use durafn_core::{DurableHttpRequest, DurableHttpResponse, FailureDetails, SystemFailure};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// What [`HttpSender::send`] returns: the response, or the failure the orchestration sees as the
/// failed HTTP task.
pub type HttpFuture<'a> =
    Pin<Box<dyn Future<Output = Result<DurableHttpResponse, FailureDetails>> + Send + 'a>>;

/// Sends the requests of `ctx.call_http`, one request per call (the runtime applies the
/// request's timeout around it, and the orchestrator does the 202 polling and the retries).
///
/// The seam exists so that a simulation can answer durable HTTP deterministically, without a
/// socket (a seeded endpoint under virtual time), and an embedder can route the calls through a
/// client of its own (TLS, a proxy). Set it with
/// [`RuntimeBuilder::http_sender`](crate::RuntimeBuilder::http_sender); the default is
/// [`TcpHttpSender`].
pub trait HttpSender: Send + Sync + 'static {
    /// Sends `request`; `trace_parent` (the attempt's span, when traced) is to be sent as the
    /// W3C `traceparent` header unless the request has one, so the called service joins the
    /// trace. A status code of any kind is a response, not a failure: only a request that got
    /// no answer fails.
    fn send<'a>(
        &'a self,
        request: &'a DurableHttpRequest,
        trace_parent: Option<&'a str>,
    ) -> HttpFuture<'a>;
}

/// The default [`HttpSender`]: plain HTTP/1.1 over TCP, one connection per request.
#[derive(Debug, Clone, Copy, Default)]
pub struct TcpHttpSender;

impl HttpSender for TcpHttpSender {
    fn send<'a>(
        &'a self,
        request: &'a DurableHttpRequest,
        trace_parent: Option<&'a str>,
    ) -> HttpFuture<'a> {
        Box::pin(send(request, trace_parent))
    }
}

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(100);
const MAX_BODY: usize = 32 * 1024 * 1024;

fn failure(message: impl Into<String>) -> FailureDetails {
    FailureDetails::system(SystemFailure::HttpRequestFailed, message)
}

struct Target {
    host: String,
    port: u16,
    path: String,
}

fn parse_uri(uri: &str) -> Result<Target, FailureDetails> {
    let rest = if let Some(rest) = uri.strip_prefix("http://") {
        rest
    } else if uri.starts_with("https://") {
        return Err(failure(format!(
            "cannot call {uri}: https is not supported by the built-in HTTP activity in this build"
        )));
    } else {
        return Err(failure(format!(
            "cannot call {uri:?}: only absolute http:// URIs are supported"
        )));
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => (
            h.to_string(),
            p.parse()
                .map_err(|_| failure(format!("invalid port in {uri}")))?,
        ),
        _ => (authority.to_string(), 80),
    };
    if host.is_empty() {
        return Err(failure(format!("no host in {uri}")));
    }
    Ok(Target {
        host,
        port,
        path: path.to_string(),
    })
}

/// Performs one request with `sender`, within the request's timeout (100 s without one).
pub(crate) async fn call(
    sender: &dyn HttpSender,
    request: DurableHttpRequest,
    trace_parent: Option<String>,
) -> Result<DurableHttpResponse, FailureDetails> {
    let timeout = request.timeout.unwrap_or(DEFAULT_TIMEOUT);
    tokio::time::timeout(timeout, sender.send(&request, trace_parent.as_deref()))
        .await
        .map_err(|_| {
            failure(format!(
                "{} {} timed out after {timeout:?}",
                request.method, request.uri
            ))
        })?
}

async fn send(
    request: &DurableHttpRequest,
    trace_parent: Option<&str>,
) -> Result<DurableHttpResponse, FailureDetails> {
    let target = parse_uri(&request.uri)?;
    let io = |e: std::io::Error| failure(format!("{} {} failed: {e}", request.method, request.uri));
    let stream = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(io)?;
    let mut stream = BufReader::new(stream);
    let body = request.content.as_deref().unwrap_or("");
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
        request.method, target.path, target.host
    );
    for (name, value) in &request.headers {
        if name.contains(['\r', '\n']) || value.contains(['\r', '\n']) {
            return Err(failure(format!("header {name:?} contains a line break")));
        }
        if !name.eq_ignore_ascii_case("host") && !name.eq_ignore_ascii_case("content-length") {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    let has_trace = request
        .headers
        .keys()
        .any(|k| k.eq_ignore_ascii_case("traceparent"));
    if let (Some(trace_parent), false) = (trace_parent, has_trace) {
        head.push_str(&format!("traceparent: {trace_parent}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    stream
        .get_mut()
        .write_all(head.as_bytes())
        .await
        .map_err(io)?;
    stream
        .get_mut()
        .write_all(body.as_bytes())
        .await
        .map_err(io)?;

    let mut line = String::new();
    stream.read_line(&mut line).await.map_err(io)?;
    let status_code: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| {
            failure(format!(
                "{} answered with an invalid status line {line:?}",
                request.uri
            ))
        })?;
    let mut headers = BTreeMap::new();
    loop {
        line.clear();
        stream.read_line(&mut line).await.map_err(io)?;
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if let Some((name, value)) = trimmed.split_once(':') {
            headers.insert(name.trim().to_string(), value.trim().to_string());
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let mut bytes = Vec::new();
    if header("Transfer-Encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            line.clear();
            stream.read_line(&mut line).await.map_err(io)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| failure("invalid chunked encoding"))?;
            if size == 0 || bytes.len() + size > MAX_BODY {
                break;
            }
            let mut chunk = vec![0; size + 2];
            stream.read_exact(&mut chunk).await.map_err(io)?;
            chunk.truncate(size);
            bytes.extend(chunk);
        }
    } else if let Some(len) = header("Content-Length").and_then(|v| v.parse::<usize>().ok()) {
        bytes.resize(len.min(MAX_BODY), 0);
        stream.read_exact(&mut bytes).await.map_err(io)?;
    } else if request.method != "HEAD" && status_code != 204 && status_code != 304 {
        stream
            .take(MAX_BODY as u64)
            .read_to_end(&mut bytes)
            .await
            .map_err(io)?;
    }
    let content = (!bytes.is_empty()).then(|| String::from_utf8_lossy(&bytes).into_owned());
    Ok(DurableHttpResponse {
        status_code,
        headers,
        content,
    })
}
