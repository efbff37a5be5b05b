//! Architecture invariant: the core does no I/O, reads no clock, draws no random numbers and
//! depends on no async runtime. Checked from `cargo metadata` (the whole resolved dependency
//! graph of `durafn-core`, with the workspace's features unified) and from the sources.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Crates that would bring an async runtime, SQL, HTTP, a clock or randomness.
const FORBIDDEN: &[&str] = &[
    "tokio",
    "async-std",
    "smol",
    "mio",
    "futures-executor",
    "rusqlite",
    "libsqlite3-sys",
    "sqlx",
    "tokio-postgres",
    "postgres",
    "hyper",
    "reqwest",
    "axum",
    "http",
    "rand",
    "rand_core",
    "getrandom",
    "iana-time-zone",
    "fastrand",
];

#[test]
fn core_depends_on_nothing_impure() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // Only this platform's dependencies: others (e.g. for Redox or Windows) need not be downloaded.
    let rustc = Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc runs");
    let host = String::from_utf8_lossy(&rustc.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .expect("rustc names its host");
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--filter-platform",
            &host,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("metadata is JSON");
    let names: HashMap<&str, &str> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap_or(""),
                p["name"].as_str().unwrap_or(""),
            )
        })
        .collect();
    let nodes: HashMap<&str, &Value> = meta["resolve"]["nodes"]
        .as_array()
        .expect("resolve.nodes")
        .iter()
        .map(|n| (n["id"].as_str().unwrap_or(""), n))
        .collect();
    let root = names
        .iter()
        .find(|(_, name)| **name == "durafn-core")
        .map(|(id, _)| *id)
        .expect("durafn-core is in the workspace");

    let mut seen = BTreeSet::new();
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        for dep in nodes[id]["deps"].as_array().into_iter().flatten() {
            let normal = dep["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| k["kind"].is_null());
            if normal {
                stack.push(dep["pkg"].as_str().unwrap_or(""));
            }
        }
    }
    let reached: BTreeSet<&str> = seen.iter().map(|id| names[id]).collect();
    let bad: Vec<&&str> = FORBIDDEN.iter().filter(|f| reached.contains(**f)).collect();
    assert!(
        bad.is_empty(),
        "durafn-core must stay pure, but depends on {bad:?} (all: {reached:?})"
    );
    assert!(
        reached.contains("serde"),
        "the walk found the real dependencies: {reached:?}"
    );
}

#[test]
fn core_sources_read_no_clock_and_do_no_io() {
    const BANNED: &[&str] = &[
        "SystemTime::now",
        "Instant::now",
        "Utc::now",
        "Local::now",
        "std::fs",
        "std::net",
        "std::process",
        "std::thread::spawn",
        "std::env::var",
        "thread_rng",
        "getrandom",
    ];
    let mut offenders = Vec::new();
    visit(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut |path, text| {
            for banned in BANNED {
                if text.contains(banned) {
                    offenders.push(format!("{}: {banned}", path.display()));
                }
            }
        },
    );
    assert!(
        offenders.is_empty(),
        "impure calls in durafn-core: {offenders:?}"
    );
}

fn visit(dir: &Path, f: &mut dyn FnMut(&Path, &str)) {
    for entry in std::fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            visit(&path, f);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("source is UTF-8");
            f(&path, &text);
        }
    }
}
