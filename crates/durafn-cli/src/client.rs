//! The HTTP client of the management and admin API.
//!
//! Every request carries the key in the `x-functions-key` header, never in the URL, so URLs can
//! be shown in messages. Redirects are not followed: a redirect could carry the key to another
//! origin, so it is reported with the address to use instead.

use std::time::Duration;

use durafn_api::{CONTINUATION_HEADER, ErrorBody, KEY_HEADER, query};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::config::Connection;
use crate::error::{CliError, CliResult};

/// Everything but the unreserved characters of RFC 3986 is encoded, in path segments and query
/// values alike.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes one path segment or query value.
pub(crate) fn encode(text: &str) -> String {
    utf8_percent_encode(text, COMPONENT).to_string()
}

/// How long one request may take before it is given up.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The largest answer read (a history export of a long orchestration can be large).
const BODY_LIMIT: u64 = 1 << 30;

/// An answer from the host.
#[derive(Debug)]
pub(crate) struct Reply {
    /// The status code.
    pub(crate) status: u16,
    /// The continuation token of a listing, when more pages exist.
    pub(crate) continuation: Option<String>,
    /// The body, as sent.
    pub(crate) body: Vec<u8>,
}

impl Reply {
    /// Whether the status is 2xx.
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as text (bodies are JSON, so UTF-8).
    pub(crate) fn text(&self) -> CliResult<&str> {
        std::str::from_utf8(&self.body)
            .map_err(|_| CliError::BadAnswer("the body is not UTF-8".into()))
    }

    /// Reads the body as `T`.
    pub(crate) fn json<'a, T: serde::Deserialize<'a>>(&'a self) -> CliResult<T> {
        serde_json::from_slice(&self.body).map_err(|e| CliError::BadAnswer(e.to_string()))
    }

    /// The error for a non-2xx answer. `subject` names what the request was about, for the
    /// empty 404 and 410 answers of the management API ("instance abc").
    pub(crate) fn error(&self, subject: &str) -> CliError {
        let body: Option<ErrorBody> = serde_json::from_slice(&self.body).ok();
        let message = body.map(|b| b.to_string());
        match self.status {
            401 | 403 => CliError::Unauthorized {
                status: self.status,
                hint: "pass the master key or the durabletask_extension system key with --key, DURAFN_KEY or a profile",
            },
            404 => {
                CliError::NotFound(message.unwrap_or_else(|| format!("{subject} was not found")))
            }
            410 => CliError::Finished(
                message.unwrap_or_else(|| format!("{subject} has already finished")),
            ),
            300..=399 => CliError::Host {
                status: self.status,
                message:
                    "the host redirected the request; use the address it redirects to as --url"
                        .into(),
            },
            status => CliError::Host {
                status,
                message: message.unwrap_or_else(|| match self.text() {
                    Ok(t) if !t.trim().is_empty() => t.chars().take(300).collect(),
                    _ => "no details".into(),
                }),
            },
        }
    }

    /// `self` if it is 2xx, else its error.
    pub(crate) fn ok(self, subject: &str) -> CliResult<Reply> {
        if self.is_success() {
            Ok(self)
        } else {
            Err(self.error(subject))
        }
    }
}

/// A request body.
pub(crate) enum Body<'a> {
    /// No body.
    None,
    /// A JSON text.
    Json(&'a str),
}

/// A client of one host.
#[derive(Clone)]
pub(crate) struct Client {
    agent: ureq::Agent,
    conn: Connection,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("conn", &self.conn).finish()
    }
}

impl Client {
    /// A client for the connection.
    pub(crate) fn new(conn: Connection) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(REQUEST_TIMEOUT))
            .user_agent(concat!("durafn-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Self { agent, conn }
    }

    /// The connection it uses.
    pub(crate) fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Sends a request. `path` starts with `/` and is already encoded; `query` values are
    /// encoded here, and the task hub is added to management API calls.
    pub(crate) fn send(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, String)],
        body: Body<'_>,
        continuation: Option<&str>,
    ) -> CliResult<Reply> {
        let mut url = format!("{}{path}", self.conn.url);
        let mut pairs: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        if let Some(hub) = &self.conn.task_hub
            && path.starts_with(durafn_api::MANAGEMENT_BASE)
        {
            pairs.push((query::TASK_HUB, hub));
        }
        for (i, (k, v)) in pairs.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(k);
            url.push('=');
            url.push_str(&encode(v));
        }
        let result = match method {
            "GET" | "DELETE" => {
                let mut req = if method == "GET" {
                    self.agent.get(&url)
                } else {
                    self.agent.delete(&url)
                };
                req = self.headers(req, continuation);
                req.call()
            }
            _ => {
                let mut req = match method {
                    "PUT" => self.agent.put(&url),
                    _ => self.agent.post(&url),
                };
                req = self.headers(req, continuation);
                match body {
                    Body::None => req.send_empty(),
                    Body::Json(text) => req
                        .header("content-type", "application/json")
                        .send(text.as_bytes()),
                }
            }
        };
        let mut response = result.map_err(|e| self.transport_error(e))?;
        let status = response.status().as_u16();
        let continuation = response
            .headers()
            .get(CONTINUATION_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map(String::from);
        let body = response
            .body_mut()
            .with_config()
            .limit(BODY_LIMIT)
            .read_to_vec()
            .map_err(|e| self.transport_error(e))?;
        Ok(Reply {
            status,
            continuation,
            body,
        })
    }

    fn headers<B>(
        &self,
        mut req: ureq::RequestBuilder<B>,
        continuation: Option<&str>,
    ) -> ureq::RequestBuilder<B> {
        req = req.header("accept", "application/json");
        if let Some(key) = &self.conn.key {
            req = req.header(KEY_HEADER, key);
        }
        if let Some(token) = continuation {
            req = req.header(CONTINUATION_HEADER, token);
        }
        req
    }

    fn transport_error(&self, e: ureq::Error) -> CliError {
        let detail = match e {
            ureq::Error::Io(io) => io.to_string(),
            ureq::Error::Timeout(_) => {
                format!("no answer within {} seconds", REQUEST_TIMEOUT.as_secs())
            }
            ureq::Error::HostNotFound => "the host name does not resolve".into(),
            ureq::Error::ConnectionFailed => "the connection failed".into(),
            other => other.to_string(),
        };
        CliError::Connect {
            url: self.conn.url.clone(),
            detail,
        }
    }

    /// GET a path of the management API.
    pub(crate) fn get(&self, path: &str, query: &[(&str, String)]) -> CliResult<Reply> {
        self.send("GET", &management(path), query, Body::None, None)
    }

    /// POST to a path of the management API.
    pub(crate) fn post(
        &self,
        path: &str,
        query: &[(&str, String)],
        body: Body<'_>,
    ) -> CliResult<Reply> {
        self.send("POST", &management(path), query, body, None)
    }

    /// DELETE a path of the management API.
    pub(crate) fn delete(&self, path: &str, query: &[(&str, String)]) -> CliResult<Reply> {
        self.send("DELETE", &management(path), query, Body::None, None)
    }

    /// A request to the admin API (`path` under `/admin`).
    pub(crate) fn admin(&self, method: &str, path: &str, body: Body<'_>) -> CliResult<Reply> {
        self.send(
            method,
            &format!("{}{path}", durafn_api::ADMIN_BASE),
            &[],
            body,
            None,
        )
    }

    /// One page of a listing of the management API.
    pub(crate) fn page(
        &self,
        path: &str,
        query: &[(&str, String)],
        continuation: Option<&str>,
    ) -> CliResult<Reply> {
        self.send("GET", &management(path), query, Body::None, continuation)
    }
}

fn management(path: &str) -> String {
    format!("{}{path}", durafn_api::MANAGEMENT_BASE)
}

/// The path of one instance.
pub(crate) fn instance_path(id: &str) -> String {
    format!("/instances/{}", encode(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_are_encoded() {
        assert_eq!(encode("a b/c?d#e@f:g"), "a%20b%2Fc%3Fd%23e%40f%3Ag");
        assert_eq!(encode("2024-01-01T00:00:00Z"), "2024-01-01T00%3A00%3A00Z");
        assert_eq!(instance_path("x~y.z_1-2"), "/instances/x~y.z_1-2");
    }

    #[test]
    fn errors_use_the_host_message() {
        let reply = |status, body: &str| Reply {
            status,
            continuation: None,
            body: body.as_bytes().to_vec(),
        };
        let e = reply(
            400,
            r#"{"Message":"One or more of the arguments submitted is incorrect","ExceptionMessage":"unknown orchestrator 'x'"}"#,
        )
        .error("x");
        assert_eq!(
            e.to_string(),
            "the host answered 400: One or more of the arguments submitted is incorrect: unknown orchestrator 'x'"
        );
        assert_eq!(
            reply(404, "").error("instance abc").to_string(),
            "instance abc was not found"
        );
        assert_eq!(reply(404, "").error("x").exit_code(), 3);
        assert!(matches!(
            reply(401, "").error("x"),
            CliError::Unauthorized { .. }
        ));
        assert_eq!(
            reply(502, "bad gateway").error("x").to_string(),
            "the host answered 502: bad gateway"
        );
    }
}
