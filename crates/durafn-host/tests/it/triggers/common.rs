//! What the trigger tests share: queue names of their own, Azurite queues, waiting on a
//! condition with a deadline.

use std::future::Future;
use std::time::{Duration, Instant};

use durafn_azure::queue::{MessageEncoding, Queue, QueueService};

/// A queue name no other test or run uses (queue names: lower-case letters, digits, dashes).
pub(crate) fn queue_name(tag: &str) -> String {
    let name = durafn_testenv::unique_name("t", tag).replace('_', "-");
    name.chars()
        .take(63)
        .collect::<String>()
        .trim_end_matches('-')
        .to_string()
}

/// A queue on Azurite, created empty, with an encoding.
pub(crate) async fn azurite_queue(name: &str, encoding: MessageEncoding) -> Queue {
    let service = QueueService::from_connection_string("UseDevelopmentStorage=true").unwrap();
    let queue = service.queue(name).unwrap().with_encoding(encoding);
    queue.create().await.unwrap();
    queue
}

/// Polls `check` until it returns `Some`, backing off from 10 to 200 ms, for at most `secs`.
pub(crate) async fn until<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut pause = Duration::from_millis(10);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}

/// How many messages a queue holds, visible or not (Azurite's count is exact).
pub(crate) async fn message_count(queue: &Queue) -> u64 {
    queue.approximate_message_count().await.unwrap_or(u64::MAX)
}
