//! What every dispatcher and client of one runtime shares.

use std::sync::Arc;

use chrono::TimeDelta;
use durafn_core::{AppData, Registry};
use durafn_store::{FetchRequest, Store};
use tokio::sync::{Notify, watch};

use crate::cache::InstanceCache;
use crate::clock::Clock;
use crate::finishes::Finishes;
use crate::handoff::HandOff;
use crate::http_activity::HttpSender;
use crate::ids::IdGen;
use crate::metrics::Metrics;
use crate::options::RuntimeOptions;
use crate::spans::SpanSink;

/// The task hub, the functions, the injected clock and ids, and the wake-ups between the
/// dispatchers and the clients of one runtime.
pub(crate) struct Shared {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) registry: Arc<Registry>,
    pub(crate) app_data: AppData,
    pub(crate) options: RuntimeOptions,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) ids: Arc<dyn IdGen>,
    pub(crate) owner: String,
    pub(crate) orchestration_work: Notify,
    pub(crate) activity_work: Notify,
    /// Who waits for which instance to finish; told each finish with the row its last commit
    /// left.
    pub(crate) finishes: Finishes,
    /// Bumped after every batch of turns that committed something, so that waiters for a status
    /// look again (see `DurableClient::wait_for_status`).
    pub(crate) turns: watch::Sender<u64>,
    pub(crate) metrics: Metrics,
    pub(crate) cache: std::sync::Mutex<InstanceCache>,
    pub(crate) shutdown: watch::Sender<bool>,
    /// Where finished spans go; `None` when tracing is off (nothing is collected).
    pub(crate) spans: Option<Arc<dyn SpanSink>>,
    /// Sends the requests of `ctx.call_http`.
    pub(crate) http: Arc<dyn HttpSender>,
    /// Activities this host's turns scheduled and claimed, on their way to its activity
    /// dispatcher, and that dispatcher's slots.
    pub(crate) handoff: HandOff,
}

impl Shared {
    pub(crate) fn lease(&self) -> TimeDelta {
        TimeDelta::from_std(self.options.lease).unwrap_or(TimeDelta::seconds(60))
    }

    pub(crate) fn fetch_request(&self, max_items: usize) -> FetchRequest {
        FetchRequest {
            owner: self.owner.clone(),
            max_items,
            lease: self.lease(),
            now: self.clock.now(),
        }
    }

    pub(crate) fn stopping(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// The instance cache (a poisoned lock is safe to reuse: entries are whole executors).
    pub(crate) fn cache(&self) -> std::sync::MutexGuard<'_, InstanceCache> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Resolves once shutdown was asked for.
    pub(crate) async fn stopped(&self) {
        let mut stop = self.shutdown.subscribe();
        let _ = stop.wait_for(|s| *s).await;
    }
}
