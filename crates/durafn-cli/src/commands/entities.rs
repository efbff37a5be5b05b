//! `durafn entities …`: list entities, read one's state, signal an operation, delete one.

use clap::{Args, Subcommand};
use comfy_table::Cell;
use durafn_api::{EntityEntry, RawValue, query};

use crate::client::{Body, Client, encode};
use crate::commands::json_arg;
use crate::context::Context;
use crate::error::{CliError, CliResult};
use crate::filter::{MAX_PAGE, time_arg};
use crate::output::{Out, clip, minify, note};
use crate::time::{api_time, show_time};

/// `durafn entities` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// List entities (of one entity function, or all)
    #[command(visible_alias = "ls")]
    List(ListArgs),
    /// Print an entity's state
    Show(EntityArgs),
    /// Signal an operation on an entity (one-way)
    #[command(after_help = "\
Example:
  durafn entities signal counter alice add 5")]
    Signal(SignalArgs),
    /// Delete an entity's state (signals its delete operation)
    Delete(EntityArgs),
}

/// `entities list`.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Only entities of this entity function
    pub(crate) name: Option<String>,
    /// Include each entity's state
    #[arg(long)]
    pub(crate) state: bool,
    /// Only entities whose last operation ran at or after TIME (RFC 3339, a date, or an age)
    #[arg(long, value_name = "TIME", value_parser = time_arg)]
    pub(crate) from: Option<chrono::DateTime<chrono::Utc>>,
    /// Only entities whose last operation ran at or before TIME
    #[arg(long, value_name = "TIME", value_parser = time_arg)]
    pub(crate) to: Option<chrono::DateTime<chrono::Utc>>,
    /// Show at most this many
    #[arg(long, default_value_t = 100, value_name = "N", conflicts_with = "all")]
    pub(crate) top: usize,
    /// Show every entity, following continuation tokens
    #[arg(long)]
    pub(crate) all: bool,
}

/// One entity.
#[derive(Debug, Args)]
pub(crate) struct EntityArgs {
    /// The entity function's name
    pub(crate) name: String,
    /// The entity's key
    // Its own id: `key` is the global --key.
    #[arg(id = "entity_key", value_name = "KEY")]
    pub(crate) key: String,
}

/// `entities signal`.
#[derive(Debug, Args)]
pub(crate) struct SignalArgs {
    /// Which entity
    #[command(flatten)]
    pub(crate) entity: EntityArgs,
    /// The operation
    pub(crate) operation: String,
    /// The operation's input: JSON, @FILE, or - for stdin [default: null]
    #[arg(value_name = "JSON|@FILE")]
    pub(crate) input: Option<String>,
}

fn entity_path(e: &EntityArgs) -> String {
    format!("/entities/{}/{}", encode(&e.name), encode(&e.key))
}

/// Runs an `entities` subcommand.
pub(crate) fn run(ctx: &Context, command: Command) -> CliResult {
    let client = ctx.client()?;
    let out = &ctx.out;
    match command {
        Command::List(a) => list(out, &client, &a),
        Command::Show(e) => {
            let reply = client
                .get(&entity_path(&e), &[])?
                .ok(&format!("entity @{}@{}", e.name, e.key))?;
            out.print_json_text(reply.text()?)
        }
        Command::Signal(a) => {
            let input = match &a.input {
                Some(i) => json_arg("the operation's input", i)?,
                None => "null".into(),
            };
            client
                .post(
                    &entity_path(&a.entity),
                    &[(query::OP, a.operation.clone())],
                    Body::Json(&input),
                )?
                .ok(&format!("entity @{}@{}", a.entity.name, a.entity.key))?;
            note(format!(
                "signalled {} on @{}@{}",
                a.operation, a.entity.name, a.entity.key
            ));
            Ok(())
        }
        Command::Delete(e) => {
            client
                .delete(&entity_path(&e), &[])?
                .ok(&format!("entity @{}@{}", e.name, e.key))?;
            note(format!("deleting @{}@{}", e.name, e.key));
            Ok(())
        }
    }
}

fn list(out: &Out, client: &Client, a: &ListArgs) -> CliResult {
    let path = match &a.name {
        Some(n) => format!("/entities/{}", encode(n)),
        None => "/entities".to_string(),
    };
    let limit = if a.all { usize::MAX } else { a.top.max(1) };
    let mut q = vec![(query::TOP, limit.min(MAX_PAGE).to_string())];
    if a.state {
        q.push((query::FETCH_STATE, "true".into()));
    }
    if let Some(t) = &a.from {
        q.push((query::LAST_OPERATION_TIME_FROM, api_time(t)));
    }
    if let Some(t) = &a.to {
        q.push((query::LAST_OPERATION_TIME_TO, api_time(t)));
    }
    let mut items: Vec<(Box<RawValue>, EntityEntry)> = Vec::new();
    let mut token: Option<String> = None;
    let mut more = false;
    loop {
        let reply = client
            .page(&path, &q, token.as_deref())?
            .ok("the entity listing")?;
        let page: Vec<Box<RawValue>> = reply.json()?;
        for raw in page {
            if items.len() >= limit {
                more = true;
                break;
            }
            let entry: EntityEntry = serde_json::from_str(raw.get())
                .map_err(|e| CliError::BadAnswer(format!("a listed entity: {e}")))?;
            items.push((raw, entry));
        }
        match reply.continuation {
            Some(next) if !more && token.as_deref() != Some(next.as_str()) => token = Some(next),
            _ => break,
        }
    }
    if out.is_json() {
        out.print_json_items(items.iter().map(|(raw, _)| raw.get()))?;
    } else if items.is_empty() {
        note("no entities match");
    } else {
        let mut headers = vec!["ENTITY", "KEY", "LAST OPERATION"];
        if a.state {
            headers.push("STATE");
        }
        let mut table = out.table(&headers);
        for (_, e) in &items {
            let mut row = vec![
                Cell::new(&e.entity_id.name),
                Cell::new(&e.entity_id.key),
                Cell::new(show_time(&e.last_operation_time)),
            ];
            if a.state {
                row.push(Cell::new(
                    e.state
                        .as_ref()
                        .map(|s| clip(&minify(s.get()), 60))
                        .unwrap_or_default(),
                ));
            }
            table.add_row(row);
        }
        out.print_table(&table)?;
    }
    if more {
        note(format!(
            "more entities exist than the {} shown; use --all or a larger --top",
            items.len()
        ));
    }
    Ok(())
}
