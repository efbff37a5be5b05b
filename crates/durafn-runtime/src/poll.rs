//! The fetch, idle and back-off step every dispatcher loops over.
//!
//! A dispatcher fetches work; when there is none it sleeps until it is woken (work made in this
//! process, or a store's notification of work from another host), until the next durable timer
//! is due, or for its idle interval, whichever comes first. The idle interval doubles while
//! nothing comes (up to `max_poll_interval`), so a quiet host polls rarely, and resets once
//! work arrives. A failed fetch backs off the same way.

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
}

impl Backoff {
    pub(crate) fn new(max: Duration) -> Self {
        Self {
            idle: FIRST_IDLE,
            max,
        }
    }

    fn grow(&mut self) {
        self.idle = (self.idle * 2).min(self.max.max(FIRST_IDLE));
    }
}

/// Runs `fetch`; returns its work, or `None` after idling (no work, or the fetch failed: `what`
/// names the work in the log). `notify` is the dispatcher's wake-up.
pub(crate) async fn fetch_or_idle<T>(
    shared: &Shared,
    notify: &Notify,
    backoff: &mut Backoff,
    what: &str,
    fetch: impl Future<Output = Result<Vec<T>, StoreError>>,
) -> Option<Vec<T>> {
    match fetch.await {
        Ok(items) if !items.is_empty() => {
            backoff.idle = FIRST_IDLE;
            return Some(items);
        }
        Ok(_) => {
            let next = shared
                .store
                .next_visible_at(shared.clock.now())
                .await
                .ok()
                .flatten();
            idle(shared, notify, next, backoff.idle).await;
        }
        Err(e) => {
            tracing::warn!(error = %e, "fetching {what} work failed; retrying");
            idle(shared, notify, None, backoff.idle).await;
        }
    }
    backoff.grow();
    None
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
