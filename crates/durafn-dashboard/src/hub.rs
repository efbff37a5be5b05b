//! The app's functions with their triggers, and the task hub's health: instances per status,
//! queue depths, the oldest waiting work, and the leases of every host.

use axum::extract::State;
use chrono::{DateTime, Utc};
use maud::{Markup, html};

use crate::app::{App, BASE, FunctionInfo};
use crate::error::DashboardError;
use crate::format::{duration, status, time};
use crate::layout::{self, Html, Section};
use crate::session::Session;

/// GET `/hub`.
pub(crate) async fn page(State(app): State<App>, session: Session) -> Result<Html, DashboardError> {
    let report = app.client.hub_report().await?;
    let mut schedules = Vec::with_capacity(app.options.functions.len());
    for f in &app.options.functions {
        schedules.push(schedule(&app, f).await?);
    }
    let h = &report.health;
    let age = |since: Option<chrono::DateTime<chrono::Utc>>| match since {
        Some(t) => duration(report.at - t),
        None => "—".to_string(),
    };
    let body = html! {
        h1 { "Functions & hub" }
        div.grid-2 {
            section.card aria-labelledby="counts-title" {
                h2 #counts-title { "Instances per status" }
                table.compact {
                    thead { tr { th scope="col" { "Status" } th scope="col" { "Instances" } } }
                    tbody { @for (s, n) in &report.counts { tr {
                        td { a href={ (BASE) "/instances?status=" (s.as_str()) } { (status(*s)) } }
                        td.num { (n) }
                    } } }
                }
                p.hint { "Entities are counted with the instances." }
            }
            section.card aria-labelledby="queues-title" {
                h2 #queues-title { "Work queues" }
                table.compact #queues {
                    thead { tr { th scope="col" { "Queue" } th scope="col" { "Ready" } th scope="col" { "Scheduled" } th scope="col" { "Leased" } th scope="col" { "Oldest waiting" } } }
                    tbody {
                        tr { th scope="row" { "Orchestrations" } td.num { (h.orchestrations.ready) } td.num { (h.orchestrations.scheduled) } td.num { (h.orchestrations.leased) } td.num { (age(h.orchestrations.oldest_ready_since)) } }
                        tr { th scope="row" { "Activities" } td.num { (h.activities.ready) } td.num { (h.activities.scheduled) } td.num { (h.activities.leased) } td.num { (age(report.oldest_activity_since)) } }
                    }
                }
                p.hint { "Ready: can be handed out now. Scheduled: durable timers and delayed retries. Oldest waiting: how long the oldest ready item has waited. As of " (time(report.at)) " UTC." }
            }
        }
        section.card aria-labelledby="hosts-title" {
            h2 #hosts-title { "Leases per host" }
            @if h.hosts.is_empty() { p.muted { "No host holds a lease." } } @else {
                table.compact #hosts {
                    thead { tr { th scope="col" { "Host" } th scope="col" { "Instances" } th scope="col" { "Activities" } th scope="col" { "Expired" } th scope="col" { "Latest lease until" } } }
                    tbody { @for host in &h.hosts { tr {
                        td { code { (host.owner) } }
                        td.num { (host.instances) }
                        td.num { (host.activities) }
                        td.num { (host.expired) }
                        td { @if let Some(t) = host.latest_until { (time(t)) } }
                    } } }
                }
                p.hint { "Expired leases belong to work a host took and did not finish in time: a host that died shows up here until others take its work over." }
            }
        }
        section.card aria-labelledby="replay-check-title" {
            h2 #replay-check-title { "Before a deploy" }
            p { "Replay every running instance against this host's build and see which ones it would break." }
            a.button #replay-check href={ (BASE) "/replay-check" } { "Replay check" }
        }
        section.card aria-labelledby="functions-title" {
            h2 #functions-title { "Functions" }
            table #functions {
                thead { tr { th scope="col" { "Function" } th scope="col" { "Trigger" } th scope="col" { "Details" } } }
                tbody { @for (f, s) in app.options.functions.iter().zip(&schedules) { tr {
                    td { code { (f.name) } }
                    td { (f.trigger) }
                    td { (f.detail) @if let Some(s) = s { (schedule_cell(s, report.at)) } }
                } } }
            }
        }
    };
    Ok(layout::page(
        &session,
        Section::Hub,
        "Functions & hub",
        None,
        body,
    ))
}

/// A timer function's schedule as its keeping instance records it now.
struct Schedule {
    instance: String,
    last: Option<DateTime<Utc>>,
    next: Option<DateTime<Utc>>,
}

/// Reads the schedule of `f` (a timer function) from its instance's custom status; `None`
/// for other functions.
async fn schedule(app: &App, f: &FunctionInfo) -> Result<Option<Schedule>, DashboardError> {
    let Some(instance) = &f.schedule_instance else {
        return Ok(None);
    };
    let status = app
        .client
        .record(instance)
        .await?
        .and_then(|r| r.custom_status)
        .and_then(|c| serde_json::from_str::<serde_json::Value>(c.as_json()).ok());
    let at = |key: &str| {
        status
            .as_ref()
            .and_then(|v| v.get(key)?.as_str()?.parse::<DateTime<Utc>>().ok())
    };
    Ok(Some(Schedule {
        instance: instance.clone(),
        last: at("Last"),
        next: at("Next"),
    }))
}

fn schedule_cell(s: &Schedule, now: DateTime<Utc>) -> Markup {
    html! {
        br;
        span.schedule {
            @match s.next {
                Some(next) => { "Next run " (time(next)) " UTC (in " (duration(next - now)) ")" }
                None => { "No next run recorded yet" }
            }
            @if let Some(last) = s.last { ", last " (time(last)) " UTC" }
            " · " a href={ (BASE) "/instances/" (crate::filter::escape(&s.instance)) } { "schedule instance" }
        }
    }
}
