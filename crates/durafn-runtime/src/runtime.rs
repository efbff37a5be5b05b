//! The runtime: starts the dispatchers over a task hub and stops them gracefully.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use durafn_core::{AppData, InstanceId, Registry};
use durafn_store::{FetchRequest, Store};
use tokio::sync::{Notify, broadcast, watch};
use tokio::task::JoinHandle;

use crate::cache::InstanceCache;
use crate::client::DurableClient;
use crate::clock::{Clock, SystemClock};
use crate::ids::new_id;
use crate::metrics::Metrics;
use crate::options::RuntimeOptions;
use crate::turn::{TurnContext, prepare};

/// What every dispatcher and client of one runtime shares.
pub(crate) struct Shared {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) registry: Arc<Registry>,
    pub(crate) app_data: AppData,
    pub(crate) options: RuntimeOptions,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) owner: String,
    pub(crate) orchestration_work: Notify,
    pub(crate) activity_work: Notify,
    pub(crate) finished: broadcast::Sender<InstanceId>,
    pub(crate) metrics: Metrics,
    pub(crate) cache: std::sync::Mutex<InstanceCache>,
    pub(crate) shutdown: watch::Sender<bool>,
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

    /// Sleeps until woken, until `next` (a timer), or for `idle`, whichever is first; returns
    /// early on shutdown.
    pub(crate) async fn idle(&self, notify: &Notify, next: Option<DateTime<Utc>>, idle: Duration) {
        let mut wait = idle;
        if let Some(next) = next {
            let until = (next - self.clock.now()).to_std().unwrap_or(Duration::ZERO);
            wait = wait.min(until);
        }
        let mut stop = self.shutdown.subscribe();
        tokio::select! {
            _ = notify.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|s| *s) => {}
        }
    }
}

/// Builds and starts a [`Runtime`].
pub struct RuntimeBuilder {
    store: Arc<dyn Store>,
    registry: Arc<Registry>,
    options: RuntimeOptions,
    clock: Arc<dyn Clock>,
    app_data: AppData,
}

impl RuntimeBuilder {
    /// Sets the options.
    pub fn options(mut self, options: RuntimeOptions) -> Self {
        self.options = options;
        self
    }

    /// Replaces the clock (tests).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Shared state activities read with `ActivityContext::data`.
    pub fn app_data(mut self, data: AppData) -> Self {
        self.app_data = data;
        self
    }

    /// Starts the dispatchers on the current tokio runtime.
    pub fn start(self) -> Runtime {
        let owner = if self.options.host_id.is_empty() {
            format!("host-{}", &new_id()[..12])
        } else {
            self.options.host_id.clone()
        };
        let (shutdown, _) = watch::channel(false);
        let (finished, _) = broadcast::channel(4096);
        let shared = Arc::new(Shared {
            cache: std::sync::Mutex::new(InstanceCache::new(self.options.instance_cache_size)),
            store: self.store,
            registry: self.registry,
            app_data: self.app_data,
            options: self.options,
            clock: self.clock,
            owner,
            orchestration_work: Notify::new(),
            activity_work: Notify::new(),
            finished,
            metrics: Metrics::default(),
            shutdown,
        });
        // Work from other hosts wakes the dispatchers too, where the store can tell (the
        // waker holds the runtime weakly, so a dropped runtime is not kept alive by its store).
        let weak = Arc::downgrade(&shared);
        shared.store.watch_work(Arc::new(move |kind| {
            if let Some(shared) = weak.upgrade() {
                match kind {
                    durafn_store::WorkKind::Orchestrations => {
                        shared.orchestration_work.notify_one()
                    }
                    durafn_store::WorkKind::Activities => shared.activity_work.notify_one(),
                }
            }
        }));
        let mut tasks = Vec::new();
        if shared.options.run_orchestrations {
            for _ in 0..shared.options.orchestration_dispatchers.max(1) {
                tasks.push(tokio::spawn(orchestration_loop(shared.clone())));
            }
        }
        if shared.options.run_activities {
            tasks.push(tokio::spawn(crate::activities::activity_loop(
                shared.clone(),
            )));
        }
        Runtime { shared, tasks }
    }
}

/// A running set of dispatchers over one task hub.
pub struct Runtime {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("host", &self.shared.owner)
            .finish()
    }
}

impl Runtime {
    /// A runtime over `store` running the functions of `registry`.
    pub fn builder(store: Arc<dyn Store>, registry: Arc<Registry>) -> RuntimeBuilder {
        RuntimeBuilder {
            store,
            registry,
            options: RuntimeOptions::default(),
            clock: Arc::new(SystemClock),
            app_data: AppData::default(),
        }
    }

    /// A client bound to this runtime (its starts and events wake the dispatchers at once).
    pub fn client(&self) -> DurableClient {
        DurableClient::attached(self.shared.clone())
    }

    /// This host's id in leases.
    pub fn host_id(&self) -> &str {
        &self.shared.owner
    }

    /// The runtime's counters.
    pub fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    /// Live orchestrations in the instance cache.
    pub fn cached_instances(&self) -> usize {
        self.shared.cache.lock().map(|c| c.len()).unwrap_or(0)
    }

    /// Stops fetching work, lets in-flight turns commit and running activities finish (up to the
    /// drain timeout; then their leases are abandoned for another host), and returns.
    pub async fn shutdown(self) {
        // `send` would do nothing while no dispatcher happens to be subscribed; the flag must stick.
        self.shared.shutdown.send_replace(true);
        self.shared.orchestration_work.notify_waiters();
        self.shared.activity_work.notify_waiters();
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

async fn orchestration_loop(shared: Arc<Shared>) {
    let mut idle = Duration::from_millis(10);
    while !shared.stopping() {
        let request = shared.fetch_request(shared.options.max_concurrent_orchestrations.max(1));
        let items = match shared.store.fetch_orchestration_work(request).await {
            Ok(items) => items,
            Err(e) => {
                tracing::warn!(error = %e, "fetching orchestration work failed; retrying");
                shared.idle(&shared.orchestration_work, None, idle).await;
                idle = (idle * 2).min(shared.options.max_poll_interval);
                continue;
            }
        };
        if items.is_empty() {
            let next = shared
                .store
                .next_visible_at(shared.clock.now())
                .await
                .ok()
                .flatten();
            shared.idle(&shared.orchestration_work, next, idle).await;
            idle = (idle * 2).min(shared.options.max_poll_interval);
            continue;
        }
        idle = Duration::from_millis(10);
        run_batch(&shared, items).await;
    }
}

async fn run_batch(shared: &Arc<Shared>, items: Vec<durafn_store::OrchestrationWorkItem>) {
    let now = shared.clock.now();
    let mut prepared = Vec::with_capacity(items.len());
    for item in items {
        let instance_id = item.instance_id.clone();
        let lock = item.lock.clone();
        let mut cx = TurnContext {
            store: &shared.store,
            registry: &shared.registry,
            cache: &shared.cache,
            metrics: &shared.metrics,
            max_deliveries: shared.options.max_deliveries,
            now,
        };
        match prepare(&mut cx, item).await {
            Ok(turn) => prepared.push(turn),
            Err(e) => {
                tracing::warn!(instance_id = %instance_id, error = %e, "preparing a turn failed; abandoning");
                let _ = shared
                    .store
                    .abandon_orchestration(&instance_id, &lock, None)
                    .await;
            }
        }
    }
    let commits = prepared.iter().map(|p| p.commit.clone()).collect();
    let results = shared.store.commit_turns(commits).await;
    let mut wake_activities = false;
    let mut wake_orchestrations = false;
    match results {
        Ok(results) => {
            for (turn, result) in prepared.into_iter().zip(results) {
                match result {
                    Ok(()) => {
                        Metrics::add(&shared.metrics.turns, 1);
                        wake_activities |= turn.scheduled_activities;
                        wake_orchestrations |= turn.sent_messages;
                        if turn.finished {
                            let _ = shared.finished.send(turn.commit.instance_id.clone());
                        }
                        if let Some((execution_id, executor)) = turn.keep {
                            shared
                                .cache
                                .lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner)
                                .put(turn.commit.instance_id, execution_id, executor);
                        }
                    }
                    Err(e) => {
                        Metrics::add(&shared.metrics.turns_failed, 1);
                        tracing::warn!(instance_id = %turn.commit.instance_id, error = %e, "a turn did not commit");
                    }
                }
            }
        }
        Err(e) => {
            Metrics::add(&shared.metrics.turns_failed, prepared.len() as u64);
            tracing::warn!(error = %e, "committing a batch of turns failed; the work will be retried");
        }
    }
    if wake_activities {
        shared.activity_work.notify_one();
    }
    if wake_orchestrations {
        shared.orchestration_work.notify_one();
    }
}
