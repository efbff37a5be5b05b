//! Apps several tests run.

use durafn_core::{FunctionError, OrchestrationContext, orchestrator_fn};
use durafn_host::App;

/// `fan` calls `square` on 0..n at once and returns the sum of the squares.
pub(crate) fn fan() -> App {
    App::new()
        .orchestrator(orchestrator_fn(
            "fan",
            |ctx: OrchestrationContext, n: i64| async move {
                let calls: Vec<_> = (0..n)
                    .map(|i| ctx.call_activity::<i64>("square", &i))
                    .collect();
                let squares = ctx.when_all(calls).await?;
                Ok::<_, FunctionError>(squares.into_iter().sum::<i64>())
            },
        ))
        .activity(durafn_core::activity_fn(
            "square",
            |_ctx, i: i64| async move { Ok::<_, FunctionError>(i * i) },
        ))
}
