//! `extensions.queues` of host.json: how queue triggers poll, retry and give up, with the
//! Functions host's defaults.

use std::time::Duration;

use durafn_azure::queue::MessageEncoding;

/// The queue triggers' settings (`extensions.queues` in host.json), shared by every queue
/// function of the app, as in Azure Functions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueOptions {
    /// The longest wait between polls of an empty queue (`maxPollingInterval`, default one
    /// minute). The wait starts at 100 ms and doubles while the queue stays empty; a message
    /// found resets it.
    pub max_polling_interval: Duration,
    /// How long a message whose function failed stays invisible before it is retried
    /// (`visibilityTimeout`, default 0: at once).
    pub visibility_timeout: Duration,
    /// How many messages one poll takes and runs in parallel (`batchSize`, 1 to 32, default 16).
    pub batch_size: u32,
    /// The number of messages still running at which the next batch is fetched
    /// (`newBatchThreshold`, default half the batch size), so up to `batch_size +
    /// new_batch_threshold` run at once.
    pub new_batch_threshold: u32,
    /// How many times a message is tried before it moves to `{queue}-poison`
    /// (`maxDequeueCount`, default 5).
    pub max_dequeue_count: u64,
    /// How message text carries the body (`messageEncoding`: `base64`, the default, or `none`).
    pub message_encoding: MessageEncoding,
}

impl Default for QueueOptions {
    fn default() -> Self {
        Self {
            max_polling_interval: Duration::from_secs(60),
            visibility_timeout: Duration::ZERO,
            batch_size: 16,
            new_batch_threshold: 8,
            max_dequeue_count: 5,
            message_encoding: MessageEncoding::Base64,
        }
    }
}

/// The shortest wait between polls of an empty queue, as in the Functions host.
pub(crate) const MIN_POLLING_INTERVAL: Duration = Duration::from_millis(100);
