//! A client for the Azure Table Storage REST API (and its emulator), so the
//! sample app can run its query against a real table.
//!
//! # Protocol
//!
//! * Every request is signed with the account key (SharedKey, the table
//!   service's rules: HMAC-SHA256 over verb, content type, `x-ms-date` and
//!   the canonicalized resource; [`durafn_azure::signing`] holds the one
//!   implementation tables and queues share) and sends
//!   `x-ms-version: 2019-02-02` and `DataServiceVersion: 3.0`.
//! * Queries (`GET /{table}()`) send `$filter` (the bound filter printed
//!   back), `$select` and `$top`, and follow the
//!   `x-ms-continuation-NextPartitionKey` / `-NextRowKey` headers. They ask
//!   for `application/json;odata=minimalmetadata` rather than `nometadata`:
//!   without metadata the service drops the `odata.type` annotations and
//!   `Int64`, `DateTime`, `Guid` and `Binary` values would read back as
//!   plain strings. Other requests accept `nometadata`.
//! * `$select` always includes `PartitionKey`, `RowKey` and `Timestamp`, so
//!   entities read the same as from the embedded store.
//! * Creating a table is `POST /Tables`; "already exists" (409) is success.
//! * Writes go as entity group transactions (`POST /$batch`), one per
//!   partition and at most 100 entities, up to [`MAX_CONCURRENT_BATCHES`]
//!   in flight; each operation is an upsert (`PUT` without `If-Match`).
//!
//! # Failures
//!
//! Each request has a timeout ([`DEFAULT_TIMEOUT`]); failures that may pass
//! (timeouts, connection errors, 408, 429, 500, 502, 503, 504) are retried
//! twice with a short backoff (the shared HTTP stack,
//! [`durafn_azure::http`]), then returned with [`StoreError::is_retryable`]
//! true. All
//! operations here are idempotent, so retrying is safe. The client needs a
//! Tokio runtime with timers enabled.
//!
//! # Transport
//!
//! Plain HTTP only, for now: an `https` endpoint (the default for real
//! accounts) is refused up front with "https table endpoints need the `tls`
//! feature".

mod batch;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use durafn_azure::http::{Response, SendError, Transport, x_ms_date};
use http::{HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::Full;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

pub use durafn_azure::{
    AccountConfig, DEV_ACCOUNT_KEY, DEV_ACCOUNT_NAME, DEV_TABLE_ENDPOINT, Endpoint,
};
use durafn_azure::{Scheme, Service};

use super::{
    BoxFuture, Continuation, Page, Query, StoreError, TableStore, codec, validate_entity,
    validate_table_name,
};
use crate::entity::{Entity, PARTITION_KEY, ROW_KEY, TIMESTAMP};

/// How long one request may take before it fails with
/// [`StoreError::Timeout`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// How many batches one `upsert` call sends at once.
pub const MAX_CONCURRENT_BATCHES: usize = 4;
/// The REST API version this client speaks.
pub const API_VERSION: &str = "2019-02-02";

const NOMETADATA: &str = "application/json;odata=nometadata";
const MINIMALMETADATA: &str = "application/json;odata=minimalmetadata";

/// Unreserved characters stay, everything else in a query value is encoded.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The Azure Table Storage store. Cloning shares the connection pool.
#[derive(Clone)]
pub struct AzureStore {
    inner: Arc<Inner>,
}

struct Inner {
    config: AccountConfig,
    transport: Transport,
}

impl fmt::Debug for AzureStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AzureStore")
            .field("account", &self.inner.config.account)
            .field("endpoint", &self.inner.config.table_endpoint.url())
            .field("timeout", &self.inner.transport.timeout())
            .finish_non_exhaustive()
    }
}

impl AzureStore {
    /// A store for the account. Fails with [`StoreError::TlsNotSupported`]
    /// for an https endpoint. Does no I/O.
    pub fn new(config: AccountConfig) -> Result<AzureStore, StoreError> {
        if config.table_endpoint.scheme != "http" {
            return Err(StoreError::TlsNotSupported);
        }
        Ok(AzureStore {
            inner: Arc::new(Inner {
                config,
                transport: Transport::new().with_timeout(DEFAULT_TIMEOUT),
            }),
        })
    }

    /// The same store with another per-request timeout.
    #[must_use]
    pub fn with_timeout(self, timeout: Duration) -> AzureStore {
        AzureStore {
            inner: Arc::new(Inner {
                config: self.inner.config.clone(),
                transport: self.inner.transport.clone().with_timeout(timeout),
            }),
        }
    }

    /// The account this store talks to.
    pub fn account(&self) -> &AccountConfig {
        &self.inner.config
    }
}

impl Inner {
    /// Sends a request, retrying failures that may pass, and returns the
    /// response whatever its status. Each attempt is dated and signed anew.
    async fn send(
        &self,
        method: Method,
        resource_path: &str,
        query: &str,
        accept: &str,
        content_type: &str,
        body: Bytes,
    ) -> Result<Response, StoreError> {
        let mut uri = format!("{}{}", self.config.table_endpoint.url(), resource_path);
        if !query.is_empty() {
            uri.push('?');
            uri.push_str(query);
        }
        let uri: Uri = uri
            .parse()
            .map_err(|e| StoreError::Protocol(format!("cannot build the request URI: {e}")))?;
        let content_type = match content_type {
            "" => None,
            value => Some(
                HeaderValue::from_str(value)
                    .map_err(|e| StoreError::Protocol(format!("bad content type: {e}")))?,
            ),
        };
        let build = || {
            let mut builder = Request::builder()
                .method(method.clone())
                .uri(uri.clone())
                .header("x-ms-date", x_ms_date())
                .header("x-ms-version", API_VERSION)
                .header("Accept", accept)
                .header("DataServiceVersion", "3.0")
                .header("MaxDataServiceVersion", "3.0;NetFx");
            if let Some(content_type) = &content_type {
                builder = builder
                    .header("Content-Type", content_type)
                    .header("Prefer", "return-no-content");
            }
            let mut request = builder
                .body(Full::new(body.clone()))
                .expect("a parsed URI and checked header values make a valid request");
            self.config
                .sign(Service::Table, Scheme::SharedKey, &mut request);
            request
        };
        self.transport.send(build).await.map_err(|e| match e {
            SendError::Unreachable(why) => StoreError::Transport(why),
            SendError::Timeout(after) => StoreError::Timeout(after),
        })
    }

    async fn create_table(&self, table: &str) -> Result<(), StoreError> {
        validate_table_name(table)?;
        let body = serde_json::json!({ "TableName": table }).to_string();
        let response = self
            .send(
                Method::POST,
                "/Tables",
                "",
                NOMETADATA,
                "application/json",
                Bytes::from(body),
            )
            .await?;
        if response.status.is_success() {
            return Ok(());
        }
        match parse_error_body(response.status.as_u16(), &response.body, None) {
            StoreError::Service {
                status: 409, code, ..
            } if code.as_deref() == Some("TableAlreadyExists") => Ok(()),
            other => Err(other),
        }
    }

    async fn send_batch(
        &self,
        table: &str,
        batch: Vec<(Entity, String)>,
    ) -> Result<(), StoreError> {
        let batch_boundary = batch::boundary("batch");
        let changeset_boundary = batch::boundary("changeset");
        let body = batch::batch_body(
            &self.config.table_endpoint.url(),
            table,
            &batch,
            &batch_boundary,
            &changeset_boundary,
        );
        let content_type = format!("multipart/mixed; boundary={batch_boundary}");
        let response = self
            .send(
                Method::POST,
                "/$batch",
                "",
                NOMETADATA,
                &content_type,
                Bytes::from(body),
            )
            .await?;
        if !response.status.is_success() {
            return Err(parse_error_body(
                response.status.as_u16(),
                &response.body,
                Some(table),
            ));
        }
        let text = String::from_utf8_lossy(&response.body);
        batch::check_batch_response(&text, table)
    }

    async fn query_page(
        &self,
        table: &str,
        query: &Query,
        continuation: Option<Continuation>,
    ) -> Result<Page, StoreError> {
        validate_table_name(table)?;
        let query_string = query_string(query, continuation.as_ref());
        let response = self
            .send(
                Method::GET,
                &format!("/{table}()"),
                &query_string,
                MINIMALMETADATA,
                "",
                Bytes::new(),
            )
            .await?;
        if !response.status.is_success() {
            return Err(parse_error_body(
                response.status.as_u16(),
                &response.body,
                Some(table),
            ));
        }
        let json: serde_json::Value = serde_json::from_slice(&response.body)
            .map_err(|e| StoreError::Protocol(format!("query response is not JSON: {e}")))?;
        let rows = json
            .get("value")
            .and_then(serde_json::Value::as_array)
            .ok_or_else(|| {
                StoreError::Protocol("query response has no `value` array".to_owned())
            })?;
        let entities = rows
            .iter()
            .map(codec::entity_from_json)
            .collect::<Result<Vec<_>, _>>()
            .map_err(StoreError::Protocol)?;
        let header = |name: &str| {
            response
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let continuation = header("x-ms-continuation-NextPartitionKey").map(|pk| Continuation {
            next_partition_key: pk,
            next_row_key: header("x-ms-continuation-NextRowKey"),
        });
        Ok(Page {
            entities,
            continuation,
        })
    }
}

/// The query string of a query request: `$filter`, `$select`, `$top` and
/// the continuation tokens, each value percent-encoded.
fn query_string(query: &Query, continuation: Option<&Continuation>) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if let Some(filter) = &query.filter {
        pairs.push(("$filter", filter.to_string()));
    }
    if let Some(select) = &query.select {
        let mut names: Vec<&str> = vec![PARTITION_KEY, ROW_KEY, TIMESTAMP];
        for name in select {
            if !names.contains(&name.as_str()) {
                names.push(name);
            }
        }
        pairs.push(("$select", names.join(",")));
    }
    pairs.push(("$top", query.page_size().to_string()));
    if let Some(c) = continuation {
        pairs.push(("NextPartitionKey", c.next_partition_key.clone()));
        if let Some(rk) = &c.next_row_key {
            pairs.push(("NextRowKey", rk.clone()));
        }
    }
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, QUERY_VALUE)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The error a non-2xx response stands for, from its
/// `{"odata.error":{"code":…,"message":{"value":…}}}` body when it has one.
/// A `TableNotFound`/`ResourceNotFound` 404 on a table operation is
/// [`StoreError::TableNotFound`].
pub(crate) fn parse_error_body(status: u16, body: &[u8], table: Option<&str>) -> StoreError {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let error = json.as_ref().and_then(|j| j.get("odata.error"));
    let code = error
        .and_then(|e| e.get("code"))
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    let message = error
        .and_then(|e| e.get("message"))
        .and_then(|m| m.get("value").or(Some(m)))
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(body);
            let text: String = text.trim().chars().take(300).collect();
            if text.is_empty() {
                StatusCode::from_u16(status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("no details")
                    .to_owned()
            } else {
                text
            }
        });
    if let (404, Some("TableNotFound" | "ResourceNotFound"), Some(table)) =
        (status, code.as_deref(), table)
    {
        return StoreError::TableNotFound(table.to_owned());
    }
    StoreError::Service {
        status,
        code,
        message,
    }
}

impl TableStore for AzureStore {
    fn create_table<'a>(&'a self, table: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.inner.create_table(table))
    }

    fn upsert<'a>(
        &'a self,
        table: &'a str,
        entities: Vec<Entity>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            validate_table_name(table)?;
            entities.iter().try_for_each(validate_entity)?;
            let mut pending = batch::plan_batches(entities).into_iter();
            let mut running = tokio::task::JoinSet::new();
            let mut first_error = None;
            loop {
                while first_error.is_none() && running.len() < MAX_CONCURRENT_BATCHES {
                    let Some(next) = pending.next() else { break };
                    let inner = Arc::clone(&self.inner);
                    let table = table.to_owned();
                    running.spawn(async move { inner.send_batch(&table, next).await });
                }
                let Some(done) = running.join_next().await else {
                    break;
                };
                let outcome = done.unwrap_or_else(|e| {
                    Err(StoreError::Protocol(format!("a batch task failed: {e}")))
                });
                if let Err(e) = outcome {
                    // Stop starting batches; let the running ones finish.
                    first_error.get_or_insert(e);
                }
            }
            match first_error {
                Some(e) => Err(e),
                None => Ok(()),
            }
        })
    }

    fn query_page<'a>(
        &'a self,
        table: &'a str,
        query: &'a Query,
        continuation: Option<Continuation>,
    ) -> BoxFuture<'a, Result<Page, StoreError>> {
        Box::pin(self.inner.query_page(table, query, continuation))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::BoundFilter;

    #[test]
    fn https_needs_tls() {
        let config =
            AccountConfig::new("acct", "c2VjcmV0LWtleS1kby1ub3QtbGVhaw==").expect("valid config");
        let err = AzureStore::new(config).expect_err("https refused");
        assert_eq!(
            err.to_string(),
            "https table endpoints need the `tls` feature"
        );
    }

    #[test]
    fn query_strings() {
        let filter = BoundFilter::parse("PartitionKey ge '2024-01-01' and CertNumber ne ''")
            .expect("parses");
        let query = Query::filter(filter)
            .select(["identificationNumber"])
            .top(5);
        let next = Continuation {
            next_partition_key: "1!16!MjAyNC0wMS0wMg--".into(),
            next_row_key: Some("1!8!MDAwMQ--".into()),
        };
        assert_eq!(
            query_string(&query, Some(&next)),
            "$filter=PartitionKey%20ge%20%272024-01-01%27%20and%20CertNumber%20ne%20%27%27\
             &$select=PartitionKey%2CRowKey%2CTimestamp%2CidentificationNumber&$top=5\
             &NextPartitionKey=1%2116%21MjAyNC0wMS0wMg--&NextRowKey=1%218%21MDAwMQ--"
        );
        assert_eq!(query_string(&Query::default(), None), "$top=1000");
    }

    #[test]
    fn error_bodies() {
        let body = br#"{"odata.error":{"code":"TableNotFound","message":{"lang":"en-US","value":"The table specified does not exist."}}}"#;
        assert!(matches!(
            parse_error_body(404, body, Some("audit")),
            StoreError::TableNotFound(t) if t == "audit"
        ));
        match parse_error_body(503, b"", None) {
            e @ StoreError::Service { .. } => {
                assert!(e.is_retryable());
                assert!(e.to_string().contains("Service Unavailable"), "{e}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
