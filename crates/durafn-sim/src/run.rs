//! One run of a seed: hosts over one in-memory task hub, a keeper that restarts crashed hosts,
//! a driver per job acting as the app's clients, all on one thread under paused tokio time.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use durafn_core::{AppData, HistoryEvent, InstanceId, Registry, RuntimeStatus};
use durafn_runtime::{
    ClientError, Clock, DurableClient, IdGen, ManualClock, Runtime, RuntimeOptions, SeededIds,
};
use durafn_store::inspect::InstanceWork;
use durafn_store::memory::MemoryStore;
use durafn_store::{AdminStore, InspectStore, InstanceFilter, InstanceRecord, InstanceStore};
use serde_json::Value;

use crate::endpoint::Endpoint;
use crate::faults::Faults;
use crate::rng::SimRng;
use crate::state::{HostState, SimState};
use crate::store::{Caller, FaultyStore};
use crate::workload::{self, ACTIVITY_TIMEOUT, HostCtx, Job};

/// How long faults are injected (virtual time); after that the run must finish on its own.
pub const FAULT_WINDOW: Duration = Duration::from_secs(90 * 60);
/// The virtual time by which everything must have finished (liveness).
pub const LIVENESS: Duration = Duration::from_secs(24 * 3600);
/// The lease of the simulated hosts.
pub const LEASE: Duration = Duration::from_secs(60);
/// Deliveries before work is dead-lettered.
pub const MAX_DELIVERIES: u32 = 8;

/// Everything a run leaves for the oracle.
#[derive(Debug)]
pub struct RunRecord {
    /// The seed's jobs, in start order (job `i` is instance `j{i}-{orchestrator}`).
    pub jobs: Vec<Job>,
    /// Every instance row at the end, with its history and queued work.
    pub rows: Vec<(InstanceRecord, Vec<HistoryEvent>, InstanceWork)>,
    /// What the driver saw go wrong (wrong outputs before a restart or purge, client errors).
    pub observed: Vec<String>,
    /// Jobs the driver purged.
    pub purged: Vec<String>,
    /// Activity executions by call.
    pub executions: BTreeMap<String, u32>,
    /// Whether everything finished within [`LIVENESS`].
    pub finished: bool,
    /// The event log (only when tracing).
    pub trace: Vec<String>,
    /// Events simulated (store calls, activity runs, faults, client operations).
    pub events: u64,
    /// Virtual time the run took.
    pub virtual_time: Duration,
    /// The hosts the run started with.
    pub hosts: usize,
    /// Every orchestration turn committed, with the history it left (checked turn by turn).
    pub turns: Vec<crate::state::TurnSnapshot>,
}

impl RunRecord {
    /// The instance id of job `index`.
    pub fn job_id(&self, index: usize) -> String {
        job_id(index, &self.jobs[index])
    }
}

fn job_id(index: usize, job: &Job) -> String {
    format!("j{index}-{}", job.orchestrator())
}

fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("a valid time")
}

/// Runs `seed` under `faults` on a fresh single-threaded runtime with paused time.
pub fn run(seed: u64, faults: &Faults, tracing: bool) -> RunRecord {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a tokio runtime");
    runtime.block_on(world(seed, faults.clone(), tracing))
}

/// What starting a host needs.
struct Cluster {
    memory: Arc<MemoryStore>,
    registry: Arc<Registry>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGen>,
    sim: Arc<SimState>,
    generation: AtomicU32,
}

impl Cluster {
    fn start_host(&self, slot: usize) -> (Arc<HostState>, Runtime) {
        let generation = self.generation.fetch_add(1, Ordering::Relaxed);
        let host = HostState::new(format!("h{slot}.{generation}"));
        let sim = &self.sim;
        let mut options = RuntimeOptions {
            lease: LEASE,
            max_deliveries: MAX_DELIVERIES,
            max_poll_interval: Duration::from_secs(300),
            drain_timeout: Duration::from_secs(1),
            host_id: host.name.clone(),
            activity_timeout: Some(ACTIVITY_TIMEOUT),
            ..RuntimeOptions::default()
        };
        if sim.faults.any() {
            options.max_concurrent_activities = sim.rng.between(1, 8) as usize;
            options.max_concurrent_orchestrations = [1, 3, 256][sim.rng.below(3) as usize];
            options.orchestration_dispatchers = sim.rng.between(1, 2) as usize;
            options.instance_cache_size = if sim.rng.chance(0.3) { 0 } else { 10_000 };
        }
        sim.note(
            "keeper",
            format!(
                "start {} (activities {}, batch {}, dispatchers {}, cache {})",
                host.name,
                options.max_concurrent_activities,
                options.max_concurrent_orchestrations,
                options.orchestration_dispatchers,
                options.instance_cache_size
            ),
        );
        let mut data = AppData::default();
        data.insert(HostCtx {
            sim: sim.clone(),
            host: host.clone(),
        });
        let store = FaultyStore::new(self.memory.clone(), sim.clone(), host.clone(), Caller::Host);
        let runtime = Runtime::builder(Arc::new(store), self.registry.clone())
            .clock(self.clock.clone())
            .ids(self.ids.clone())
            .options(options)
            .app_data(data)
            .http_sender(Arc::new(Endpoint {
                sim: sim.clone(),
                host: host.clone(),
            }))
            .start();
        (host, runtime)
    }
}

/// Restarts crashed hosts (a fresh runtime over the same task hub) after a short delay.
async fn keep_hosts(cluster: Arc<Cluster>, mut hosts: Vec<(Arc<HostState>, Option<Runtime>)>) {
    loop {
        cluster.sim.deaths.notified().await;
        for (slot, entry) in hosts.iter_mut().enumerate() {
            if !entry.0.is_dead() {
                continue;
            }
            // Its tasks are stopped where they were; the runtime is dropped without a shutdown.
            drop(entry.1.take());
            let delay = cluster.sim.rng.between(500, 10_000);
            tokio::time::sleep(Duration::from_millis(delay)).await;
            let (host, runtime) = cluster.start_host(slot);
            *entry = (host, Some(runtime));
        }
    }
}

/// The driver: the app's clients and operators, one task per job.
struct Driver {
    sim: Arc<SimState>,
    memory: Arc<MemoryStore>,
    client: DurableClient,
    observed: std::sync::Mutex<Vec<String>>,
    purged: std::sync::Mutex<Vec<String>>,
}

impl Driver {
    fn observe(&self, what: String) {
        self.sim.note("driver", format!("OBSERVED {what}"));
        self.observed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(what);
    }

    /// Retries a client operation while the task hub reports a retryable failure.
    async fn retry<T, Fut: Future<Output = Result<T, ClientError>>>(
        &self,
        what: &str,
        op: impl Fn() -> Fut,
    ) -> Result<T, ClientError> {
        let mut attempt = 0;
        loop {
            self.sim.note("client", what);
            match op().await {
                Err(ClientError::Store(e)) if e.is_retryable() && attempt < 100 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                other => return other,
            }
        }
    }

    async fn pause(&self, lo_ms: u64, hi_ms: u64) {
        let ms = self.sim.rng.between(lo_ms, hi_ms);
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }

    /// Waits (on every change of the task hub) until the row satisfies `done`.
    async fn wait_row(&self, id: &str, done: impl Fn(&InstanceRecord) -> bool) -> InstanceRecord {
        let id = InstanceId::from_trusted(id.to_string());
        let mut changes = self.sim.changes.subscribe();
        loop {
            if let Ok(Some(row)) = self.memory.get_instance(&id).await {
                if done(&row) {
                    return row;
                }
            }
            let _ = changes.changed().await;
        }
    }

    fn check_output(&self, id: &str, job: &Job, row: &InstanceRecord) {
        let (status, output) = job.expected();
        let got = row.output.as_ref().and_then(|p| p.decode::<Value>().ok());
        if row.status.to_string() != status
            || (status == "Completed" && got != Some(output.clone()))
        {
            self.observe(format!(
                "{id} ended {} with {got:?} before the driver's next step; expected {status} {output}",
                row.status
            ));
        }
    }

    async fn drive(&self, index: usize, job: Job) {
        let id = job_id(index, &job);
        let input = job.input();
        let started = self
            .retry("start", || {
                self.client.start_new(job.orchestrator(), Some(&id), &input)
            })
            .await;
        if let Err(e) = started {
            self.observe(format!("{id} could not be started: {e}"));
            return;
        }
        match &job {
            Job::Race { raise: Some(v) } => {
                self.pause(0, 300_000).await;
                if let Err(e) = self
                    .retry("raise go", || self.client.raise_event(&id, "go", v))
                    .await
                {
                    self.observe(format!("{id}: raising its event failed: {e}"));
                }
            }
            Job::Flaky => {
                self.wait_row(&id, |r| r.status == RuntimeStatus::Failed)
                    .await;
                self.sim.mark_rewound(&id);
                if let Err(e) = self
                    .retry("rewind", || self.client.rewind(&id, Some("repaired")))
                    .await
                {
                    self.observe(format!("{id}: rewinding failed: {e}"));
                }
                // The rewind is a message: wait until its turn ran before waiting for the end.
                self.wait_row(&id, |r| r.status != RuntimeStatus::Failed)
                    .await;
            }
            Job::Victim { .. } => {
                self.pause(60_000, 1_800_000).await;
                if let Err(e) = self
                    .retry("terminate", || {
                        self.client.terminate(&id, "the driver ends it")
                    })
                    .await
                {
                    self.observe(format!("{id}: terminating failed: {e}"));
                }
            }
            Job::Bank {
                client_deposits, ..
            } => {
                for (a, n) in client_deposits {
                    self.pause(0, 120_000).await;
                    let entity = workload::account(*a);
                    if let Err(e) = self
                        .retry("signal deposit", || {
                            self.client.signal_entity(&entity, "deposit", n)
                        })
                        .await
                    {
                        self.observe(format!("{id}: signalling a deposit failed: {e}"));
                    }
                }
            }
            _ => {}
        }
        let races = self.sim.faults.client_races && !matches!(job, Job::Flaky | Job::Victim { .. });
        if races && self.sim.rng.chance(0.2) {
            self.pause(0, 600_000).await;
            if self
                .retry("suspend", || self.client.suspend(&id, Some("racing")))
                .await
                .is_ok()
            {
                self.pause(0, 600_000).await;
                // Refused only if it finished before the suspension arrived.
                let _ = self
                    .retry("resume", || self.client.resume(&id, Some("racing")))
                    .await;
            }
        }
        let row = self.wait_row(&id, |r| r.status.is_terminal()).await;
        if !races {
            return;
        }
        match &job {
            Job::Chain { .. } if self.sim.rng.chance(0.3) => {
                self.check_output(&id, &job, &row);
                match self
                    .retry("restart", || self.client.restart(&id, false))
                    .await
                {
                    Ok(_) => {
                        self.wait_row(&id, |r| r.status.is_terminal()).await;
                    }
                    Err(e) => self.observe(format!("{id}: restarting failed: {e}")),
                }
            }
            Job::FanOut { .. } if self.sim.rng.chance(0.3) => {
                self.check_output(&id, &job, &row);
                match self.retry("purge", || self.client.purge(&id)).await {
                    Ok(true) => self
                        .purged
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(id),
                    other => self.observe(format!("{id}: purging answered {other:?}")),
                }
            }
            _ => {}
        }
    }

    /// Waits until every account holds its expected balance and no lock or request is left.
    async fn wait_entities(&self, expected: &[i64]) {
        let mut changes = self.sim.changes.subscribe();
        loop {
            let mut settled = true;
            for (n, want) in expected.iter().enumerate() {
                let (balance, scheduler) = entity_state(&self.memory, n as u64).await;
                settled &= balance == *want && scheduler.is_idle();
            }
            if settled {
                return;
            }
            let _ = changes.changed().await;
        }
    }
}

/// An account's balance and scheduler as stored (an account never used holds 0).
pub(crate) async fn entity_state(memory: &MemoryStore, n: u64) -> (i64, durafn_core::Scheduler) {
    let id = workload::account(n).instance_id();
    match memory.get_instance(&id).await {
        Ok(Some(row)) => (
            row.output
                .as_ref()
                .and_then(|p| p.decode::<i64>().ok())
                .unwrap_or(0),
            durafn_core::Scheduler::from_row(Some(&row.input)),
        ),
        _ => (0, durafn_core::Scheduler::default()),
    }
}

async fn world(seed: u64, faults: Faults, tracing: bool) -> RunRecord {
    let sim = SimState::new(seed, faults.clone(), LEASE, tracing);
    let jobs = workload::jobs(&SimRng::new(seed, 0));
    let memory = Arc::new(MemoryStore::new());
    let registry = workload::registry();
    let cluster = Arc::new(Cluster {
        memory: memory.clone(),
        registry: registry.clone(),
        clock: Arc::new(ManualClock::new(start_time())),
        ids: Arc::new(SeededIds::new(seed)),
        sim: sim.clone(),
        generation: AtomicU32::new(0),
    });
    let host_count = sim.rng.between(1, faults.hosts.max(1) as u64) as usize;
    sim.note(
        "sim",
        format!(
            "seed {seed}: {} jobs, {host_count} hosts: {jobs:?}",
            jobs.len()
        ),
    );
    let hosts = (0..host_count)
        .map(|slot| {
            let (host, runtime) = cluster.start_host(slot);
            (host, Some(runtime))
        })
        .collect();
    let client_store = FaultyStore::new(
        memory.clone(),
        sim.clone(),
        HostState::new("client".to_string()),
        Caller::Client,
    );
    let client_runtime = Runtime::builder(Arc::new(client_store), registry)
        .clock(cluster.clock.clone())
        .ids(cluster.ids.clone())
        .options(RuntimeOptions {
            run_orchestrations: false,
            run_activities: false,
            host_id: "client".to_string(),
            ..RuntimeOptions::default()
        })
        .start();
    let keeper = tokio::spawn(keep_hosts(cluster.clone(), hosts));
    let stopper = tokio::spawn({
        let sim = sim.clone();
        async move {
            tokio::time::sleep(FAULT_WINDOW).await;
            sim.stop_faults();
        }
    });
    let driver = Arc::new(Driver {
        sim: sim.clone(),
        memory: memory.clone(),
        client: client_runtime.client(),
        observed: Default::default(),
        purged: Default::default(),
    });
    let expected = workload::expected_balances(&jobs);
    let finished = tokio::time::timeout(LIVENESS, {
        let driver = driver.clone();
        let jobs = jobs.clone();
        async move {
            let tasks: Vec<_> = jobs
                .into_iter()
                .enumerate()
                .map(|(i, job)| {
                    let driver = driver.clone();
                    tokio::spawn(async move { driver.drive(i, job).await })
                })
                .collect();
            for task in tasks {
                let _ = task.await;
            }
            driver.wait_entities(&expected).await;
        }
    })
    .await
    .is_ok();
    sim.note("sim", if finished { "all done" } else { "NOT FINISHED" });
    keeper.abort();
    stopper.abort();
    let rows = collect(&memory).await;
    let observed = std::mem::take(
        &mut *driver
            .observed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    let purged = std::mem::take(
        &mut *driver
            .purged
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    RunRecord {
        jobs,
        rows,
        observed,
        purged,
        executions: sim.executions(),
        finished,
        trace: sim.take_trace(),
        events: sim.events(),
        virtual_time: sim.elapsed(),
        hosts: host_count,
        turns: sim.take_turns(),
    }
}

/// Every row of the task hub, with its history and queued work, in listing order.
async fn collect(memory: &MemoryStore) -> Vec<(InstanceRecord, Vec<HistoryEvent>, InstanceWork)> {
    let mut rows = Vec::new();
    let mut continuation: Option<String> = None;
    loop {
        let Ok(page) = memory
            .list_instances(&InstanceFilter::default(), 500, continuation.as_deref())
            .await
        else {
            break;
        };
        for row in page.instances {
            let history = memory
                .get_history(&row.instance_id)
                .await
                .unwrap_or_default();
            let work = memory
                .instance_work(&row.instance_id)
                .await
                .unwrap_or_default();
            rows.push((row, history, work));
        }
        match page.continuation {
            Some(c) => continuation = Some(c),
            None => break,
        }
    }
    rows
}
