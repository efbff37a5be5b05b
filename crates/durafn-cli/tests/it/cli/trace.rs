//! `durafn trace`: the tree of an orchestration with two levels of sub-orchestrations.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use serde_json::Value;

use crate::cli::common::{App, eventually};

/// Every node of a tree, depth first, as (depth, kind, name, status, finished).
fn nodes(tree: &Value) -> Vec<(usize, String, String, String, bool)> {
    fn walk(n: &Value, depth: usize, out: &mut Vec<(usize, String, String, String, bool)>) {
        out.push((
            depth,
            n["kind"].as_str().unwrap().to_string(),
            n["name"].as_str().unwrap().to_string(),
            n["status"].as_str().unwrap().to_string(),
            n["finished"].as_bool().unwrap(),
        ));
        for c in n["children"].as_array().into_iter().flatten() {
            walk(c, depth + 1, out);
        }
    }
    let mut out = Vec::new();
    walk(tree, 0, &mut out);
    out
}

const SHAPE: [(usize, &str, &str); 11] = [
    (0, "orchestration", "tree"),
    (1, "event", "go"),
    (1, "activity", "leaf"),
    (1, "orchestration", "branch"),
    (2, "activity", "leaf"),
    (2, "orchestration", "twig"),
    (3, "activity", "leaf"),
    (1, "orchestration", "branch"),
    (2, "activity", "leaf"),
    (2, "orchestration", "twig"),
    (3, "activity", "leaf"),
];

#[test]
fn trace_follow_ends_when_the_root_completes_and_shows_every_node() {
    let app = App::start();
    let id = app.start_instance("tree", &[]);
    let mut child = app
        .cmd()
        .args([
            "trace",
            &id,
            "--follow",
            "--interval",
            "0.05",
            "-o",
            "jsonl",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // The first frame: the root, waiting for its event.
    let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let root = &nodes(&first)[0];
    assert_eq!(
        (root.1.as_str(), root.2.as_str(), root.4),
        ("orchestration", "tree", false)
    );
    assert!(["Pending", "Running"].contains(&root.3.as_str()), "{first}");
    app.ok(&["instances", "raise", &id, "go"]);
    let frames: Vec<Value> = lines
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect();
    let status = eventually(60, "trace to exit", || child.try_wait().unwrap());
    assert!(status.success());
    let last = frames.last().expect("frames after the event");
    let shape: Vec<(usize, String, String)> = nodes(last)
        .into_iter()
        .map(|(d, k, n, _, _)| (d, k, n))
        .collect();
    let expected: Vec<(usize, String, String)> = SHAPE
        .iter()
        .map(|(d, k, n)| (*d, k.to_string(), n.to_string()))
        .collect();
    assert_eq!(shape, expected);
    for (_, kind, name, status, finished) in nodes(last) {
        assert!(finished, "{kind} {name} finished");
        let expected = if kind == "event" {
            "Received"
        } else {
            "Completed"
        };
        assert_eq!(status, expected, "{kind} {name}");
    }
    // Each branch's twig is its own: its output is the twig's result inside the branch's.
    let branches: Vec<&Value> = last["children"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"] == "branch")
        .collect();
    assert_ne!(branches[0]["instanceId"], branches[1]["instanceId"]);
    assert_ne!(
        branches[0]["children"][1]["instanceId"],
        branches[1]["children"][1]["instanceId"]
    );
    for branch in branches {
        let branch_id = branch["instanceId"].as_str().unwrap();
        let twig_id = branch["children"][1]["instanceId"].as_str().unwrap();
        let branch_out = app.json(&["instances", "show", branch_id])["output"].clone();
        let twig_out = app.json(&["instances", "show", twig_id])["output"].clone();
        assert!(
            branch_out
                .as_str()
                .unwrap()
                .ends_with(twig_out.as_str().unwrap()),
            "{branch_out} holds {twig_out}"
        );
    }
    // Every frame is a tree of the same instance; the tree only grows.
    let mut seen = 1;
    for f in &frames {
        assert_eq!(f["instanceId"], id.as_str());
        let n = nodes(f).len();
        assert!(n >= seen, "the tree shrank");
        seen = n;
    }

    // Without --follow, the finished tree is printed at once, as a table.
    let table = app.ok(&["trace", &id]);
    assert!(table.starts_with("NODE"), "{table}");
    for needle in [
        "├─ go",
        "├─ leaf",
        "├─ branch",
        "│  └─ twig",
        "└─ branch",
        "   └─ twig",
        "      └─ leaf",
    ] {
        assert!(table.contains(needle), "{needle:?} in\n{table}");
    }
    assert_eq!(table.lines().count(), 12, "{table}");
    let json = app.json(&["trace", &id]);
    assert_eq!(&json, last);
    // --follow on a finished instance prints the tree and ends.
    let again = app.ok(&["trace", &id, "--follow"]);
    assert_eq!(again, table);
}

#[test]
fn trace_of_a_failed_orchestration() {
    let app = App::start();
    let id = app.start_instance("fails", &[]);
    app.wait_done(&id);
    let tree = app.json(&["trace", &id]);
    let n = nodes(&tree);
    assert_eq!(n[0].3, "Failed");
    assert_eq!(
        (n[1].1.as_str(), n[1].2.as_str(), n[1].3.as_str()),
        ("activity", "explode", "Failed")
    );
    app.run(&["trace", "missing"]).fails(3);
}
