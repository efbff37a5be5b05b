//! The Python worker's own test suite (`workers/python/tests`, pytest with the real SDK), run
//! as part of `cargo test` so that one command runs every test of the workspace.

use crate::common;

use std::process::Command;

#[test]
fn the_python_workers_pytest_suite_passes() {
    let Some(python) = common::python() else {
        return;
    };
    let output = Command::new(&python)
        .args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "workers/python/tests",
        ])
        .current_dir(common::repo())
        .env("DURAFN_TEST_PYTHON", &python)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("pytest runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "the worker's tests failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    let summary = stdout.lines().last().unwrap_or_default();
    assert!(
        summary.contains("passed") && !summary.contains("failed"),
        "{summary}"
    );
}
