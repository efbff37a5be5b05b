//! An orchestrator changed between two runs of `durafn start` over the same data directory fails
//! its instance with the engine's non-determinism error, naming what history records and what
//! the code now does, as for Rust code.

use crate::start::common::{self, Started, eventually};

#[test]
fn a_changed_orchestrator_fails_its_instance_naming_both_actions() {
    let Some(python) = common::python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = common::copy_app("examples/python/v2-showcase", dir.path());
    let data = dir.path().join("data");
    let host = Started::new(&root, &data, &python, &[]);
    let id = "changed-1";
    host.start_instance("approval_workflow", id, r#"{"timeoutHours": 1}"#);
    eventually(60, "the workflow to wait", || {
        let s = host.api(&format!("/instances/{id}")).json();
        (s["customStatus"] == "waiting for approval").then_some(())
    });
    host.stop();

    // The next version waits for an escalation instead of a timer.
    let script = root.join("function_app.py");
    let code = std::fs::read_to_string(&script).unwrap();
    let changed = code.replace(
        "timeout = context.create_timer(deadline)",
        "timeout = context.call_activity(\"escalate\", request)",
    );
    assert_ne!(code, changed);
    std::fs::write(&script, changed).unwrap();

    let host = Started::new(&root, &data, &python, &[]);
    let r = host.request(
        "POST",
        &format!("{}/instances/{id}/raiseEvent/Approval", common::M),
        Some(r#"{"by": "ann"}"#),
        true,
    );
    assert_eq!(r.status, 202, "{r:?}");
    let status = host.finished(id, 60);
    assert_eq!(status["runtimeStatus"], "Failed", "{status}");
    let message = status["output"].to_string();
    assert!(
        message.contains(
            "history records a timer at step 0, but the code now schedules activity 'escalate'"
        ),
        "{status}"
    );
    host.stop();
}
