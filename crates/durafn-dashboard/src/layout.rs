//! The page shell (header, navigation, who is signed in) and the HTML response type with the
//! security headers every page carries.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::app::{BASE, Role};
use crate::session::Session;

/// Scripts and styles come from the dashboard only; nothing inline, no other origin, no frames.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// An HTML page as a response.
pub(crate) struct Html(pub(crate) Markup);

impl IntoResponse for Html {
    fn into_response(self) -> Response {
        let mut r = (StatusCode::OK, self.0.into_string()).into_response();
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        r
    }
}

/// Which part of the dashboard a page belongs to, for the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Instances,
    Entities,
    Hub,
}

fn head(title: &str, refresh: Option<u32>) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="htmx-config" content=r#"{"includeIndicatorStyles":false,"allowEval":false}"#;
            title { (title) " · durafn" }
            link rel="stylesheet" href={ (BASE) "/assets/dashboard.css" };
            link rel="icon" href={ (BASE) "/assets/favicon.svg" } type="image/svg+xml";
            script src={ (BASE) "/assets/htmx.min.js" } defer {}
            script src={ (BASE) "/assets/dashboard.js" } defer {}
            @if let Some(seconds) = refresh {
                noscript { meta http-equiv="refresh" content=(seconds); }
            }
        }
    }
}

fn brand() -> Markup {
    html! {
        a.brand href=(BASE) {
            span.logo aria-hidden="true" { (PreEscaped(crate::assets::LOGO)) }
            span { "durafn" }
        }
    }
}

/// A page without navigation (login, errors).
pub(crate) fn bare(title: &str, body: Markup) -> Html {
    Html(html! {
        (DOCTYPE)
        html lang="en" {
            (head(title, None))
            body.bare {
                header.top { (brand()) }
                main #main { (body) }
            }
        }
    })
}

/// A page of the dashboard for a signed-in caller.
pub(crate) fn page(
    session: &Session,
    section: Section,
    title: &str,
    refresh: Option<u32>,
    body: Markup,
) -> Html {
    let nav = [
        (Section::Instances, "Instances", format!("{BASE}/instances")),
        (Section::Entities, "Entities", format!("{BASE}/entities")),
        (Section::Hub, "Functions & hub", format!("{BASE}/hub")),
    ];
    Html(html! {
        (DOCTYPE)
        html lang="en" {
            (head(title, refresh))
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    (brand())
                    span.hub title="Task hub" { (session.hub) }
                    nav aria-label="Dashboard" {
                        ul {
                            @for (s, label, href) in &nav {
                                li {
                                    a href=(href) aria-current=[(section == *s).then_some("page")] { (label) }
                                }
                            }
                        }
                    }
                    div.who {
                        @if session.role == Role::Viewer {
                            span.badge.readonly title="This key can only read" { "read-only" }
                        }
                        form method="post" action={ (BASE) "/logout" } {
                            input type="hidden" name="csrf" value=(session.csrf);
                            button.link type="submit" { "Sign out" }
                        }
                    }
                }
                main #main { (body) }
            }
        }
    })
}
