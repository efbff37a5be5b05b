//! A traced execution's ledger of open tasks (what the runtime ends client spans from) is kept
//! only when someone exports spans: an executor told there is no exporter keeps none, even for
//! an instance started with a trace context.

use std::sync::Arc;

use chrono::{TimeZone as _, Utc};
use durafn_core::testkit::msg;
use durafn_core::{
    EventKind, FunctionError, OrchestrationContext, OrchestrationExecutor, Registry, TraceContext,
    orchestrator_fn,
};

fn registry() -> Arc<Registry> {
    Arc::new(
        Registry::builder()
            .orchestrator(orchestrator_fn(
                "one",
                |ctx: OrchestrationContext, _: ()| async move {
                    Ok::<_, FunctionError>(ctx.call_activity::<i64>("a", &1).await?)
                },
            ))
            .build()
            .unwrap(),
    )
}

/// Finished tasks reported by the turn that delivers the activity's result.
fn finished_after_result(executor: OrchestrationExecutor) -> usize {
    let mut executor = executor;
    let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let mut started = msg::execution_started("one", "i", (), at);
    if let EventKind::ExecutionStarted {
        parent_trace_context,
        ..
    } = &mut started.kind
    {
        *parent_trace_context = Some(TraceContext::new(
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        ));
    }
    executor.run_turn(vec![started], at);
    let turn = executor.run_turn(vec![msg::task_completed(0, 1, at)], at);
    assert!(turn.outcome.is_some(), "the orchestration completed");
    turn.finished_tasks.len()
}

#[test]
fn a_traced_execution_keeps_its_ledger_only_for_an_exporter() {
    assert_eq!(
        finished_after_result(OrchestrationExecutor::new(registry())),
        1
    );
    assert_eq!(
        finished_after_result(OrchestrationExecutor::new(registry()).without_task_ledger()),
        0
    );
}
