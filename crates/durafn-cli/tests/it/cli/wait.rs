//! `durafn instances wait`: the exit code tells how the instance ended.

use crate::cli::common::{App, eventually};

#[test]
fn wait_exit_codes_tell_the_final_status() {
    let app = App::start();

    let done = app.start_instance("quick", &["--input", "{\"n\":1}"]);
    let run = app.run(&["instances", "wait", &done, "--timeout", "60", "-o", "json"]);
    assert_eq!(run.code, 0, "Completed: {run:?}");
    assert_eq!(
        run.stdout.trim_end(),
        app.api(&format!("/instances/{done}")).body,
        "the final status object"
    );
    let human = app.ok(&["instances", "wait", &done]);
    assert!(
        human.contains("Completed") && human.contains("{\"n\":1}"),
        "{human}"
    );

    let failed = app.start_instance("fails", &[]);
    let run = app.run(&["instances", "wait", &failed, "--timeout", "60"]);
    assert_eq!(run.code, 4, "Failed: {run:?}");
    assert!(
        run.stdout.contains("the explosion was planned"),
        "{}",
        run.stdout
    );

    let slow = app.start_instance("slow", &[]);
    let run = app.run(&["instances", "wait", &slow, "--timeout", "0.3"]);
    assert_eq!(run.code, 6, "timeout: {run:?}");
    assert!(
        run.stderr.contains(&format!("instance {slow} is still")),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());

    app.ok(&["instances", "terminate", &slow]);
    let run = app.run(&["instances", "wait", &slow, "--timeout", "60"]);
    assert_eq!(run.code, 5, "Terminated: {run:?}");

    let run = app.run(&["instances", "wait", "no-such-instance", "--timeout", "5"]);
    assert_eq!(run.code, 3, "not found: {run:?}");

    // Waiting with no timeout returns as soon as the instance finishes.
    let approval = app.start_instance("approval", &[]);
    let child = app
        .cmd()
        .args(["instances", "wait", &approval])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut child = Some(child);
    app.ok(&["instances", "raise", &approval, "approve", "1"]);
    let status = eventually(60, "wait to return", || {
        child.as_mut().unwrap().try_wait().unwrap()
    });
    assert!(status.success());
    drop(child.take());
}
