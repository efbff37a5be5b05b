//! Queue-triggered functions: a name, the queue and connection they listen on, and a handler
//! of one message.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;

use crate::functions::durable_http::DurableHttpClient;
use crate::functions::http_function::HandlerError;

/// One queue message as a queue-triggered function receives it: the body (already decoded
/// with `messageEncoding`) and the metadata the Functions host binds beside it.
#[derive(Debug, Clone)]
pub struct QueueItem {
    /// The queue it came from.
    pub queue: String,
    /// The message's id.
    pub id: String,
    /// How many times it has been received, this time included (1 on the first try).
    pub dequeue_count: u64,
    /// When it was added to the queue.
    pub insertion_time: DateTime<Utc>,
    /// When it expires.
    pub expiration_time: DateTime<Utc>,
    /// When it becomes visible again if this run neither finishes nor renews it.
    pub next_visible_time: DateTime<Utc>,
    /// The pop receipt of this reception.
    pub pop_receipt: String,
    pub(crate) body: Bytes,
}

impl QueueItem {
    /// The body as bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.body
    }

    /// The body as text; fails when it is not UTF-8.
    pub fn text(&self) -> Result<&str, HandlerError> {
        std::str::from_utf8(&self.body).map_err(|e| format!("the message is not UTF-8: {e}").into())
    }

    /// The body read as JSON into `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, HandlerError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| format!("the message is not the expected JSON: {e}").into())
    }
}

/// Where a queue-triggered function listens, as function.json's `queueTrigger` binding says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueTrigger {
    /// The queue's name (3 to 63 lower-case letters, digits and single dashes); `%Setting%`
    /// takes it from an app setting.
    pub queue: String,
    /// The app setting with the storage connection string; empty means `AzureWebJobsStorage`.
    pub connection: String,
}

/// The future of one queue handler call.
pub type QueueHandlerFuture = Pin<Box<dyn Future<Output = Result<(), HandlerError>> + Send>>;

/// A queue-triggered function: what the host hands each message to. A message is deleted only
/// once the handler returned `Ok`; an error (or a crash) lets it be tried again, up to
/// `maxDequeueCount` times, after which it moves to `{queue}-poison`.
pub trait QueueHandler: Send + Sync + 'static {
    /// The function's name (unique in the app, ignoring case).
    fn name(&self) -> &str;

    /// Its trigger.
    fn trigger(&self) -> QueueTrigger;

    /// Handles one message. `client` manages orchestrations and sends queue messages.
    fn call(&self, item: QueueItem, client: DurableHttpClient) -> QueueHandlerFuture;

    /// Whether the function is complete; an error stops the app from starting.
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
}

/// What a queue handler closure may return: nothing, or a result whose error fails the run.
pub trait IntoTriggerResult {
    /// Converts into the handler's result.
    fn into_trigger_result(self) -> Result<(), HandlerError>;
}

impl IntoTriggerResult for () {
    fn into_trigger_result(self) -> Result<(), HandlerError> {
        Ok(())
    }
}

impl<E: Into<HandlerError>> IntoTriggerResult for Result<(), E> {
    fn into_trigger_result(self) -> Result<(), HandlerError> {
        self.map_err(Into::into)
    }
}

type BoxedQueueHandler =
    Arc<dyn Fn(QueueItem, DurableHttpClient) -> QueueHandlerFuture + Send + Sync>;

/// A queue-triggered function built from a closure.
///
/// ```
/// use durafn_host::QueueFunction;
///
/// let submit = QueueFunction::new("submit-from-queue")
///     .queue("jobs")
///     .handler(|item, client| async move {
///         let job: serde_json::Value = item.json()?;
///         client.start_new("orchestrator-function", None, &job).await?;
///         Ok::<_, durafn_host::HandlerError>(())
///     });
/// # let _ = submit;
/// ```
#[derive(Clone)]
pub struct QueueFunction {
    name: String,
    trigger: QueueTrigger,
    handler: Option<BoxedQueueHandler>,
}

impl std::fmt::Debug for QueueFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueFunction")
            .field("name", &self.name)
            .field("trigger", &self.trigger)
            .finish()
    }
}

impl QueueFunction {
    /// A function with no queue and no handler yet (both are required).
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            trigger: QueueTrigger::default(),
            handler: None,
        }
    }

    /// The queue it listens on (`%Setting%` allowed).
    pub fn queue(mut self, queue: impl Into<String>) -> Self {
        self.trigger.queue = queue.into();
        self
    }

    /// The app setting with the connection string (default `AzureWebJobsStorage`).
    pub fn connection(mut self, setting: impl Into<String>) -> Self {
        self.trigger.connection = setting.into();
        self
    }

    /// Sets the handler: an async closure over the message and a durable client, returning
    /// `()` or a `Result<(), E>`.
    pub fn handler<F, Fut, R>(mut self, f: F) -> Self
    where
        F: Fn(QueueItem, DurableHttpClient) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoTriggerResult + 'static,
    {
        self.handler = Some(Arc::new(move |item, client| {
            let fut = f(item, client);
            Box::pin(async move { fut.await.into_trigger_result() })
        }));
        self
    }
}

impl QueueHandler for QueueFunction {
    fn name(&self) -> &str {
        &self.name
    }

    fn trigger(&self) -> QueueTrigger {
        self.trigger.clone()
    }

    fn call(&self, item: QueueItem, client: DurableHttpClient) -> QueueHandlerFuture {
        match &self.handler {
            Some(h) => h(item, client),
            None => Box::pin(async { Err("the queue function has no handler".into()) }),
        }
    }

    fn validate(&self) -> Result<(), String> {
        match self.handler {
            Some(_) => Ok(()),
            None => Err(format!("queue function '{}' has no handler", self.name)),
        }
    }
}
