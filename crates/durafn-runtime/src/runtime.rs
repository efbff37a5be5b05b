//! The runtime: starts the dispatchers over a task hub and stops them gracefully.

use std::sync::Arc;

use durafn_core::{AppData, Registry};
use durafn_store::Store;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::activities::activity_loop;
use crate::cache::InstanceCache;
use crate::client::DurableClient;
use crate::clock::{Clock, SystemClock};
use crate::finishes::Finishes;
use crate::handoff::HandOff;
use crate::http_activity::{HttpSender, TcpHttpSender};
use crate::ids::{IdGen, RandomIds};
use crate::metrics::Metrics;
use crate::options::RuntimeOptions;
use crate::orchestrations::orchestration_loop;
use crate::shared::Shared;
use crate::spans::SpanSink;

/// Builds and starts a [`Runtime`].
pub struct RuntimeBuilder {
    store: Arc<dyn Store>,
    registry: Arc<Registry>,
    options: RuntimeOptions,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGen>,
    app_data: AppData,
    spans: Option<Arc<dyn SpanSink>>,
    http: Arc<dyn HttpSender>,
}

impl RuntimeBuilder {
    /// Turns distributed tracing on: the spans of orchestrations, activities, timers,
    /// sub-orchestrations, events and client starts go to `sink` once the work is durable.
    /// Without a sink nothing is collected.
    pub fn span_sink(mut self, sink: Arc<dyn SpanSink>) -> Self {
        self.spans = Some(sink);
        self
    }

    /// Sets the options.
    pub fn options(mut self, options: RuntimeOptions) -> Self {
        self.options = options;
        self
    }

    /// Replaces the clock (tests, simulations: see [`ManualClock`](crate::ManualClock)).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces the source of the ids the runtime makes (execution ids, instance ids of starts
    /// without one, the host id); with [`SeededIds`](crate::SeededIds) and a manual clock a run
    /// is reproducible.
    pub fn ids(mut self, ids: Arc<dyn IdGen>) -> Self {
        self.ids = ids;
        self
    }

    /// Replaces what sends the requests of `ctx.call_http` (the default is [`TcpHttpSender`]):
    /// a simulation answers them from a seeded endpoint under virtual time, an embedder may
    /// send them through a client of its own.
    pub fn http_sender(mut self, sender: Arc<dyn HttpSender>) -> Self {
        self.http = sender;
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
            format!("host-{}", &self.ids.new_id()[..12])
        } else {
            self.options.host_id.clone()
        };
        let (shutdown, _) = watch::channel(false);
        let (turns, _) = watch::channel(0);
        let handoff = HandOff::new(self.options.max_concurrent_activities);
        let shared = Arc::new(Shared {
            handoff,
            cache: std::sync::Mutex::new(InstanceCache::new(self.options.instance_cache_size)),
            store: self.store,
            registry: self.registry,
            app_data: self.app_data,
            options: self.options,
            clock: self.clock,
            ids: self.ids,
            owner,
            orchestration_work: Notify::new(),
            activity_work: Notify::new(),
            finishes: Finishes::default(),
            turns,
            metrics: Metrics::default(),
            shutdown,
            spans: self.spans,
            http: self.http,
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
            tasks.push(tokio::spawn(activity_loop(shared.clone())));
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
            ids: Arc::new(RandomIds),
            app_data: AppData::default(),
            spans: None,
            http: Arc::new(TcpHttpSender),
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
        self.shared.cache().len()
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
        self.shared.handoff.finish_turns().await;
    }
}
