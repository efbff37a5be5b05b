//! The HTTP stack service clients send with: one pooled hyper client over
//! plain HTTP, a timeout per attempt, and retries with exponential back-off
//! for the failures that may pass.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// How long one attempt may take before it fails as a timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How often, and how patiently, a request that failed in a way that may
/// pass is sent again: connection failures, timeouts, and the statuses 408,
/// 429, 500, 502, 503 and 504.
///
/// Attempt `n` (from 1) that fails waits `first_delay * 4^(n-1)` before the
/// next, so the default (3 attempts, 200 ms) waits 0.2 s and then 0.8 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, at least 1 (1 means no retry).
    pub attempts: u32,
    /// The wait after the first failed attempt.
    pub first_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            first_delay: Duration::from_millis(200),
        }
    }
}

impl RetryPolicy {
    /// No retries: every failure is returned at once.
    pub const NONE: RetryPolicy = RetryPolicy {
        attempts: 1,
        first_delay: Duration::ZERO,
    };

    /// The wait after failed attempt `attempt` (counted from 1).
    pub fn delay_after(&self, attempt: u32) -> Duration {
        self.first_delay
            .saturating_mul(4_u32.saturating_pow(attempt.saturating_sub(1)))
    }

    /// Whether a status is worth another attempt.
    pub fn is_transient_status(status: StatusCode) -> bool {
        matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
    }
}

/// A response read in full.
#[derive(Debug)]
pub struct Response {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

/// Why no response arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Connection refused or reset, DNS failure, ...: the chain of causes.
    Unreachable(String),
    /// The attempt took longer than the timeout.
    Timeout(Duration),
}

/// A pooled plain-HTTP client with a timeout per attempt and a retry
/// policy. Cloning shares the pool. Needs a Tokio runtime with timers.
#[derive(Clone)]
pub struct Transport {
    client: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
    retry: RetryPolicy,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl Default for Transport {
    fn default() -> Self {
        Transport::new()
    }
}

impl Transport {
    /// A client with [`DEFAULT_TIMEOUT`] and the default [`RetryPolicy`].
    /// Does no I/O.
    pub fn new() -> Transport {
        Transport {
            client: Client::builder(TokioExecutor::new()).build_http(),
            timeout: DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
        }
    }

    /// The same client (sharing the pool) with another timeout per attempt.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Transport {
        self.timeout = timeout;
        self
    }

    /// The same client (sharing the pool) with another retry policy.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Transport {
        self.retry = retry;
        self
    }

    /// The timeout per attempt.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The retry policy.
    pub fn retry(&self) -> RetryPolicy {
        self.retry
    }

    /// Sends the request `build` makes, again for each attempt (so each is
    /// signed with its own date), until it gets a response that is not a
    /// transient status or the attempts run out. Returns the last response,
    /// whatever its status, or why none arrived.
    pub async fn send(
        &self,
        build: impl Fn() -> Request<Full<Bytes>>,
    ) -> Result<Response, SendError> {
        let attempts = self.retry.attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = self.send_once(build()).await;
            let transient = match &outcome {
                Ok(response) => RetryPolicy::is_transient_status(response.status),
                Err(_) => true,
            };
            if !transient || attempt >= attempts {
                return outcome;
            }
            tokio::time::sleep(self.retry.delay_after(attempt)).await;
        }
    }

    async fn send_once(&self, request: Request<Full<Bytes>>) -> Result<Response, SendError> {
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| SendError::Unreachable(error_chain(&e)))?;
            let (parts, body) = response.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|e| SendError::Unreachable(error_chain(&e)))?
                .to_bytes();
            Ok(Response {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| SendError::Timeout(self.timeout))?
    }
}

/// The `x-ms-date` header value for now (RFC 1123, GMT).
pub fn x_ms_date() -> String {
    chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now())
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

/// An error and its sources on one line (hyper's top-level messages alone
/// say little: "client error (Connect)").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_grows_fourfold() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay_after(1), Duration::from_millis(200));
        assert_eq!(policy.delay_after(2), Duration::from_millis(800));
        assert_eq!(policy.delay_after(3), Duration::from_millis(3200));
        assert!(RetryPolicy::is_transient_status(
            StatusCode::SERVICE_UNAVAILABLE
        ));
        assert!(RetryPolicy::is_transient_status(
            StatusCode::TOO_MANY_REQUESTS
        ));
        assert!(!RetryPolicy::is_transient_status(StatusCode::NOT_FOUND));
        assert!(!RetryPolicy::is_transient_status(
            StatusCode::NOT_IMPLEMENTED
        ));
    }
}
