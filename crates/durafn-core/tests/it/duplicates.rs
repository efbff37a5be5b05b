//! A result delivered twice (the same activity result sent again, in the same turn or a later
//! one) is applied and recorded once: found by the simulator's duplicate-delivery fault.

use durafn_core::testkit::TestOrchestration;
use durafn_core::{
    EventKind, FunctionError, OrchestrationContext, Registry, RuntimeStatus, orchestrator_fn,
};
use serde_json::{Value, json};

fn answers(t: &TestOrchestration, task: i64) -> usize {
    t.history()
        .iter()
        .filter(|e| e.kind.answered_task().is_some_and(|id| id.0 == task))
        .count()
}

#[test]
fn a_result_delivered_twice_is_recorded_once() {
    let registry = Registry::builder()
        .orchestrator(orchestrator_fn(
            "pair",
            |ctx: OrchestrationContext, _: Value| async move {
                let a: i64 = ctx.call_activity("A", &()).await?;
                let b: i64 = ctx.call_activity("B", &()).await?;
                Ok::<_, FunctionError>(json!([a, b]))
            },
        ))
        .build()
        .expect("registry");
    let mut t = TestOrchestration::start(registry, "pair", Value::Null);
    // Twice in one turn, then once more in the next (with the next task's result).
    t.turn(vec![t.completed(0, 1), t.completed(0, 1)]);
    assert_eq!(answers(&t, 0), 1);
    t.turn(vec![t.completed(0, 99), t.completed(1, 2)]);
    assert_eq!(answers(&t, 0), 1);
    assert_eq!(t.status(), RuntimeStatus::Completed);
    let out = t.history().iter().find_map(|e| match &e.kind {
        EventKind::ExecutionCompleted { result, .. } => result.clone(),
        _ => None,
    });
    assert_eq!(out.map(|p| p.to_value()), Some(json!([1, 2])));
}
