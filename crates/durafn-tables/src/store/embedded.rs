//! The embedded table store: every table in one SQLite file, so the sample
//! app runs with no service at all.
//!
//! # Layout
//!
//! One SQLite table holds every entity of every logical table, keyed by
//! `(table, PartitionKey, RowKey)` (a `WITHOUT ROWID` table, so rows sit in
//! key order). The non-key properties are one JSON text column in the
//! service's wire format (see the codec), so types survive. Logical table
//! names are case-insensitive, as on the service.
//!
//! # Queries
//!
//! The filter is evaluated in Rust by [`crate::eval`], so both stores share
//! one definition of what matches. Reading a whole table to evaluate it
//! would be slow on millions of rows, so the partition key range the filter
//! implies ([`BoundFilter::partition_key_range`]) is pushed down to SQLite
//! as a key range; the audit query then reads only the days it asks for.
//! A page stops after `top` matches or after scanning [`MAX_SCAN_PER_PAGE`]
//! rows, and its continuation is the key of the next row, so no single call
//! holds the database for long.
//!
//! # Threads
//!
//! SQLite calls block, so the connection lives on a dedicated thread that
//! runs one job at a time from a channel; async callers await a reply. The
//! thread ends when the store is dropped.

use std::collections::BTreeSet;
use std::fmt;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use super::codec;
use super::{
    BoxFuture, Continuation, Page, Query, StoreError, TableStore, validate_entity,
    validate_table_name,
};
use crate::entity::Entity;
use crate::eval;
use crate::filter::BoundFilter;

/// The most rows one page examines before returning (possibly with fewer
/// matches than asked) and a continuation.
pub const MAX_SCAN_PER_PAGE: usize = 20_000;

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// The embedded SQLite-backed store. Cheap to share behind an `Arc`.
pub struct EmbeddedStore {
    location: String,
    jobs: mpsc::Sender<Job>,
}

impl fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddedStore")
            .field("location", &self.location)
            .finish()
    }
}

const SCHEMA: &str = "
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = NORMAL;
    CREATE TABLE IF NOT EXISTS durafn_tables (
        name TEXT NOT NULL PRIMARY KEY
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS durafn_entities (
        tbl TEXT NOT NULL,
        pk TEXT NOT NULL,
        rk TEXT NOT NULL,
        ts TEXT NOT NULL,
        props TEXT NOT NULL,
        PRIMARY KEY (tbl, pk, rk)
    ) WITHOUT ROWID;
";

impl EmbeddedStore {
    /// Opens (creating if needed) the store in the file at `path`, creating
    /// its directory too. Blocks until the file is open and its schema in
    /// place.
    pub fn open(path: &Path) -> Result<EmbeddedStore, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Database(format!("cannot create directory {}: {e}", dir.display()))
            })?;
        }
        let owned: PathBuf = path.to_owned();
        EmbeddedStore::start(path.display().to_string(), move || Connection::open(owned))
    }

    /// A store that lives in memory and vanishes when dropped: for tests and
    /// throwaway runs.
    pub fn in_memory() -> Result<EmbeddedStore, StoreError> {
        EmbeddedStore::start(":memory:".to_owned(), Connection::open_in_memory)
    }

    fn start(
        location: String,
        opener: impl FnOnce() -> rusqlite::Result<Connection> + Send + 'static,
    ) -> Result<EmbeddedStore, StoreError> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), StoreError>>();
        std::thread::Builder::new()
            .name("durafn-tables-sqlite".to_owned())
            .spawn(move || {
                let opened = opener()
                    .and_then(|conn| conn.execute_batch(SCHEMA).map(|()| conn))
                    .map_err(StoreError::from);
                let mut conn = match opened {
                    Ok(conn) => {
                        let _ = ready_tx.send(Ok(()));
                        conn
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                for job in queue {
                    // A panicking job drops its reply sender, which the
                    // caller sees as an error; the thread keeps serving.
                    let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut conn)));
                }
            })
            .map_err(|e| StoreError::Database(format!("cannot start the store thread: {e}")))?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(EmbeddedStore { location, jobs }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(StoreError::Database(
                "the store thread stopped while opening the database".to_owned(),
            )),
        }
    }

    /// Runs `f` on the store's thread and awaits its result.
    fn call<T, F>(&self, f: F) -> BoxFuture<'static, Result<T, StoreError>>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let _ = tx.send(f(conn));
        });
        let sent = self.jobs.send(job);
        Box::pin(async move {
            if sent.is_err() {
                return Err(StoreError::Database(
                    "the store thread has stopped".to_owned(),
                ));
            }
            rx.await.map_err(|_| {
                StoreError::Database("the store thread failed during the call".to_owned())
            })?
        })
    }
}

fn table_key(table: &str) -> String {
    table.to_ascii_lowercase()
}

fn require_table(conn: &Connection, table: &str) -> Result<(), StoreError> {
    let found: Option<i64> = conn
        .prepare_cached("SELECT 1 FROM durafn_tables WHERE name = ?1")?
        .query_row(params![table_key(table)], |row| row.get(0))
        .optional()?;
    match found {
        Some(_) => Ok(()),
        None => Err(StoreError::TableNotFound(table.to_owned())),
    }
}

fn now() -> DateTime<Utc> {
    DateTime::<Utc>::from(SystemTime::now())
}

impl TableStore for EmbeddedStore {
    fn create_table<'a>(&'a self, table: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        if let Err(e) = validate_table_name(table) {
            return Box::pin(async move { Err(e) });
        }
        let key = table_key(table);
        self.call(move |conn| {
            conn.prepare_cached("INSERT OR IGNORE INTO durafn_tables (name) VALUES (?1)")?
                .execute(params![key])?;
            Ok(())
        })
    }

    fn upsert<'a>(
        &'a self,
        table: &'a str,
        entities: Vec<Entity>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let checked =
            validate_table_name(table).and_then(|()| entities.iter().try_for_each(validate_entity));
        if let Err(e) = checked {
            return Box::pin(async move { Err(e) });
        }
        let table = table.to_owned();
        self.call(move |conn| {
            require_table(conn, &table)?;
            let key = table_key(&table);
            let ts = codec::format_datetime(&now());
            let tx = conn.transaction()?;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO durafn_entities (tbl, pk, rk, ts, props) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (tbl, pk, rk) DO UPDATE SET ts = excluded.ts, props = excluded.props",
                )?;
                for entity in &entities {
                    let mut props = serde_json::Map::new();
                    codec::write_properties(&entity.properties, &mut props);
                    let props = serde_json::Value::Object(props).to_string();
                    insert.execute(params![key, entity.partition_key, entity.row_key, ts, props])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
    }

    fn query_page<'a>(
        &'a self,
        table: &'a str,
        query: &'a Query,
        continuation: Option<Continuation>,
    ) -> BoxFuture<'a, Result<Page, StoreError>> {
        if let Err(e) = validate_table_name(table) {
            return Box::pin(async move { Err(e) });
        }
        let table = table.to_owned();
        let query = query.clone();
        self.call(move |conn| {
            require_table(conn, &table)?;
            read_page(conn, &table, &query, continuation)
        })
    }
}

/// Builds the SQL for one page: the table, the filter's partition key range
/// and the continuation, in key order.
fn page_sql(
    table: &str,
    filter: Option<&BoundFilter>,
    continuation: Option<&Continuation>,
) -> (String, Vec<String>) {
    use std::ops::Bound;
    let mut sql = String::from("SELECT pk, rk, ts, props FROM durafn_entities WHERE tbl = ?1");
    let mut args = vec![table_key(table)];
    let mut push = |sql: &mut String, clause: &str, values: &[&str]| {
        let mut clause = clause.to_owned();
        for (i, value) in values.iter().enumerate() {
            args.push((*value).to_owned());
            clause = clause.replace(&format!("${i}"), &format!("?{}", args.len()));
        }
        sql.push_str(" AND ");
        sql.push_str(&clause);
    };
    let range = filter
        .map(BoundFilter::partition_key_range)
        .unwrap_or_default();
    // The scan starts at the continuation when there is one inside the
    // range. Only one lower bound goes to SQLite: given two, it may seek on
    // the filter's and skip ahead to the continuation row by row, which
    // makes paging through a large range quadratic.
    let resume = continuation.filter(|c| match &range.lower {
        Bound::Included(k) => c.next_partition_key >= *k,
        Bound::Excluded(k) => c.next_partition_key > *k,
        Bound::Unbounded => true,
    });
    match (resume, &range.lower) {
        (Some(c), _) => match &c.next_row_key {
            Some(rk) => push(
                &mut sql,
                "(pk, rk) >= ($0, $1)",
                &[&c.next_partition_key, rk],
            ),
            None => push(&mut sql, "pk >= $0", &[&c.next_partition_key]),
        },
        (None, Bound::Included(k)) => push(&mut sql, "pk >= $0", &[k]),
        (None, Bound::Excluded(k)) => push(&mut sql, "pk > $0", &[k]),
        (None, Bound::Unbounded) => {}
    }
    match &range.upper {
        Bound::Included(k) => push(&mut sql, "pk <= $0", &[k]),
        Bound::Excluded(k) => push(&mut sql, "pk < $0", &[k]),
        Bound::Unbounded => {}
    }
    sql.push_str(" ORDER BY pk, rk");
    (sql, args)
}

fn read_page(
    conn: &Connection,
    table: &str,
    query: &Query,
    continuation: Option<Continuation>,
) -> Result<Page, StoreError> {
    let (sql, args) = page_sql(table, query.filter.as_ref(), continuation.as_ref());
    let page_size = usize::try_from(query.page_size()).unwrap_or(usize::MAX);
    // With a projection, decode only what the filter and the projection
    // read; without one, everything.
    let wanted: Option<BTreeSet<String>> = query.select.as_ref().map(|select| {
        let mut names: BTreeSet<String> = select.iter().cloned().collect();
        if let Some(filter) = &query.filter {
            names.extend(
                filter
                    .expr()
                    .property_names()
                    .into_iter()
                    .map(str::to_owned),
            );
        }
        names
    });
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(args.iter()))?;
    let mut entities = Vec::new();
    let mut scanned = 0_usize;
    while let Some(row) = rows.next()? {
        let partition_key: String = row.get(0)?;
        let row_key: String = row.get(1)?;
        if entities.len() >= page_size || scanned >= MAX_SCAN_PER_PAGE {
            return Ok(Page {
                entities,
                continuation: Some(Continuation {
                    next_partition_key: partition_key,
                    next_row_key: Some(row_key),
                }),
            });
        }
        scanned += 1;
        let ts = row.get_ref(2)?.as_str().map_err(rusqlite::Error::from)?;
        let props = row.get_ref(3)?.as_str().map_err(rusqlite::Error::from)?;
        let mut entity = decode_row(partition_key, row_key, ts, props, wanted.as_ref())?;
        let keep = match &query.filter {
            Some(filter) => eval::matches(filter, &entity),
            None => true,
        };
        if keep {
            if let Some(select) = &query.select {
                entity.properties.retain(|name, _| select.contains(name));
            }
            entities.push(entity);
        }
    }
    Ok(Page {
        entities,
        continuation: None,
    })
}

fn decode_row(
    partition_key: String,
    row_key: String,
    ts: &str,
    props: &str,
    wanted: Option<&BTreeSet<String>>,
) -> Result<Entity, StoreError> {
    let corrupt = |what: String| StoreError::Corrupt(format!("{partition_key}/{row_key}: {what}"));
    let timestamp =
        codec::parse_datetime(ts).ok_or_else(|| corrupt(format!("invalid timestamp {ts:?}")))?;
    let properties = codec::read_stored_properties(props, wanted).map_err(corrupt)?;
    Ok(Entity {
        partition_key,
        row_key,
        timestamp: Some(timestamp),
        properties,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushes_the_partition_key_range_down() {
        let filter = BoundFilter::parse(
            "PartitionKey ge '2024-01-01' and '2024-01-31' ge PartitionKey and CertNumber ne ''",
        )
        .expect("parses");
        let (sql, args) = page_sql("Audit", Some(&filter), None);
        assert_eq!(
            sql,
            "SELECT pk, rk, ts, props FROM durafn_entities WHERE tbl = ?1 AND pk >= ?2 AND pk <= ?3 ORDER BY pk, rk"
        );
        assert_eq!(args, ["audit", "2024-01-01", "2024-01-31"]);

        let next = Continuation {
            next_partition_key: "2024-01-05".into(),
            next_row_key: Some("0007".into()),
        };
        let (sql, args) = page_sql("audit", Some(&filter), Some(&next));
        assert_eq!(
            sql,
            "SELECT pk, rk, ts, props FROM durafn_entities WHERE tbl = ?1 AND (pk, rk) >= (?2, ?3) AND pk <= ?4 ORDER BY pk, rk"
        );
        assert_eq!(args, ["audit", "2024-01-05", "0007", "2024-01-31"]);

        // A continuation before the range (not one this store made) does
        // not widen the scan.
        let early = Continuation {
            next_partition_key: "2023-12-31".into(),
            next_row_key: Some("0001".into()),
        };
        let (sql, args) = page_sql("audit", Some(&filter), Some(&early));
        assert!(sql.contains("AND pk >= ?2 AND pk <= ?3 ORDER"), "{sql}");
        assert_eq!(args, ["audit", "2024-01-01", "2024-01-31"]);

        let or = BoundFilter::parse("PartitionKey eq 'a' or PartitionKey eq 'b'").expect("parses");
        let (sql, _) = page_sql("audit", Some(&or), None);
        assert!(!sql.contains("pk >="), "no pushdown through or: {sql}");
    }

    #[test]
    fn key_range_query_uses_the_primary_key() {
        let conn = Connection::open_in_memory().expect("opens");
        conn.execute_batch(SCHEMA).expect("schema");
        let filter =
            BoundFilter::parse("PartitionKey ge '2024-01-01' and PartitionKey le '2024-01-31'")
                .expect("parses");
        let next = Continuation {
            next_partition_key: "2024-01-05".into(),
            next_row_key: Some("0007".into()),
        };
        let (sql, args) = page_sql("audit", Some(&filter), Some(&next));
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("prepares");
        let plan: Vec<String> = stmt
            .query_map(params_from_iter(args.iter()), |row| row.get::<_, String>(3))
            .expect("runs")
            .collect::<Result<_, _>>()
            .expect("rows");
        let plan = plan.join("\n");
        // The seek starts at the continuation, not at the range's start.
        assert!(
            plan.contains("USING PRIMARY KEY (tbl=? AND (pk,rk)>(?,?) AND pk<?)"),
            "{plan}"
        );
        assert!(!plan.contains("TEMP B-TREE"), "no sort needed: {plan}");
    }
}
