//! The instance list: the filter form, counts per status, the page of instances, paging, live
//! refresh, and the way to bulk operations and to starting an instance.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use durafn_core::RuntimeStatus;
use durafn_store::InstanceRecord;
use maud::{Markup, html};

use crate::app::{App, BASE};
use crate::error::DashboardError;
use crate::filter::{ListFilter, PAGE_SIZES, PRESETS, QueryPairs};
use crate::format::{self, status, time};
use crate::layout::{self, Html, Section};
use crate::session::Session;

/// Seconds between refreshes of a live list.
const REFRESH_SECS: u32 = 5;

fn filter_form(app: &App, f: &ListFilter) -> Markup {
    html! {
        form.filters #filters method="get" action={ (BASE) "/instances" } role="search" aria-label="Filter instances" {
            fieldset.statuses {
                legend { "Status" }
                @for s in RuntimeStatus::ALL {
                    label.check {
                        input type="checkbox" name="status" value=(s.as_str()) checked[f.statuses.contains(&s)];
                        (s.as_str())
                    }
                }
            }
            div.fields {
                label { span { "Orchestrator" }
                    input type="text" name="name" value=(f.name) list="orchestrators" placeholder="any";
                }
                datalist #orchestrators {
                    @for o in &app.options.orchestrators { option value=(o) {} }
                }
                label { span { "Instance ID starts with" }
                    input type="text" name="prefix" value=(f.prefix) spellcheck="false";
                }
                label { span { "Created" }
                    select name="range" {
                        option value="" selected[f.range.is_empty()] { "Any time" }
                        @for (value, text, _) in PRESETS {
                            option value=(value) selected[f.range == value] { (text) }
                        }
                    }
                }
                label { span { "From (UTC)" }
                    input type="datetime-local" name="from" value=(f.from) step="1";
                }
                label { span { "To (UTC)" }
                    input type="datetime-local" name="to" value=(f.to) step="1";
                }
                label.wide { span { "Custom status contains" }
                    input type="search" name="q" value=(f.text) placeholder="text in the custom status JSON";
                }
                label { span { "Order" }
                    select name="order" {
                        option value="newest" selected[!f.oldest_first] { "Newest first" }
                        option value="oldest" selected[f.oldest_first] { "Oldest first" }
                    }
                }
                label { span { "Per page" }
                    select name="size" {
                        @for n in PAGE_SIZES { option value=(n) selected[f.size == n] { (n) } }
                    }
                }
                label.check {
                    input type="checkbox" name="previews" value="1" checked[f.previews];
                    "Input and output previews"
                }
                @if f.refresh { input type="hidden" name="refresh" value="1"; }
            }
            div.buttons {
                button.primary type="submit" { "Apply" }
                a.button href={ (BASE) "/instances" } { "Reset" }
                p.hint { "A free range applies when Created is “Custom range”. The address keeps the filter: share it to share the view." }
            }
        }
    }
}

fn row(r: &InstanceRecord, previews: bool, now: chrono::DateTime<Utc>) -> Markup {
    let id = r.instance_id.as_str();
    let ran = if r.status.is_terminal() {
        r.last_updated_at - r.created_at
    } else {
        now - r.created_at
    };
    html! {
        tr {
            td.id { a href={ (BASE) "/instances/" (crate::filter::escape(id)) } { code { (id) } } }
            td { (r.name) }
            td { (status(r.status)) }
            td { (time(r.created_at)) }
            td { (time(r.last_updated_at)) }
            td.num { (format::duration(ran)) }
            td.preview { code { (format::preview(r.custom_status.as_ref(), 80)) } }
            @if previews {
                td.preview { code { (format::preview(Some(&r.input), 60)) } }
                td.preview { code { (format::preview(r.output.as_ref(), 60)) } }
            }
        }
    }
}

/// GET `/instances` (and `/`).
pub(crate) async fn list(
    State(app): State<App>,
    session: Session,
    q: QueryPairs,
) -> Result<Html, DashboardError> {
    let f = ListFilter::from_query(&q)?;
    let now = crate::format::now();
    let query = f.query(now)?;
    let page = app.client.query(&query, f.size, q.get("after")).await?;
    let href = {
        let mut pairs = f.pairs();
        if let Some(a) = q.get("after") {
            pairs.0.push(("after".into(), a.into()));
        }
        format!("{BASE}/instances{}", pairs.to_query_string())
    };
    let counts_href = format!("{BASE}/instances/counts{}", f.pairs().to_query_string());
    let refresh_toggle = ListFilter {
        refresh: !f.refresh,
        ..f.clone()
    };
    let body = html! {
        div.title-row {
            h1 { "Instances" }
            @if session.can_write() {
                a.button.primary href={ (BASE) "/start" } { "Start an instance" }
            }
        }
        (filter_form(&app, &f))
        section #counts aria-label="Instances per status" hx-get=(counts_href) hx-trigger="load" hx-swap="outerHTML" {
            a href=(counts_href) { "Count the matches per status" }
        }
        div.toolbar {
            a.button href=(refresh_toggle.href()) aria-pressed=(if f.refresh { "true" } else { "false" }) {
                @if f.refresh { "Auto-refresh: on (every " (REFRESH_SECS) " s)" } @else { "Auto-refresh: off" }
            }
            @if session.can_write() {
                @let pairs = f.pairs().to_query_string();
                @let sep = if pairs.is_empty() { "?" } else { "&" };
                a.button.danger href={ (BASE) "/bulk" (pairs) (sep) "action=terminate" } { "Terminate all matching…" }
                a.button.danger href={ (BASE) "/bulk" (pairs) (sep) "action=purge" } { "Purge all matching…" }
            }
        }
        div #results hx-get=[f.refresh.then_some(&href)] hx-trigger=[f.refresh.then_some(format!("every {REFRESH_SECS}s"))]
            hx-select="#results" hx-swap="outerHTML" aria-live=[f.refresh.then_some("polite")] {
            @if page.instances.is_empty() {
                p.empty { "No instance matches this filter." }
            } @else {
                div.table-wrap {
                    table.instances {
                        caption.visually-hidden { "Instances matching the filter" }
                        thead { tr {
                            th scope="col" { "Instance ID" }
                            th scope="col" { "Name" }
                            th scope="col" { "Status" }
                            th scope="col" { "Created (UTC)" }
                            th scope="col" { "Last updated (UTC)" }
                            th scope="col" { "Duration" }
                            th scope="col" { "Custom status" }
                            @if f.previews { th scope="col" { "Input" } th scope="col" { "Output" } }
                        } }
                        tbody {
                            @for r in &page.instances { (row(r, f.previews, now)) }
                        }
                    }
                }
            }
            nav.pager aria-label="Pages" {
                @if q.get("after").is_some() { a.button href=(f.href()) { "← First page" } }
                @if let Some(next) = &page.continuation {
                    @let pairs = f.pairs().to_query_string();
                    @let sep = if pairs.is_empty() { "?" } else { "&" };
                    a.button rel="next" href={ (BASE) "/instances" (pairs) (sep) "after=" (crate::filter::escape(next)) } { "Next page →" }
                }
                span.muted { (page.instances.len()) " on this page" }
            }
        }
    };
    Ok(layout::page(
        &session,
        Section::Instances,
        "Instances",
        f.refresh.then_some(REFRESH_SECS),
        body,
    ))
}

fn counts_fragment(f: &ListFilter, counts: &[(RuntimeStatus, u64)]) -> Markup {
    let total: u64 = counts.iter().map(|(_, n)| n).sum();
    let selected: u64 = counts
        .iter()
        .filter(|(s, _)| f.statuses.is_empty() || f.statuses.contains(s))
        .map(|(_, n)| n)
        .sum();
    html! {
        section #counts.counts aria-label="Instances per status" {
            span.total { strong { (selected) } " matching" @if selected != total { " (" (total) " of any status)" } }
            ul {
                @for (s, n) in counts {
                    li {
                        a href=(f.toggling(*s).href()) aria-pressed=(if f.statuses.contains(s) { "true" } else { "false" })
                            title="Show or hide this status" {
                            (status(*s)) " " span.count { (n) }
                        }
                    }
                }
            }
        }
    }
}

/// GET `/instances/counts`: the counts per status of the filter, whatever its statuses (so
/// each can be switched on and off); a fragment for the list, or a page of its own.
pub(crate) async fn counts(
    State(app): State<App>,
    session: Session,
    headers: HeaderMap,
    q: QueryPairs,
) -> Result<Response, DashboardError> {
    let f = ListFilter::from_query(&q)?;
    let mut query = f.query(crate::format::now())?;
    query.filter.statuses.clear();
    let counts = app.client.count(&query).await?;
    let fragment = counts_fragment(&f, &counts);
    if headers.contains_key("hx-request") {
        return Ok(Html(fragment).into_response());
    }
    let body = html! {
        h1 { "Instances per status" }
        (fragment)
        p { a href=(f.href()) { "Back to the list" } }
    };
    Ok(layout::page(&session, Section::Instances, "Counts", None, body).into_response())
}
