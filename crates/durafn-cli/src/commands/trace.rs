//! `durafn trace ID [--follow]`: the instance as a tree of its sub-orchestrations, activities,
//! timers and events, with status and duration, redrawn as it progresses until the root
//! finishes.
//!
//! The tree is built from each orchestration's history. A running sub-orchestration's history
//! entry carries its instance id. A finished one does not (the API shows the step as its
//! completion, with the function name, the scheduled time and the result, as Durable Functions
//! does), so its instance is found by listing the instances created while the step ran: the
//! one of that orchestrator whose output is the step's result (for a failure, whose message is
//! the step's), created closest to when it was scheduled. Siblings scheduled together under one
//! name are told apart by their outputs. Finished subtrees are not fetched again.

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use durafn_api::{InstanceStatus, query};

use crate::client::Client;
use crate::commands::target::fetch_status;
use crate::context::Context;
use crate::error::{CliError, CliResult};
use crate::filter::{self, Filter};
use crate::output::{Format, Out, minify};
use crate::steps::{Step, StepKind, steps};
use crate::terminal::{Screen, size};
use crate::tree::{self, Node};

/// `durafn trace`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
With --follow on a terminal, the tree is redrawn in place; piped, it is printed once when the
root finishes (-o jsonl prints each new state of the tree as one line).

Examples:
  durafn trace 0a31a173b2091d2c
  durafn trace 0a31a173b2091d2c --follow")]
pub(crate) struct Args {
    /// The root instance
    pub(crate) id: String,
    /// Keep redrawing as the instance progresses, until the root finishes
    #[arg(short, long)]
    pub(crate) follow: bool,
    /// Seconds between refreshes with --follow
    #[arg(long, default_value_t = 0.5, value_name = "SECONDS")]
    pub(crate) interval: f64,
}

/// The deepest nesting of sub-orchestrations followed.
const MAX_DEPTH: usize = 32;

/// How far around a step's run a child's creation time may fall (clocks of hosts that share a
/// task hub differ a little).
const SLACK: TimeDelta = TimeDelta::seconds(2);

/// Runs `trace`.
pub(crate) fn run(ctx: &Context, a: Args) -> CliResult {
    let client = ctx.client()?;
    let out = &ctx.out;
    let mut tracer = Tracer::new(&client);
    if !a.follow {
        let root = tracer.tree(&a.id)?;
        return print(out, &root);
    }
    if !(a.interval.is_finite() && a.interval > 0.0) {
        return Err(CliError::Usage(
            "--interval must be a positive number of seconds".into(),
        ));
    }
    let pause = Duration::from_secs_f64(a.interval.max(0.05));
    let live = out.tty && !out.is_json();
    let mut screen = Screen::new(false);
    let mut last: Option<Node> = None;
    loop {
        let root = tracer.tree(&a.id)?;
        let done = root.finished;
        let changed = last.as_ref().is_none_or(|l| !l.same_state(&root));
        if live {
            // Durations of running nodes grow, so a terminal gets every frame.
            screen.draw(&frame(out, &root))?;
        } else if changed && out.format == Format::Jsonl {
            out.print_value(&root)?;
        }
        if done {
            if !live && out.format != Format::Jsonl {
                print(out, &root)?;
            }
            return Ok(());
        }
        last = Some(root);
        std::thread::sleep(pause);
    }
}

fn print(out: &Out, root: &Node) -> CliResult {
    if out.is_json() {
        out.print_value(root)
    } else {
        out.print_table(&tree::table(out, root))
    }
}

/// The tree as lines that fit the terminal.
fn frame(out: &Out, root: &Node) -> Vec<String> {
    let (width, height) = size();
    let mut table = tree::table(out, root);
    table.set_width(u16::try_from(width).unwrap_or(u16::MAX));
    let mut lines = out.render(&table);
    let room = height.saturating_sub(1).max(2);
    if lines.len() > room {
        let hidden = lines.len() - (room - 1);
        lines.truncate(room - 1);
        lines.push(format!("… {hidden} more nodes"));
    }
    lines
}

/// Builds trees, remembering what does not change.
struct Tracer<'a> {
    client: &'a Client,
    /// Subtrees that have finished for good, by instance id.
    finished: HashMap<String, Node>,
    /// Instances already placed in the tree, so no instance is placed twice.
    placed: HashSet<String>,
}

impl<'a> Tracer<'a> {
    fn new(client: &'a Client) -> Self {
        Self {
            client,
            finished: HashMap::new(),
            placed: HashSet::new(),
        }
    }

    fn tree(&mut self, id: &str) -> CliResult<Node> {
        self.placed.clear();
        self.node(id, 0)
    }

    fn node(&mut self, id: &str, depth: usize) -> CliResult<Node> {
        self.placed.insert(id.to_string());
        if let Some(node) = self.finished.get(id) {
            mark(node, &mut self.placed);
            return Ok(node.clone());
        }
        let q = [
            (query::SHOW_HISTORY, "true".to_string()),
            (query::SHOW_HISTORY_OUTPUT, "true".to_string()),
            (query::SHOW_INPUT, "false".to_string()),
        ];
        let (_, status) = fetch_status(self.client, id, &q)?;
        let now = crate::time::now();
        let steps = steps(
            status.history_events.as_deref().unwrap_or_default(),
            status.runtime_status,
            now,
        );
        let mut node = orchestration_node(&status, now);
        let shown: Vec<&Step> = steps.iter().filter(|s| Node::shows(s)).collect();
        let children = self.children_of(id, &shown)?;
        for (step, child) in shown.iter().zip(children) {
            let child_node = match child {
                Some(child) if depth < MAX_DEPTH => match self.node(&child, depth + 1) {
                    Ok(n) => n,
                    Err(CliError::NotFound(_)) => Node::leaf(step),
                    Err(e) => return Err(e),
                },
                _ => Node::leaf(step),
            };
            node.children.push(child_node);
        }
        if node.all_finished() {
            self.finished.insert(id.to_string(), node.clone());
        }
        Ok(node)
    }

    /// The instance of each sub-orchestration step (`None` for other steps and for children
    /// that cannot be found).
    fn children_of(&mut self, parent: &str, shown: &[&Step]) -> CliResult<Vec<Option<String>>> {
        let mut ids: Vec<Option<String>> = shown
            .iter()
            .map(|s| match s.kind {
                StepKind::SubOrchestration => s.instance_id.clone(),
                _ => None,
            })
            .collect();
        let missing: Vec<usize> = (0..shown.len())
            .filter(|&i| shown[i].kind == StepKind::SubOrchestration && ids[i].is_none())
            .collect();
        if missing.is_empty() {
            return Ok(ids);
        }
        let from = missing
            .iter()
            .map(|&i| shown[i].started)
            .min()
            .unwrap_or_default()
            - SLACK;
        let to = missing
            .iter()
            .map(|&i| shown[i].finished.unwrap_or_else(crate::time::now))
            .max()
            .unwrap_or_default()
            + SLACK;
        let filter = Filter {
            from: Some(from),
            to: Some(to),
            ..Filter::default()
        };
        let mut candidates: Vec<InstanceStatus> = Vec::new();
        filter::walk(self.client, &filter, filter::MAX_PAGE, false, |item| {
            candidates.push(item.status);
            ControlFlow::Continue(())
        })?;
        let taken: HashSet<String> = ids.iter().flatten().cloned().collect();
        candidates.retain(|c| {
            c.instance_id != parent
                && !taken.contains(&c.instance_id)
                && !self.placed.contains(&c.instance_id)
        });
        for i in missing {
            let step = shown[i];
            let best = candidates
                .iter()
                .enumerate()
                .filter_map(|(at, c)| fit(step, c).map(|miss| (at, miss, c)))
                .min_by_key(|(_, miss, c)| (*miss, (c.created_time - step.started).abs()))
                .map(|(at, _, _)| at);
            if let Some(at) = best {
                ids[i] = Some(candidates.remove(at).instance_id);
            }
        }
        Ok(ids)
    }
}

/// Whether `c` can be the instance of sub-orchestration step `step`: the same orchestrator,
/// created while the step ran, finished if the step has, and with the step's result as its
/// output when both are known. `Some(0)` when its output agrees with the step, `Some(1)` when
/// that cannot be told (a failure whose message reads differently), `None` when it cannot be.
fn fit(step: &Step, c: &InstanceStatus) -> Option<u8> {
    let possible = c.name.eq_ignore_ascii_case(&step.name)
        && c.created_time >= step.started - SLACK
        && step.finished.is_none_or(|f| c.created_time <= f + SLACK)
        && (step.finished.is_none() || c.runtime_status.is_terminal());
    if !possible {
        return None;
    }
    match (step.status.as_str(), &step.result, &c.output) {
        ("Completed", Some(result), Some(output)) => {
            (minify(result) == minify(output.get())).then_some(0)
        }
        ("Failed", _, Some(output)) => {
            let message = serde_json::from_str::<String>(output.get()).ok();
            Some(if message.is_some() && message == step.detail {
                0
            } else {
                1
            })
        }
        _ => Some(1),
    }
}

fn mark(node: &Node, placed: &mut HashSet<String>) {
    if let Some(id) = &node.instance_id {
        placed.insert(id.clone());
    }
    for c in &node.children {
        mark(c, placed);
    }
}

/// The node of an orchestration instance, without its children.
fn orchestration_node(s: &InstanceStatus, now: DateTime<Utc>) -> Node {
    let finished = s.runtime_status.is_terminal();
    let end = if finished { s.last_updated_time } else { now };
    Node {
        kind: "orchestration".into(),
        name: s.name.clone(),
        instance_id: Some(s.instance_id.clone()),
        status: s.runtime_status.to_string(),
        started: s.created_time,
        duration_ms: Some(
            (end - s.created_time)
                .num_microseconds()
                .unwrap_or(0)
                .max(0) as f64
                / 1000.0,
        ),
        finished,
        children: Vec::new(),
    }
}
