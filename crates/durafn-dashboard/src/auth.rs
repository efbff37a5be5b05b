//! Who is calling and what they may do: the key (header, `?code=` or the login cookie), the
//! role the host gives it, and the checks every write passes (role, CSRF token, origin).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Redirect, Response};
use hmac::{Hmac, Mac};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::Sha256;

use crate::app::{App, BASE, Role};
use crate::error::DashboardError;
use crate::filter::{Fields, QueryPairs};
use crate::session::Session;

/// The cookie that keeps the key after signing in.
pub(crate) const COOKIE: &str = "durafn_dashboard_key";

/// HMAC-SHA256 of `data` under `key`.
pub(crate) fn digest(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares in time that depends only on the lengths.
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

impl Session {
    /// Refuses a write from a viewer, without the caller's CSRF token, or from a page of
    /// another origin.
    pub(crate) fn check_write(
        &self,
        fields: &Fields,
        headers: &HeaderMap,
    ) -> Result<(), DashboardError> {
        if self.role != Role::Operator {
            return Err(DashboardError::Forbidden(
                "This key can only read; the dashboard refuses every change made with it.".into(),
            ));
        }
        let token = fields.get("csrf").unwrap_or("");
        if !same(token.as_bytes(), self.csrf.as_bytes()) {
            return Err(DashboardError::Forbidden(
                "The form is out of date or was not sent by the dashboard (CSRF token mismatch). \
                 Reload the page and try again."
                    .into(),
            ));
        }
        if !same_origin(headers) {
            return Err(DashboardError::Forbidden(
                "The form was sent from another site.".into(),
            ));
        }
        Ok(())
    }
}

/// Whether the request's `Origin` (when the browser sends one) names the host it was sent to.
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get("x-forwarded-host")
        .or_else(|| headers.get(header::HOST))
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin
        .split_once("://")
        .map_or(origin, |(_, rest)| rest)
        .trim_end_matches('/');
    !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

/// The value of a cookie in the request.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

pub(crate) fn key_cookie(key: &str, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={key}; Path={BASE}; HttpOnly; SameSite=Strict{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

pub(crate) fn is_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

pub(crate) fn with_cookie(mut r: Response, value: HeaderValue) -> Response {
    r.headers_mut().append(header::SET_COOKIE, value);
    r
}

/// Where a sign-in may return to: a path of the dashboard, nothing else.
pub(crate) fn local_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with(BASE) && !n.starts_with("//") && !n.contains("://") => n.into(),
        _ => BASE.to_string(),
    }
}

impl crate::app::Shared {
    /// The role of a key; with the read-only setting, every key that opens the dashboard reads.
    pub(crate) fn role_of(&self, key: &str) -> Option<Role> {
        let role = (self.authorize)(key)?;
        Some(if self.options.read_only {
            Role::Viewer
        } else {
            role
        })
    }

    fn csrf_token(&self, key: &str) -> String {
        hex(&digest(&self.csrf_secret, key.as_bytes())[..16])
    }
}

impl FromRequestParts<App> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Response> {
        let query = QueryPairs::parse(parts.uri.query());
        let header_key = parts
            .headers
            .get("x-functions-key")
            .and_then(|v| v.to_str().ok());
        let code = query.get("code");
        let key = header_key
            .or(code)
            .or_else(|| cookie(&parts.headers, COOKIE));
        let role = key.and_then(|k| app.role_of(k));
        // Nested under the host's router, `parts.uri` lost the prefix; links need all of it.
        let uri = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or_else(|| parts.uri.clone(), |o| o.0.clone());
        let (Some(key), Some(role)) = (key, role) else {
            return Err(if parts.method == Method::GET {
                let next = uri
                    .path_and_query()
                    .map_or(BASE, |p| p.as_str())
                    .to_string();
                let next = local_next(Some(&next));
                let next = utf8_percent_encode(&next, NON_ALPHANUMERIC);
                Redirect::to(&format!("{BASE}/login?next={next}")).into_response()
            } else {
                DashboardError::Forbidden("Sign in first: the key is missing or not valid.".into())
                    .into_response()
            });
        };
        if header_key.is_none() && code.is_some() && parts.method == Method::GET {
            // The key leaves the address (and the browser's history) for the cookie.
            let rest = query.without("code").to_query_string();
            let target = format!("{}{}", uri.path(), rest);
            let r = Redirect::to(&target).into_response();
            return Err(with_cookie(r, key_cookie(key, is_https(&parts.headers))));
        }
        Ok(Session {
            role,
            csrf: app.csrf_token(key),
            hub: app.options.hub.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_and_next_pages_are_checked() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:7071"));
        assert!(same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:7071"),
        );
        assert!(same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(!same_origin(&h));
        assert_eq!(local_next(Some("/dashboard/hub")), "/dashboard/hub");
        assert_eq!(local_next(Some("https://evil.example/dashboard")), BASE);
        assert_eq!(local_next(Some("//evil.example")), BASE);
    }

    #[test]
    fn cookies_are_found_by_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; durafn_dashboard_key=k-2="),
        );
        assert_eq!(cookie(&h, COOKIE), Some("k-2="));
        assert_eq!(cookie(&h, "b"), None);
    }
}
