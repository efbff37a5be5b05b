//! Signing in and out: the form, the cookie that keeps the key, and forgetting it.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use crate::app::{App, BASE};
use crate::auth::{COOKIE, is_https, key_cookie, local_next, same, same_origin, with_cookie};
use crate::error::DashboardError;
use crate::filter::{Fields, QueryPairs};
use crate::layout;
use crate::session::Session;

fn login_page(next: &str, error: Option<&str>) -> layout::Html {
    layout::bare(
        "Sign in",
        html! {
            section.login aria-labelledby="login-title" {
                h1 #login-title { "Sign in to the dashboard" }
                p.hint {
                    "Use the app's master key or a dashboard key ("
                    code { "durafn --list-keys" } " prints them)."
                }
                @if let Some(e) = error { p.error role="alert" { (e) } }
                form method="post" action={ (BASE) "/login" } {
                    input type="hidden" name="next" value=(next);
                    label for="key" { "Key" }
                    input #key type="password" name="key" required autocomplete="current-password" autofocus;
                    button.primary type="submit" { "Sign in" }
                }
            }
        },
    )
}

/// GET `/login`.
pub(crate) async fn login_form(query: QueryPairs) -> layout::Html {
    login_page(&local_next(query.get("next")), None)
}

/// POST `/login`: a valid key is kept in the cookie.
pub(crate) async fn login(State(app): State<App>, headers: HeaderMap, fields: Fields) -> Response {
    let next = local_next(fields.get("next"));
    let key = fields.get("key").unwrap_or("").trim();
    if key.is_empty() || app.role_of(key).is_none() {
        let mut r =
            login_page(&next, Some("That key does not open the dashboard.")).into_response();
        *r.status_mut() = StatusCode::UNAUTHORIZED;
        return r;
    }
    let r = Redirect::to(&next).into_response();
    with_cookie(r, key_cookie(key, is_https(&headers)))
}

/// POST `/logout`: forgets the cookie.
pub(crate) async fn logout(session: Session, headers: HeaderMap, fields: Fields) -> Response {
    let token_ok = same(
        fields.get("csrf").unwrap_or("").as_bytes(),
        session.csrf.as_bytes(),
    );
    if !token_ok || !same_origin(&headers) {
        return DashboardError::Forbidden(
            "The sign-out form was not sent by the dashboard.".into(),
        )
        .into_response();
    }
    let r = Redirect::to(&format!("{BASE}/login")).into_response();
    with_cookie(
        r,
        HeaderValue::from_str(&format!(
            "{COOKIE}=; Path={BASE}; HttpOnly; SameSite=Strict; Max-Age=0"
        ))
        .unwrap_or_else(|_| HeaderValue::from_static("")),
    )
}
