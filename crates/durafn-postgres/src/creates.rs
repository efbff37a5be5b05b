//! Group commit of instance creations.
//!
//! Starts arrive one call at a time (an HTTP request, a client loop), and a transaction per
//! start would cost a round trip pair and a commit (a disk flush) each. Instead, every
//! `create_instance` call queues its request; a background task takes everything queued (up to
//! [`MAX_BATCH`]) and creates it in one transaction, each request still succeeding or failing
//! on its own. Under load, the requests that arrive while a batch commits form the next one. At
//! most [`IN_FLIGHT`] batches run at once.
//!
//! A request whose caller stopped waiting may still be carried out, as with any call that was
//! already sent to the database.

use std::sync::Arc;

use durafn_store::{InstanceClaim, NewInstance, OrchestrationWorkItem, StoreError};
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::instances::create_many;
use crate::shared::Shared;

/// The most creations in one transaction.
pub(crate) const MAX_BATCH: usize = 512;

/// The most batches committing at once.
pub(crate) const IN_FLIGHT: usize = 2;

/// A queued creation, and whether the caller claims the new instance's first turn.
pub(crate) struct CreateRequest {
    pub(crate) instance: NewInstance,
    pub(crate) claim: Option<InstanceClaim>,
    pub(crate) reply: oneshot::Sender<Result<Option<OrchestrationWorkItem>, StoreError>>,
}

/// The error a caller sees when the store stopped before answering.
pub(crate) fn closed() -> StoreError {
    StoreError::backend(
        "the PostgreSQL task hub was closed before the start was committed",
        false,
    )
}

/// Takes queued creations in batches and commits them.
pub(crate) async fn create_loop(
    shared: Arc<Shared>,
    mut queue: mpsc::UnboundedReceiver<CreateRequest>,
) {
    let permits = Arc::new(Semaphore::new(IN_FLIGHT));
    // Requests held back because their id was already in the batch being formed.
    let mut held: Vec<CreateRequest> = Vec::new();
    loop {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let mut batch: Vec<CreateRequest> = Vec::new();
        let mut ids = std::collections::HashSet::new();
        let mut later = Vec::new();
        for r in held.drain(..) {
            if batch.len() < MAX_BATCH && ids.insert(r.instance.instance_id.clone()) {
                batch.push(r);
            } else {
                later.push(r);
            }
        }
        held = later;
        if batch.is_empty() {
            match queue.recv().await {
                Some(r) => {
                    ids.insert(r.instance.instance_id.clone());
                    batch.push(r);
                }
                None => return,
            }
        }
        while batch.len() < MAX_BATCH {
            let Ok(r) = queue.try_recv() else { break };
            // The same id twice: like sequential creates, the second waits for the first.
            if ids.insert(r.instance.instance_id.clone()) {
                batch.push(r);
            } else {
                held.push(r);
            }
        }
        let shared = shared.clone();
        tokio::spawn(async move {
            commit_batch(&shared, batch).await;
            drop(permit);
        });
    }
}

async fn commit_batch(shared: &Shared, batch: Vec<CreateRequest>) {
    let requests: Vec<(&NewInstance, Option<&InstanceClaim>)> = batch
        .iter()
        .map(|r| (&r.instance, r.claim.as_ref()))
        .collect();
    let outcome = match shared.pool.get().await {
        Ok(mut conn) => {
            let outcome = create_many(&mut conn, &shared.tokens, &requests).await;
            conn.check(&outcome);
            outcome
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok((results, wake)) => {
            shared.notifier.wake(wake);
            for (request, result) in batch.into_iter().zip(results) {
                // A caller that stopped waiting is not an error.
                let _ = request.reply.send(result);
            }
        }
        Err(e) => {
            for request in batch {
                let _ = request.reply.send(Err(e.clone()));
            }
        }
    }
}
