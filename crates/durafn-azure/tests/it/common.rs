//! What the emulator tests share: the connection, fresh queues, polling.

#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use durafn_azure::queue::{
    Queue, QueueError, QueueMessage, QueueService, SendOptions, SentMessage, codes,
};
use durafn_azure::{AccountConfig, DEV_ACCOUNT_KEY, DEV_ACCOUNT_NAME};

/// The emulator's connection string when `DURAFN_TEST_AZURITE` is set:
/// `1` for its default endpoints, a connection string as it is, or a bare
/// URL taken as the queue endpoint of the well-known account. Unset, the
/// test is skipped (and fails under `CI=true`).
pub fn azurite() -> Option<AccountConfig> {
    let setting = durafn_testenv::service(durafn_testenv::AZURITE, "Azurite")?;
    let setting = setting.trim();
    let connection = if setting == "1" {
        "UseDevelopmentStorage=true".to_owned()
    } else if setting.contains('=') {
        setting.to_owned()
    } else {
        format!(
            "DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT_NAME};AccountKey={DEV_ACCOUNT_KEY};QueueEndpoint={setting}"
        )
    };
    Some(AccountConfig::parse(&connection).expect("the emulator connection string is valid"))
}

/// The emulator's queue service, or `None` when the tests are skipped.
pub fn service() -> Option<QueueService> {
    azurite().map(|config| QueueService::new(config).expect("the emulator speaks http"))
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The wall clock, as the service's times are compared with it.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    SystemTime::now().into()
}

/// A queue name no other test run uses, short enough for its poison queue.
pub fn unique_queue_name(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut name = format!(
        "{prefix}-{nanos:x}{:x}{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    name.truncate(56);
    name
}

/// A fresh, created queue.
pub async fn fresh_queue(service: &QueueService, prefix: &str) -> Queue {
    let queue = service
        .queue(&unique_queue_name(prefix))
        .expect("valid queue name");
    assert!(
        queue
            .create()
            .await
            .expect("creates (is the emulator running?)"),
        "a fresh queue is new"
    );
    queue
}

/// Deletes a queue and its poison queue.
pub async fn drop_queue(queue: &Queue) {
    queue.delete().await.expect("deletes");
    if let Ok(poison) = queue.poison_queue() {
        poison.delete().await.expect("deletes the poison queue");
    }
}

/// Polls `probe` every 50 ms until it yields a value; panics after
/// `deadline`. For waiting on the service's clock (visibility timeouts,
/// expiry) without sleeping a fixed time.
pub async fn eventually<T, F, Fut>(what: &str, deadline: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            start.elapsed() < deadline,
            "{what} did not happen within {deadline:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends a body with the default options.
pub async fn send(queue: &Queue, body: impl AsRef<[u8]>) -> SentMessage {
    queue
        .send(body.as_ref(), &SendOptions::default())
        .await
        .expect("sends")
}

/// Receives the one visible message, which must be there.
pub async fn receive_one(queue: &Queue, visibility: Duration) -> QueueMessage {
    queue
        .receive(1, visibility)
        .await
        .expect("receives")
        .pop()
        .expect("a visible message")
}

/// Deletes a received message with its receipt.
pub async fn delete(queue: &Queue, message: &QueueMessage) {
    queue
        .delete_message(&message.id, &message.pop_receipt)
        .await
        .expect("deletes with the current receipt");
}

/// A receipt used after the message was received or updated again is
/// refused (the service says mismatch, the emulator sometimes not found).
pub fn assert_stale_receipt(err: &QueueError) {
    assert!(
        err.has_code(codes::POP_RECEIPT_MISMATCH) || err.has_code(codes::MESSAGE_NOT_FOUND),
        "{err:?}"
    );
}
