//! The operations on one instance (raise an event, suspend, resume, terminate, rewind,
//! restart, purge) and starting a new one. Each has a confirmation page (so it needs no script
//! to be confirmed) whose form posts the operation; each is the [`DurableClient`] call the
//! management API makes.
//!
//! [`DurableClient`]: durafn_runtime::DurableClient

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use durafn_core::{InstanceId, Payload};
use maud::{Markup, html};

use crate::app::{App, BASE};
use crate::error::DashboardError;
use crate::filter::Fields;
use crate::instance::href;
use crate::layout::{self, Html, Section};
use crate::session::Session;

/// An operation on one instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Raise,
    Suspend,
    Resume,
    Terminate,
    Rewind,
    Restart,
    RestartNew,
    Purge,
}

impl Action {
    fn parse(s: &str) -> Result<Self, DashboardError> {
        Ok(match s {
            "raise" => Self::Raise,
            "suspend" => Self::Suspend,
            "resume" => Self::Resume,
            "terminate" => Self::Terminate,
            "rewind" => Self::Rewind,
            "restart" => Self::Restart,
            "restart-new" => Self::RestartNew,
            "purge" => Self::Purge,
            _ => {
                return Err(DashboardError::NotFound(format!(
                    "There is no operation {s:?}."
                )));
            }
        })
    }

    fn title(self) -> &'static str {
        match self {
            Self::Raise => "Raise an event",
            Self::Suspend => "Suspend",
            Self::Resume => "Resume",
            Self::Terminate => "Terminate",
            Self::Rewind => "Rewind",
            Self::Restart => "Restart with the same id",
            Self::RestartNew => "Restart with a new id",
            Self::Purge => "Purge",
        }
    }

    fn explanation(self) -> &'static str {
        match self {
            Self::Raise => {
                "The event is delivered to the instance; its code receives it when it waits for an event of that name (events are buffered until then)."
            }
            Self::Suspend => "The instance stops running: its messages queue until it is resumed.",
            Self::Resume => {
                "The instance runs again and processes the messages that queued while it was suspended."
            }
            Self::Terminate => {
                "The instance stops for good with status Terminated. Activities already running finish, but their results are ignored."
            }
            Self::Rewind => {
                "What failed runs again: the failed activities and sub-orchestrations are scheduled anew and the instance continues from there."
            }
            Self::Restart => {
                "The instance's history is replaced by a new execution with the same input."
            }
            Self::RestartNew => {
                "A new instance of the same orchestrator starts with the same input; this one is left as it is."
            }
            Self::Purge => {
                "The instance, its history and everything queued for it are deleted. This cannot be undone."
            }
        }
    }

    fn danger(self) -> bool {
        matches!(self, Self::Terminate | Self::Purge | Self::Restart)
    }

    fn takes_reason(self) -> bool {
        matches!(
            self,
            Self::Suspend | Self::Resume | Self::Terminate | Self::Rewind
        )
    }
}

fn json_field(name: &str, label: &str, value: &str, hint: &str) -> Markup {
    let error_id = format!("{name}-error");
    html! {
        label for=(name) { (label) }
        textarea #(name) name=(name) rows="8" spellcheck="false" data-json="true"
            aria-describedby=(error_id) { (value) }
        p.hint { (hint) }
        p.error #(error_id) role="alert" hidden {}
    }
}

fn confirm_page(
    session: &Session,
    id: &str,
    action: Action,
    event: &str,
    data: &str,
    error: Option<&str>,
) -> Html {
    let button = if action.danger() { "danger" } else { "primary" };
    let body = html! {
        p.crumbs { a href={ (BASE) "/instances" } { "Instances" } " / " a href=(href(id)) { code { (id) } } }
        section.card.confirm aria-labelledby="confirm-title" {
            h1 #confirm-title { (action.title()) ": " code { (id) } }
            p { (action.explanation()) }
            @if let Some(e) = error { p.error role="alert" { (e) } }
            form method="post" action={ (href(id)) "/do/" (action_name(action)) } {
                input type="hidden" name="csrf" value=(session.csrf);
                @if action == Action::Raise {
                    label for="event" { "Event name" }
                    input #event type="text" name="event" value=(event) required spellcheck="false";
                    (json_field("data", "Event data (JSON)", data, "Checked as JSON before it is sent; null sends no data."))
                }
                @if action.takes_reason() {
                    label for="reason" { "Reason (recorded in the history)" }
                    input #reason type="text" name="reason" value="";
                }
                div.buttons {
                    button class={ "button " (button) } type="submit" { (action.title()) }
                    a.button href=(href(id)) { "Cancel" }
                }
            }
        }
    };
    layout::page(session, Section::Instances, action.title(), None, body)
}

fn action_name(a: Action) -> &'static str {
    match a {
        Action::Raise => "raise",
        Action::Suspend => "suspend",
        Action::Resume => "resume",
        Action::Terminate => "terminate",
        Action::Rewind => "rewind",
        Action::Restart => "restart",
        Action::RestartNew => "restart-new",
        Action::Purge => "purge",
    }
}

fn refuse_viewer(session: &Session) -> Result<(), DashboardError> {
    if session.can_write() {
        Ok(())
    } else {
        Err(DashboardError::Forbidden(
            "This key can only read; the dashboard offers no changes to it.".into(),
        ))
    }
}

/// GET `/instances/{id}/do/{action}`: what the operation does, and the form that does it.
pub(crate) async fn confirm(
    State(app): State<App>,
    session: Session,
    Path((id, action)): Path<(String, String)>,
) -> Result<Html, DashboardError> {
    refuse_viewer(&session)?;
    let action = Action::parse(&action)?;
    app.client
        .record(&id)
        .await?
        .ok_or_else(|| DashboardError::NotFound(format!("There is no instance {id:?}.")))?;
    let event = if action == Action::Raise {
        app.client
            .awaited_events(&id)
            .await?
            .into_iter()
            .next()
            .unwrap_or_default()
    } else {
        String::new()
    };
    Ok(confirm_page(&session, &id, action, &event, "{}", None))
}

/// POST `/instances/{id}/do/{action}`.
pub(crate) async fn perform(
    State(app): State<App>,
    session: Session,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    fields: Fields,
) -> Result<Response, DashboardError> {
    session.check_write(&fields, &headers)?;
    let action = Action::parse(&action)?;
    let reason = fields.get("reason").unwrap_or("");
    let reason_opt = Some(reason).filter(|r| !r.is_empty());
    let c = &app.client;
    let mut target = href(&id);
    match action {
        Action::Raise => {
            let event = fields.get("event").unwrap_or("").trim();
            let data = fields.get("data").unwrap_or("null");
            let payload = match Payload::from_json_text(data.trim()) {
                Ok(p) if !event.is_empty() => p,
                result => {
                    let message = match result {
                        Err(e) => format!("The event data is not valid JSON: {e}"),
                        Ok(_) => "The event name must not be empty.".to_string(),
                    };
                    let mut r = confirm_page(&session, &id, action, event, data, Some(&message))
                        .into_response();
                    *r.status_mut() = StatusCode::BAD_REQUEST;
                    return Ok(r);
                }
            };
            c.raise_event_payload(&id, event, payload).await?;
        }
        Action::Suspend => c.suspend(&id, reason_opt).await?,
        Action::Resume => c.resume(&id, reason_opt).await?,
        Action::Terminate => c.terminate(&id, reason).await?,
        Action::Rewind => c.rewind(&id, reason_opt).await?,
        Action::Restart | Action::RestartNew => {
            let started = c.restart(&id, action == Action::RestartNew).await?;
            target = href(started.as_str());
        }
        Action::Purge => {
            if !c.purge(&id).await? {
                return Err(DashboardError::NotFound(format!(
                    "There is no instance {id:?}."
                )));
            }
            target = format!("{BASE}/instances");
        }
    }
    Ok(Redirect::to(&target).into_response())
}

fn start_page(
    app: &App,
    session: &Session,
    name: &str,
    id: &str,
    input: &str,
    error: Option<&str>,
) -> Html {
    let body = html! {
        p.crumbs { a href={ (BASE) "/instances" } { "Instances" } " / start" }
        section.card.confirm aria-labelledby="start-title" {
            h1 #start-title { "Start an instance" }
            @if let Some(e) = error { p.error role="alert" { (e) } }
            form method="post" action={ (BASE) "/start" } {
                input type="hidden" name="csrf" value=(session.csrf);
                label for="name" { "Orchestrator" }
                select #name name="name" required {
                    @for o in &app.options.orchestrators { option value=(o) selected[o == name] { (o) } }
                }
                label for="id" { "Instance ID (optional; a random one otherwise)" }
                input #id type="text" name="id" value=(id) spellcheck="false";
                (json_field("input", "Input (JSON)", input, "Checked as JSON before it is sent."))
                div.buttons {
                    button.button.primary type="submit" { "Start" }
                    a.button href={ (BASE) "/instances" } { "Cancel" }
                }
            }
        }
    };
    layout::page(session, Section::Instances, "Start an instance", None, body)
}

/// GET `/start`.
pub(crate) async fn start_form(
    State(app): State<App>,
    session: Session,
) -> Result<Html, DashboardError> {
    refuse_viewer(&session)?;
    Ok(start_page(&app, &session, "", "", "null", None))
}

/// POST `/start`.
pub(crate) async fn start(
    State(app): State<App>,
    session: Session,
    headers: HeaderMap,
    fields: Fields,
) -> Result<Response, DashboardError> {
    session.check_write(&fields, &headers)?;
    let name = fields.get("name").unwrap_or("").to_string();
    let id = fields.get("id").unwrap_or("").trim().to_string();
    let input = fields.get("input").unwrap_or("null").to_string();
    let parsed = Payload::from_json_text(input.trim())
        .map_err(|e| format!("The input is not valid JSON: {e}"))
        .and_then(|p| {
            let id = (!id.is_empty())
                .then(|| InstanceId::parse(id.clone()))
                .transpose()
                .map_err(|e| format!("Invalid instance id: {e}"))?;
            Ok((p, id))
        });
    let (payload, instance_id) = match parsed {
        Ok(v) => v,
        Err(message) => {
            let mut r =
                start_page(&app, &session, &name, &id, &input, Some(&message)).into_response();
            *r.status_mut() = StatusCode::BAD_REQUEST;
            return Ok(r);
        }
    };
    let started = app
        .client
        .start_with_payload(&name, instance_id, payload)
        .await?;
    Ok(Redirect::to(&href(started.as_str())).into_response())
}
