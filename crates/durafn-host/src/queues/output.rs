//! Queue output: sending messages from HTTP functions, queue functions and activities.

use std::collections::HashMap;
use std::sync::Arc;

use durafn_azure::queue::{Queue, SendOptions, SentMessage, codes};
use serde::Serialize;
use tokio::sync::Notify;

use crate::functions::http_function::HandlerError;
use crate::queues::connection::Connections;

/// The app's queues, for sending: `client.queues()` in HTTP and queue functions,
/// `ctx.data::<Queues>()` in activities.
///
/// ```no_run
/// # async fn f(ctx: durafn_core::ActivityContext) -> Result<(), durafn_host::HandlerError> {
/// let queues = ctx.data::<durafn_host::Queues>().expect("the host adds it");
/// queues.queue("outbox")?.send(&serde_json::json!({"done": true})).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Queues {
    connections: Arc<Connections>,
    /// The listeners of this host by connection and queue name, woken by a send.
    listening: Arc<HashMap<(String, String), Arc<Notify>>>,
}

impl std::fmt::Debug for Queues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queues").finish_non_exhaustive()
    }
}

impl Queues {
    pub(crate) fn new(
        connections: Arc<Connections>,
        listening: HashMap<(String, String), Arc<Notify>>,
    ) -> Self {
        Self {
            connections,
            listening: Arc::new(listening),
        }
    }

    /// A queue of the default connection (`AzureWebJobsStorage`); `name` may be `%Setting%`.
    pub fn queue(&self, name: &str) -> Result<QueueOutput, HandlerError> {
        self.queue_on("", name)
    }

    /// A queue of the connection string in the app setting `connection`.
    pub fn queue_on(&self, connection: &str, name: &str) -> Result<QueueOutput, HandlerError> {
        let queue = self.connections.queue(connection, name)?;
        let wake = self
            .listening
            .get(&(connection.to_string(), queue.name().to_string()))
            .cloned();
        Ok(QueueOutput { queue, wake })
    }
}

/// One queue to send to, with the app's `messageEncoding`. The queue is created on the first
/// send that finds it missing, as the Functions output binding does.
#[derive(Debug, Clone)]
pub struct QueueOutput {
    queue: Queue,
    wake: Option<Arc<Notify>>,
}

impl QueueOutput {
    /// The queue's name.
    pub fn name(&self) -> &str {
        self.queue.name()
    }

    /// Sends a value as JSON.
    pub async fn send(&self, value: &impl Serialize) -> Result<SentMessage, HandlerError> {
        let body = serde_json::to_vec(value)?;
        self.send_bytes(&body).await
    }

    /// Sends text as it is (the body is the text's bytes).
    pub async fn send_text(&self, text: &str) -> Result<SentMessage, HandlerError> {
        self.send_bytes(text.as_bytes()).await
    }

    /// Sends bytes.
    pub async fn send_bytes(&self, body: &[u8]) -> Result<SentMessage, HandlerError> {
        let options = SendOptions::default();
        let sent = match self.queue.send(body, &options).await {
            Err(e) if e.has_code(codes::QUEUE_NOT_FOUND) => {
                self.queue.create().await?;
                self.queue.send(body, &options).await?
            }
            other => other?,
        };
        if let Some(wake) = &self.wake {
            wake.notify_one();
        }
        Ok(sent)
    }
}

/// Queue output from activities: `ctx.queue("name")?.send(&value).await?`.
pub trait ActivityQueues {
    /// A queue of the default connection (`AzureWebJobsStorage`).
    fn queue(&self, name: &str) -> Result<QueueOutput, HandlerError>;
}

impl ActivityQueues for durafn_core::ActivityContext {
    fn queue(&self, name: &str) -> Result<QueueOutput, HandlerError> {
        self.data::<Queues>()
            .ok_or("queue output needs the durafn host (no Queues in the app data)")?
            .queue(name)
    }
}
