//! Task hubs for tests (feature `testing`): each on a schema of its own, dropped when the hub
//! is, usable as a conformance fixture. The PostgreSQL tests use them, and so do other crates'
//! tests that run their scenarios on every backend.

use std::sync::Arc;

use durafn_store::conformance::Fixture;

use crate::{PostgresOptions, PostgresStore, drop_task_hub};

/// A schema name no other test or run uses.
pub fn unique_schema(tag: &str) -> String {
    durafn_testenv::unique_name("durafn_t", tag)
}

/// Drops a test schema when dropped (after the stores using it are gone).
pub struct DropSchema {
    /// The database.
    url: String,
    /// The schema.
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
pub struct TestHub {
    /// The store on the hub's schema.
    pub store: Arc<PostgresStore>,
    /// Drops the schema when the hub goes (after the store).
    _schema: DropSchema,
}

impl TestHub {
    /// Connects a store to a new schema named after `tag`.
    ///
    /// # Panics
    /// When the database cannot be reached: a test cannot go on without it.
    pub async fn new(url: &str, tag: &str, options: PostgresOptions) -> Self {
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
    pub fn schema(&self) -> &str {
        &self._schema.schema
    }

    /// The hub as a conformance fixture, which drops the schema after the store.
    pub fn into_fixture(self) -> Fixture {
        Fixture::owning(self.store, self._schema)
    }
}
