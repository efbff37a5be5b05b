//! `durafn replay-check`: asks a host to replay every live instance of its task hub against
//! its own build, a page at a time (the host's `…/durafn/replay-check` route), and prints the
//! summary by orchestrator and version and the first divergence of each instance that would
//! fail. Exits with status 1 if any would. Point it at a host of the build about to be
//! deployed, sharing the hub (one that runs no orchestrations, say); or run the app binary
//! itself with `APP replay-check`, which needs no host.

use std::collections::BTreeMap;
use std::time::Instant;

use comfy_table::Cell;
use durafn_api::{ReplayCheckPage, ReplayFailure};

use crate::context::Context;
use crate::error::{CliError, CliResult};
use crate::output::{note, print_stdout};

/// `replay-check` options.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Example:
  durafn --url http://canary:7071 replay-check
  durafn replay-check --name approve --version 1.0")]
pub(crate) struct Args {
    /// Only instances of this orchestrator
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Only instances of this version (an empty value: those without one)
    #[arg(long)]
    pub(crate) version: Option<String>,
    /// Instances the host replays per request
    #[arg(long, default_value_t = 500)]
    pub(crate) page_size: u32,
}

/// Runs `replay-check`.
pub(crate) fn run(ctx: &Context, a: Args) -> CliResult {
    let client = ctx.client()?;
    let path = format!(
        "{}{}",
        durafn_api::inspect::EXTENSIONS,
        durafn_api::replay_check::REPLAY_CHECK
    );
    let started = Instant::now();
    let (mut checked, mut ok) = (0u64, 0u64);
    let mut groups: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    let mut failures: Vec<ReplayFailure> = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut q = vec![("top", a.page_size.max(1).to_string())];
        if let Some(n) = &a.name {
            q.push(("name", n.clone()));
        }
        if let Some(v) = &a.version {
            q.push(("version", v.clone()));
        }
        if let Some(t) = &token {
            q.push(("continuationToken", t.clone()));
        }
        let reply = client.get(&path, &q)?;
        if reply.status == 404 {
            return Err(CliError::NotFound(
                "this host has no replay-check route (it is not a durafn host, or an older one)"
                    .into(),
            ));
        }
        let page: ReplayCheckPage = reply.ok("the replay check")?.json()?;
        checked += page.checked;
        ok += page.ok;
        for g in page.groups {
            let e = groups.entry((g.name, g.version)).or_default();
            e.0 += g.ok;
            e.1 += g.failed;
        }
        failures.extend(page.failures);
        let rate = checked as f64 / started.elapsed().as_secs_f64().max(1e-9);
        if !ctx.out.is_json() {
            note(format!(
                "replay-check: {checked} checked, {} would fail ({rate:.0} instances/s)",
                failures.len()
            ));
        }
        match page.continuation_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    let secs = started.elapsed().as_secs_f64();
    if ctx.out.is_json() {
        ctx.out.print_value(&serde_json::json!({
            "checked": checked,
            "ok": ok,
            "failed": failures.len(),
            "seconds": secs,
            "groups": groups.iter().map(|((n, v), (o, f))| serde_json::json!({"name": n, "version": v, "ok": o, "failed": f})).collect::<Vec<_>>(),
            "failures": failures,
        }))?;
    } else {
        print_stdout(&format!(
            "replay-check: {checked} instances checked in {secs:.2}s ({:.0} instances/s): {ok} ok, {} would fail\n",
            checked as f64 / secs.max(1e-9),
            failures.len()
        ))?;
        if !groups.is_empty() {
            let mut table = ctx
                .out
                .table(&["ORCHESTRATOR", "VERSION", "OK", "WOULD FAIL"]);
            for ((n, v), (o, f)) in &groups {
                let v = if v.is_empty() { "-" } else { v };
                table.add_row(vec![Cell::new(n), Cell::new(v), Cell::new(o), Cell::new(f)]);
            }
            ctx.out.print_table(&table)?;
        }
        for f in &failures {
            print_stdout(&render(f))?;
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(CliError::Exit {
            code: 1,
            message: format!("{} live instances would fail on this build", failures.len()),
        })
    }
}

fn render(f: &ReplayFailure) -> String {
    let at = f.history_index.map_or_else(
        || "at the end of history".to_string(),
        |i| format!("history index {i}"),
    );
    let mut out = format!(
        "\n{} ({} {})\n  {at}, step {}\n  recorded: {}\n  new code: {}",
        f.instance_id,
        f.name,
        f.version.as_deref().unwrap_or("-"),
        f.event_id,
        f.recorded.as_deref().unwrap_or("nothing"),
        f.issued.as_deref().unwrap_or("nothing")
    );
    if let Some(l) = &f.location {
        out.push_str(&format!(" ({l})"));
    }
    out.push_str(&format!("\n  {}\n", f.message));
    out
}
