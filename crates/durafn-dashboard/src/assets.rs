//! The dashboard's static files, compiled into the binary: the style sheet, our script, the
//! vendored htmx (2.0.11, Zero-Clause BSD, `assets/htmx-LICENSE.txt`) and the icon.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The mark in the header (inline SVG).
pub(crate) const LOGO: &str = r##"<svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true"><rect x="1" y="1" width="22" height="22" rx="6" fill="#3b5bdb"/><path d="M6 7h5a5 5 0 0 1 0 10H6z" fill="none" stroke="#fff" stroke-width="2.2"/><circle cx="17.5" cy="7" r="2" fill="#ffd43b"/></svg>"##;

const FAVICON: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><rect x="1" y="1" width="22" height="22" rx="6" fill="#3b5bdb"/><path d="M6 7h5a5 5 0 0 1 0 10H6z" fill="none" stroke="#fff" stroke-width="2.2"/><circle cx="17.5" cy="7" r="2" fill="#ffd43b"/></svg>"##;

const CSS: &str = include_str!("assets/dashboard.css");
const JS: &str = include_str!("assets/dashboard.js");
const HTMX: &str = include_str!("assets/htmx-2.0.11.min.js");

/// GET `/assets/{file}`.
pub(crate) async fn serve(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "dashboard.css" => (CSS, "text/css; charset=utf-8"),
        "dashboard.js" => (JS, "text/javascript; charset=utf-8"),
        "htmx.min.js" => (HTMX, "text/javascript; charset=utf-8"),
        "favicon.svg" => (FAVICON, "image/svg+xml"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    // The files change only with the binary; an hour keeps a restarted host's pages current.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}
