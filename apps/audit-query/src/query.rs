//! The activity's work: the article's `run_query`, over any
//! [`TableStore`].
//!
//! ```python
//! query_filter = "PartitionKey ge @start and PartitionKey le @end and CertNumber ne ''"
//! entities = client.query_entities(query_filter, parameters=parameters, select='identificationNumber')
//! return len(set(entity['identificationNumber'] for entity in entities))
//! ```
//!
//! The filter text is the same, bound to the same parameters, so the
//! embedded store and Azure Table Storage answer the same question.

use std::collections::HashSet;

use durafn_tables::demo::{AUDIT_FILTER, ID_PROPERTY};
use durafn_tables::{Filter, Params, Query, StoreError, TableStore, Value};

use crate::submit::QueryInput;

/// Why the query failed.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The filter did not parse or bind (a bug, not an input problem: the
    /// filter is a constant and both parameters are always given).
    #[error("the audit filter is invalid: {0}")]
    Filter(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A matching row has no `identificationNumber` (the original fails
    /// with a `KeyError` here).
    #[error("row {partition_key}/{row_key} has no {ID_PROPERTY}")]
    MissingId {
        /// The row's partition key.
        partition_key: String,
        /// The row's row key.
        row_key: String,
    },
}

/// The query the activity runs for `input`: the audit filter bound to its
/// days, selecting only the id.
pub fn audit_query(input: &QueryInput) -> Result<Query, QueryError> {
    let filter = Filter::parse(AUDIT_FILTER).map_err(|e| QueryError::Filter(e.to_string()))?;
    let mut params = Params::new();
    params.insert("start".into(), Value::String(input.start.clone()));
    params.insert("end".into(), Value::String(input.end.clone()));
    let bound = filter
        .bind(&params)
        .map_err(|e| QueryError::Filter(e.to_string()))?;
    Ok(Query::filter(bound).select([ID_PROPERTY]))
}

/// How many distinct `identificationNumber`s the matching rows of `table`
/// have.
pub async fn count_distinct_ids(
    store: &dyn TableStore,
    table: &str,
    input: &QueryInput,
) -> Result<u64, QueryError> {
    let query = audit_query(input)?;
    let rows = store.query_all(table, &query).await?;
    let mut seen: HashSet<DistinctValue> = HashSet::new();
    for row in rows {
        let Some(value) = row.properties.get(ID_PROPERTY) else {
            return Err(QueryError::MissingId {
                partition_key: row.partition_key,
                row_key: row.row_key,
            });
        };
        seen.insert(DistinctValue::of(value));
    }
    Ok(seen.len() as u64)
}

/// A property value as a set element: strings by their text (the normal
/// case), anything else by its type and printed value.
#[derive(Debug, PartialEq, Eq, Hash)]
enum DistinctValue {
    Text(String),
    Other(&'static str, String),
}

impl DistinctValue {
    fn of(value: &Value) -> DistinctValue {
        match value.as_str() {
            Some(text) => DistinctValue::Text(text.to_owned()),
            None => DistinctValue::Other(value.edm_type(), format!("{value:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use durafn_tables::Entity;
    use durafn_tables::demo::{count_distinct_ids as oracle, demo_rows};
    use durafn_tables::store::embedded::EmbeddedStore;

    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().expect("valid date")
    }

    fn input(start: &str, end: &str) -> QueryInput {
        QueryInput {
            start: start.into(),
            end: end.into(),
        }
    }

    #[tokio::test]
    async fn matches_the_oracle_on_demo_rows() {
        let store = EmbeddedStore::in_memory().expect("store");
        store.create_table("audit").await.expect("table");
        let rows: Vec<Entity> =
            demo_rows(5, date("2021-09-25")..=date("2021-12-20"), 10..=30).collect();
        store.upsert("audit", rows.clone()).await.expect("upsert");
        for (start, end) in [
            ("2021-10-10", "2021-12-10"),
            ("2021-10-01", "2021-10-02"),
            ("2021-12-20", "2021-12-31"),
            ("2022-01-01", "2022-02-01"),
        ] {
            let got = count_distinct_ids(&store, "audit", &input(start, end))
                .await
                .expect("query");
            assert_eq!(got, oracle(&rows, date(start), date(end)), "{start}..{end}");
        }
    }

    #[tokio::test]
    async fn counts_distinct_ids_of_rows_with_a_certificate() {
        let store = EmbeddedStore::in_memory().expect("store");
        store.create_table("audit").await.expect("table");
        let row = |pk: &str, rk: &str, id: &str| Entity::new(pk, rk).with(ID_PROPERTY, id);
        store
            .upsert(
                "audit",
                vec![
                    row("2021-10-10", "1", "A").with("CertNumber", "c1"),
                    row("2021-10-11", "1", "A").with("CertNumber", "c2"),
                    row("2021-10-11", "2", "B").with("CertNumber", ""),
                    row("2021-10-12", "1", "C"),
                    row("2021-10-12", "2", "D").with("CertNumber", "c3"),
                    row("2021-10-13", "1", "E").with("CertNumber", "c4"),
                ],
            )
            .await
            .expect("upsert");
        let count = count_distinct_ids(&store, "audit", &input("2021-10-10", "2021-10-12"))
            .await
            .expect("query");
        assert_eq!(count, 2);
        let missing = count_distinct_ids(&store, "nosuchtable", &input("2021-10-10", "2021-10-12"))
            .await
            .expect_err("no table");
        assert!(matches!(
            missing,
            QueryError::Store(StoreError::TableNotFound(_))
        ));
    }

    #[tokio::test]
    async fn a_row_without_an_id_fails_like_the_original() {
        let store = EmbeddedStore::in_memory().expect("store");
        store.create_table("audit").await.expect("table");
        store
            .upsert(
                "audit",
                vec![Entity::new("2021-10-10", "1").with("CertNumber", "c1")],
            )
            .await
            .expect("upsert");
        let err = count_distinct_ids(&store, "audit", &input("2021-10-10", "2021-10-12"))
            .await
            .expect_err("missing id");
        assert!(matches!(err, QueryError::MissingId { .. }), "{err}");
    }

    #[test]
    fn the_query_selects_only_the_id() {
        let query = audit_query(&input("2021-10-10", "2021-12-10")).expect("query");
        assert_eq!(query.select, Some(vec![ID_PROPERTY.to_owned()]));
        assert!(query.filter.is_some());
    }
}
