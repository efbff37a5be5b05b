//! Table stores: one async interface, [`TableStore`], over an embedded
//! SQLite file ([`embedded::EmbeddedStore`]) and Azure Table Storage or its
//! emulator ([`azure::AzureStore`]); [`open`] picks one from a connection
//! string.
//!
//! # Why boxed futures
//!
//! The app holds the store as `Arc<dyn TableStore>` chosen at run time, so
//! the trait must be object-safe. Its methods return [`BoxFuture`]s
//! (`Pin<Box<dyn Future + Send>>`) rather than using `async fn` in the trait,
//! which is not dyn-compatible; one allocation per call is nothing next to
//! an HTTP round trip or a SQLite page.
//!
//! # Semantics both stores share
//!
//! * Table names follow Azure's rules: 3–63 ASCII letters and digits,
//!   starting with a letter.
//! * Keys may not contain `/`, `\`, `#`, `?` or control characters and are
//!   at most 1 KiB.
//! * Writes are upserts (insert or replace, by `PartitionKey` + `RowKey`);
//!   the store sets `Timestamp`.
//! * Queries return entities in key order (`PartitionKey`, then `RowKey`),
//!   a page at a time: [`Query::top`] is the page size (at most 1000, the
//!   service's limit) and a page ends with a [`Continuation`] when more may
//!   follow. A page may hold fewer entities than `top`, even none, and still
//!   have a continuation. [`TableStore::query_all`] follows them all.
//! * [`Query::select`] limits the returned properties; the system properties
//!   (`PartitionKey`, `RowKey`, `Timestamp`) are always returned.

pub mod azure;
mod codec;
pub mod embedded;

use std::fmt;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use crate::entity::Entity;
use crate::filter::BoundFilter;

/// A boxed, sendable future: what the object-safe [`TableStore`] methods
/// return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The most entities a page holds, as in Azure Table Storage.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// What to read from a table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    /// Which entities; `None` means all.
    pub filter: Option<BoundFilter>,
    /// Which properties to return besides the system ones; `None` means all.
    pub select: Option<Vec<String>>,
    /// The page size (sent as `$top`), capped at [`MAX_PAGE_SIZE`]; `None`
    /// means the maximum. It bounds one page, not the whole result:
    /// [`TableStore::query_all`] still reads every page.
    pub top: Option<u32>,
}

impl Query {
    /// A query for the entities matching `filter`.
    pub fn filter(filter: BoundFilter) -> Query {
        Query {
            filter: Some(filter),
            ..Query::default()
        }
    }

    /// The same query returning only these properties (plus the system
    /// ones).
    #[must_use]
    pub fn select<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Query {
        self.select = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// The same query with this page size.
    #[must_use]
    pub fn top(mut self, top: u32) -> Query {
        self.top = Some(top);
        self
    }

    /// The effective page size.
    pub fn page_size(&self) -> u32 {
        self.top.unwrap_or(MAX_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE)
    }
}

/// Where the next page of a query starts: the key of the first entity not
/// yet examined. Opaque to callers; pass it back unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Continuation {
    /// The `NextPartitionKey` token.
    pub next_partition_key: String,
    /// The `NextRowKey` token, when the service sent one.
    pub next_row_key: Option<String>,
}

/// One page of query results.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page {
    /// The matching entities on this page, in key order.
    pub entities: Vec<Entity>,
    /// Where the next page starts; `None` on the last page.
    pub continuation: Option<Continuation>,
}

/// Why a store operation failed. Messages never contain account keys.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The connection string is not understood (which part is named, its
    /// values are not echoed: they may be secrets).
    #[error("invalid connection string: {0}")]
    InvalidConnectionString(String),
    /// The endpoint is https, which this build cannot speak.
    #[error("https table endpoints need the `tls` feature")]
    TlsNotSupported,
    /// A table name breaks the naming rules.
    #[error("invalid table name {name:?}: {reason}")]
    InvalidTableName {
        /// The name.
        name: String,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// A key or entity is not storable.
    #[error("invalid entity (PartitionKey {partition_key:?}, RowKey {row_key:?}): {reason}")]
    InvalidEntity {
        /// Its partition key.
        partition_key: String,
        /// Its row key.
        row_key: String,
        /// What is wrong.
        reason: String,
    },
    /// The table does not exist (create it first).
    #[error("table {0:?} does not exist")]
    TableNotFound(String),
    /// The service answered with an error status.
    #[error("table service returned HTTP {status}{}: {message}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Service {
        /// The HTTP status.
        status: u16,
        /// The service's error code (`TableNotFound`, `InvalidInput`, ...).
        code: Option<String>,
        /// The service's message, or the body's start.
        message: String,
    },
    /// The request did not get an answer: connection refused or reset,
    /// DNS failure, ...
    #[error("could not reach the table service: {0}")]
    Transport(String),
    /// The request took longer than the configured timeout.
    #[error("the table service did not answer within {0:?}")]
    Timeout(std::time::Duration),
    /// The service answered with something this client cannot read.
    #[error("unexpected response from the table service: {0}")]
    Protocol(String),
    /// The embedded database failed.
    #[error("embedded table store: {0}")]
    Database(String),
    /// Stored data could not be decoded (a corrupt or foreign file).
    #[error("corrupt stored entity: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Whether the same call may succeed if tried again: service errors
    /// 408, 429 and 5xx, transport failures and timeouts. Everything else
    /// will fail the same way again.
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Service { status, .. } => {
                *status == 408 || *status == 429 || *status >= 500
            }
            StoreError::Transport(_) | StoreError::Timeout(_) => true,
            _ => false,
        }
    }
}

impl From<durafn_azure::ConfigError> for StoreError {
    fn from(e: durafn_azure::ConfigError) -> Self {
        StoreError::InvalidConnectionString(match e {
            // This store also takes `embedded` strings: say so.
            durafn_azure::ConfigError::NoAccount => "expected `embedded`, `embedded:PATH`, \
                `UseDevelopmentStorage=true` or \
                `DefaultEndpointsProtocol=…;AccountName=…;AccountKey=…[;TableEndpoint=…]`"
                .to_owned(),
            other => other.reason(),
        })
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Database(e.to_string())
    }
}

/// A store of tables of entities. See the module docs for the semantics
/// every implementation shares.
pub trait TableStore: Send + Sync + fmt::Debug {
    /// Creates the table; succeeds if it already exists.
    fn create_table<'a>(&'a self, table: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Inserts or replaces every entity, in as few round trips as the store
    /// allows (Azure: one batch per partition and 100 entities). Not atomic
    /// across batches: on error, some entities may have been written; as
    /// every write is an upsert, retrying the whole call is safe.
    fn upsert<'a>(
        &'a self,
        table: &'a str,
        entities: Vec<Entity>,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Reads one page of results, starting at `continuation` (`None` for the
    /// first page).
    fn query_page<'a>(
        &'a self,
        table: &'a str,
        query: &'a Query,
        continuation: Option<Continuation>,
    ) -> BoxFuture<'a, Result<Page, StoreError>>;

    /// Reads every page and returns all matching entities, in key order.
    fn query_all<'a>(
        &'a self,
        table: &'a str,
        query: &'a Query,
    ) -> BoxFuture<'a, Result<Vec<Entity>, StoreError>> {
        Box::pin(async move {
            let mut all = Vec::new();
            let mut continuation = None;
            loop {
                let page = self.query_page(table, query, continuation).await?;
                all.extend(page.entities);
                match page.continuation {
                    Some(next) => continuation = Some(next),
                    None => return Ok(all),
                }
            }
        })
    }
}

/// The embedded store's file name under the data directory when the
/// connection string names none.
pub const DEFAULT_EMBEDDED_FILE: &str = "tables.sqlite3";

/// Opens the store a connection string names:
///
/// * `""`, `embedded`: the embedded store in `data_dir`/[`DEFAULT_EMBEDDED_FILE`];
/// * `embedded:PATH`: the embedded store in that file (relative paths are
///   taken from `data_dir`);
/// * `UseDevelopmentStorage=true`: the local emulator at
///   `http://127.0.0.1:10002/devstoreaccount1`;
/// * `DefaultEndpointsProtocol=…;AccountName=…;AccountKey=…[;TableEndpoint=…][;EndpointSuffix=…]`:
///   Azure Table Storage (or any compatible endpoint).
///
/// Opening the embedded store creates the directory and file if needed and
/// briefly blocks on that file I/O; call it at startup (or from a blocking
/// task). The Azure store does no I/O until its first call.
pub fn open(connection_string: &str, data_dir: &Path) -> Result<Arc<dyn TableStore>, StoreError> {
    let trimmed = connection_string.trim();
    if trimmed.is_empty() || trimmed.eq_ignore_ascii_case("embedded") {
        return Ok(Arc::new(embedded::EmbeddedStore::open(
            &data_dir.join(DEFAULT_EMBEDDED_FILE),
        )?));
    }
    if let Some(path) = strip_prefix_ignore_case(trimmed, "embedded:") {
        if path.is_empty() {
            return Err(StoreError::InvalidConnectionString(
                "`embedded:` needs a file path after the colon".to_owned(),
            ));
        }
        return Ok(Arc::new(embedded::EmbeddedStore::open(
            &data_dir.join(path),
        )?));
    }
    let account = azure::AccountConfig::parse(trimmed)?;
    Ok(Arc::new(azure::AzureStore::new(account)?))
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s.get(prefix.len()..))
        .flatten()
}

/// Checks a table name against Azure's rules, so a name that works on the
/// embedded store also works on the service.
pub fn validate_table_name(name: &str) -> Result<(), StoreError> {
    let bad = |reason| {
        Err(StoreError::InvalidTableName {
            name: name.chars().take(80).collect(),
            reason,
        })
    };
    if !(3..=63).contains(&name.len()) {
        return bad("must be 3 to 63 characters long");
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return bad("must contain only ASCII letters and digits");
    }
    if !name.bytes().next().is_some_and(|b| b.is_ascii_alphabetic()) {
        return bad("must start with a letter");
    }
    if name.eq_ignore_ascii_case("tables") {
        return bad("is reserved");
    }
    Ok(())
}

/// Checks an entity's keys and property names against the service's rules.
pub fn validate_entity(entity: &Entity) -> Result<(), StoreError> {
    let bad = |reason: String| {
        Err(StoreError::InvalidEntity {
            partition_key: entity.partition_key.chars().take(80).collect(),
            row_key: entity.row_key.chars().take(80).collect(),
            reason,
        })
    };
    for (which, key) in [
        ("PartitionKey", &entity.partition_key),
        ("RowKey", &entity.row_key),
    ] {
        if key.len() > 1024 {
            return bad(format!("{which} is longer than 1 KiB"));
        }
        if let Some(c) = key
            .chars()
            .find(|c| matches!(c, '/' | '\\' | '#' | '?') || c.is_control())
        {
            return bad(format!("{which} contains the forbidden character {c:?}"));
        }
    }
    for name in entity.properties.keys() {
        if matches!(
            name.as_str(),
            crate::entity::PARTITION_KEY | crate::entity::ROW_KEY | crate::entity::TIMESTAMP
        ) {
            return bad(format!("{name} is a system property, not a property name"));
        }
        if name.is_empty() || name.len() > 255 || name.contains('@') || name.starts_with("odata.") {
            return bad(format!(
                "property name {:?} is not allowed",
                name.chars().take(80).collect::<String>()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names() {
        assert!(validate_table_name("audit").is_ok());
        assert!(validate_table_name("Audit2024").is_ok());
        for bad in [
            "au",
            "1audit",
            "audit-log",
            "tables",
            "a_b_c",
            &"a".repeat(64),
        ] {
            assert!(validate_table_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn keys_and_property_names() {
        assert!(validate_entity(&Entity::new("2024-01-01", "0001").with("x", 1)).is_ok());
        assert!(validate_entity(&Entity::new("a/b", "r")).is_err());
        assert!(validate_entity(&Entity::new("a", "r#1")).is_err());
        assert!(validate_entity(&Entity::new("a", "r\n")).is_err());
        assert!(validate_entity(&Entity::new("a", "r").with("RowKey", "x")).is_err());
        assert!(validate_entity(&Entity::new("a", "r").with("x@odata.type", "x")).is_err());
    }

    #[test]
    fn retryable_errors() {
        let service = |status| StoreError::Service {
            status,
            code: None,
            message: String::new(),
        };
        assert!(service(503).is_retryable());
        assert!(service(500).is_retryable());
        assert!(service(429).is_retryable());
        assert!(!service(404).is_retryable());
        assert!(!service(400).is_retryable());
        assert!(StoreError::Transport("reset".into()).is_retryable());
        assert!(StoreError::Timeout(std::time::Duration::from_secs(1)).is_retryable());
        assert!(!StoreError::TableNotFound("t".into()).is_retryable());
    }

    #[test]
    fn page_size_is_capped() {
        assert_eq!(Query::default().page_size(), 1000);
        assert_eq!(Query::default().top(5).page_size(), 5);
        assert_eq!(Query::default().top(0).page_size(), 1);
        assert_eq!(Query::default().top(5000).page_size(), 1000);
    }
}
