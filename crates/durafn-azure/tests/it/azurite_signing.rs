//! The signing module against the emulator: every scheme it implements is
//! accepted by the service it is for, and a wrong key is refused with a
//! typed error that does not show the key. Also what a client sees when
//! nothing listens.

use crate::common;

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use durafn_azure::http::RetryPolicy;
use durafn_azure::queue::{QueueError, QueueService, SendOptions, codes};
use durafn_azure::{AccountConfig, Scheme, Service};
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Sends a signed GET to `service`'s endpoint + `path_and_query` and
/// returns the status and body.
async fn signed_get(
    config: &AccountConfig,
    service: Service,
    scheme: Scheme,
    path_and_query: &str,
    extra: &[(&str, &str)],
) -> (StatusCode, String) {
    let uri = format!("{}{path_and_query}", config.endpoint(service).url());
    let date = chrono::DateTime::<chrono::Utc>::from(SystemTime::now())
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let mut builder = Request::builder()
        .method(Method::GET)
        .uri(uri)
        .header("x-ms-date", date)
        .header(
            "x-ms-version",
            if service == Service::Table {
                "2019-02-02"
            } else {
                "2021-12-02"
            },
        );
    for (name, value) in extra {
        builder = builder.header(*name, *value);
    }
    let mut request = builder.body(Empty::<Bytes>::new()).expect("valid request");
    config.sign(service, scheme, &mut request);
    let client = Client::builder(TokioExecutor::new()).build_http();
    let response = client.request(request).await.expect("the emulator answers");
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("reads")
        .to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn every_scheme_is_accepted_by_its_service() {
    let Some(config) = common::azurite() else {
        return;
    };
    let service = QueueService::new(config.clone()).expect("http");
    let queue = common::fresh_queue(&service, "signing").await;
    let path = format!("/{}?comp=metadata&timeout=30", queue.name());
    // Whitespace runs and a repeated header: the signer sends them the way it signs them.
    let extra = [
        ("x-ms-client-request-id", " durafn  signing\ttest "),
        ("x-ms-meta-note", "one"),
        ("x-ms-meta-note", "two"),
        ("Accept", "application/xml"),
    ];
    for scheme in [Scheme::SharedKey, Scheme::SharedKeyLite] {
        let (status, body) = signed_get(&config, Service::Queue, scheme, &path, &extra).await;
        assert_eq!(status, StatusCode::OK, "queue {scheme:?}: {body}");
    }
    common::drop_queue(&queue).await;

    // The table service's own rules, with both schemes.
    let json = [("Accept", "application/json;odata=nometadata")];
    for scheme in [Scheme::SharedKey, Scheme::SharedKeyLite] {
        let (status, body) = signed_get(&config, Service::Table, scheme, "/Tables", &json).await;
        assert_eq!(status, StatusCode::OK, "table {scheme:?}: {body}");
    }

    // A queue request signed with the table service's rules is refused.
    let mut misdirected = config.clone();
    misdirected.table_endpoint = config.queue_endpoint.clone();
    let (status, body) = signed_get(
        &misdirected,
        Service::Table,
        Scheme::SharedKey,
        &path,
        &extra,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}

#[tokio::test]
async fn a_wrong_key_is_a_typed_error_without_the_key() {
    const WRONG_KEY: &str = "d3Jvbmcta2V5LW5ldmVyLXNob3du"; // "wrong-key-never-shown"
    let Some(config) = common::azurite() else {
        return;
    };
    let wrong = AccountConfig::new(&config.account, WRONG_KEY)
        .and_then(|c| c.with_endpoint(Service::Queue, &config.queue_endpoint.url()))
        .expect("valid settings");
    let queue = QueueService::new(wrong)
        .expect("http")
        .queue(&common::unique_queue_name("wrongkey"))
        .expect("valid name");
    let err = queue.create().await.expect_err("refused");
    assert!(err.has_code(codes::AUTHENTICATION_FAILED), "{err:?}");
    assert!(
        matches!(err, QueueError::Service { status: 403, .. }),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    for text in [err.to_string(), format!("{err:?}"), format!("{queue:?}")] {
        assert!(
            !text.contains(WRONG_KEY) && !text.contains("d3Jvbmc"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn nothing_listening_is_a_retryable_transport_error() {
    // Port 9 (discard) has no listener here; no retries, so it is quick.
    let config = AccountConfig::development()
        .with_endpoint(Service::Queue, "http://127.0.0.1:9/devstoreaccount1")
        .expect("valid");
    let queue = QueueService::new(config)
        .expect("http")
        .with_retry(RetryPolicy::NONE)
        .with_timeout(Duration::from_secs(5))
        .queue("nowhere")
        .expect("valid name");
    let err = queue
        .send(b"x", &SendOptions::default())
        .await
        .expect_err("nothing listens");
    assert!(matches!(err, QueueError::Transport(_)), "{err:?}");
    assert!(err.is_retryable());
}
