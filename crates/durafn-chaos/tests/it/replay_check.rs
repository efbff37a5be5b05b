//! The pre-deploy replay check end to end, with real binaries: build 1 of the orders app leaves
//! 1,000 orders (and 100 refunds) waiting for approval on a SQLite task hub; build 2's
//! `replay-check` must list exactly the waiting express orders (the ones its change to express
//! reservations breaks), exit with status 1, and say how fast it went; build 1's own check
//! finds nothing.
//!
//! `DURAFN_REPLAY_CHECK_INSTANCES` (default 1000) sizes the run.

use std::collections::BTreeSet;
use std::process::Command;

use durafn_chaos::orders::is_express;

#[test]
fn the_new_build_lists_exactly_the_instances_it_would_break() {
    let n: u64 = std::env::var("DURAFN_REPLAY_CHECK_INSTANCES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("hub.db");
    let db = db.to_str().expect("utf-8 path");
    let v1 = env!("CARGO_BIN_EXE_orders-v1");
    let v2 = env!("CARGO_BIN_EXE_orders-v2");
    let seeded = Command::new(v1)
        .args(["seed", "--db", db, "--instances", &n.to_string()])
        .current_dir(dir.path())
        .output()
        .expect("orders-v1 runs");
    assert!(
        seeded.status.success(),
        "seeding failed: {}",
        String::from_utf8_lossy(&seeded.stderr)
    );

    let check = |binary: &str| {
        Command::new(binary)
            .args(["replay-check", "--hub", db, "--page-size", "250"])
            .current_dir(dir.path())
            .output()
            .expect("replay-check runs")
    };
    let same = check(v1);
    let report = String::from_utf8_lossy(&same.stdout);
    assert!(
        same.status.success(),
        "build 1 replays its own instances:\n{report}"
    );
    let total = n + n.div_ceil(10);
    assert!(
        report.contains(&format!("{total} instances checked")) && report.contains(", 0 would fail"),
        "{report}"
    );

    let new = check(v2);
    let report = String::from_utf8_lossy(&new.stdout).into_owned();
    let progress = String::from_utf8_lossy(&new.stderr).into_owned();
    assert_eq!(
        new.status.code(),
        Some(1),
        "non-zero when any would fail:\n{report}\n{progress}"
    );
    let expected: BTreeSet<String> = (0..n)
        .filter(|i| is_express(*i))
        .map(|i| format!("order-{i:05}"))
        .collect();
    let listed: BTreeSet<String> = report
        .lines()
        .filter_map(|l| l.strip_prefix("  "))
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.split_whitespace().next())
        .map(String::from)
        .collect();
    assert_eq!(
        listed, expected,
        "exactly the waiting express orders:\n{report}"
    );
    assert!(
        report.contains(&format!("{total} instances checked"))
            && report.contains(&format!(
                "{} ok, {} would fail",
                total - expected.len() as u64,
                expected.len()
            )),
        "{report}"
    );
    assert!(
        report.contains("recorded:  activity 'reserve' (TaskScheduled)"),
        "{report}"
    );
    assert!(
        report.contains("new code:  activity 'reserve_express'"),
        "{report}"
    );
    assert!(
        report.contains("orders.rs"),
        "the call site is named:\n{report}"
    );
    let table_row = report
        .lines()
        .find(|l| l.starts_with("order ") && l.contains("1.0"))
        .expect("a row for order 1.0");
    let cells: Vec<&str> = table_row.split_whitespace().collect();
    assert_eq!(
        cells,
        [
            "order",
            "1.0",
            &(n - expected.len() as u64).to_string(),
            &expected.len().to_string()
        ]
    );
    assert!(
        progress.contains("checked"),
        "progress while it runs:\n{progress}"
    );
    let speed = report
        .lines()
        .next()
        .and_then(|l| l.split('(').nth(1))
        .and_then(|l| l.split(' ').next())
        .unwrap_or("?");
    println!("replay-check of {total} instances: {speed} instances/s");
}
