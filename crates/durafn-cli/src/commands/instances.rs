//! `durafn instances …`: list, count, show, start, raise, terminate, suspend, resume, rewind,
//! restart, purge and wait, each one call (or a walk of pages) of the management API.

use clap::{Args, Subcommand};
use durafn_api::{HttpManagementPayload, query};

use crate::client::{Body, Client, encode, instance_path};
use crate::commands::target::{ListArgs, Target, fetch_status, list_table, print_details};
use crate::commands::{bulk, history, json_arg, wait, watch};
use crate::context::Context;
use crate::error::CliResult;
use crate::filter::{self, Filter};
use crate::output::{Out, note};
use crate::steps::steps;

/// `durafn instances` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// List instances, in the order the host lists them
    #[command(
        visible_alias = "ls",
        after_help = "\
Examples:
  durafn instances list --status Running,Pending --from 2h
  durafn instances list --name approval --all -o jsonl
  durafn instances list --watch"
    )]
    List(ListArgs),
    /// Count the instances that match a filter
    Count(CountArgs),
    /// Show an instance's status, input, output and custom status
    #[command(after_help = "\
Examples:
  durafn instances show 0a31a173b2091d2c --history
  durafn instances show 0a31a173b2091d2c -o json | jq .runtimeStatus")]
    Show(ShowArgs),
    /// Show an instance's history as steps with durations (--raw: the event list)
    History(history::Args),
    /// Start an orchestration; prints the new instance's id
    #[command(after_help = "\
Examples:
  durafn instances start hello --input '\"Tokyo\"'
  durafn instances start order --id order-42 --input @order.json")]
    Start(StartArgs),
    /// Raise an event on an instance
    #[command(after_help = "\
Examples:
  durafn instances raise 0a31a173b2091d2c approval true
  durafn instances raise 0a31a173b2091d2c payment @payment.json")]
    Raise(RaiseArgs),
    /// Terminate an instance, or every active instance that matches a filter
    #[command(after_help = "\
Examples:
  durafn instances terminate 0a31a173b2091d2c --reason 'stuck'
  durafn instances terminate --name import --from 1d --dry-run
  durafn instances terminate --prefix batch- --yes")]
    Terminate(TerminateArgs),
    /// Suspend a running instance
    Suspend(OpArgs),
    /// Resume a suspended instance
    Resume(OpArgs),
    /// Rewind a failed instance: what failed runs again
    Rewind(OpArgs),
    /// Start an instance again with the same input; prints the instance's id
    Restart(RestartArgs),
    /// Purge an instance's history, or every finished instance that matches a filter
    #[command(after_help = "\
Examples:
  durafn instances purge 0a31a173b2091d2c
  durafn instances purge --status Completed --to 30d --yes")]
    Purge(PurgeArgs),
    /// Wait for an instance to finish; the exit code tells how it ended
    #[command(after_help = "\
Exit codes: 0 Completed, 4 Failed, 5 Terminated, 6 still running when the timeout passed,
3 no such instance.

Example:
  durafn instances wait 0a31a173b2091d2c --timeout 300 -o json > result.json")]
    Wait(wait::Args),
}

/// `instances count`.
#[derive(Debug, Args)]
pub(crate) struct CountArgs {
    /// Which instances
    #[command(flatten)]
    pub(crate) filter: Filter,
}

/// `instances show`.
#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// The instance id
    pub(crate) id: String,
    /// Also show the history as steps with durations
    #[arg(long)]
    pub(crate) history: bool,
}

/// `instances start`.
#[derive(Debug, Args)]
pub(crate) struct StartArgs {
    /// The orchestrator's name
    pub(crate) name: String,
    /// The instance id (default: one the host generates)
    #[arg(long)]
    pub(crate) id: Option<String>,
    /// The input: JSON, @FILE, or - for stdin
    #[arg(long, value_name = "JSON|@FILE")]
    pub(crate) input: Option<String>,
}

/// `instances raise`.
#[derive(Debug, Args)]
pub(crate) struct RaiseArgs {
    /// The instance id
    pub(crate) id: String,
    /// The event's name
    pub(crate) event: String,
    /// The event's data: JSON, @FILE, or - for stdin [default: null]
    #[arg(value_name = "JSON|@FILE")]
    pub(crate) data: Option<String>,
}

/// `instances suspend`, `resume`, `rewind`.
#[derive(Debug, Args)]
pub(crate) struct OpArgs {
    /// The instance id
    pub(crate) id: String,
    /// Why (recorded in the history)
    #[arg(long)]
    pub(crate) reason: Option<String>,
}

/// `instances terminate`.
#[derive(Debug, Args)]
pub(crate) struct TerminateArgs {
    /// What to terminate
    #[command(flatten)]
    pub(crate) target: Target,
    /// Why (recorded in the history)
    #[arg(long)]
    pub(crate) reason: Option<String>,
}

/// `instances restart`.
#[derive(Debug, Args)]
pub(crate) struct RestartArgs {
    /// The instance id
    pub(crate) id: String,
    /// Start it under a new instance id (by default it restarts under its own, which must
    /// have finished)
    #[arg(long)]
    pub(crate) new_id: bool,
}

/// `instances purge`.
#[derive(Debug, Args)]
pub(crate) struct PurgeArgs {
    /// What to purge
    #[command(flatten)]
    pub(crate) target: Target,
}

/// Runs an `instances` subcommand.
pub(crate) fn run(ctx: &Context, command: Command) -> CliResult {
    let out = &ctx.out;
    match command {
        Command::List(a) if a.watch => watch::run(out, &ctx.client()?, &a),
        Command::List(a) => list(out, &ctx.client()?, &a),
        Command::Count(a) => count(out, &ctx.client()?, &a.filter),
        Command::Show(a) => show(out, &ctx.client()?, &a),
        Command::History(a) => history::steps_command(out, &ctx.client()?, &a),
        Command::Start(a) => start(out, &ctx.client()?, &a),
        Command::Raise(a) => raise(&ctx.client()?, &a),
        Command::Terminate(a) => {
            let client = ctx.client()?;
            let reason = a.reason.clone().unwrap_or_default();
            match a.target.single()? {
                Some(id) => operation(&client, id, "terminate", Some(&reason)),
                None => bulk::run(out, &client, &a.target, bulk::Operation::Terminate(reason)),
            }
        }
        Command::Suspend(a) => operation(&ctx.client()?, &a.id, "suspend", a.reason.as_deref()),
        Command::Resume(a) => operation(&ctx.client()?, &a.id, "resume", a.reason.as_deref()),
        Command::Rewind(a) => operation(&ctx.client()?, &a.id, "rewind", a.reason.as_deref()),
        Command::Restart(a) => restart(out, &ctx.client()?, &a),
        Command::Purge(a) => {
            let client = ctx.client()?;
            match a.target.single()? {
                Some(id) => purge(out, &client, id),
                None => bulk::run(out, &client, &a.target, bulk::Operation::Purge),
            }
        }
        Command::Wait(a) => wait::run(out, &ctx.client()?, &a),
    }
}

fn list(out: &Out, client: &Client, a: &ListArgs) -> CliResult {
    let limit = if a.all { None } else { Some(a.top.max(1)) };
    let (items, more) = filter::collect(client, &a.filter, limit, a.show_input)?;
    if out.is_json() {
        out.print_json_items(items.iter().map(|i| i.raw.get()))?;
    } else if items.is_empty() {
        note("no instances match");
    } else {
        out.print_table(&list_table(out, &items, a.show_input))?;
    }
    if more {
        note(format!(
            "more instances match than the {} shown; use --all or a larger --top",
            items.len()
        ));
    }
    Ok(())
}

/// Counts with durafn's counts route (one request, counted in the task hub); a host without it
/// (an Azure Functions host answers 404) is counted by paging through the listing.
fn count(out: &Out, client: &Client, filter: &Filter) -> CliResult {
    let mut q = filter.query();
    if let Some(name) = &filter.name {
        q.push(("name", name.clone()));
    }
    let path = format!("{}/counts", durafn_api::inspect::EXTENSIONS);
    let reply = client.get(&path, &q)?;
    let n = if reply.is_success() {
        reply.json::<durafn_api::InstanceCounts>()?.total
    } else if reply.status == 404 {
        let mut n: u64 = 0;
        filter::walk(client, filter, filter::MAX_PAGE, false, |_| {
            n += 1;
            std::ops::ControlFlow::Continue(())
        })?;
        n
    } else {
        return Err(reply.error("the instance counts"));
    };
    if out.is_json() {
        out.print_value(&serde_json::json!({ "count": n }))
    } else {
        crate::output::print_stdout(&format!("{n}\n"))
    }
}

fn show(out: &Out, client: &Client, a: &ShowArgs) -> CliResult {
    let mut q = vec![(query::SHOW_INPUT, "true".to_string())];
    if a.history {
        q.push((query::SHOW_HISTORY, "true".into()));
    }
    let (reply, status) = fetch_status(client, &a.id, &q)?;
    if out.is_json() {
        return out.print_json_text(reply.text()?);
    }
    print_details(out, &status)?;
    if let Some(events) = &status.history_events {
        crate::output::print_stdout("\n")?;
        let steps = steps(events, status.runtime_status, crate::time::now());
        out.print_table(&history::steps_table(out, &steps))?;
    }
    Ok(())
}

fn start(out: &Out, client: &Client, a: &StartArgs) -> CliResult {
    let input = a
        .input
        .as_deref()
        .map(|i| json_arg("--input", i))
        .transpose()?;
    let mut path = format!("/orchestrators/{}", encode(&a.name));
    if let Some(id) = &a.id {
        path.push('/');
        path.push_str(&encode(id));
    }
    let body = input.as_deref().map_or(Body::None, Body::Json);
    let reply = client
        .post(&path, &[], body)?
        .ok(&format!("orchestrator {}", a.name))?;
    let payload: HttpManagementPayload = reply.json()?;
    note(format!("started {} as {}", a.name, payload.id));
    print_id(out, &payload.id)
}

/// Prints an instance id: alone on a line, or as `{"id": …}`. The check-status links are not
/// printed because each carries the host's system key.
fn print_id(out: &Out, id: &str) -> CliResult {
    if out.is_json() {
        out.print_value(&serde_json::json!({ "id": id }))
    } else {
        crate::output::print_stdout(&format!("{id}\n"))
    }
}

fn raise(client: &Client, a: &RaiseArgs) -> CliResult {
    let data = match &a.data {
        Some(d) => json_arg("the event data", d)?,
        None => "null".to_string(),
    };
    let path = format!("{}/raiseEvent/{}", instance_path(&a.id), encode(&a.event));
    client
        .post(&path, &[], Body::Json(&data))?
        .ok(&format!("instance {}", a.id))?;
    note(format!("raised {} on {}", a.event, a.id));
    Ok(())
}

/// POST `instances/{id}/{op}` (terminate, suspend, resume, rewind).
pub(crate) fn operation(client: &Client, id: &str, op: &str, reason: Option<&str>) -> CliResult {
    let q: Vec<(&str, String)> = reason
        .map(|r| vec![(query::REASON, r.to_string())])
        .unwrap_or_default();
    client
        .post(&format!("{}/{op}", instance_path(id)), &q, Body::None)?
        .ok(&format!("instance {id}"))?;
    let done = match op {
        "terminate" => "terminating",
        "suspend" => "suspending",
        "resume" => "resuming",
        _ => "rewinding",
    };
    note(format!("{done} {id}"));
    Ok(())
}

fn restart(out: &Out, client: &Client, a: &RestartArgs) -> CliResult {
    let q = [(query::RESTART_WITH_NEW_INSTANCE_ID, a.new_id.to_string())];
    let reply = client
        .post(&format!("{}/restart", instance_path(&a.id)), &q, Body::None)?
        .ok(&format!("instance {}", a.id))?;
    let payload: HttpManagementPayload = reply.json()?;
    note(format!("restarted {} as {}", a.id, payload.id));
    print_id(out, &payload.id)
}

fn purge(out: &Out, client: &Client, id: &str) -> CliResult {
    let reply = client
        .delete(&instance_path(id), &[])?
        .ok(&format!("instance {id}"))?;
    if out.is_json() {
        return out.print_json_text(reply.text()?);
    }
    note(format!("purged {id}"));
    Ok(())
}
