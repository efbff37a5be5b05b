//! The function app of the crash tests, shared by the app binary and the tests that check it.
//!
//! Each `chaos` instance runs five sequential activities, a durable timer and waits for an
//! external event; its output is a pure function of its number, so a test can check every
//! instance's output after any number of crashes.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use durafn_core::{
    ActivityContext, FunctionError, OrchestrationContext, Registry, activity_fn, orchestrator_fn,
};

/// Where the `step` activity appends one line per execution, to count re-executions.
#[derive(Debug, Clone)]
pub struct ActivityLog(pub PathBuf);

/// The value of step `step` given the accumulator.
pub fn step_value(acc: u64, step: u64) -> u64 {
    acc.wrapping_mul(3).wrapping_add(step + 1)
}

/// The output instance `i` must end with.
pub fn expected_output(i: u64) -> u64 {
    (0..5).fold(i, step_value) + i
}

/// The app's functions.
pub fn registry() -> Arc<Registry> {
    Arc::new(
        Registry::builder()
            .orchestrator(orchestrator_fn(
                "chaos",
                |ctx: OrchestrationContext, i: u64| async move {
                    let mut acc = i;
                    for step in 0..5u64 {
                        acc = ctx.call_activity("step", &(i, step, acc)).await?;
                    }
                    ctx.sleep(Duration::from_millis(10 + (i % 5) * 10)).await;
                    let bonus: u64 = ctx.wait_for_external_event("go").await?;
                    Ok::<_, FunctionError>(acc + bonus)
                },
            ))
            .activity(activity_fn(
                "step",
                |ctx: ActivityContext, (i, step, acc): (u64, u64, u64)| async move {
                    if let Some(log) = ctx.data::<ActivityLog>() {
                        // One short O_APPEND write per execution: a kill never leaves half a line.
                        let mut file = std::fs::OpenOptions::new()
                            .create(true)
                            .append(true)
                            .open(&log.0)?;
                        file.write_all(format!("{i},{step}\n").as_bytes())?;
                    }
                    Ok::<_, FunctionError>(step_value(acc, step))
                },
            ))
            .build()
            .expect("the chaos app's names are unique"),
    )
}
