//! The store vacuums its queue tables as work flows through them, instead of leaving the dead
//! rows of every step to autovacuum's next visit.

use std::time::{Duration, Instant};

use crate::common;
use durafn_core::RuntimeStatus;
use durafn_postgres::PostgresOptions;
use durafn_runtime::Runtime;

/// How often the server has vacuumed `table` of `schema` (by anyone but autovacuum).
async fn vacuums(client: &tokio_postgres::Client, schema: &str, table: &str) -> i64 {
    client
        .query_one(
            "SELECT vacuum_count FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = $2",
            &[&schema, &table],
        )
        .await
        .expect("pg_stat_user_tables")
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_tables_are_vacuumed_as_work_commits() {
    let Some(url) = common::url() else {
        return;
    };
    let options = PostgresOptions {
        vacuum_every: 20,
        ..PostgresOptions::default()
    };
    let hub = common::TestHub::new(&url, "vacuum", options).await;
    let schema = hub.store.schema().to_string();
    let runtime = Runtime::builder(hub.store.clone(), common::hello_cities()).start();
    let client = runtime.client();
    // 10 orchestrations: 60 turns and 50 activity results, several vacuums' worth.
    let mut ids = Vec::new();
    for _ in 0..10 {
        ids.push(client.start_new("hello_cities", None, &()).await.unwrap());
    }
    for id in &ids {
        let done = client
            .wait_for_completion(id.as_str(), Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(done.runtime_status, RuntimeStatus::Completed);
    }
    let (stats, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    // The server publishes its statistics a little after the vacuum ends.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let counts = [
            vacuums(&stats, &schema, "messages").await,
            vacuums(&stats, &schema, "activities").await,
            vacuums(&stats, &schema, "instance_locks").await,
        ];
        if counts.iter().all(|n| *n >= 1) {
            println!("vacuums of messages, activities, instance_locks: {counts:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the queue tables were never vacuumed: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    runtime.shutdown().await;
}
