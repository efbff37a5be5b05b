//! Entity group transactions (`POST /$batch`): the multipart/mixed request
//! body and the reading of its response.
//!
//! A batch holds one changeset of up to 100 operations on one partition; the
//! service applies all or none. Each operation here is an upsert: a `PUT` to
//! the entity's URL without `If-Match`, which inserts or replaces. Lines end
//! in CRLF, as the multipart format requires.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::parse_error_body;
use crate::entity::Entity;
use crate::store::{StoreError, codec};

/// The most operations one batch may hold.
pub(crate) const MAX_BATCH_ENTITIES: usize = 100;
/// A batch body must stay under 4 MiB; leave room for the framing.
pub(crate) const MAX_BATCH_BYTES: usize = 3_500_000;

/// What `encodeURIComponent` leaves alone: key values keep their quotes
/// (doubled for escaping) readable in the entity URL.
const KEY_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// The path of one entity: `/{table}(PartitionKey='…',RowKey='…')`.
pub(crate) fn entity_path(table: &str, partition_key: &str, row_key: &str) -> String {
    let quote = |key: &str| utf8_percent_encode(&key.replace('\'', "''"), KEY_SEGMENT).to_string();
    format!(
        "/{table}(PartitionKey='{}',RowKey='{}')",
        quote(partition_key),
        quote(row_key)
    )
}

/// Groups entities into batches: by partition, at most
/// [`MAX_BATCH_ENTITIES`] and about [`MAX_BATCH_BYTES`] each. When the same
/// key appears twice the later entity wins, as sequential upserts would
/// have it (a changeset may not touch one entity twice).
pub(crate) fn plan_batches(entities: Vec<Entity>) -> Vec<Vec<(Entity, String)>> {
    let mut partitions: BTreeMap<String, BTreeMap<String, Entity>> = BTreeMap::new();
    for entity in entities {
        partitions
            .entry(entity.partition_key.clone())
            .or_default()
            .insert(entity.row_key.clone(), entity);
    }
    let mut batches = Vec::new();
    for rows in partitions.into_values() {
        let mut current: Vec<(Entity, String)> = Vec::new();
        let mut bytes = 0;
        for entity in rows.into_values() {
            let json = codec::entity_to_json(&entity).to_string();
            let cost = json.len() + 512;
            if !current.is_empty()
                && (current.len() >= MAX_BATCH_ENTITIES || bytes + cost > MAX_BATCH_BYTES)
            {
                batches.push(std::mem::take(&mut current));
                bytes = 0;
            }
            bytes += cost;
            current.push((entity, json));
        }
        if !current.is_empty() {
            batches.push(current);
        }
    }
    batches
}

/// A boundary unlikely to occur in any payload: time, process and counter.
pub(crate) fn boundary(kind: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{kind}_{nanos:x}{:x}{:x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The request body of one batch. `base_url` is the endpoint URL (entity
/// URLs inside a batch are absolute).
pub(crate) fn batch_body(
    base_url: &str,
    table: &str,
    entities: &[(Entity, String)],
    batch_boundary: &str,
    changeset_boundary: &str,
) -> String {
    let mut body = String::new();
    body.push_str(&format!("--{batch_boundary}\r\n"));
    body.push_str(&format!(
        "Content-Type: multipart/mixed; boundary={changeset_boundary}\r\n\r\n"
    ));
    for (entity, json) in entities {
        body.push_str(&format!("--{changeset_boundary}\r\n"));
        body.push_str("Content-Type: application/http\r\n");
        body.push_str("Content-Transfer-Encoding: binary\r\n\r\n");
        body.push_str(&format!(
            "PUT {base_url}{} HTTP/1.1\r\n",
            entity_path(table, &entity.partition_key, &entity.row_key)
        ));
        body.push_str("Content-Type: application/json\r\n");
        body.push_str("Accept: application/json;odata=minimalmetadata\r\n");
        body.push_str("Prefer: return-no-content\r\n");
        body.push_str("DataServiceVersion: 3.0\r\n\r\n");
        body.push_str(json);
        body.push_str("\r\n");
    }
    body.push_str(&format!("--{changeset_boundary}--\r\n"));
    body.push_str(&format!("--{batch_boundary}--\r\n"));
    body
}

/// Checks a batch response body: every operation answered 2xx, or the error
/// of the first that did not (the service stops at the first failure and
/// rolls the changeset back). `table` names the table in a not-found error.
pub(crate) fn check_batch_response(body: &str, table: &str) -> Result<(), StoreError> {
    let mut saw_status = false;
    let mut rest = body;
    while let Some(at) = rest.find("HTTP/1.1 ") {
        let after = rest.get(at + "HTTP/1.1 ".len()..).unwrap_or("");
        let status: Option<u16> = after.get(..3).and_then(|s| s.parse().ok());
        let Some(status) = status else {
            rest = after;
            continue;
        };
        saw_status = true;
        if !(200..300).contains(&status) {
            // The error's JSON follows the part's headers and runs to the
            // next boundary.
            let payload = after
                .split_once("\r\n\r\n")
                .or_else(|| after.split_once("\n\n"))
                .map(|(_, p)| p)
                .unwrap_or("");
            let payload = payload.split("\r\n--").next().unwrap_or(payload);
            return Err(parse_error_body(
                status,
                payload.trim().as_bytes(),
                Some(table),
            ));
        }
        rest = after;
    }
    if saw_status {
        Ok(())
    } else {
        Err(StoreError::Protocol(
            "the batch response has no operation statuses".to_owned(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_by_partition_and_size() {
        let mut entities = Vec::new();
        for i in 0..250 {
            entities.push(Entity::new("b", format!("{i:04}")));
        }
        entities.push(Entity::new("a", "1").with("v", 1));
        entities.push(Entity::new("a", "1").with("v", 2));
        let batches = plan_batches(entities);
        let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
        assert_eq!(sizes, [1, 100, 100, 50]);
        let (a, _) = batches
            .first()
            .and_then(|b| b.first())
            .expect("partition a");
        assert_eq!(a.properties.get("v"), Some(&crate::entity::Value::Int32(2)));
        for batch in &batches {
            let pk = batch.first().map(|(e, _)| e.partition_key.clone());
            assert!(
                batch
                    .iter()
                    .all(|(e, _)| Some(&e.partition_key) == pk.as_ref())
            );
        }
    }

    #[test]
    fn big_entities_split_by_bytes() {
        let big = "x".repeat(600_000);
        let entities: Vec<Entity> = (0..12)
            .map(|i| Entity::new("p", format!("{i}")).with("blob", big.as_str()))
            .collect();
        let batches = plan_batches(entities);
        assert!(batches.len() >= 3);
        for batch in &batches {
            let bytes: usize = batch.iter().map(|(_, j)| j.len()).sum();
            assert!(bytes <= MAX_BATCH_BYTES);
        }
    }

    #[test]
    fn entity_urls_escape_quotes_and_specials() {
        assert_eq!(
            entity_path("audit", "2024-01-01", "it's 1"),
            "/audit(PartitionKey='2024-01-01',RowKey='it''s%201')"
        );
        assert_eq!(
            entity_path("t", "é", "a&b"),
            "/t(PartitionKey='%C3%A9',RowKey='a%26b')"
        );
    }

    #[test]
    fn body_shape() {
        let planned = plan_batches(vec![Entity::new("p", "r").with("s", "v")]);
        let batch = planned.first().expect("one batch");
        let body = batch_body("http://h:1/acct", "tbl", batch, "batch_1", "changeset_2");
        let expected = "--batch_1\r\nContent-Type: multipart/mixed; boundary=changeset_2\r\n\r\n\
            --changeset_2\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n\
            PUT http://h:1/acct/tbl(PartitionKey='p',RowKey='r') HTTP/1.1\r\n\
            Content-Type: application/json\r\nAccept: application/json;odata=minimalmetadata\r\n\
            Prefer: return-no-content\r\nDataServiceVersion: 3.0\r\n\r\n\
            {\"PartitionKey\":\"p\",\"RowKey\":\"r\",\"s\":\"v\"}\r\n\
            --changeset_2--\r\n--batch_1--\r\n";
        assert_eq!(body, expected);
    }

    #[test]
    fn reads_batch_responses() {
        let ok = "--batchresponse_1\r\nContent-Type: multipart/mixed; boundary=changesetresponse_2\r\n\r\n\
            --changesetresponse_2\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n\r\n\
            --changesetresponse_2\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n\r\n\
            --changesetresponse_2--\r\n--batchresponse_1--\r\n";
        assert!(check_batch_response(ok, "t").is_ok());
        let failed = "--batchresponse_1\r\nContent-Type: multipart/mixed; boundary=changesetresponse_2\r\n\r\n\
            --changesetresponse_2\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 400 Bad Request\r\n\
            Content-Type: application/json\r\n\r\n\
            {\"odata.error\":{\"code\":\"InvalidInput\",\"message\":{\"lang\":\"en-US\",\"value\":\"0:bad value\"}}}\r\n\
            --changesetresponse_2--\r\n--batchresponse_1--\r\n";
        match check_batch_response(failed, "t") {
            Err(StoreError::Service {
                status,
                code,
                message,
            }) => {
                assert_eq!(status, 400);
                assert_eq!(code.as_deref(), Some("InvalidInput"));
                assert_eq!(message, "0:bad value");
            }
            other => panic!("expected a service error, got {other:?}"),
        }
        assert!(check_batch_response("garbage", "t").is_err());
    }
}
