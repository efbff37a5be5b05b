//! What the instance commands share: the instances a command acts on (one id, or a filter with
//! the safety switches of bulk operations), reading one instance's status, and how instances
//! are printed for people.

use clap::Args;
use comfy_table::Cell;

use crate::commands::json_text;
use durafn_api::InstanceStatus;

use crate::client::{Client, Reply, instance_path};
use crate::error::{CliError, CliResult};
use crate::filter::{Filter, Listed};
use crate::output::Out;
use crate::time::show_time;

/// One instance, or a filter with the safety switches of bulk operations.
#[derive(Debug, Args)]
pub(crate) struct Target {
    /// The instance id; without it, the filter options choose the instances
    pub(crate) id: Option<String>,
    /// Which instances (instead of an id)
    #[command(flatten)]
    pub(crate) filter: Filter,
    /// Do not ask for confirmation
    #[arg(short, long)]
    pub(crate) yes: bool,
    /// Only show what would be done
    #[arg(long)]
    pub(crate) dry_run: bool,
}

impl Target {
    /// The single id, or `None` for a bulk operation; refuses both or neither.
    pub(crate) fn single(&self) -> CliResult<Option<&str>> {
        match (&self.id, self.filter.is_empty()) {
            (Some(_), false) => Err(CliError::Usage(
                "give an instance id or a filter, not both".into(),
            )),
            (Some(id), true) => Ok(Some(id)),
            (None, true) => Err(CliError::Usage(
                "give an instance id, or a filter (--status, --name, --prefix, --from, --to) to act on many"
                    .into(),
            )),
            (None, false) => Ok(None),
        }
    }
}

/// The listing as a table.
pub(crate) fn list_table(out: &Out, items: &[Listed], show_input: bool) -> comfy_table::Table {
    let mut headers = vec!["INSTANCE", "NAME", "STATUS", "CREATED", "UPDATED"];
    if show_input {
        headers.push("INPUT");
    }
    let mut table = out.table(&headers);
    for item in items {
        let s = &item.status;
        let mut row = vec![
            Cell::new(&s.instance_id),
            Cell::new(&s.name),
            out.status_cell(s.runtime_status.as_str()),
            Cell::new(show_time(&s.created_time)),
            Cell::new(show_time(&s.last_updated_time)),
        ];
        if show_input {
            row.push(Cell::new(crate::output::clip(
                &crate::output::minify(&json_text(&s.input)),
                60,
            )));
        }
        table.add_row(row);
    }
    table
}

/// `instances list`.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Which instances
    #[command(flatten)]
    pub(crate) filter: Filter,
    /// Show at most this many
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub(crate) top: usize,
    /// Show every match, following continuation tokens page by page
    #[arg(long, conflicts_with = "top")]
    pub(crate) all: bool,
    /// Include each instance's input
    #[arg(long = "show-input")]
    pub(crate) show_input: bool,
    /// Keep the list on screen, refreshed in place (q or Ctrl-C quits)
    #[arg(short, long)]
    pub(crate) watch: bool,
    /// Seconds between refreshes with --watch
    #[arg(long, default_value_t = 2.0, value_name = "SECONDS")]
    pub(crate) interval: f64,
}

/// GET one instance's status; 404 is "not found".
pub(crate) fn fetch_status(
    client: &Client,
    id: &str,
    q: &[(&str, String)],
) -> CliResult<(Reply, InstanceStatus)> {
    let reply = client
        .get(&instance_path(id), q)?
        .ok(&format!("instance {id}"))?;
    let status: InstanceStatus = reply.json()?;
    Ok((reply, status))
}

/// The details of an instance for people.
pub(crate) fn print_details(out: &Out, s: &InstanceStatus) -> CliResult {
    let table = out.details(vec![
        ("Instance", Cell::new(&s.instance_id)),
        ("Name", Cell::new(&s.name)),
        ("Status", out.status_cell(s.runtime_status.as_str())),
        ("Created", Cell::new(show_time(&s.created_time))),
        ("Last updated", Cell::new(show_time(&s.last_updated_time))),
        ("Input", Cell::new(json_text(&s.input))),
        ("Custom status", Cell::new(json_text(&s.custom_status))),
        ("Output", Cell::new(json_text(&s.output))),
    ]);
    out.print_table(&table)
}
