//! A store error keeps the backend's own error as its source, so an operator's log (and a
//! caller that walks `source()`) sees what PostgreSQL's client said, not only durafn's summary.

use std::error::Error as _;

use durafn_postgres::{PostgresOptions, PostgresStore};
use durafn_store::StoreError;

#[tokio::test]
async fn a_refused_connection_keeps_the_clients_error_as_its_source() {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    let Err(error) = PostgresStore::connect(
        "postgres://postgres@127.0.0.1:1/test?connect_timeout=5",
        PostgresOptions::default(),
    )
    .await
    else {
        panic!("nothing listens on port 1");
    };
    assert!(
        matches!(
            error,
            StoreError::Backend {
                retryable: true,
                ..
            }
        ),
        "a refused connection may succeed later: {error:?}"
    );
    let source = error.source().expect("the client's error is kept");
    assert!(
        source.downcast_ref::<tokio_postgres::Error>().is_some(),
        "the source is tokio-postgres's own error: {source:?}"
    );
}
