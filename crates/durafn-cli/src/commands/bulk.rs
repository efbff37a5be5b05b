//! Terminate or purge every instance that matches a filter: count the matches, ask, then act on
//! each with a progress bar, and report how many were done.
//!
//! Each instance gets its own request (`DELETE instances/{id}`, `POST …/terminate`), a few at a
//! time. The API's bulk purge (`DELETE instances`) would be one request, but it filters only
//! by time and status, requires `createdTimeFrom`, and cannot report progress.

use std::io::{BufRead, IsTerminal, Write};
use std::ops::ControlFlow;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use durafn_api::{RuntimeStatus, query};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::client::{Body, Client, instance_path};
use crate::commands::target::{Target, list_table};
use crate::error::{CliError, CliResult};
use crate::filter::{self, Filter, Listed};
use crate::output::{Out, note};

/// Requests in flight at once.
const WORKERS: usize = 4;

/// What to do to each instance.
#[derive(Debug, Clone)]
pub(crate) enum Operation {
    /// Terminate, with a reason.
    Terminate(String),
    /// Purge.
    Purge,
}

impl Operation {
    /// The verb, its -ing form and its past.
    fn words(&self) -> (&'static str, &'static str, &'static str) {
        match self {
            Operation::Terminate(_) => ("terminate", "terminating", "terminated"),
            Operation::Purge => ("purge", "purging", "purged"),
        }
    }

    /// Without `--status`, only the instances the operation applies to: active ones for
    /// terminate, finished ones for purge.
    fn default_statuses(&self) -> Vec<RuntimeStatus> {
        match self {
            Operation::Terminate(_) => vec![
                RuntimeStatus::Pending,
                RuntimeStatus::Running,
                RuntimeStatus::Suspended,
                RuntimeStatus::ContinuedAsNew,
            ],
            Operation::Purge => vec![
                RuntimeStatus::Completed,
                RuntimeStatus::Failed,
                RuntimeStatus::Terminated,
            ],
        }
    }
}

/// What a bulk operation did.
#[derive(Debug, Default, Serialize)]
struct Summary {
    matched: usize,
    done: usize,
    skipped: usize,
    failed: usize,
    #[serde(rename = "dryRun")]
    dry_run: bool,
}

enum Outcome {
    Done,
    Skipped,
    Failed(String),
}

/// Runs a bulk operation.
pub(crate) fn run(out: &Out, client: &Client, target: &Target, op: Operation) -> CliResult {
    let mut filter: Filter = target.filter.clone();
    if filter.status.is_empty() {
        filter.status = op.default_statuses();
    }
    let mut matches: Vec<Listed> = Vec::new();
    filter::walk(client, &filter, filter::MAX_PAGE, false, |item| {
        matches.push(item);
        ControlFlow::Continue(())
    })?;
    let (verb, doing, done_word) = op.words();
    let n = matches.len();
    let mut summary = Summary {
        matched: n,
        dry_run: target.dry_run,
        ..Summary::default()
    };
    note(format!(
        "{n} instance{} {}",
        if n == 1 { "" } else { "s" },
        if n == 1 { "matches" } else { "match" }
    ));
    if n == 0 || target.dry_run {
        if target.dry_run && n > 0 {
            if out.is_json() {
                out.print_json_items(matches.iter().map(|m| m.raw.get()))?;
            } else {
                out.print_table(&list_table(out, &matches, false))?;
            }
            note(format!("dry run: nothing was {done_word}"));
        } else if out.is_json() {
            out.print_value(&summary)?;
        }
        return Ok(());
    }
    if !target.yes && !confirm(&format!("{verb} {n} instances?"))? {
        return Err(CliError::Aborted);
    }
    let bar = ProgressBar::new(n as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({per_sec}, eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(doing);
    let next = AtomicUsize::new(0);
    let outcomes: Mutex<Vec<(usize, Outcome)>> = Mutex::new(Vec::with_capacity(n));
    std::thread::scope(|scope| {
        for _ in 0..WORKERS.min(n) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = matches.get(i) else { break };
                    let outcome = apply(client, &op, &item.status.instance_id);
                    outcomes
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((i, outcome));
                    bar.inc(1);
                }
            });
        }
    });
    bar.finish();
    let mut outcomes = outcomes.into_inner().unwrap_or_else(|p| p.into_inner());
    outcomes.sort_by_key(|(i, _)| *i);
    let mut shown = 0;
    for (i, outcome) in &outcomes {
        match outcome {
            Outcome::Done => summary.done += 1,
            Outcome::Skipped => summary.skipped += 1,
            Outcome::Failed(message) => {
                summary.failed += 1;
                if shown < 10 {
                    note(format!(
                        "error: {}: {message}",
                        matches[*i].status.instance_id
                    ));
                    shown += 1;
                }
            }
        }
    }
    let mut line = format!("{done_word} {} of {n} instances", summary.done);
    if summary.skipped > 0 {
        line.push_str(&format!(
            " ({} had already {})",
            summary.skipped,
            if matches!(op, Operation::Purge) {
                "gone"
            } else {
                "finished"
            }
        ));
    }
    note(line);
    if out.is_json() {
        out.print_value(&summary)?;
    }
    if summary.failed > 0 {
        return Err(CliError::Partial {
            failed: summary.failed,
            total: n,
        });
    }
    Ok(())
}

fn apply(client: &Client, op: &Operation, id: &str) -> Outcome {
    let reply = match op {
        Operation::Purge => client.delete(&instance_path(id), &[]),
        Operation::Terminate(reason) => client.post(
            &format!("{}/terminate", instance_path(id)),
            &[(query::REASON, reason.clone())],
            Body::None,
        ),
    };
    match reply {
        Ok(r) if r.is_success() => Outcome::Done,
        // Purged or finished meanwhile.
        Ok(r) if r.status == 404 || r.status == 410 => Outcome::Skipped,
        Ok(r) => Outcome::Failed(r.error(&format!("instance {id}")).to_string()),
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// Asks on stderr and reads the answer from stdin; anything but y or yes is no.
fn confirm(question: &str) -> CliResult<bool> {
    let mut err = std::io::stderr();
    let hint = if std::io::stdin().is_terminal() {
        ""
    } else {
        " (reading the answer from stdin; --yes skips this)"
    };
    let _ = write!(err, "{question} [y/N]{hint} ");
    let _ = err.flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| CliError::io("reading the answer", e))?;
    if !std::io::stdin().is_terminal() {
        // The answer was not echoed; end the question's line.
        let _ = writeln!(err);
    }
    let a = answer.trim().to_ascii_lowercase();
    Ok(a == "y" || a == "yes")
}
