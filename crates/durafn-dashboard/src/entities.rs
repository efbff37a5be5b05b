//! Entities: the list by entity name, one entity's state as JSON, signalling an operation,
//! deleting its state, and cleaning up the storage of empty entities.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use durafn_core::{EntityId, Payload};
use maud::html;

use crate::app::{App, BASE};
use crate::error::DashboardError;
use crate::filter::{Fields, QueryPairs, escape};
use crate::format::{self, json_block, time};
use crate::layout::{self, Html, Section};
use crate::session::Session;

fn href(e: &EntityId) -> String {
    format!("{BASE}/entities/{}/{}", escape(&e.name), escape(&e.key))
}

fn entity(name: &str, key: &str) -> Result<EntityId, DashboardError> {
    EntityId::parse(name, key)
        .map_err(|e| DashboardError::BadRequest(format!("Invalid entity id: {e}.")))
}

/// GET `/entities?name=…`.
pub(crate) async fn list(
    State(app): State<App>,
    session: Session,
    q: QueryPairs,
) -> Result<Html, DashboardError> {
    let name = q.get("name");
    let page = app.client.list_entities(name, 100, q.get("after")).await?;
    let cleaned = q.get("cleaned");
    let body = html! {
        div.title-row {
            h1 { "Entities" }
            @if session.can_write() {
                form method="post" action={ (BASE) "/entities/clean" } data-confirm="Delete the storage of every entity that holds no state?" {
                    input type="hidden" name="csrf" value=(session.csrf);
                    button.button type="submit" { "Clean entity storage" }
                }
            }
        }
        @if let Some(n) = cleaned { p.notice role="status" { "Cleaned the storage of " (n) " empty entities." } }
        form.filters.inline method="get" action={ (BASE) "/entities" } role="search" {
            label { span { "Entity name" } input type="text" name="name" value=(name.unwrap_or("")) placeholder="any"; }
            button.primary type="submit" { "Filter" }
        }
        @if page.entities.is_empty() { p.empty { "No entities." } } @else {
            div.table-wrap { table {
                thead { tr { th scope="col" { "Entity" } th scope="col" { "Key" } th scope="col" { "Last operation (UTC)" } th scope="col" { "Locked by" } th scope="col" { "State" } } }
                tbody { @for e in &page.entities { tr {
                    td { a href=(href(&e.entity_id)) { (e.entity_id.name) } }
                    td { a href=(href(&e.entity_id)) { code { (e.entity_id.key) } } }
                    td { (time(e.last_operation_time)) }
                    td { @if let Some(o) = &e.locked_by { a href=(crate::instance::href(o.as_str())) { code { (o) } } } }
                    td.preview { code { (format::preview(e.state.as_ref(), 80)) } }
                } } }
            } }
        }
        @if let Some(next) = &page.continuation {
            nav.pager { a.button rel="next" href={ (BASE) "/entities?after=" (escape(next)) @if let Some(n) = name { "&name=" (escape(n)) } } { "Next page →" } }
        }
    };
    Ok(layout::page(
        &session,
        Section::Entities,
        "Entities",
        None,
        body,
    ))
}

/// GET `/entities/{name}/{key}`.
pub(crate) async fn page(
    State(app): State<App>,
    session: Session,
    Path((name, key)): Path<(String, String)>,
) -> Result<Html, DashboardError> {
    let id = entity(&name, &key)?;
    let state = app.client.read_entity_state_payload(&id).await?;
    let record = app.client.record(id.instance_id().as_str()).await?;
    let body = html! {
        p.crumbs { a href={ (BASE) "/entities" } { "Entities" } " / " (id.name) " / " code { (id.key) } }
        h1 { "Entity " code { (id.name) } " " code { (id.key) } }
        @if let Some(r) = &record { p { "Last operation " (time(r.last_updated_at)) "." } }
        section.card aria-labelledby="state-title" {
            h2 #state-title { "State" }
            @if state.is_none() { p.muted #entity-state { "This entity holds no state." } } @else {
                div #entity-state { (json_block("Entity state", state.as_ref(), "#")) }
            }
        }
        @if session.can_write() {
            section.card aria-labelledby="signal-title" {
                h2 #signal-title { "Signal an operation" }
                form method="post" action={ (href(&id)) "/signal" } {
                    input type="hidden" name="csrf" value=(session.csrf);
                    label for="op" { "Operation" }
                    input #op type="text" name="op" required spellcheck="false";
                    label for="input" { "Input (JSON)" }
                    textarea #input name="input" rows="4" data-json="true" aria-describedby="input-error" spellcheck="false" { "null" }
                    p.error #input-error role="alert" hidden {}
                    div.buttons { button.button.primary type="submit" { "Signal" } }
                }
            }
            section.card aria-labelledby="delete-title" {
                h2 #delete-title { "Delete" }
                form method="post" action={ (href(&id)) "/delete" } data-confirm="Delete this entity's state?" {
                    input type="hidden" name="csrf" value=(session.csrf);
                    p { "Signals the built-in delete operation: the entity's state is removed." }
                    button.button.danger type="submit" { "Delete the state" }
                }
            }
        }
    };
    Ok(layout::page(
        &session,
        Section::Entities,
        "Entity",
        None,
        body,
    ))
}

/// POST `/entities/{name}/{key}/signal`.
pub(crate) async fn signal(
    State(app): State<App>,
    session: Session,
    headers: HeaderMap,
    Path((name, key)): Path<(String, String)>,
    fields: Fields,
) -> Result<Response, DashboardError> {
    session.check_write(&fields, &headers)?;
    let id = entity(&name, &key)?;
    let op = fields.get("op").unwrap_or("").trim();
    if op.is_empty() {
        return Err(DashboardError::BadRequest(
            "The operation must not be empty.".into(),
        ));
    }
    let input = Payload::from_json_text(fields.get("input").unwrap_or("null").trim())
        .map_err(|e| DashboardError::BadRequest(format!("The input is not valid JSON: {e}")))?;
    app.client.signal_entity_payload(&id, op, input).await?;
    Ok(Redirect::to(&href(&id)).into_response())
}

/// POST `/entities/{name}/{key}/delete`.
pub(crate) async fn delete(
    State(app): State<App>,
    session: Session,
    headers: HeaderMap,
    Path((name, key)): Path<(String, String)>,
    fields: Fields,
) -> Result<Response, DashboardError> {
    session.check_write(&fields, &headers)?;
    let id = entity(&name, &key)?;
    app.client
        .signal_entity_payload(&id, "delete", Payload::null())
        .await?;
    Ok(Redirect::to(&href(&id)).into_response())
}

/// POST `/entities/clean`.
pub(crate) async fn clean(
    State(app): State<App>,
    session: Session,
    headers: HeaderMap,
    fields: Fields,
) -> Result<Response, DashboardError> {
    session.check_write(&fields, &headers)?;
    let n = app.client.clean_entity_storage().await?;
    Ok(Redirect::to(&format!("{BASE}/entities?cleaned={n}")).into_response())
}
