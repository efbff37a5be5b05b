//! The app's functions with their triggers, and the task hub's health: instances per status,
//! queue depths, the oldest waiting work, and the leases of every host.

use axum::extract::State;
use maud::html;

use crate::app::{App, BASE};
use crate::error::DashboardError;
use crate::format::{duration, status, time};
use crate::layout::{self, Html, Section};
use crate::session::Session;

/// GET `/hub`.
pub(crate) async fn page(State(app): State<App>, session: Session) -> Result<Html, DashboardError> {
    let report = app.client.hub_report().await?;
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
                tbody { @for f in &app.options.functions { tr {
                    td { code { (f.name) } }
                    td { (f.trigger) }
                    td { (f.detail) }
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
