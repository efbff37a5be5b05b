//! The Azure Table Storage client against the emulator, and the evaluator
//! against the emulator's answers.
//!
//! Runs only when `DURAFN_TEST_AZURITE` is set: to `1` for the emulator's
//! default endpoint (`UseDevelopmentStorage=true`), or to a table endpoint
//! URL using the emulator's well-known account (for example
//! `http://127.0.0.1:10002/devstoreaccount1`). Unset, each test says it was
//! skipped and passes; set but unreachable, the tests fail.
//!
//! To run the emulator locally (Node.js; the flags keep it in memory,
//! accept this client's API version and keep it quiet):
//!
//! ```text
//! npm install --prefix "$DIR" azurite
//! "$DIR/node_modules/.bin/azurite-table" --tableHost 127.0.0.1 --tablePort 10002 \
//!     --inMemoryPersistence --skipApiVersionCheck --disableTelemetry --silent &
//! DURAFN_TEST_AZURITE=1 cargo test -p durafn-tables
//! ```

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::common::{
    MIXED_FILTERS, audit_filter, corner_rows, date, distinct_ids, expected_keys, keys, unique_table,
};
use durafn_tables::filter::BoundFilter;
use durafn_tables::store::azure::{DEV_ACCOUNT_KEY, DEV_ACCOUNT_NAME};
use durafn_tables::{Entity, Query, StoreError, TableStore, Value, demo, open};

fn azurite() -> Option<Arc<dyn TableStore>> {
    // In CI the Azurite tests must run: a missing service is a failure, not a skip.
    let setting = durafn_testenv::service(durafn_testenv::AZURITE, "Azurite")?;
    let setting = setting.trim();
    let connection = if setting == "1" {
        "UseDevelopmentStorage=true".to_owned()
    } else {
        format!(
            "DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT_NAME};AccountKey={DEV_ACCOUNT_KEY};TableEndpoint={setting}"
        )
    };
    let data_dir = std::env::temp_dir();
    Some(open(&connection, &data_dir).expect("the emulator connection string is valid"))
}

async fn table_with(store: &dyn TableStore, prefix: &str, rows: &[Entity]) -> String {
    let table = unique_table(prefix);
    store
        .create_table(&table)
        .await
        .expect("creates the table (is the emulator running?)");
    store
        .create_table(&table)
        .await
        .expect("creating twice is fine");
    store
        .upsert(&table, rows.to_vec())
        .await
        .expect("batch upsert");
    table
}

#[tokio::test]
async fn audit_query_with_paging_matches_the_oracle() {
    let Some(store) = azurite() else { return };
    let rows: Vec<Entity> =
        demo::demo_rows(2024, date("2024-01-30")..=date("2024-02-08"), 20..=70).collect();
    assert!(rows.len() > 300, "several hundred rows: {}", rows.len());
    let table = table_with(store.as_ref(), "audit", &rows).await;

    let (start, end) = (date("2024-02-01"), date("2024-02-06"));
    let query = Query::filter(audit_filter(start, end))
        .select([demo::ID_PROPERTY])
        .top(25);
    // Page by page, to see the continuation at work.
    let mut continuation = None;
    let mut found = Vec::new();
    let mut pages = 0;
    loop {
        let page = store
            .query_page(&table, &query, continuation)
            .await
            .expect("queries");
        pages += 1;
        assert!(page.entities.len() <= 25);
        found.extend(page.entities);
        continuation = page.continuation;
        if continuation.is_none() {
            break;
        }
    }
    assert!(
        pages > 3,
        "a small $top forces continuations: {pages} pages"
    );
    assert_eq!(
        distinct_ids(&found),
        demo::count_distinct_ids(&rows, start, end)
    );
    let found_keys: BTreeSet<_> = found.iter().map(keys).collect();
    assert_eq!(found_keys.len(), found.len(), "no duplicates across pages");
    assert_eq!(
        found_keys,
        expected_keys(&rows, query.filter.as_ref().expect("has a filter"))
    );
    for row in &found {
        let names: Vec<&str> = row.properties.keys().map(String::as_str).collect();
        assert_eq!(names, [demo::ID_PROPERTY], "$select keeps only the id");
        assert!(row.timestamp.is_some());
    }
    // query_all follows the same continuations.
    let all = store.query_all(&table, &query).await.expect("queries");
    assert_eq!(all.len(), found.len());
}

#[tokio::test]
async fn evaluator_agrees_with_the_emulator() {
    let Some(store) = azurite() else { return };
    let mut written: Vec<Entity> =
        demo::demo_rows(77, date("2024-03-01")..=date("2024-03-04"), 30..=60).collect();
    written.extend(corner_rows());
    let table = table_with(store.as_ref(), "agree", &written).await;
    // Evaluate over the rows as stored, timestamps included.
    let rows = store
        .query_all(&table, &Query::default())
        .await
        .expect("reads back");
    assert_eq!(rows.len(), written.len());
    let mut disagreements = Vec::new();
    let mut selective = 0;
    for text in MIXED_FILTERS {
        let filter = BoundFilter::parse(text).expect("parses");
        let ours = expected_keys(&rows, &filter);
        let theirs: BTreeSet<_> = match store.query_all(&table, &Query::filter(filter)).await {
            Ok(found) => found.iter().map(keys).collect(),
            Err(e) => {
                disagreements.push(format!("{text}: the emulator failed: {e}"));
                continue;
            }
        };
        if ours != theirs {
            disagreements.push(format!(
                "{text}: evaluator {} rows, emulator {} rows",
                ours.len(),
                theirs.len()
            ));
        }
        if !ours.is_empty() && ours.len() < rows.len() {
            selective += 1;
        }
    }
    assert!(disagreements.is_empty(), "{disagreements:#?}");
    // The filters are not vacuous: most select some rows but not all.
    assert!(selective >= 15, "only {selective} filters are selective");
}

#[tokio::test]
async fn values_keep_their_types_and_keys_their_characters() {
    let Some(store) = azurite() else { return };
    let when = "2021-10-10T01:02:03.1234567Z".parse().expect("valid");
    let entity = Entity::new("it's a key é", "row 'one' & two")
        .with("s", "text with 'quotes' and ünïcödé")
        .with("empty", "")
        .with("i", i32::MIN)
        .with("l", i64::MAX)
        .with("d", -2.5)
        .with("whole", 3.0)
        .with("b", true)
        .with("t", Value::DateTime(when))
        .with(
            "g",
            uuid::Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
        )
        .with("x", vec![0_u8, 1, 255]);
    let table = table_with(store.as_ref(), "types", std::slice::from_ref(&entity)).await;
    let back = store
        .query_all(&table, &Query::default())
        .await
        .expect("queries");
    assert_eq!(back.len(), 1);
    let got = back.first().expect("one row");
    assert_eq!(keys(got), keys(&entity));
    assert_eq!(got.properties, entity.properties);

    // The printed filter of each value finds the entity again.
    for (name, value) in &entity.properties {
        let filter = durafn_tables::filter::Filter::new(durafn_tables::Expr::prop(
            name.as_str(),
            durafn_tables::filter::CmpOp::Eq,
            value.clone(),
        ))
        .into_bound()
        .expect("no parameters");
        let hits = store
            .query_all(&table, &Query::filter(filter.clone()))
            .await
            .unwrap_or_else(|e| panic!("{filter}: {e}"));
        assert_eq!(hits.len(), 1, "{filter}");
    }

    // An upsert replaces the whole entity.
    let replacement =
        Entity::new(entity.partition_key.clone(), entity.row_key.clone()).with("s", "new");
    store
        .upsert(&table, vec![replacement])
        .await
        .expect("upserts");
    let back = store
        .query_all(&table, &Query::default())
        .await
        .expect("queries");
    let got = back.first().expect("one row");
    assert_eq!(got.properties.len(), 1);
    assert_eq!(got.get_str("s"), Some("new"));
}

#[tokio::test]
async fn large_upserts_span_many_batches() {
    let Some(store) = azurite() else { return };
    // 3 partitions of 250: three batches each, several in flight.
    let rows: Vec<Entity> =
        demo::demo_rows(3, date("2024-06-01")..=date("2024-06-03"), 250..=250).collect();
    let table = table_with(store.as_ref(), "bulk", &rows).await;
    let back = store
        .query_all(&table, &Query::default())
        .await
        .expect("queries");
    assert_eq!(back.len(), rows.len());
    let back_keys: Vec<_> = back.iter().map(keys).collect();
    let mut want: Vec<_> = rows.iter().map(keys).collect();
    want.sort();
    assert_eq!(back_keys, want, "all rows, in key order");
}

#[tokio::test]
async fn service_errors_are_reported() {
    let Some(store) = azurite() else { return };
    let missing = store.query_all("nosuchtable1", &Query::default()).await;
    assert!(
        matches!(missing, Err(StoreError::TableNotFound(_))),
        "{missing:?}"
    );
    let missing = store
        .upsert("nosuchtable2", vec![Entity::new("p", "r")])
        .await;
    assert!(missing.is_err(), "{missing:?}");
    assert!(
        !missing.as_ref().is_err_and(StoreError::is_retryable),
        "{missing:?}"
    );
}
