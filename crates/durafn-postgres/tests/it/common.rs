//! Shared by the PostgreSQL tests: the database to use, unique task hubs, and their cleanup.

use std::sync::Arc;

use durafn_core::{
    ActivityContext, FunctionError, OrchestrationContext, Registry, activity_fn, orchestrator_fn,
};

/// The database URL, or `None` (after saying so) when the tests should be skipped. In CI
/// (`CI=true`) the variable is required.
pub(crate) fn url() -> Option<String> {
    durafn_testenv::postgres_url()
}

pub(crate) use durafn_postgres::testing::{TestHub, unique_schema};

/// "Hello cities": an orchestrator calling five activities one after the other.
pub(crate) fn hello_cities() -> Arc<Registry> {
    Arc::new(
        Registry::builder()
            .orchestrator(orchestrator_fn(
                "hello_cities",
                |ctx: OrchestrationContext, _: ()| async move {
                    let mut out = Vec::with_capacity(5);
                    for city in ["Tokyo", "Seattle", "London", "Cairo", "Lima"] {
                        out.push(ctx.call_activity::<String>("say_hello", &city).await?);
                    }
                    Ok::<_, FunctionError>(out)
                },
            ))
            .activity(activity_fn(
                "say_hello",
                |_: ActivityContext, city: String| async move {
                    Ok::<_, FunctionError>(format!("Hello {city}!"))
                },
            ))
            .build()
            .expect("unique names"),
    )
}
