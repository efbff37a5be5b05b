//! The tree `durafn trace` draws: an orchestration, its activities, timers, events and entity
//! calls, and its sub-orchestrations with theirs, each with its status and duration.

use chrono::{DateTime, Utc};
use comfy_table::{Cell, Table};
use serde::Serialize;

use crate::output::Out;
use crate::steps::{Step, StepKind};
use crate::time::show_duration;

/// One node of the tree.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Node {
    /// `orchestration`, `activity`, `timer`, `event`, `entity`, or `sub-orchestration` for a
    /// sub-orchestration whose instance could not be found.
    pub(crate) kind: String,
    /// The function's, event's or operation's name.
    pub(crate) name: String,
    /// The instance, for orchestrations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) instance_id: Option<String>,
    /// The runtime status of an orchestration, or the status of a step.
    pub(crate) status: String,
    /// When it was scheduled or created.
    #[serde(serialize_with = "ser_time")]
    pub(crate) started: DateTime<Utc>,
    /// How long it took, or has taken so far, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) duration_ms: Option<f64>,
    /// Whether it has finished for good.
    pub(crate) finished: bool,
    /// What it ran, in the order it started.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) children: Vec<Node>,
}

fn ser_time<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::time::api_time(t))
}

/// Whether a step's status is final.
fn step_finished(s: &Step) -> bool {
    !matches!(s.status.as_str(), "Running" | "Waiting")
}

impl Node {
    /// A leaf for a step (an activity, timer, event or entity call; or a sub-orchestration
    /// whose instance is unknown).
    pub(crate) fn leaf(step: &Step) -> Self {
        Self {
            kind: step.kind.label().to_string(),
            name: step.name.clone(),
            instance_id: None,
            status: step.status.clone(),
            started: step.started,
            duration_ms: step.duration_ms,
            finished: step_finished(step),
            children: Vec::new(),
        }
    }

    /// Whether a step belongs in the tree (the execution's start, end and requests do not).
    pub(crate) fn shows(step: &Step) -> bool {
        matches!(
            step.kind,
            StepKind::Activity
                | StepKind::SubOrchestration
                | StepKind::Timer
                | StepKind::Event
                | StepKind::Entity
        )
    }

    /// Whether this node and everything under it has finished.
    pub(crate) fn all_finished(&self) -> bool {
        self.finished && self.children.iter().all(Node::all_finished)
    }

    /// Whether two trees show the same nodes in the same states (durations aside).
    pub(crate) fn same_state(&self, other: &Node) -> bool {
        self.kind == other.kind
            && self.name == other.name
            && self.instance_id == other.instance_id
            && self.status == other.status
            && self.finished == other.finished
            && self.children.len() == other.children.len()
            && self
                .children
                .iter()
                .zip(&other.children)
                .all(|(a, b)| a.same_state(b))
    }

    /// How many nodes the tree has.
    #[cfg(test)]
    pub(crate) fn count(&self) -> usize {
        1 + self.children.iter().map(Node::count).sum::<usize>()
    }
}

/// The tree as a table: the tree drawn in the first column, one node a row.
pub(crate) fn table(out: &Out, root: &Node) -> Table {
    let mut table = out.table(&["NODE", "KIND", "STATUS", "DURATION", "INSTANCE"]);
    let mut rows = Vec::new();
    flatten(root, String::new(), None, &mut rows);
    for (prefix, node) in rows {
        table.add_row(vec![
            Cell::new(format!("{prefix}{}", node.name)),
            Cell::new(&node.kind),
            out.status_cell(&node.status),
            Cell::new(
                node.duration_ms
                    .map(|ms| show_duration(chrono::TimeDelta::microseconds((ms * 1000.0) as i64)))
                    .unwrap_or_default(),
            ),
            Cell::new(node.instance_id.as_deref().unwrap_or("")),
        ]);
    }
    table
}

/// Depth-first rows with their branch drawing. `last` is `None` for the root.
fn flatten<'a>(
    node: &'a Node,
    indent: String,
    last: Option<bool>,
    rows: &mut Vec<(String, &'a Node)>,
) {
    let (prefix, child_indent) = match last {
        None => (String::new(), String::new()),
        Some(true) => (format!("{indent}└─ "), format!("{indent}   ")),
        Some(false) => (format!("{indent}├─ "), format!("{indent}│  ")),
    };
    rows.push((prefix, node));
    let n = node.children.len();
    for (i, child) in node.children.iter().enumerate() {
        flatten(child, child_indent.clone(), Some(i + 1 == n), rows);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::Format;

    fn node(name: &str, children: Vec<Node>) -> Node {
        Node {
            kind: "orchestration".into(),
            name: name.into(),
            instance_id: None,
            status: "Completed".into(),
            started: crate::time::now(),
            duration_ms: Some(1.5),
            finished: true,
            children,
        }
    }

    #[test]
    fn the_tree_is_drawn_with_branches() {
        let root = node(
            "root",
            vec![
                node("a", vec![node("a1", vec![]), node("a2", vec![])]),
                node("b", vec![]),
            ],
        );
        assert_eq!(root.count(), 5);
        let out = Out {
            format: Format::Table,
            color: false,
            tty: false,
        };
        let lines = out.render(&table(&out, &root));
        let kind_column = lines[0].find("KIND").unwrap();
        let names: Vec<String> = lines
            .iter()
            .skip(1)
            .map(|l| {
                l.chars()
                    .take(kind_column)
                    .collect::<String>()
                    .trim_end()
                    .to_string()
            })
            .collect();
        assert_eq!(names, ["root", "├─ a", "│  ├─ a1", "│  └─ a2", "└─ b"]);
    }
}
