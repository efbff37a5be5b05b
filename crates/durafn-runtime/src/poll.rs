//! The fetch, idle and back-off step every dispatcher loops over.
//!
//! A dispatcher fetches work; when there is none it sleeps until it is woken (work made in this
//! process, or a store's notification of work from another host), until the next durable timer
//! is due, or for its idle interval, whichever comes first. The idle interval doubles while
//! nothing comes (up to `max_poll_interval`), so a quiet host polls rarely, and resets once
//! work arrives. A failed fetch backs off the same way.
//!
//! A fetch that brought fewer items than it asked for drained what was ready, so the next one
//! waits for a wake-up first instead of going to the store at once: anything made ready since
//! then wakes the dispatcher (work this process made, the store's notification of another
//! host's, a timer through `next_visible_at`), and the idle interval bounds the wait where none
//! does. Without this, every step of a sequential orchestration cost each dispatcher an extra
//! fetch that found nothing (on SQLite a write transaction, on PostgreSQL a round trip).

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use durafn_store::StoreError;
use tokio::sync::Notify;

use crate::shared::Shared;

/// The first idle interval, and the one after work arrived.
const FIRST_IDLE: Duration = Duration::from_millis(10);

/// How long a dispatcher idles next.
#[derive(Debug)]
pub(crate) struct Backoff {
    idle: Duration,
    max: Duration,
    /// The last fetch took everything that was ready (it brought fewer items than asked for).
    drained: bool,
}

impl Backoff {
    pub(crate) fn new(max: Duration) -> Self {
        Self {
            idle: FIRST_IDLE,
            max,
            drained: false,
        }
    }

    fn grow(&mut self) {
        self.idle = (self.idle * 2).min(self.max.max(FIRST_IDLE));
    }
}

/// Runs the fetch `fetch` makes (made after any wait, so that its `now` is current; it answers
/// with the items and how many it asked for); returns its work, or `None` after idling (no
/// work, or the fetch failed: `what` names the work in the log). `notify` is the dispatcher's
/// wake-up. After a fetch that drained the ready work, waits for a wake-up first.
pub(crate) async fn fetch_or_idle<T, F>(
    shared: &Shared,
    notify: &Notify,
    backoff: &mut Backoff,
    what: &str,
    fetch: impl FnOnce() -> F,
) -> Option<Vec<T>>
where
    F: Future<Output = Result<(Vec<T>, usize), StoreError>>,
{
    if std::mem::take(&mut backoff.drained) {
        idle_until_due(shared, notify, backoff.idle).await;
    }
    match fetch().await {
        Ok((items, asked)) if !items.is_empty() => {
            backoff.idle = FIRST_IDLE;
            backoff.drained = items.len() < asked;
            return Some(items);
        }
        Ok(_) => idle_until_due(shared, notify, backoff.idle).await,
        Err(e) => {
            tracing::warn!(error = %e, "fetching {what} work failed; retrying");
            idle(shared, notify, None, backoff.idle).await;
        }
    }
    backoff.grow();
    None
}

/// Idles until woken, until the next message or work item becomes visible, or for `wait`.
async fn idle_until_due(shared: &Shared, notify: &Notify, wait: Duration) {
    let next = shared
        .store
        .next_visible_at(shared.clock.now())
        .await
        .ok()
        .flatten();
    idle(shared, notify, next, wait).await;
}

/// Sleeps until woken, until `next` (a timer), or for `idle`, whichever is first; returns early
/// on shutdown.
async fn idle(shared: &Shared, notify: &Notify, next: Option<DateTime<Utc>>, idle: Duration) {
    let mut wait = idle;
    if let Some(next) = next {
        let until = (next - shared.clock.now())
            .to_std()
            .unwrap_or(Duration::ZERO);
        wait = wait.min(until);
    }
    // Biased: the branches are tried in order, not at random, so a run under paused time and
    // seeded ids makes the same choices every time.
    tokio::select! {
        biased;
        _ = shared.stopped() => {}
        _ = notify.notified() => {}
        _ = tokio::time::sleep(wait) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_idle_interval_doubles_up_to_the_limit() {
        let mut b = Backoff::new(Duration::from_millis(50));
        let mut seen = vec![b.idle];
        for _ in 0..4 {
            b.grow();
            seen.push(b.idle);
        }
        let ms: Vec<u128> = seen.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, vec![10, 20, 40, 50, 50]);
    }
}
