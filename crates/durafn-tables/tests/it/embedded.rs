//! The embedded store end to end: the audit query over demo rows agrees with
//! the independent oracle, paging and pushdown return exactly what the
//! evaluator selects, values keep their types, data persists, and `open`
//! picks the right store without leaking secrets.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::common::{
    MISMATCHED_TYPE_FILTERS, MIXED_FILTERS, TempDir, audit_filter, corner_rows, date, distinct_ids,
    expected_keys, keys, unique_table,
};
use durafn_tables::filter::BoundFilter;
use durafn_tables::store::embedded::EmbeddedStore;
use durafn_tables::{Entity, Query, StoreError, TableStore, Value, demo, open};

async fn store_with(rows: &[Entity]) -> (Arc<dyn TableStore>, String) {
    let store: Arc<dyn TableStore> = Arc::new(EmbeddedStore::in_memory().expect("opens"));
    let table = unique_table("audit");
    store.create_table(&table).await.expect("creates");
    store.upsert(&table, rows.to_vec()).await.expect("upserts");
    (store, table)
}

#[tokio::test]
async fn audit_query_matches_the_oracle() {
    let rows: Vec<Entity> =
        demo::demo_rows(42, date("2024-01-01")..=date("2024-03-31"), 40..=160).collect();
    let (store, table) = store_with(&rows).await;
    let ranges = [
        ("2024-01-01", "2024-03-31"),
        ("2024-02-01", "2024-02-29"),
        ("2024-02-29", "2024-02-29"),
        ("2023-12-01", "2024-01-03"),
        ("2024-04-01", "2024-05-01"),
        ("2024-03-10", "2024-03-01"),
    ];
    for (start, end) in ranges {
        let (start, end) = (date(start), date(end));
        let query = Query::filter(audit_filter(start, end)).select([demo::ID_PROPERTY]);
        let found = store.query_all(&table, &query).await.expect("queries");
        let expected = demo::count_distinct_ids(&rows, start, end);
        assert_eq!(distinct_ids(&found), expected, "{start}..={end}");
        for row in &found {
            let names: Vec<&str> = row.properties.keys().map(String::as_str).collect();
            assert_eq!(names, [demo::ID_PROPERTY], "select keeps only the id");
            assert!(row.timestamp.is_some(), "system properties are returned");
        }
    }
    // Sanity: the data is not degenerate.
    let all = demo::count_distinct_ids(&rows, date("2024-01-01"), date("2024-03-31"));
    assert!(all > 500, "{all}");
}

#[tokio::test]
async fn paging_returns_every_match_exactly_once() {
    let mut written: Vec<Entity> =
        demo::demo_rows(9, date("2024-03-01")..=date("2024-03-04"), 30..=90).collect();
    written.extend(corner_rows());
    let (store, table) = store_with(&written).await;
    // Evaluate over the rows as stored, timestamps included.
    let rows = store
        .query_all(&table, &Query::default())
        .await
        .expect("reads back");
    assert_eq!(rows.len(), written.len());
    for text in MIXED_FILTERS.iter().chain(MISMATCHED_TYPE_FILTERS) {
        let filter = BoundFilter::parse(text).expect("parses");
        let expected = expected_keys(&rows, &filter);
        for top in [1, 7, 1000] {
            let query = Query::filter(filter.clone()).top(top);
            let mut continuation = None;
            let mut seen = Vec::new();
            let mut pages = 0;
            loop {
                let page = store
                    .query_page(&table, &query, continuation)
                    .await
                    .expect("queries");
                pages += 1;
                assert!(page.entities.len() <= top as usize);
                seen.extend(page.entities.iter().map(keys));
                continuation = page.continuation;
                if continuation.is_none() {
                    break;
                }
            }
            let unique: BTreeSet<_> = seen.iter().cloned().collect();
            assert_eq!(
                unique.len(),
                seen.len(),
                "{text}: no duplicates across pages"
            );
            assert_eq!(unique, expected, "{text} with top {top}");
            let mut sorted = seen.clone();
            sorted.sort();
            assert_eq!(seen, sorted, "key order");
            if top == 1 && expected.len() > 1 {
                assert!(pages >= expected.len(), "one match per page");
            }
        }
    }
}

#[tokio::test]
async fn mismatched_types_never_match() {
    let mut rows: Vec<Entity> =
        demo::demo_rows(9, date("2024-03-01")..=date("2024-03-02"), 30..=30).collect();
    rows.extend(corner_rows());
    let (store, table) = store_with(&rows).await;
    for text in MISMATCHED_TYPE_FILTERS {
        let filter = BoundFilter::parse(text).expect("parses");
        let found = store
            .query_all(&table, &Query::filter(filter))
            .await
            .expect("queries");
        assert!(found.is_empty(), "{text} matched {} rows", found.len());
    }
}

#[tokio::test]
async fn upsert_replaces_and_types_survive() {
    let store = EmbeddedStore::in_memory().expect("opens");
    let table = unique_table("types");
    store.create_table(&table).await.expect("creates");
    store
        .create_table(&table)
        .await
        .expect("creating twice is fine");
    let when = "2021-10-10T01:02:03.1234567Z".parse().expect("valid");
    let full = Entity::new("p", "r")
        .with("s", "it's")
        .with("i", i32::MIN)
        .with("l", i64::MAX)
        .with("d", -2.5)
        .with("whole", 3.0)
        .with("b", true)
        .with("t", Value::DateTime(when))
        .with("g", uuid::Uuid::from_u128(0x1234))
        .with("x", vec![0_u8, 255]);
    store
        .upsert(&table, vec![full.clone()])
        .await
        .expect("upserts");
    let all = store
        .query_all(&table, &Query::default())
        .await
        .expect("queries");
    assert_eq!(all.len(), 1);
    let got = all.first().expect("one row");
    assert_eq!(got.properties, full.properties);
    let first_write = got.timestamp.expect("timestamp set");

    let replacement = Entity::new("p", "r").with("s", "new");
    store
        .upsert(&table, vec![replacement])
        .await
        .expect("upserts");
    let all = store
        .query_all(&table, &Query::default())
        .await
        .expect("queries");
    let got = all.first().expect("one row");
    assert_eq!(got.properties.len(), 1, "replace, not merge");
    assert_eq!(got.get_str("s"), Some("new"));
    assert!(got.timestamp.expect("timestamp set") >= first_write);

    // Table names are case-insensitive, as on the service.
    let upper = table.to_uppercase();
    assert_eq!(
        store
            .query_all(&upper, &Query::default())
            .await
            .expect("queries")
            .len(),
        1
    );
}

#[tokio::test]
async fn missing_tables_and_bad_input_are_errors() {
    let store = EmbeddedStore::in_memory().expect("opens");
    let missing = store.query_all("nosuchtable", &Query::default()).await;
    assert!(
        matches!(missing, Err(StoreError::TableNotFound(_))),
        "{missing:?}"
    );
    let missing = store
        .upsert("nosuchtable", vec![Entity::new("p", "r")])
        .await;
    assert!(
        matches!(missing, Err(StoreError::TableNotFound(_))),
        "{missing:?}"
    );
    let bad = store.create_table("bad-name").await;
    assert!(
        matches!(bad, Err(StoreError::InvalidTableName { .. })),
        "{bad:?}"
    );
    store.create_table("good").await.expect("creates");
    let bad = store.upsert("good", vec![Entity::new("a/b", "r")]).await;
    assert!(
        matches!(bad, Err(StoreError::InvalidEntity { .. })),
        "{bad:?}"
    );
}

#[tokio::test]
async fn data_persists_in_the_file() {
    let dir = TempDir::new();
    let rows: Vec<Entity> =
        demo::demo_rows(5, date("2024-05-01")..=date("2024-05-03"), 10..=10).collect();
    {
        let store = open("embedded", dir.path()).expect("opens");
        store.create_table("audit").await.expect("creates");
        store.upsert("audit", rows.clone()).await.expect("upserts");
    }
    assert!(dir.path().join("tables.sqlite3").exists());
    let store = open("", dir.path()).expect("reopens");
    let back = store
        .query_all("audit", &Query::default())
        .await
        .expect("queries");
    assert_eq!(back.len(), rows.len());
    for (a, b) in back.iter().zip(&rows) {
        assert_eq!(keys(a), keys(b));
        assert_eq!(a.properties, b.properties);
    }
}

#[tokio::test]
async fn open_chooses_the_store() {
    let dir = TempDir::new();
    let store = open("embedded:sub/dir/custom.db", dir.path()).expect("opens");
    store.create_table("audit").await.expect("creates");
    assert!(dir.path().join("sub/dir/custom.db").exists());
    assert!(format!("{store:?}").contains("EmbeddedStore"));

    let store = open("UseDevelopmentStorage=true", dir.path()).expect("opens");
    let debug = format!("{store:?}");
    assert!(debug.contains("AzureStore"), "{debug}");
    assert!(
        debug.contains("http://127.0.0.1:10002/devstoreaccount1"),
        "{debug}"
    );
    assert!(
        !debug.contains(durafn_tables::store::azure::DEV_ACCOUNT_KEY),
        "{debug}"
    );

    for bad in ["embedded:", "nonsense", "Server=x;Database=y"] {
        let err = open(bad, dir.path()).expect_err(bad);
        assert!(
            matches!(err, StoreError::InvalidConnectionString(_)),
            "{bad}: {err:?}"
        );
    }
}

#[tokio::test]
async fn connection_string_secrets_never_leak() {
    const KEY: &str = "dG9wLXNlY3JldC1hY2NvdW50LWtleQ=="; // "top-secret-account-key"
    let dir = TempDir::new();
    let leaks = |text: &str| {
        text.contains(KEY) || text.contains("dG9wLXNlY3J") || text.contains("top-secret")
    };

    // A real account: https, which this build refuses, with a clear message.
    let azure = format!(
        "DefaultEndpointsProtocol=https;AccountName=myaccount;AccountKey={KEY};EndpointSuffix=core.windows.net"
    );
    let err = open(&azure, dir.path()).expect_err("https needs tls");
    assert_eq!(
        err.to_string(),
        "https table endpoints need the `tls` feature"
    );
    assert!(!leaks(&format!("{err} {err:?}")));

    // Over http: the store opens; its Debug hides the key, and so does the
    // error when nothing listens at the endpoint.
    let http = format!(
        "DefaultEndpointsProtocol=http;AccountName=myaccount;AccountKey={KEY};TableEndpoint=http://127.0.0.1:9/myaccount"
    );
    let store = open(&http, dir.path()).expect("opens");
    assert!(!leaks(&format!("{store:?} {store:#?}")));
    let err = store
        .create_table("audit")
        .await
        .expect_err("nothing listens on port 9");
    assert!(err.is_retryable(), "{err:?}");
    assert!(!leaks(&format!("{err} {err:?}")));

    // Malformed strings: the error names the part, never the value.
    for bad in [
        format!("AccountName=myaccount;AccountKey={KEY}%%"),
        format!("AccountName=myaccount;{KEY}"),
        format!("AccountName=myaccount;AccountKey={KEY};Bogus{KEY}=1"),
        format!("AccountName=my.account;AccountKey={KEY}"),
        format!("AccountName=myaccount;AccountKey={KEY};TableEndpoint=not a url {KEY}"),
    ] {
        let err = open(&bad, dir.path()).expect_err("invalid");
        assert!(!leaks(&format!("{err} {err:?}")), "{err:?}");
    }
}

#[tokio::test]
async fn pushdown_reads_only_the_requested_days() {
    // A year of rows; one day's query must not scan the year. With the key
    // range pushed down, a page for one day needs no continuation even
    // though the per-page scan limit is far below the table's size.
    let rows: Vec<Entity> =
        demo::demo_rows(11, date("2023-01-01")..=date("2023-12-31"), 80..=80).collect();
    assert!(rows.len() > durafn_tables::store::embedded::MAX_SCAN_PER_PAGE);
    let (store, table) = store_with(&rows).await;
    let day = date("2023-12-30");
    let page = store
        .query_page(&table, &Query::filter(audit_filter(day, day)), None)
        .await
        .expect("queries");
    assert!(page.continuation.is_none(), "one page for one day");
    assert_eq!(
        distinct_ids(&page.entities),
        demo::count_distinct_ids(&rows, day, day)
    );
    // Without a key range the same scan is cut into pages.
    let unpushed = BoundFilter::parse("CertNumber ne '' and PartitionKey eq '2023-12-30' or false")
        .expect("parses");
    let page = store
        .query_page(&table, &Query::filter(unpushed), None)
        .await
        .expect("queries");
    assert!(
        page.continuation.is_some(),
        "a full scan stops at the scan limit"
    );
}
