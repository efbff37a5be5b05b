//! Shared by the PostgreSQL tests: the database to use, unique task hubs, and their cleanup.

use std::sync::Arc;

use durafn_core::{
    ActivityContext, FunctionError, OrchestrationContext, Registry, activity_fn, orchestrator_fn,
};
use durafn_postgres::{PostgresOptions, PostgresStore, drop_task_hub};
use durafn_store::conformance::Fixture;

/// The database URL, or `None` (after saying so) when the tests should be skipped. In CI
/// (`CI=true`) the variable is required.
pub(crate) fn url() -> Option<String> {
    durafn_testenv::postgres_url()
}

/// A schema name no other test or run uses.
pub(crate) fn unique_schema(tag: &str) -> String {
    durafn_testenv::unique_name("durafn_t", tag)
}

/// Drops a test schema when dropped (after the stores using it are gone).
pub(crate) struct DropSchema {
    url: String,
    schema: String,
}

impl Drop for DropSchema {
    fn drop(&mut self) {
        let (url, schema) = (self.url.clone(), self.schema.clone());
        // Drop may run inside a runtime: clean up on a thread with its own.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(drop_task_hub(&url, &schema))
        });
        if let Ok(Err(e)) = cleanup.join() {
            eprintln!("could not drop a test schema: {e}");
        }
    }
}

/// A store on a schema of its own, which is dropped with the hub (the store first).
pub(crate) struct TestHub {
    pub(crate) store: Arc<PostgresStore>,
    _schema: DropSchema,
}

impl TestHub {
    pub(crate) async fn new(url: &str, tag: &str, options: PostgresOptions) -> Self {
        let schema = unique_schema(tag);
        let options = PostgresOptions {
            schema: schema.clone(),
            ..options
        };
        let store = PostgresStore::connect(url, options)
            .await
            .expect("connect to the test database");
        Self {
            store: Arc::new(store),
            _schema: DropSchema {
                url: url.to_string(),
                schema,
            },
        }
    }

    /// The schema (the task hub) this hub's store uses, for more stores on the same hub.
    pub(crate) fn schema(&self) -> &str {
        &self._schema.schema
    }

    /// The hub as a conformance fixture, which drops the schema after the store.
    pub(crate) fn into_fixture(self) -> Fixture {
        Fixture::owning(self.store, self._schema)
    }
}

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
