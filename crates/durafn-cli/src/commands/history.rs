//! `durafn instances history ID` (steps with durations, or `--raw` events) and
//! `durafn history export ID` (the full status object with history, inputs and outputs).

use clap::Subcommand;
use comfy_table::Cell;
use durafn_api::{HistoryEvent, RawValue, query};
use serde::Deserialize;

use crate::client::Client;
use crate::commands::target::fetch_status;
use crate::context::Context;
use crate::error::{CliError, CliResult};
use crate::output::{Out, clip, minify};
use crate::steps::{Step, StepKind, steps};
use crate::time::{show_duration, show_time};

/// `durafn history` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Print an instance's status object with its full history, inputs and outputs
    #[command(after_help = "\
The output is the JSON of GET instances/{id}?showHistory=true&showHistoryOutput=true&showInput=true,
exactly as the host sends it: the same shape from a durafn host and from Azure Durable Functions.

Example:
  durafn history export 0a31a173b2091d2c > order-42.json")]
    Export {
        /// The instance id
        id: String,
    },
}

/// `instances history`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The instance id
    pub(crate) id: String,
    /// Show every history event as the API lists it, instead of steps
    #[arg(long)]
    pub(crate) raw: bool,
}

/// Runs a `history` subcommand.
pub(crate) fn run(ctx: &Context, command: Command) -> CliResult {
    match command {
        Command::Export { id } => {
            let client = ctx.client()?;
            let q = [
                (query::SHOW_HISTORY, "true".to_string()),
                (query::SHOW_HISTORY_OUTPUT, "true".to_string()),
                (query::SHOW_INPUT, "true".to_string()),
            ];
            let (reply, _) = fetch_status(&client, &id, &q)?;
            ctx.out.print_json_text(reply.text()?)
        }
    }
}

/// The history part of a status object, as sent.
#[derive(Deserialize)]
struct RawHistory<'a> {
    #[serde(rename = "historyEvents", borrow)]
    history_events: Option<&'a RawValue>,
}

/// `instances history ID [--raw]`.
pub(crate) fn steps_command(out: &Out, client: &Client, a: &Args) -> CliResult {
    let q = [
        (query::SHOW_HISTORY, "true".to_string()),
        (query::SHOW_HISTORY_OUTPUT, "true".to_string()),
    ];
    let (reply, status) = fetch_status(client, &a.id, &q)?;
    let events = status.history_events.as_deref().unwrap_or_default();
    if a.raw {
        if out.is_json() {
            let raw: RawHistory<'_> = reply.json()?;
            let events = raw.history_events.map(RawValue::get).unwrap_or("[]");
            if out.format == crate::output::Format::Jsonl {
                let items: Vec<&RawValue> =
                    serde_json::from_str(events).map_err(|e| CliError::BadAnswer(e.to_string()))?;
                return out.print_json_items(items.iter().map(|r| r.get()));
            }
            return out.print_json_text(events);
        }
        return out.print_table(&events_table(out, events));
    }
    let steps = steps(events, status.runtime_status, crate::time::now());
    if out.is_json() {
        return out.print_items(&steps);
    }
    out.print_table(&steps_table(out, &steps))
}

/// Steps as a table: what, its name, status, when it started (after the execution began; the
/// end: when it ended) and how long it took.
pub(crate) fn steps_table(out: &Out, steps: &[Step]) -> comfy_table::Table {
    let mut table = out.table(&["#", "STEP", "NAME", "STATUS", "AT", "DURATION", "DETAIL"]);
    let began = steps.first().map(|s| s.started);
    for (i, s) in steps.iter().enumerate() {
        // The end is shown when it happened; every other step when it began.
        let when = match (s.kind, s.finished) {
            (StepKind::End, Some(f)) => f,
            _ => s.started,
        };
        let at = began
            .map(|b| format!("+{}", show_duration(when - b)))
            .unwrap_or_default();
        let detail = s
            .detail
            .clone()
            .or_else(|| s.instance_id.clone())
            .or_else(|| s.result.as_deref().map(|r| clip(&minify(r), 40)))
            .unwrap_or_default();
        table.add_row(vec![
            Cell::new(i + 1),
            Cell::new(s.kind.label()),
            Cell::new(&s.name),
            out.status_cell(&s.status),
            Cell::new(at),
            Cell::new(s.duration().map(show_duration).unwrap_or_default()),
            Cell::new(clip(&detail, 60)),
        ]);
    }
    table
}

/// The raw events as a table.
fn events_table(out: &Out, events: &[HistoryEvent]) -> comfy_table::Table {
    let mut table = out.table(&["#", "EVENT", "TIME", "NAME", "DETAIL"]);
    for (i, e) in events.iter().enumerate() {
        let detail = e
            .reason
            .clone()
            .or_else(|| e.orchestration_status.map(|s| s.to_string()))
            .or_else(|| e.instance_id.clone())
            .or_else(|| e.fire_at.map(|t| format!("fires {}", show_time(&t))))
            .or_else(|| e.result.as_ref().map(|r| clip(&minify(r.get()), 40)))
            .unwrap_or_default();
        table.add_row(vec![
            Cell::new(i + 1),
            Cell::new(e.event_type.as_str()),
            Cell::new(crate::time::api_time(&e.timestamp)),
            Cell::new(
                e.function_name
                    .clone()
                    .or_else(|| e.name.clone())
                    .unwrap_or_default(),
            ),
            Cell::new(clip(&detail, 60)),
        ]);
    }
    table
}
