//! The polling loop of one queue-triggered function on one host.
//!
//! As the Functions host's queue listener: a poll takes up to `batchSize` messages and runs
//! them in parallel; the next poll is made once no more than `newBatchThreshold` are still
//! running. An empty poll doubles the wait before the next one, from 100 ms up to
//! `maxPollingInterval`; a message found (or one sent from this host) resets it.
//!
//! A received message stays invisible to other hosts for the host's lease
//! (`DURAFN_LEASE_SECONDS`, default 60 s), renewed at half-time while the function runs, so
//! a host that dies holding messages lets them reappear once the lease has passed. Success
//! deletes the message; a failure makes it visible again after `visibilityTimeout`, unless it
//! has been tried `maxDequeueCount` times: then it moves to `{queue}-poison`, as does a
//! message whose text does not decode.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use durafn_azure::queue::{Queue, QueueMessage, codes};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use crate::functions::durable_http::DurableHttpClient;
use crate::queues::function::{QueueHandler, QueueItem};
use crate::queues::options::{MIN_POLLING_INTERVAL, QueueOptions};

/// Makes the client handed to each run.
pub(crate) type ClientFactory = Arc<dyn Fn() -> DurableHttpClient + Send + Sync>;

/// One queue function's listener.
#[derive(Clone)]
pub(crate) struct QueueListener {
    pub(crate) function: String,
    pub(crate) queue: Queue,
    pub(crate) handler: Arc<dyn QueueHandler>,
    pub(crate) options: QueueOptions,
    /// How long a received message stays hidden while its function runs (renewed).
    pub(crate) lease: Duration,
    /// The longest a run may take (`functionTimeout`).
    pub(crate) timeout: Option<Duration>,
    pub(crate) client: ClientFactory,
    /// Woken when this host sends to the queue, so the message is picked up at once.
    pub(crate) wake: Arc<Notify>,
}

impl QueueListener {
    /// Polls until `stop` turns true, then waits for the runs in flight.
    pub(crate) async fn run(self, mut stop: watch::Receiver<bool>) {
        let this = Arc::new(self);
        if let Err(e) = this.queue.create().await {
            tracing::warn!(function = %this.function, queue = %this.queue.name(), error = %e, "could not create the queue; polling anyway");
        }
        let lease = this.lease.max(Duration::from_secs(1));
        let max_wait = this.options.max_polling_interval.max(MIN_POLLING_INTERVAL);
        let mut wait = MIN_POLLING_INTERVAL;
        let mut runs = JoinSet::new();
        loop {
            while runs.try_join_next().is_some() {}
            while runs.len() > this.options.new_batch_threshold as usize {
                tokio::select! {
                    biased;
                    _ = stop.wait_for(|s| *s) => break,
                    _ = runs.join_next() => {}
                }
            }
            if *stop.borrow() {
                break;
            }
            match this.queue.receive(this.options.batch_size, lease).await {
                Ok(messages) if !messages.is_empty() => {
                    wait = MIN_POLLING_INTERVAL;
                    for message in messages {
                        runs.spawn(this.clone().process(message, lease));
                    }
                    continue;
                }
                Ok(_) => {}
                Err(e) if e.has_code(codes::QUEUE_NOT_FOUND) => {}
                Err(e) => {
                    tracing::warn!(function = %this.function, queue = %this.queue.name(), error = %e, "polling the queue failed; retrying");
                }
            }
            tokio::select! {
                biased;
                _ = stop.wait_for(|s| *s) => break,
                _ = this.wake.notified() => wait = MIN_POLLING_INTERVAL,
                _ = tokio::time::sleep(wait) => wait = (wait * 2).min(max_wait),
            }
        }
        while runs.join_next().await.is_some() {}
    }

    /// Runs the function for one message and settles the message by the outcome.
    async fn process(self: Arc<Self>, message: QueueMessage, lease: Duration) {
        let queue = &self.queue;
        let body = match message.body() {
            Ok(body) => body.clone(),
            Err(e) => {
                tracing::warn!(function = %self.function, queue = %queue.name(), id = %message.id, reason = %e.reason, "the message does not decode as {}; moving it to the poison queue", queue.encoding());
                self.poison(&message).await;
                return;
            }
        };
        if message.dequeue_count > self.options.max_dequeue_count {
            // Received more often than allowed without a verdict (hosts died holding it).
            self.poison(&message).await;
            return;
        }
        let receipt = Arc::new(Mutex::new(message.pop_receipt.clone()));
        let item = QueueItem {
            queue: queue.name().to_string(),
            id: message.id.clone(),
            dequeue_count: message.dequeue_count,
            insertion_time: message.insertion_time,
            expiration_time: message.expiration_time,
            next_visible_time: message.next_visible_time,
            pop_receipt: message.pop_receipt.clone(),
            body,
        };
        let run = self.handler.call(item, (self.client)());
        let timeout = self.timeout;
        let run = tokio::spawn(async move {
            match timeout {
                Some(limit) => tokio::time::timeout(limit, run).await.unwrap_or_else(|_| {
                    Err(format!("the function ran longer than functionTimeout ({limit:?})").into())
                }),
                None => run.await,
            }
        });
        let renew = async {
            loop {
                tokio::time::sleep(lease / 2).await;
                let current = lock(&receipt);
                match queue
                    .update_message(&message.id, &current, lease, None)
                    .await
                {
                    Ok(updated) => {
                        *receipt.lock().unwrap_or_else(|p| p.into_inner()) = updated.pop_receipt
                    }
                    Err(e) => {
                        tracing::warn!(function = %self.function, id = %message.id, error = %e, "could not keep the message hidden; another host may run it too");
                        std::future::pending::<()>().await;
                    }
                }
            }
        };
        let outcome = tokio::select! {
            r = run => r.unwrap_or_else(|_| Err("the function panicked".into())),
            () = renew => unreachable!("renewing never ends"),
        };
        let mut settled = message.clone();
        settled.pop_receipt = lock(&receipt);
        match outcome {
            Ok(()) => {
                if let Err(e) = queue
                    .delete_message(&settled.id, &settled.pop_receipt)
                    .await
                {
                    tracing::warn!(function = %self.function, id = %settled.id, error = %e, "the function succeeded but the message could not be deleted; it will run again");
                }
            }
            Err(e) if settled.dequeue_count >= self.options.max_dequeue_count => {
                tracing::warn!(function = %self.function, id = %settled.id, dequeue_count = settled.dequeue_count, error = %e, "the function failed for the last time; moving the message to the poison queue");
                self.poison(&settled).await;
            }
            Err(e) => {
                tracing::warn!(function = %self.function, id = %settled.id, dequeue_count = settled.dequeue_count, error = %e, "the function failed; the message will be tried again");
                let back = self.options.visibility_timeout;
                if let Err(e) = queue
                    .update_message(&settled.id, &settled.pop_receipt, back, None)
                    .await
                {
                    tracing::warn!(function = %self.function, id = %settled.id, error = %e, "could not release the message; it reappears when its lease ends");
                }
            }
        }
    }

    async fn poison(&self, message: &QueueMessage) {
        match self.queue.move_to_poison(message).await {
            Ok(_) => {
                tracing::warn!(function = %self.function, id = %message.id, "moved to {}-poison", self.queue.name())
            }
            Err(e) => {
                tracing::warn!(function = %self.function, id = %message.id, error = %e, "could not move the message to the poison queue")
            }
        }
    }
}

fn lock(receipt: &Mutex<String>) -> String {
    receipt.lock().unwrap_or_else(|p| p.into_inner()).clone()
}
