//! Request signing with the account key ("Authorize with Shared Key").
//!
//! Every request to a storage service carries
//! `Authorization: {scheme} {account}:{signature}`, the signature being
//! `base64(HMAC-SHA256(key, string-to-sign))`. The services build the
//! string to sign differently:
//!
//! * **Blob and Queue, SharedKey** (version 2009-09-19 and later): the verb,
//!   eleven standard headers (`Content-Length` empty when it is zero, as
//!   from version 2015-02-21), the canonicalized `x-ms-*` headers and the
//!   canonicalized resource with every query parameter.
//! * **Blob and Queue, SharedKeyLite**: the verb, `Content-MD5`,
//!   `Content-Type`, `Date`, the canonicalized headers and the short
//!   canonicalized resource (only `?comp=`).
//! * **Table, SharedKey**: the verb, `Content-MD5`, `Content-Type`, the date
//!   (`x-ms-date` when present) and the short canonicalized resource; no
//!   `x-ms-*` headers.
//! * **Table, SharedKeyLite**: the date and the short canonicalized
//!   resource.
//!
//! The signature covers what is sent, so it is computed from the request
//! itself ([`AccountConfig::sign`]) after every header is set. Bodies are
//! not signed, only their `Content-Length`, so a request that has a body
//! must carry its `Content-Length` header explicitly.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderValue, Method, Request, Uri};
use percent_encoding::percent_decode_str;
use sha2::Sha256;

use crate::account::{AccountConfig, Service};

/// The two Shared Key authorization schemes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `SharedKey`: the full string to sign.
    SharedKey,
    /// `SharedKeyLite`: the shorter, older string to sign.
    SharedKeyLite,
}

impl Scheme {
    /// The scheme's name in the `Authorization` header.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::SharedKey => "SharedKey",
            Scheme::SharedKeyLite => "SharedKeyLite",
        }
    }
}

/// The standard headers of the Blob/Queue SharedKey string, in order.
const BLOB_QUEUE_HEADERS: [&str; 11] = [
    "content-encoding",
    "content-language",
    "content-length",
    "content-md5",
    "content-type",
    "date",
    "if-modified-since",
    "if-match",
    "if-none-match",
    "if-unmodified-since",
    "range",
];

impl AccountConfig {
    /// Signs a request to `service`: sets its `Authorization` header from
    /// its method, URI and headers, which must all be final (`x-ms-date`
    /// included, and `Content-Length` when it has a body).
    ///
    /// Each `x-ms-*` header is first rewritten to its canonical form (one
    /// value, whitespace unfolded and trimmed), so what is sent is exactly
    /// what is signed, however a server canonicalizes: the documented rule
    /// unfolds whitespace, the emulator only trims, and an HTTP server may
    /// join repeated headers with `, `.
    pub fn sign<B>(&self, service: Service, scheme: Scheme, request: &mut Request<B>) {
        canonicalize_ms_headers(request.headers_mut());
        let value = self.authorization(
            service,
            scheme,
            request.method(),
            request.uri(),
            request.headers(),
        );
        let value = HeaderValue::from_str(&value)
            .expect("an account name of letters and digits and a base64 signature");
        request
            .headers_mut()
            .insert(http::header::AUTHORIZATION, value);
    }

    /// The `Authorization` header value for a request.
    pub fn authorization(
        &self,
        service: Service,
        scheme: Scheme,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> String {
        let string_to_sign = string_to_sign(service, scheme, &self.account, method, uri, headers);
        let mut mac = Hmac::<Sha256>::new_from_slice(self.key().bytes())
            .expect("HMAC accepts keys of any length");
        mac.update(string_to_sign.as_bytes());
        let signature = BASE64.encode(mac.finalize().into_bytes());
        format!("{} {}:{signature}", scheme.name(), self.account)
    }
}

/// The string a request's signature is computed over, for `account`.
pub fn string_to_sign(
    service: Service,
    scheme: Scheme,
    account: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> String {
    let header = |name: &str| header_value(headers, name);
    match (service, scheme) {
        (Service::Blob | Service::Queue, Scheme::SharedKey) => {
            let mut s = format!("{}\n", method.as_str());
            for name in BLOB_QUEUE_HEADERS {
                let value = match name {
                    "content-length" if header(name) == "0" => String::new(),
                    "date" if headers.contains_key("x-ms-date") => String::new(),
                    _ => header(name),
                };
                s.push_str(&value);
                s.push('\n');
            }
            s.push_str(&canonicalized_headers(headers));
            s.push_str(&canonicalized_resource(account, uri));
            s
        }
        (Service::Blob | Service::Queue, Scheme::SharedKeyLite) => {
            let date = if headers.contains_key("x-ms-date") {
                String::new()
            } else {
                header("date")
            };
            format!(
                "{}\n{}\n{}\n{date}\n{}{}",
                method.as_str(),
                header("content-md5"),
                header("content-type"),
                canonicalized_headers(headers),
                canonicalized_resource_lite(account, uri),
            )
        }
        (Service::Table, Scheme::SharedKey) => format!(
            "{}\n{}\n{}\n{}\n{}",
            method.as_str(),
            header("content-md5"),
            header("content-type"),
            table_date(headers),
            canonicalized_resource_lite(account, uri),
        ),
        (Service::Table, Scheme::SharedKeyLite) => format!(
            "{}\n{}",
            table_date(headers),
            canonicalized_resource_lite(account, uri)
        ),
    }
}

/// A header's values as the string to sign holds them: joined by commas
/// when repeated, empty when absent.
fn header_value(headers: &HeaderMap, name: &str) -> String {
    headers
        .get_all(name)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect::<Vec<_>>()
        .join(",")
}

/// The table service takes `x-ms-date` when present, else `Date`.
fn table_date(headers: &HeaderMap) -> String {
    let x_ms_date = header_value(headers, "x-ms-date");
    if x_ms_date.is_empty() {
        header_value(headers, "date")
    } else {
        x_ms_date
    }
}

/// Every `x-ms-*` header as `name:value\n`, names lowercased and sorted,
/// runs of whitespace outside quoted strings replaced by one space and the
/// value trimmed.
pub fn canonicalized_headers(headers: &HeaderMap) -> String {
    let mut names: Vec<&str> = headers
        .keys()
        .map(http::HeaderName::as_str)
        .filter(|name| name.starts_with("x-ms-"))
        .collect();
    // `HeaderName`s are lowercase already; sort by bytes.
    names.sort_unstable();
    names.dedup();
    let mut out = String::new();
    for name in names {
        out.push_str(name);
        out.push(':');
        out.push_str(&unfold_whitespace(&header_value(headers, name)));
        out.push('\n');
    }
    out
}

/// Rewrites every `x-ms-*` header as one value in canonical form.
fn canonicalize_ms_headers(headers: &mut HeaderMap) {
    let names: Vec<http::HeaderName> = headers
        .keys()
        .filter(|name| name.as_str().starts_with("x-ms-"))
        .cloned()
        .collect();
    for name in names {
        let canonical = unfold_whitespace(&header_value(headers, name.as_str()));
        if let Ok(value) = HeaderValue::from_str(&canonical) {
            headers.insert(name, value);
        }
    }
}

/// Replaces each run of linear whitespace outside double quotes with one
/// space and trims the ends.
fn unfold_whitespace(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut in_quotes = false;
    let mut pending_space = false;
    for c in value.trim().chars() {
        if !in_quotes && matches!(c, ' ' | '\t' | '\r' | '\n') {
            pending_space = true;
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        if c == '"' {
            in_quotes = !in_quotes;
        }
        out.push(c);
    }
    out
}

/// `/{account}{path}` followed, for each query parameter in name order,
/// by `\n{name}:{values}` (names lowercased, names and values
/// percent-decoded, repeated values sorted and joined by commas).
pub fn canonicalized_resource(account: &str, uri: &Uri) -> String {
    let mut out = resource_path(account, uri);
    let mut params: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in query_pairs(uri) {
        params.entry(name.to_lowercase()).or_default().push(value);
    }
    for (name, mut values) in params {
        values.sort();
        out.push('\n');
        out.push_str(&name);
        out.push(':');
        out.push_str(&values.join(","));
    }
    out
}

/// `/{account}{path}`, with `?comp={value}` when the request has a `comp`
/// parameter: the resource string of SharedKeyLite and of the table
/// service.
pub fn canonicalized_resource_lite(account: &str, uri: &Uri) -> String {
    let mut out = resource_path(account, uri);
    if let Some((_, comp)) = query_pairs(uri).find(|(name, _)| name.eq_ignore_ascii_case("comp")) {
        out.push_str("?comp=");
        out.push_str(&comp);
    }
    out
}

fn resource_path(account: &str, uri: &Uri) -> String {
    let path = uri.path();
    format!("/{account}{}", if path.is_empty() { "/" } else { path })
}

/// The query's `name=value` pairs, percent-decoded; a name without `=` has
/// an empty value.
fn query_pairs(uri: &Uri) -> impl Iterator<Item = (String, String)> + '_ {
    let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
    uri.query()
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(move |pair| match pair.split_once('=') {
            Some((name, value)) => (decode(name), decode(value)),
            None => (decode(pair), String::new()),
        })
}

#[cfg(test)]
mod tests;
