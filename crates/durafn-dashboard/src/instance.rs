//! One instance: its status and payloads, why it is where it is (lease, queued work, delivery
//! counts), its pending work, a timeline, the history as steps, the raw events, its
//! sub-orchestrations as a tree, and the operations that apply to it.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use durafn_core::{InstanceId, Payload, RuntimeStatus};
use durafn_runtime::{Diagnosis, Finding, InstanceStatus, StatusOptions};
use maud::{Markup, html};

use crate::app::{App, BASE};
use crate::error::DashboardError;
use crate::filter::escape;
use crate::format::{self, clock, duration, json_block, status, time};
use crate::history::{self, Kind, Step};
use crate::layout::{self, Html, Section};
use crate::session::Session;

/// The deepest sub-orchestration tree and the most nodes shown.
const TREE_DEPTH: usize = 4;
const TREE_NODES: usize = 60;

pub(crate) fn href(id: &str) -> String {
    format!("{BASE}/instances/{}", escape(id))
}

async fn load(app: &App, id: &str) -> Result<InstanceStatus, DashboardError> {
    let options = StatusOptions {
        show_history: true,
        show_input: true,
    };
    app.client
        .get_status(id, options)
        .await?
        .ok_or_else(|| DashboardError::NotFound(format!("There is no instance {id:?}.")))
}

fn finding(f: &Finding) -> Markup {
    let limit = |l: &Option<u32>| match l {
        Some(n) => format!(" (dead-lettered after {n})"),
        None => String::new(),
    };
    html! {
        @match f {
            Finding::Finished(s) => { "It has finished (" (s.as_str()) "); nothing more will run." }
            Finding::Suspended => { "An operator suspended it: its messages wait until it is resumed." }
            Finding::TurnRunning { owner, until } => { "Host " code { (owner) } " is running a turn of it now (lease until " (time(*until)) ")." }
            Finding::LeaseExpired { owner, since } => {
                strong { "Host " code { (owner) } " held it and its lease ended " (time(*since)) " without a commit" }
                ": the host probably died holding it. Another host takes it over on its next fetch."
            }
            Finding::RepeatedDelivery { delivery, limit: l } => {
                strong { "A message was delivered " (delivery) " times without a committed turn" } (limit(l))
                ": a poison message if it keeps failing."
            }
            Finding::MessagesReady(n) => { (n) " message(s) are ready and wait for an orchestration dispatcher." }
            Finding::ActivityRunning { name, owner, until } => { "Activity " code { (name) } " runs on host " code { (owner) } " (lease until " (time(*until)) ")." }
            Finding::ActivityLeaseExpired { name, owner, since } => {
                strong { "Activity " code { (name) } " was leased by " code { (owner) } " until " (time(*since)) }
                ": its host probably died; it runs again elsewhere."
            }
            Finding::ActivityRedelivered { name, delivery, limit: l } => {
                strong { "Activity " code { (name) } " was handed out " (delivery) " times" } (limit(l)) "."
            }
            Finding::ActivitiesQueued(n) => { (n) " activity work item(s) wait for a worker." }
            Finding::WaitingForTimer(at) => { "It waits for a durable timer due " (time(*at)) "." }
            Finding::WaitingForEvents(names) => {
                "It waits for the event(s) "
                @for (i, n) in names.iter().enumerate() { @if i > 0 { ", " } code { (n) } }
                "."
            }
            Finding::Idle => { "Nothing is queued for it and it waits for nothing the dashboard can see." }
        }
    }
}

fn diagnosis_section(d: &Diagnosis) -> Markup {
    let w = &d.work;
    html! {
        section.card #why aria-labelledby="why-title" {
            h2 #why-title { "Why is it where it is" }
            ul.findings { @for f in &d.findings { li { (finding(f)) } } }
            dl.facts {
                dt { "Lease" }
                dd {
                    @match &w.lease {
                        Some(l) => { "held by " code { (l.owner) } " until " (time(l.until)) }
                        None => { "none (no host holds it)" }
                    }
                }
                dt { "Dead-letter limit" }
                dd { @match d.max_deliveries { Some(n) => { (n) " deliveries" } None => { "unknown here" } } }
            }
            h3 { "Queued messages (" (w.messages.len()) ")" }
            @if w.messages.is_empty() { p.muted { "None." } } @else {
                div.table-wrap { table {
                    thead { tr { th scope="col" { "Message" } th scope="col" { "Event" } th scope="col" { "Sent" } th scope="col" { "Visible at" } th scope="col" { "Deliveries" } } }
                    tbody { @for m in &w.messages { tr {
                        td { (m.id.0) }
                        td { code { (event_type(&m.event)) } }
                        td { (time(m.event.timestamp)) }
                        td { @match m.visible_at { Some(t) => (time(t)), None => "at once" } }
                        td.num { (m.delivery) }
                    } } }
                } }
            }
            h3 { "Activity work items (" (w.activities.len()) ")" }
            @if w.activities.is_empty() { p.muted { "None." } } @else {
                div.table-wrap { table {
                    thead { tr { th scope="col" { "Item" } th scope="col" { "Activity" } th scope="col" { "Task" } th scope="col" { "Lease" } th scope="col" { "Visible at" } th scope="col" { "Deliveries" } } }
                    tbody { @for a in &w.activities { tr {
                        td { (a.id.0) }
                        td { code { (a.name) } }
                        td { (a.task_id.0) }
                        td { @match &a.lease { Some(l) => { code { (l.owner) } " until " (time(l.until)) } None => "none" } }
                        td { @match a.visible_at { Some(t) => (time(t)), None => "at once" } }
                        td.num { (a.delivery) }
                    } } }
                } }
            }
        }
    }
}

fn event_type(e: &durafn_core::HistoryEvent) -> String {
    serde_json::to_value(e)
        .ok()
        .and_then(|v| {
            v.get("EventType")
                .and_then(|t| t.as_str())
                .map(str::to_string)
        })
        .unwrap_or_default()
}

fn pending_section(steps: &[Step], awaited: &[String], now: DateTime<Utc>) -> Markup {
    let open: Vec<&Step> = steps.iter().filter(|s| s.is_open()).collect();
    html! {
        section.card #pending aria-labelledby="pending-title" {
            h2 #pending-title { "Pending work" }
            @if open.is_empty() && awaited.is_empty() { p.muted { "Nothing is pending." } } @else {
                ul.pending {
                    @for s in &open {
                        li {
                            @match s.kind {
                                Kind::Activity => { "Activity " code { (s.name) } ", attempt " (s.attempt) ", scheduled " (time(s.started)) " (" (duration(now - s.started)) " ago)" }
                                Kind::Timer => {
                                    @if let Some((name, attempt)) = &s.retry_of {
                                        "Retry of " code { (name) } " (attempt " (attempt) ") at "
                                    } @else { "Timer fires at " }
                                    @if let Some(at) = s.fire_at { (time(at)) }
                                }
                                Kind::SubOrchestration => {
                                    "Sub-orchestration " code { (s.name) }
                                    @if let Some(i) = &s.instance { " " a href=(href(i.as_str())) { code { (i) } } }
                                }
                                Kind::Entity => {
                                    "Entity call " code { (s.name) }
                                    @if let Some(i) = &s.instance { " on " code { (i) } }
                                }
                                Kind::Lock => { "Lock on " (s.detail.clone().unwrap_or_default()) }
                                _ => { (s.kind.label()) " " (s.name) }
                            }
                        }
                    }
                    @for e in awaited { li { "Waits for the event " code { (e) } } }
                }
            }
        }
    }
}

fn history_table(id: &str, steps: &[Step], now: DateTime<Utc>) -> Markup {
    html! {
        section.card #history aria-labelledby="history-title" {
            div.title-row {
                h2 #history-title { "History" }
                span {
                    a href={ (href(id)) "/events" } { "Raw events" }
                    " · "
                    a href={ (href(id)) "/download/history" } download { "Download JSON" }
                }
            }
            div.table-wrap { table.history {
                caption.visually-hidden { "Each scheduling event with its completion, one row per step" }
                thead { tr {
                    th scope="col" { "#" } th scope="col" { "Step" } th scope="col" { "Name" }
                    th scope="col" { "Status" } th scope="col" { "Started" } th scope="col" { "Finished" }
                    th scope="col" { "Duration" } th scope="col" { "Detail" }
                } }
                tbody {
                    @for (i, s) in steps.iter().enumerate() {
                        tr class={ "step-" (s.status.to_lowercase()) } {
                            td.num { (i + 1) }
                            td { (s.kind.label()) @if s.attempt > 1 { " (attempt " (s.attempt) ")" } }
                            td { code { (s.name) } }
                            td { span class={ "pill pill-" (s.status.to_lowercase()) } { (s.status) } }
                            td { (clock(s.started)) }
                            td { @if let Some(f) = s.finished { (clock(f)) } }
                            td.num { @if let Some(d) = s.duration(now) { (duration(d)) } }
                            td.detail {
                                @if let Some(i) = &s.instance {
                                    @if s.kind == Kind::SubOrchestration { a href=(href(i.as_str())) { code { (i) } } } @else { code { (i) } }
                                    " "
                                }
                                @if let Some(d) = &s.detail { (d) " " }
                                @if let Some(p) = &s.payload { code.payload { (format::preview(Some(p), 80)) } }
                            }
                        }
                    }
                }
            } }
        }
    }
}

/// A node of the sub-orchestration tree.
struct Node {
    id: InstanceId,
    name: String,
    status: Option<RuntimeStatus>,
    depth: usize,
    children: Vec<usize>,
}

async fn tree(app: &App, root: &InstanceStatus, steps: &[Step]) -> Vec<Node> {
    let mut nodes = vec![Node {
        id: root.instance_id.clone(),
        name: root.name.clone(),
        status: Some(root.runtime_status),
        depth: 0,
        children: Vec::new(),
    }];
    let mut frontier: Vec<(usize, Vec<(InstanceId, String)>)> = vec![(0, children_of(steps))];
    while let Some((parent, kids)) = frontier.pop() {
        for (id, name) in kids {
            if nodes.len() >= TREE_NODES {
                return nodes;
            }
            let depth = nodes[parent].depth + 1;
            let options = StatusOptions {
                show_history: depth < TREE_DEPTH,
                show_input: false,
            };
            let child = app
                .client
                .get_status(id.as_str(), options)
                .await
                .ok()
                .flatten();
            let index = nodes.len();
            nodes[parent].children.push(index);
            nodes.push(Node {
                id,
                name,
                status: child.as_ref().map(|c| c.runtime_status),
                depth,
                children: Vec::new(),
            });
            if let Some(h) = child.and_then(|c| c.history) {
                frontier.push((index, children_of(&history::steps(&h))));
            }
        }
    }
    nodes
}

fn children_of(steps: &[Step]) -> Vec<(InstanceId, String)> {
    steps
        .iter()
        .filter(|s| s.kind == Kind::SubOrchestration)
        .filter_map(|s| Some((s.instance.clone()?, s.name.clone())))
        .collect()
}

fn render_node(nodes: &[Node], i: usize, current: &InstanceId) -> Markup {
    let n = &nodes[i];
    html! {
        li {
            @if &n.id == current {
                strong { code { (n.id) } } " " (n.name)
            } @else {
                a href=(href(n.id.as_str())) { code { (n.id) } } " " (n.name)
            }
            " "
            @match n.status { Some(s) => (status(s)), None => span.muted { "(purged)" } }
            @if !n.children.is_empty() {
                ul { @for c in &n.children { (render_node(nodes, *c, current)) } }
            }
        }
    }
}

fn actions(session: &Session, st: &InstanceStatus) -> Markup {
    let id = st.instance_id.as_str();
    let s = st.runtime_status;
    let act = |action: &str, label: &str, class: &str| {
        html! { a class={ "button " (class) } href={ (href(id)) "/do/" (action) } { (label) } }
    };
    html! {
        @if session.can_write() {
            nav.actions aria-label="Operations" {
                @if !s.is_terminal() {
                    (act("raise", "Raise event…", "primary"))
                    @if s == RuntimeStatus::Suspended { (act("resume", "Resume…", "")) } @else { (act("suspend", "Suspend…", "")) }
                    (act("terminate", "Terminate…", "danger"))
                }
                @if s == RuntimeStatus::Failed { (act("rewind", "Rewind…", "primary")) }
                (act("restart-new", "Restart with a new id…", ""))
                @if s.is_terminal() {
                    (act("restart", "Restart with this id…", ""))
                    (act("purge", "Purge…", "danger"))
                }
            }
        }
    }
}

/// GET `/instances/{id}`.
pub(crate) async fn page(
    State(app): State<App>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Html, DashboardError> {
    let st = load(&app, &id).await?;
    let record = app.client.record(&id).await?;
    let diagnosis = app.client.diagnose(&id).await?;
    let history = st.history.clone().unwrap_or_default();
    let now = crate::format::now();
    let steps = history::steps(&history);
    let awaited = diagnosis
        .as_ref()
        .map(|d| d.awaited_events.clone())
        .unwrap_or_default();
    let nodes = tree(&app, &st, &steps).await;
    let parent = record.as_ref().and_then(|r| r.parent.clone());
    let trace_id = record
        .as_ref()
        .and_then(|r| r.trace_context.as_ref())
        .and_then(|t| durafn_core::trace::TraceParent::parse(&t.trace_parent))
        .map(|t| t.trace_id_hex());
    let trace_link = trace_id.as_ref().and_then(|id| {
        app.options
            .trace_url_template
            .as_ref()
            .map(|template| template.replace("{traceId}", id))
    });
    let ran = if st.runtime_status.is_terminal() {
        st.last_updated_time - st.created_time
    } else {
        now - st.created_time
    };
    let dl = |what: &str| format!("{}/download/{what}", href(&id));
    // An active instance's state comes first; a finished one's history does.
    let finished = st.runtime_status.is_terminal();
    let state = html! {
        div.grid-2 {
            @if let Some(d) = &diagnosis { (diagnosis_section(d)) }
            (pending_section(&steps, &awaited, now))
        }
    };
    let body = html! {
        p.crumbs { a href={ (BASE) "/instances" } { "Instances" } " / " code { (id) } }
        h1.instance { "Instance " code.id { (id) } " " (status(st.runtime_status)) }
        dl.summary {
            div { dt { "Orchestrator" } dd { code { (st.name) } } }
            div { dt { "Created" } dd { (time(st.created_time)) } }
            div { dt { "Last updated" } dd { (time(st.last_updated_time)) } }
            div { dt { "Duration" } dd { (duration(ran)) } }
            @if let Some(p) = &parent {
                div { dt { "Parent" } dd { a href=(href(p.instance_id.as_str())) { code { (p.instance_id) } } " " (p.name) } }
            }
            @if let Some(t) = &trace_id {
                div #trace { dt { "Trace" } dd {
                    @match &trace_link {
                        Some(link) => a href=(link) rel="noopener" { code { (t) } },
                        None => code { (t) },
                    }
                } }
            }
        }
        (actions(&session, &st))
        section.card #timeline aria-labelledby="timeline-h" {
            h2 #timeline-h { "Timeline" }
            @match history::span(&history, now) {
                Some((start, end)) => (crate::timeline::chart(&steps, start, end, now, &awaited, history::last_turn(&history))),
                None => p.muted { "No history yet." },
            }
        }
        @if !finished { (state) }
        (history_table(&id, &steps, now))
        div.payloads {
            section.card { h2 { "Input" } (json_block("Input", st.input.as_ref(), &dl("input"))) }
            section.card { h2 { "Output" } (json_block("Output", st.output.as_ref(), &dl("output"))) }
            section.card { h2 { "Custom status" } (json_block("Custom status", st.custom_status.as_ref(), &dl("custom"))) }
            @if let Some(f) = &st.failure {
                section.card.failure { h2 { "Failure" } p { strong { (f.error_type) } ": " (f.message) } }
            }
        }
        @if finished { (state) }
        @if nodes.len() > 1 || parent.is_some() {
            section.card #tree aria-labelledby="tree-title" {
                h2 #tree-title { "Sub-orchestrations" }
                ul.tree { (render_node(&nodes, 0, &st.instance_id)) }
            }
        }
    };
    Ok(layout::page(
        &session,
        Section::Instances,
        &format!("Instance {id}"),
        None,
        body,
    ))
}

/// GET `/instances/{id}/events`: every history event as recorded.
pub(crate) async fn events(
    State(app): State<App>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Html, DashboardError> {
    let st = load(&app, &id).await?;
    let history = st.history.unwrap_or_default();
    let body = html! {
        p.crumbs { a href={ (BASE) "/instances" } { "Instances" } " / " a href=(href(&id)) { code { (id) } } " / raw events" }
        h1 { "Raw events of " code { (id) } }
        p { (history.len()) " events. " a href={ (href(&id)) "/download/history" } download { "Download JSON" } }
        div.table-wrap { table.events {
            thead { tr { th scope="col" { "#" } th scope="col" { "EventType" } th scope="col" { "Timestamp" } th scope="col" { "EventId" } th scope="col" { "Event" } } }
            tbody { @for (i, e) in history.iter().enumerate() {
                @let json = serde_json::to_string_pretty(e).unwrap_or_default();
                tr {
                    td.num { (i) }
                    td { code { (event_type(e)) } }
                    td { (clock(e.timestamp)) }
                    td.num { (e.event_id.0) }
                    td { pre.json { code { (format::cut(&json, format::PAYLOAD_LIMIT).0) } } }
                }
            } }
        } }
    };
    Ok(layout::page(
        &session,
        Section::Instances,
        "Raw events",
        None,
        body,
    ))
}

/// GET `/instances/{id}/download/{input|output|custom|history}`: the whole payload as a file.
pub(crate) async fn download(
    State(app): State<App>,
    _session: Session,
    Path((id, what)): Path<(String, String)>,
) -> Result<Response, DashboardError> {
    let st = load(&app, &id).await?;
    let text = match what.as_str() {
        "input" => st
            .input
            .as_ref()
            .map(Payload::as_json)
            .unwrap_or("null")
            .to_string(),
        "output" => st
            .output
            .as_ref()
            .map(Payload::as_json)
            .unwrap_or("null")
            .to_string(),
        "custom" => st
            .custom_status
            .as_ref()
            .map(Payload::as_json)
            .unwrap_or("null")
            .to_string(),
        "history" => serde_json::to_string_pretty(&st.history.unwrap_or_default())
            .map_err(|e| DashboardError::BadRequest(e.to_string()))?,
        _ => {
            return Err(DashboardError::NotFound(
                "Nothing to download there.".into(),
            ));
        }
    };
    let name: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut r = text.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}-{what}.json\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}
