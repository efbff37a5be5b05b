//! Bulk terminate and purge of everything matching the list's filter: the server counts the
//! matches, then works through them page by page (one [`DurableClient`] call per instance, the
//! calls the management API makes), and the page shows the progress and the final count.
//!
//! [`DurableClient`]: durafn_runtime::DurableClient

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use durafn_core::RuntimeStatus;
use durafn_runtime::DurableClient;
use durafn_store::inspect::InstanceQuery;
use maud::html;

use crate::app::{App, BASE};
use crate::error::DashboardError;
use crate::filter::{Fields, ListFilter, QueryPairs};
use crate::jobs::Job;
use crate::layout::{self, Html, Section};
use crate::session::Session;

/// How many instances a bulk job reads per page.
const PAGE: usize = 100;

/// What a bulk job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BulkAction {
    Terminate,
    Purge,
}

impl BulkAction {
    fn parse(s: Option<&str>) -> Result<Self, DashboardError> {
        match s {
            Some("terminate") => Ok(Self::Terminate),
            Some("purge") => Ok(Self::Purge),
            _ => Err(DashboardError::BadRequest(
                "action must be terminate or purge.".into(),
            )),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Terminate => "terminate",
            Self::Purge => "purge",
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Self::Terminate => "Terminate",
            Self::Purge => "Purge",
        }
    }

    fn past(self) -> &'static str {
        match self {
            Self::Terminate => "Terminated",
            Self::Purge => "Purged",
        }
    }

    /// The statuses it applies to, within the filter's (terminate: the active ones; purge:
    /// the finished ones).
    fn statuses(self, chosen: &[RuntimeStatus]) -> Vec<RuntimeStatus> {
        RuntimeStatus::ALL
            .into_iter()
            .filter(|s| s.is_terminal() == (self == Self::Purge))
            .filter(|s| chosen.is_empty() || chosen.contains(s))
            .collect()
    }

    fn query(self, filter: &ListFilter) -> Result<InstanceQuery, DashboardError> {
        let mut q = filter.query(crate::format::now())?;
        q.filter.statuses = self.statuses(&filter.statuses);
        Ok(q)
    }
}

async fn run(client: DurableClient, job: Arc<Job>, action: BulkAction, query: InstanceQuery) {
    let mut token: Option<String> = None;
    loop {
        let page = match client.query(&query, PAGE, token.as_deref()).await {
            Ok(p) => p,
            Err(e) => {
                *job.error.lock().unwrap_or_else(PoisonError::into_inner) = Some(e.to_string());
                break;
            }
        };
        for r in &page.instances {
            let id = r.instance_id.as_str();
            let ok = match action {
                BulkAction::Terminate => client
                    .terminate(id, "bulk terminate from the dashboard")
                    .await
                    .is_ok(),
                BulkAction::Purge => client.purge(id).await.unwrap_or(false),
            };
            let counter = if ok { &job.done } else { &job.skipped };
            counter.fetch_add(1, Ordering::Relaxed);
        }
        match page.continuation {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    job.finished.store(true, Ordering::Relaxed);
}

fn hidden_filter(f: &ListFilter) -> maud::Markup {
    html! {
        @for (k, v) in &f.pairs().0 {
            @if k != "refresh" { input type="hidden" name=(k) value=(v); }
        }
    }
}

/// GET `/bulk?action=…&<filter>`: how many instances the operation would touch, and the form.
pub(crate) async fn confirm(
    State(app): State<App>,
    session: Session,
    q: QueryPairs,
) -> Result<Html, DashboardError> {
    if !session.can_write() {
        return Err(DashboardError::Forbidden(
            "This key can only read; bulk operations are not offered to it.".into(),
        ));
    }
    let action = BulkAction::parse(q.get("action"))?;
    let f = ListFilter::from_query(&q)?;
    let query = action.query(&f)?;
    let n: u64 = app.client.count(&query).await?.iter().map(|(_, n)| n).sum();
    let which = match action {
        BulkAction::Terminate => "active (pending, running, suspended)",
        BulkAction::Purge => "finished (completed, failed, terminated)",
    };
    let body = html! {
        p.crumbs { a href=(f.href()) { "Instances" } " / bulk " (action.name()) }
        section.card.confirm aria-labelledby="bulk-title" {
            h1 #bulk-title { (action.verb()) " " (n) " instances" }
            p { "Every " (which) " instance matching the filter: " strong { (n) } " now. The host works through them page by page; you can watch the progress." }
            @if action == BulkAction::Purge { p.error { "Purging deletes the instances and their histories for good." } }
            form method="post" action={ (BASE) "/bulk" } {
                input type="hidden" name="csrf" value=(session.csrf);
                input type="hidden" name="action" value=(action.name());
                (hidden_filter(&f))
                div.buttons {
                    button.button.danger type="submit" disabled[n == 0] { (action.verb()) " all " (n) }
                    a.button href=(f.href()) { "Cancel" }
                }
            }
        }
    };
    Ok(layout::page(
        &session,
        Section::Instances,
        "Bulk operation",
        None,
        body,
    ))
}

/// POST `/bulk`: starts the job and shows its progress.
pub(crate) async fn start(
    State(app): State<App>,
    session: Session,
    headers: HeaderMap,
    fields: Fields,
) -> Result<Response, DashboardError> {
    session.check_write(&fields, &headers)?;
    let action = BulkAction::parse(fields.get("action"))?;
    let f = ListFilter::from_query(&fields.0)?;
    let query = action.query(&f)?;
    let total: u64 = app.client.count(&query).await?.iter().map(|(_, n)| n).sum();
    let job = Arc::new(Job {
        name: action.name(),
        past: action.past(),
        back: f.href(),
        total: AtomicU64::new(total),
        done: AtomicU64::new(0),
        skipped: AtomicU64::new(0),
        finished: AtomicBool::new(false),
        error: Mutex::new(None),
    });
    let n = app.jobs.add(job.clone());
    tokio::spawn(run(app.client.clone(), job, action, query));
    Ok(Redirect::to(&format!("{BASE}/bulk/{n}")).into_response())
}

/// GET `/bulk/{job}`: the progress bar, refreshed until the job is done, then the count.
pub(crate) async fn progress(
    State(app): State<App>,
    session: Session,
    Path(n): Path<u64>,
) -> Result<Html, DashboardError> {
    let job = app.jobs.get(n).ok_or_else(|| {
        DashboardError::NotFound("There is no such bulk job (the host may have restarted).".into())
    })?;
    let total = job.total.load(Ordering::Relaxed);
    let done = job.done.load(Ordering::Relaxed);
    let skipped = job.skipped.load(Ordering::Relaxed);
    let finished = job.finished.load(Ordering::Relaxed);
    let seen = (done + skipped).max(done);
    let error = job
        .error
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let me = format!("{BASE}/bulk/{n}");
    let body = html! {
        p.crumbs { a href=(job.back) { "Instances" } " / bulk " (job.name) }
        section.card #job aria-labelledby="job-title"
            hx-get=[(!finished).then_some(&me)] hx-trigger=[(!finished).then_some("every 500ms")]
            hx-select="#job" hx-swap="outerHTML" {
            h1 #job-title { "Bulk " (job.name) }
            label for="job-progress" { @if finished { "Done" } @else { "Working…" } }
            progress #job-progress max=(total.max(1)) value=(seen.min(total.max(1))) { (seen) " of " (total) }
            p #job-status aria-live="polite" {
                (seen) " of " (total) " processed"
                @if finished {
                    ". " strong #job-result { (job.past) " " (done) " instances" }
                    @if skipped > 0 { " (" (skipped) " had already changed and were skipped)" }
                    "."
                }
            }
            @if let Some(e) = error { p.error role="alert" { "Stopped: " (e) } }
            @if finished { p { a.button href=(job.back) { "Back to the instances" } } }
        }
    };
    Ok(layout::page(
        &session,
        Section::Instances,
        "Bulk operation",
        (!finished).then_some(1),
        body,
    ))
}
