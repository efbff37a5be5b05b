//! Durable HTTP: an HTTP request made by a built-in activity, with the asynchronous 202 pattern
//! followed by durable timers so that a long-running remote operation survives restarts.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::handle::{OrchestrationContext, add_duration};
use crate::error::TaskError;

/// The name of the built-in activity that performs durable HTTP requests; the runtime registers it.
pub const HTTP_ACTIVITY_NAME: &str = "BuiltIn::HttpActivity";

/// Polling interval used when a 202 response carries no `Retry-After` header.
const DEFAULT_POLLING_INTERVAL: Duration = Duration::from_secs(30);

/// An HTTP request made durably from an orchestrator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DurableHttpRequest {
    /// The method, such as `GET`.
    pub method: String,
    /// The absolute URI.
    pub uri: String,
    /// Request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Follow `202 Accepted` + `Location` by polling (default true).
    #[serde(default = "yes")]
    pub asynchronous_pattern_enabled: bool,
    /// The wait between polls when the server gives no `Retry-After`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub polling_interval: Option<Duration>,
    /// How long the activity waits for one response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
}

fn yes() -> bool {
    true
}

impl DurableHttpRequest {
    /// A request with the given method and URI, no headers, no body, polling enabled.
    pub fn new(method: impl Into<String>, uri: impl Into<String>) -> Self {
        Self {
            method: method.into(),
            uri: uri.into(),
            headers: BTreeMap::new(),
            content: None,
            asynchronous_pattern_enabled: true,
            polling_interval: None,
            timeout: None,
        }
    }

    /// A GET request.
    pub fn get(uri: impl Into<String>) -> Self {
        Self::new("GET", uri)
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.insert(name.into(), value.into());
        self
    }

    /// Sets the body.
    pub fn content(mut self, body: impl Into<String>) -> Self {
        self.content = Some(body.into());
        self
    }
}

/// The response to a durable HTTP request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DurableHttpResponse {
    /// The status code.
    pub status_code: u16,
    /// Response headers (names as received).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The body as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

impl DurableHttpResponse {
    /// A header value, matching the name ignoring case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[allow(clippy::manual_async_fn)] // the `Send + 'static` bounds must be spelled out
pub(crate) fn call_http(
    ctx: OrchestrationContext,
    request: DurableHttpRequest,
) -> impl Future<Output = Result<DurableHttpResponse, TaskError>> + Send + 'static {
    async move {
        let mut response: DurableHttpResponse =
            ctx.call_activity(HTTP_ACTIVITY_NAME, &request).await?;
        while request.asynchronous_pattern_enabled && response.status_code == 202 {
            let Some(location) = response.header("Location").map(str::to_string) else {
                break;
            };
            let wait = response
                .header("Retry-After")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs)
                .or(request.polling_interval)
                .unwrap_or(DEFAULT_POLLING_INTERVAL);
            ctx.create_timer(add_duration(ctx.current_utc_datetime(), wait))
                .await;
            let mut poll = DurableHttpRequest::get(location);
            poll.headers = request.headers.clone();
            poll.timeout = request.timeout;
            response = ctx.call_activity(HTTP_ACTIVITY_NAME, &poll).await?;
        }
        Ok(response)
    }
}
