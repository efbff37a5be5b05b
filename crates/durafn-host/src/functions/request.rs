//! The request and response types of HTTP-triggered functions, and the host's own reading of
//! requests (query, keys, body limit, origin).

use std::collections::BTreeMap;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Query parameters as they arrived, looked up ignoring ASCII case (as the Functions host and the
/// Durable Functions management API do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct QueryParams(pub(crate) Vec<(String, String)>);

impl QueryParams {
    pub(crate) fn parse(uri: &axum::http::Uri) -> Result<Self, ApiError> {
        if uri.query().is_none_or(str::is_empty) {
            return Ok(Self::default());
        }
        Query::<Vec<(String, String)>>::try_from_uri(uri)
            .map(|Query(pairs)| Self(pairs))
            .map_err(|_| ApiError::bad_request("The query string is not valid."))
    }

    /// The first value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A boolean parameter: `true`/`false` in any case (`True`, `TRUE`); absent or empty means
    /// `default`.
    pub(crate) fn bool(&self, name: &str, default: bool) -> Result<bool, ApiError> {
        match self.get(name).map(str::trim) {
            None | Some("") => Ok(default),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(ApiError::bad_request(format!(
                "The query parameter {name} must be true or false, not {v:?}."
            ))),
        }
    }

    /// A non-negative integer parameter.
    pub(crate) fn number(&self, name: &str) -> Result<Option<u64>, ApiError> {
        match self.get(name).map(str::trim) {
            None | Some("") => Ok(None),
            Some(v) => v.parse::<u64>().map(Some).map_err(|_| {
                ApiError::bad_request(format!(
                    "The query parameter {name} must be a non-negative integer, not {v:?}."
                ))
            }),
        }
    }
}

/// The key a caller presented: the `x-functions-key` header wins over `?code=`.
pub(crate) fn presented_key<'a>(headers: &'a HeaderMap, query: &'a QueryParams) -> Option<&'a str> {
    match headers.get("x-functions-key") {
        Some(v) => v.to_str().ok(),
        None => query.get("code"),
    }
}

/// The scheme and host the caller used, for links back to this host: `X-Forwarded-Proto` and
/// `X-Forwarded-Host` (set by a reverse proxy) over the `Host` header; `fallback` when the
/// request names no usable host.
pub(crate) fn request_origin(headers: &HeaderMap, fallback: &str) -> String {
    let first = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let scheme = match first("x-forwarded-proto") {
        Some(p) if p.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    };
    let host = first("x-forwarded-host")
        .or_else(|| first(header::HOST.as_str()))
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]_".contains(c))
        });
    match host {
        Some(h) => format!("{scheme}://{h}"),
        None => fallback.to_string(),
    }
}

/// Reads a body up to `limit` bytes; a larger one is refused with 413 before or while reading.
pub(crate) async fn read_body(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::too_large(limit));
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(ApiError::too_large(limit)),
        Err(e) => {
            tracing::debug!(error = %e, "reading a request body failed");
            Err(ApiError::bad_request("The request body could not be read."))
        }
    }
}

/// A request as the host's routes see it: parsed, authorised and read.
#[derive(Debug)]
pub(crate) struct Call {
    pub(crate) method: Method,
    pub(crate) uri: axum::http::Uri,
    pub(crate) headers: HeaderMap,
    pub(crate) query: QueryParams,
    pub(crate) path: Vec<(String, String)>,
    pub(crate) body: Bytes,
    /// Whether it came in on the local RPC endpoint.
    pub(crate) rpc: bool,
}

impl Call {
    /// Extracts the route's path parameters (percent-decoded).
    pub(crate) async fn path_params<S: Send + Sync>(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Vec<(String, String)>, ApiError> {
        match Path::<Vec<(String, String)>>::from_request_parts(parts, state).await {
            Ok(Path(params)) => Ok(params),
            Err(_) => Err(ApiError::bad_request(
                "The request path is not valid (bad percent-encoding).",
            )),
        }
    }

    /// A path parameter by name ("" when the route has none of that name).
    pub(crate) fn param(&self, name: &str) -> &str {
        self.path
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// Whether the body is declared as JSON (`Content-Type: application/json`, parameters
    /// allowed).
    pub(crate) fn is_json(&self) -> bool {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
    }

    /// The body as a JSON payload: an empty body is `null`.
    pub(crate) fn json_payload(&self) -> Result<durafn_core::Payload, ApiError> {
        let text = std::str::from_utf8(&self.body)
            .map_err(|_| ApiError::bad_request("The request body is not valid UTF-8."))?;
        if text.trim().is_empty() {
            return Ok(durafn_core::Payload::null());
        }
        durafn_core::Payload::from_json_text(text.trim())
            .map_err(|e| ApiError::bad_request(format!("The request body is not valid JSON: {e}")))
    }
}

/// An HTTP request handed to an HTTP-triggered function.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    method: Method,
    url: String,
    headers: HeaderMap,
    query: Vec<(String, String)>,
    route_params: BTreeMap<String, String>,
    body: Bytes,
}

/// Why a request body could not be read as the function expected.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The body is not UTF-8 text.
    #[error("the request body is not valid UTF-8")]
    NotUtf8,
    /// The body is not JSON of the expected shape.
    #[error("the request body is not valid JSON for this request: {0}")]
    Json(String),
}

impl HttpRequest {
    /// A request with no headers and no body; `url` may be absolute or a path with a query
    /// (for testing functions directly).
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        let url = url.into();
        let query = url
            .parse::<axum::http::Uri>()
            .ok()
            .and_then(|uri| QueryParams::parse(&uri).ok())
            .map(|q| q.0)
            .unwrap_or_default();
        Self {
            method,
            url,
            headers: HeaderMap::new(),
            query,
            route_params: BTreeMap::new(),
            body: Bytes::new(),
        }
    }

    pub(crate) fn from_call(call: Call, origin: &str) -> Self {
        let path_and_query = call.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        Self {
            method: call.method,
            url: format!("{origin}{path_and_query}"),
            headers: call.headers,
            query: call.query.0,
            route_params: call.path.into_iter().collect(),
            body: call.body,
        }
    }

    /// Adds a header (for tests); invalid names or values are ignored.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            self.headers.append(n, v);
        }
        self
    }

    /// Sets the body (for tests).
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets a route parameter (for tests).
    pub fn with_route_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.route_params.insert(name.into(), value.into());
        self
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The full URL as the caller used it (scheme and host from `X-Forwarded-Proto`,
    /// `X-Forwarded-Host` or `Host`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The scheme and host of [`url`](Self::url), such as `http://localhost:7071`.
    pub fn origin(&self) -> &str {
        match self.url.find("://") {
            Some(i) => {
                let rest = &self.url[i + 3..];
                let end = rest.find('/').map(|j| i + 3 + j).unwrap_or(self.url.len());
                &self.url[..end]
            }
            None => "",
        }
    }

    /// A query parameter, its name matched ignoring ASCII case; the first if repeated.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every query parameter, decoded, in order.
    pub fn query_pairs(&self) -> &[(String, String)] {
        &self.query
    }

    /// A route parameter, such as `id` of `status/{id}`.
    pub fn route_param(&self, name: &str) -> Option<&str> {
        self.route_params.get(name).map(String::as_str)
    }

    /// Every route parameter.
    pub fn route_params(&self) -> &BTreeMap<String, String> {
        &self.route_params
    }

    /// A header as text (names ignore case); `None` if absent or not visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every header.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body as UTF-8 text.
    pub fn text(&self) -> Result<&str, BodyError> {
        std::str::from_utf8(&self.body).map_err(|_| BodyError::NotUtf8)
    }

    /// The body as JSON of type `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, BodyError> {
        serde_json::from_slice(&self.body).map_err(|e| BodyError::Json(e.to_string()))
    }
}

/// The response of an HTTP-triggered function, built up step by step.
///
/// ```
/// use durafn_host::HttpResponse;
/// let r = HttpResponse::new(400).json(&serde_json::json!({"error": "Empty start date."}));
/// assert_eq!(r.status(), 400);
/// assert_eq!(r.header_value("content-type"), Some("application/json; charset=utf-8"));
/// ```
#[derive(Debug, Clone)]
pub struct HttpResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Default for HttpResponse {
    fn default() -> Self {
        Self::ok()
    }
}

impl HttpResponse {
    /// A response with this status and no body. A code outside 100..=999 becomes 500 (and is
    /// logged), so a typo cannot produce an unanswerable response.
    pub fn new(status: u16) -> Self {
        let status = StatusCode::from_u16(status).unwrap_or_else(|_| {
            tracing::error!(status, "a function returned an invalid status code");
            StatusCode::INTERNAL_SERVER_ERROR
        });
        Self {
            status,
            headers: HeaderMap::new(),
            body: Bytes::new(),
        }
    }

    /// 200 with no body.
    pub fn ok() -> Self {
        Self::new(200)
    }

    /// Sets a header, replacing any of that name. A name or value that is not valid HTTP is
    /// dropped and logged.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            (Ok(n), Ok(v)) => {
                self.headers.insert(n, v);
            }
            _ => tracing::warn!(name, "a function set an invalid header; it was dropped"),
        }
        self
    }

    /// Adds a header, keeping any of that name (for headers that repeat, such as `Set-Cookie`).
    /// A name or value that is not valid HTTP is dropped and logged.
    pub fn append_header(mut self, name: &str, value: &str) -> Self {
        match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            (Ok(n), Ok(v)) => {
                self.headers.append(n, v);
            }
            _ => tracing::warn!(name, "a function set an invalid header; it was dropped"),
        }
        self
    }

    /// Sets a JSON body (and its content type). A value that cannot be serialised turns the
    /// response into a 500 (and is logged).
    pub fn json(mut self, value: &impl Serialize) -> Self {
        match serde_json::to_vec(value) {
            Ok(bytes) => self.bytes(bytes, "application/json; charset=utf-8"),
            Err(e) => {
                tracing::error!(error = %e, "a function's JSON response could not be serialised");
                self.status = StatusCode::INTERNAL_SERVER_ERROR;
                self.body = Bytes::new();
                self.headers.remove(header::CONTENT_TYPE);
                self
            }
        }
    }

    /// Sets a plain-text body.
    pub fn text(self, text: impl Into<String>) -> Self {
        self.bytes(text.into(), "text/plain; charset=utf-8")
    }

    /// Sets a body with its content type.
    pub fn bytes(mut self, body: impl Into<Bytes>, content_type: &str) -> Self {
        self.body = body.into();
        self = self.header(header::CONTENT_TYPE.as_str(), content_type);
        self
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status.as_u16()
    }

    /// A header as text.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every header.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

impl IntoResponse for HttpResponse {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body).into_response();
        response.headers_mut().remove(header::CONTENT_TYPE);
        response.headers_mut().extend(self.headers);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_lookup_ignores_case_and_reads_booleans() {
        let uri: axum::http::Uri = "/x?ShowHistory=TRUE&top=5&a=1&A=2&b=maybe".parse().unwrap();
        let q = QueryParams::parse(&uri).unwrap();
        assert!(q.bool("showhistory", false).unwrap());
        assert!(!q.bool("missing", false).unwrap());
        assert!(q.bool("b", false).is_err());
        assert_eq!(q.number("TOP").unwrap(), Some(5));
        assert_eq!(q.all("a").collect::<Vec<_>>(), ["1", "2"]);
    }

    #[test]
    fn origin_prefers_forwarded_headers() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("inner:7071"));
        assert_eq!(request_origin(&h, "http://fallback"), "http://inner:7071");
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        h.insert(
            "x-forwarded-host",
            HeaderValue::from_static("api.example.com"),
        );
        assert_eq!(
            request_origin(&h, "http://fallback"),
            "https://api.example.com"
        );
        let mut bad = HeaderMap::new();
        bad.insert(header::HOST, HeaderValue::from_static("a/b"));
        assert_eq!(request_origin(&bad, "http://fallback"), "http://fallback");
    }

    #[test]
    fn request_helpers() {
        let r = HttpRequest::new(Method::GET, "http://h:1/api/submit/query?S=2021-01-01&e=x")
            .with_route_param("id", "7")
            .with_body(r#"{"a":1}"#);
        assert_eq!(r.query("s"), Some("2021-01-01"));
        assert_eq!(r.origin(), "http://h:1");
        assert_eq!(r.route_param("id"), Some("7"));
        let v: serde_json::Value = r.json().unwrap();
        assert_eq!(v["a"], 1);
        let response = HttpResponse::new(1000);
        assert_eq!(response.status(), 500);
    }
}
