//! Bulk terminate and purge with a filter: 2,000 instances purged with a progress bar.

use serde_json::{Value, json};

use crate::cli::common::{App, M, eventually, have};
use crate::cli::terminal::Tmux;

/// Starts `n` `quick` instances named `{prefix}{i}` straight through the API (the command line
/// is what is under test; this is only set-up) and waits until all have completed.
fn start_many(app: &App, prefix: &str, n: usize) {
    for i in 0..n {
        let r = app.http(
            "POST",
            &format!("{M}/orchestrators/quick/{prefix}{i}"),
            Some("1"),
        );
        assert_eq!(r.status, 202, "{}", r.body);
    }
    eventually(120, "all instances to complete", || {
        let n_done = app.ok(&[
            "instances",
            "count",
            "--prefix",
            prefix,
            "--status",
            "Completed",
        ]);
        (n_done.trim() == n.to_string()).then_some(())
    });
}

#[test]
fn bulk_purge_of_two_thousand_instances_with_progress() {
    let app = App::start();
    start_many(&app, "bulk-", 2000);
    let keep = app.start_instance("approval", &["--id", "bulk-running"]);

    // Listing every page through continuation tokens sees them all.
    let all = app.ok(&[
        "instances",
        "list",
        "--prefix",
        "bulk-",
        "--all",
        "-o",
        "jsonl",
    ]);
    assert_eq!(all.lines().count(), 2001);

    // A dry run counts and lists, and purges nothing.
    let run = app.run(&[
        "instances",
        "purge",
        "--prefix",
        "bulk-",
        "--dry-run",
        "-o",
        "jsonl",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains("2000 instances match"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("dry run"), "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), 2000);
    // Declining the confirmation changes nothing.
    let run = app.run_with_stdin(&["instances", "purge", "--prefix", "bulk-"], "n\n");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("purge 2000 instances? [y/N]"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("aborted"), "{}", run.stderr);
    assert_eq!(
        app.ok(&["instances", "count", "--prefix", "bulk-"]).trim(),
        "2001"
    );

    if have("tmux") {
        // On a terminal, the progress bar ends full, and the final count follows.
        let tmux = Tmux::start(&app, &[]);
        let (screen, code) = tmux.run(&format!(
            "{} instances purge --prefix bulk- --yes",
            crate::cli::common::DURAFN
        ));
        assert_eq!(code, 0, "{screen}");
        assert!(
            screen.contains("2000/2000"),
            "a full progress bar:\n{screen}"
        );
        assert!(screen.contains("purging ["), "{screen}");
        assert!(screen.contains("purged 2000 of 2000 instances"), "{screen}");
    } else {
        let run = app.run_with_stdin(&["instances", "purge", "--prefix", "bulk-"], "y\n");
        assert_eq!(run.code, 0, "{run:?}");
        assert!(
            run.stderr.contains("purged 2000 of 2000 instances"),
            "{}",
            run.stderr
        );
    }
    // Only the running instance is left: purge takes finished ones unless told otherwise.
    assert_eq!(
        app.ok(&["instances", "count", "--prefix", "bulk-"]).trim(),
        "1"
    );
    assert_eq!(
        app.json(&["instances", "show", &keep])["runtimeStatus"],
        "Running"
    );
    let run = app.run(&[
        "instances",
        "purge",
        "--prefix",
        "bulk-",
        "--yes",
        "-o",
        "json",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        serde_json::from_str::<Value>(&run.stdout).unwrap(),
        json!({"matched": 0, "done": 0, "skipped": 0, "failed": 0, "dryRun": false})
    );
}

#[test]
fn bulk_terminate_with_a_filter() {
    let app = App::start();
    let slow: Vec<String> = (0..5)
        .map(|i| app.start_instance("slow", &["--id", &format!("job-{i}")]))
        .collect();
    let other = app.start_instance("slow", &["--id", "other-1"]);
    let run = app.run_with_stdin(
        &[
            "instances",
            "terminate",
            "--prefix",
            "job-",
            "--reason",
            "cleanup",
            "-o",
            "json",
        ],
        "yes\n",
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("5 instances match"), "{}", run.stderr);
    assert!(
        run.stderr.contains("terminated 5 of 5 instances"),
        "{}",
        run.stderr
    );
    assert_eq!(
        serde_json::from_str::<Value>(&run.stdout).unwrap(),
        json!({"matched": 5, "done": 5, "skipped": 0, "failed": 0, "dryRun": false})
    );
    for id in &slow {
        let done = app.wait_done(id);
        assert_eq!(done["runtimeStatus"], "Terminated");
        assert_eq!(done["output"], "cleanup");
    }
    assert_eq!(
        app.json(&["instances", "show", &other])["runtimeStatus"],
        "Running"
    );
    // Finished instances no longer match a terminate filter.
    let run = app.run(&["instances", "terminate", "--prefix", "job-", "--yes"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("0 instances match"), "{}", run.stderr);
    let err = app
        .run(&["instances", "terminate", "job-1", "--prefix", "job-"])
        .fails(2);
    assert!(err.contains("not both"), "{err}");
}
