//! The replay check: every live instance of the task hub replayed against this host's build,
//! to see before a deploy which ones the build would break. Read-only (the check leases and
//! writes nothing), so it is a GET: the button is a link, and a viewer may press it too.

use axum::extract::State;
use maud::html;

use crate::app::{App, BASE};
use crate::error::DashboardError;
use crate::filter::QueryPairs;
use crate::layout::{self, Html, Section};
use crate::session::Session;

/// GET `/replay-check` (`?run=1` runs it).
pub(crate) async fn page(
    State(app): State<App>,
    session: Session,
    q: QueryPairs,
) -> Result<Html, DashboardError> {
    let summary = if q.get("run").is_some() {
        let filter = durafn_store::InstanceFilter {
            name: q.get("name").map(String::from),
            ..durafn_store::InstanceFilter::default()
        };
        Some(app.client.replay_check(&filter, 1000, |_| {}).await?)
    } else {
        None
    };
    let body = html! {
        h1 { "Replay check" }
        section.card aria-labelledby="replay-title" {
            h2 #replay-title { "Would this build break a running instance?" }
            p { "Replays the history of every instance that is still going (Pending, Running, Suspended) against the orchestrators of this host's build, and lists each one whose history the code no longer follows, with the recorded step and the new one side by side. Nothing is leased or changed: run it on a host of the new build before rolling it out." }
            a.button.primary #run-replay-check href={ (BASE) "/replay-check?run=1" } { "Run the replay check" }
        }
        @if let Some(s) = &summary {
            section.card aria-labelledby="result-title" {
                h2 #result-title { "Result" }
                p #replay-summary {
                    (s.checked) " instances checked in " (format!("{:.2}", s.elapsed.as_secs_f64())) " s ("
                    (format!("{:.0}", s.per_second())) " instances/s): "
                    strong { (s.ok) " ok" } ", " strong { (s.failures.len()) " would fail" }
                }
                @if !s.groups.is_empty() {
                    table.compact #replay-groups {
                        thead { tr { th scope="col" { "Orchestrator" } th scope="col" { "Version" } th scope="col" { "OK" } th scope="col" { "Would fail" } } }
                        tbody { @for ((name, version), c) in &s.groups { tr {
                            td { code { (name) } }
                            td { @if version.is_empty() { "—" } @else { (version) } }
                            td.num { (c.ok) }
                            td.num { (c.failed) }
                        } } }
                    }
                }
            }
            @if !s.failures.is_empty() {
                section.card aria-labelledby="failures-title" {
                    h2 #failures-title { "Instances this build would break" }
                    table #replay-failures {
                        thead { tr { th scope="col" { "Instance" } th scope="col" { "Where" } th scope="col" { "Recorded" } th scope="col" { "New code" } } }
                        tbody { @for f in &s.failures {
                            @let d = f.verdict.divergence();
                            tr {
                                td { a href={ (BASE) "/instances/" (crate::filter::escape(f.instance_id.as_str())) } { code { (f.instance_id) } } br; (f.name) " " (f.version.as_deref().unwrap_or("")) }
                                td { @if let Some(i) = d.and_then(|d| d.history_index) { "history index " (i) } @else { "end of history" } }
                                td { (d.and_then(|d| d.recorded.as_ref()).map_or_else(|| "nothing".to_string(), |e| durafn_core::action::describe_recorded(&e.kind))) }
                                td {
                                    (d.and_then(|d| d.issued.as_ref()).map_or_else(|| "nothing".to_string(), |a| a.describe()))
                                    @if let Some(l) = d.and_then(|d| d.location.as_ref()) { br; small.muted { (l) } }
                                }
                            }
                        } }
                    }
                }
            }
        }
    };
    Ok(layout::page(
        &session,
        Section::Hub,
        "Replay check",
        None,
        body,
    ))
}
