//! Waiters for instances to finish, told by the turn that finishes them.
//!
//! `DurableClient::wait_for_completion` on a host that runs orchestrations hears of the
//! instances this host finishes at once, with the final row, instead of reading the row back.
//! Each waiter registers for its instance alone, so a finish wakes only the waiters of that
//! instance: with a few hundred callers waiting at once (a loaded HTTP front end), waking every
//! waiter on every finish, as one broadcast channel did, cost hundreds of wake-ups per finished
//! instance, and every waiter that fell behind the channel read its row again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use durafn_core::InstanceId;
use durafn_store::InstanceRecord;
use tokio::sync::oneshot;

type Waiters = HashMap<InstanceId, Vec<oneshot::Sender<Arc<InstanceRecord>>>>;

/// The instances waited for, and who waits.
#[derive(Debug, Default)]
pub(crate) struct Finishes {
    waiters: Arc<Mutex<Waiters>>,
}

impl Finishes {
    /// Registers a waiter for `id`; it hears of the next finish of `id` in this process.
    pub(crate) fn watch(&self, id: &InstanceId) -> FinishWatch {
        let (tx, rx) = oneshot::channel();
        lock(&self.waiters).entry(id.clone()).or_default().push(tx);
        FinishWatch {
            id: id.clone(),
            rx: Some(rx),
            waiters: self.waiters.clone(),
        }
    }

    /// Tells the waiters of the record's instance that it finished with this row.
    pub(crate) fn announce(&self, record: Arc<InstanceRecord>) {
        let waiting = lock(&self.waiters).remove(&record.instance_id);
        for tx in waiting.into_iter().flatten() {
            let _ = tx.send(record.clone());
        }
    }
}

fn lock(waiters: &Mutex<Waiters>) -> MutexGuard<'_, Waiters> {
    // A poisoned lock holds only senders, which are safe to reuse.
    waiters.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One waiter's registration; dropping it (a caller that gave up) unregisters it.
#[derive(Debug)]
pub(crate) struct FinishWatch {
    id: InstanceId,
    rx: Option<oneshot::Receiver<Arc<InstanceRecord>>>,
    waiters: Arc<Mutex<Waiters>>,
}

impl FinishWatch {
    /// The final row once the instance finished in this process; `None` if it did not within
    /// `wait` (it may have finished elsewhere: the caller reads the row then).
    pub(crate) async fn finished_within(
        &mut self,
        wait: std::time::Duration,
    ) -> Option<Arc<InstanceRecord>> {
        // Once nothing more can be announced, the wait is a plain poll interval.
        let Some(rx) = self.rx.as_mut() else {
            tokio::time::sleep(wait).await;
            return None;
        };
        match tokio::time::timeout(wait, rx).await {
            Ok(Ok(record)) => {
                self.rx = None;
                Some(record)
            }
            // The sender was dropped unsent: nothing more will come.
            Ok(Err(_)) => {
                self.rx = None;
                None
            }
            Err(_) => None,
        }
    }
}

impl Drop for FinishWatch {
    fn drop(&mut self) {
        // Only a waiter still registered leaves a sender behind.
        let Some(rx) = self.rx.take() else { return };
        drop(rx);
        let mut waiters = lock(&self.waiters);
        if let Some(list) = waiters.get_mut(&self.id) {
            list.retain(|tx| !tx.is_closed());
            if list.is_empty() {
                waiters.remove(&self.id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn record(id: &str) -> Arc<InstanceRecord> {
        let at = chrono::DateTime::UNIX_EPOCH;
        Arc::new(InstanceRecord {
            instance_id: InstanceId::parse(id).expect("id"),
            name: "hello".into(),
            execution_id: durafn_core::ExecutionId::new("e"),
            status: durafn_core::RuntimeStatus::Completed,
            input: durafn_core::Payload::null(),
            output: None,
            failure: None,
            custom_status: None,
            created_at: at,
            last_updated_at: at,
            parent: None,
            history_len: 3,
            version: None,
            trace_context: None,
        })
    }

    #[tokio::test]
    async fn a_finish_reaches_the_waiters_of_its_instance_only() {
        let finishes = Finishes::default();
        let id = InstanceId::parse("a").expect("id");
        let other = InstanceId::parse("b").expect("id");
        let mut first = finishes.watch(&id);
        let mut second = finishes.watch(&id);
        let mut elsewhere = finishes.watch(&other);
        finishes.announce(record("a"));
        let short = Duration::from_millis(1);
        assert_eq!(
            first
                .finished_within(short)
                .await
                .map(|r| r.instance_id.clone()),
            Some(id.clone())
        );
        assert!(second.finished_within(short).await.is_some());
        assert!(elsewhere.finished_within(short).await.is_none());
        assert_eq!(lock(&finishes.waiters).len(), 1, "b still waited for");
        drop(elsewhere);
        assert!(
            lock(&finishes.waiters).is_empty(),
            "a waiter that gave up is gone"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiter_told_nothing_more_can_come_waits_its_interval() {
        let finishes = Finishes::default();
        let mut watch = finishes.watch(&InstanceId::parse("a").expect("id"));
        lock(&finishes.waiters).clear();
        let wait = Duration::from_millis(100);
        let before = tokio::time::Instant::now();
        assert!(watch.finished_within(wait).await.is_none(), "nothing comes");
        assert!(before.elapsed() < wait, "a closed sender is seen at once");
        let before = tokio::time::Instant::now();
        assert!(watch.finished_within(wait).await.is_none());
        assert_eq!(before.elapsed(), wait, "the next look waits, not spins");
    }
}
