//! Mapping PostgreSQL errors to store errors that say whether retrying can help.

use durafn_store::StoreError;

/// SQLSTATE classes and codes after which the same call may succeed: a lost connection, a
/// server shutting down or restarting, lack of resources, and transactions rolled back by the
/// server (serialization failures, deadlocks).
fn retryable_state(code: &str) -> bool {
    code.starts_with("08") // connection exception
        || code.starts_with("40") // transaction rollback: serialization failure, deadlock
        || code.starts_with("53") // insufficient resources (too many connections, disk full)
        || code.starts_with("57P") // admin shutdown, crash shutdown, cannot connect now
        || code.starts_with("58") // system error (I/O)
        || code == "55P03" // lock not available
        || code == "57014" // query canceled
}

/// Maps a tokio-postgres error. Errors without a SQLSTATE are connection-level (I/O, closed
/// connection, connect failures, timeouts) and retryable, except those about our own values,
/// which are bugs or corrupt data and are not.
pub(crate) fn backend(e: tokio_postgres::Error) -> StoreError {
    let message = format!("PostgreSQL: {e}");
    if let Some(code) = e.code() {
        let retryable = retryable_state(code.code());
        return StoreError::backend_caused_by(message, retryable, e);
    }
    let text = e.to_string();
    if text.starts_with("error deserializing column") || text.starts_with("invalid column") {
        return StoreError::Corrupt(format!("unexpected value in the PostgreSQL task hub: {e}"));
    }
    let about_us = [
        "error serializing parameter",
        "expected ",
        "invalid connection string",
    ]
    .iter()
    .any(|p| text.starts_with(p))
        || text.starts_with("invalid configuration")
        || text.starts_with("authentication error")
        || text.starts_with("error performing TLS handshake")
        || text.starts_with("query returned an unexpected number");
    StoreError::backend_caused_by(message, !about_us, e)
}

/// A value read back from the task hub that cannot be what this crate wrote.
pub(crate) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_sql_states() {
        for code in [
            "08006", "40001", "40P01", "53300", "57P01", "57P03", "55P03", "58030",
        ] {
            assert!(retryable_state(code), "{code}");
        }
        for code in ["23505", "42P01", "22P02", "42601"] {
            assert!(!retryable_state(code), "{code}");
        }
    }
}
