//! What the parts of one run share: the fault generator, the trace, the hosts' fates and the
//! ledger of activity executions the oracle reads.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use durafn_store::{WorkKind, WorkWaker};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use crate::faults::Faults;
use crate::rng::SimRng;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One simulated host: whether it has crashed, and until when it is frozen.
#[derive(Debug)]
pub struct HostState {
    /// Its name in leases and in the trace.
    pub name: String,
    dead: AtomicBool,
    frozen_until: Mutex<Option<Instant>>,
}

impl HostState {
    pub(crate) fn new(name: String) -> Arc<Self> {
        Arc::new(Self {
            name,
            dead: AtomicBool::new(false),
            frozen_until: Mutex::new(None),
        })
    }

    /// Whether it crashed.
    pub fn is_dead(&self) -> bool {
        self.dead.load(Ordering::Relaxed)
    }

    /// Waits while the host is frozen; never returns once it is dead: every task of a crashed
    /// host stops at the await it is in, which is what dropping it would do (the task hub is the
    /// only thing the tasks share with the rest of the world).
    pub async fn gate(&self) {
        loop {
            if self.is_dead() {
                std::future::pending::<()>().await;
            }
            let until = *lock(&self.frozen_until);
            match until {
                Some(t) if t > Instant::now() => tokio::time::sleep_until(t).await,
                _ => return,
            }
        }
    }

    fn freeze(&self, until: Instant) {
        let mut frozen = lock(&self.frozen_until);
        *frozen = Some(frozen.map_or(until, |t| t.max(until)));
    }
}

/// What one orchestration turn committed: the instance's history after the commit and the row
/// the turn wrote (the oracle replays the history from scratch and compares).
#[derive(Debug, Clone)]
pub struct TurnSnapshot {
    /// The instance.
    pub instance_id: durafn_core::InstanceId,
    /// Its current execution's history, the turn's events included.
    pub history: Vec<durafn_core::HistoryEvent>,
    /// The row the turn wrote.
    pub update: durafn_store::InstanceUpdate,
}

/// The state of one run.
pub struct SimState {
    /// The rates.
    pub faults: Faults,
    /// Where faults are drawn from.
    pub rng: SimRng,
    /// The lease the runtimes use (a freeze lasts longer).
    pub lease: Duration,
    injecting: AtomicBool,
    crashes: AtomicU32,
    /// Wakes the keeper when a host died.
    pub deaths: Notify,
    /// Bumped after every write to the task hub (the driver's waits look again).
    pub changes: watch::Sender<u64>,
    wakers: Mutex<Vec<WorkWaker>>,
    trace: Mutex<Vec<String>>,
    tracing: bool,
    events: AtomicU64,
    origin: Instant,
    /// Activity executions by `instance/task`, and injected failures by the same key.
    executions: Mutex<BTreeMap<String, u32>>,
    injected: Mutex<BTreeMap<String, u32>>,
    /// Instances the driver rewound (the fragile activity succeeds for them).
    rewound: Mutex<Vec<String>>,
    /// Every orchestration turn committed, in commit order.
    turns: Mutex<Vec<TurnSnapshot>>,
}

impl std::fmt::Debug for SimState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimState")
            .field("faults", &self.faults)
            .finish()
    }
}

impl SimState {
    pub(crate) fn new(seed: u64, faults: Faults, lease: Duration, tracing: bool) -> Arc<Self> {
        Arc::new(Self {
            injecting: AtomicBool::new(faults.any()),
            faults,
            rng: SimRng::new(seed, 1),
            lease,
            crashes: AtomicU32::new(0),
            deaths: Notify::new(),
            changes: watch::channel(0).0,
            wakers: Mutex::default(),
            trace: Mutex::default(),
            tracing,
            events: AtomicU64::new(0),
            origin: Instant::now(),
            executions: Mutex::default(),
            injected: Mutex::default(),
            rewound: Mutex::default(),
            turns: Mutex::default(),
        })
    }

    /// Whether faults are still injected (they stop so the run can show it finishes).
    pub fn injecting(&self) -> bool {
        self.injecting.load(Ordering::Relaxed)
    }

    pub(crate) fn stop_faults(&self) {
        if self.injecting.swap(false, Ordering::Relaxed) {
            self.note("sim", "faults stop");
        }
    }

    /// Draws whether a fault of rate `p` happens now (never once faults stopped).
    pub fn draw(&self, p: f64) -> bool {
        self.injecting() && self.rng.chance(p)
    }

    /// Records a line of the trace (kept only when tracing; always counted).
    pub fn note(&self, who: &str, what: impl std::fmt::Display) {
        self.events.fetch_add(1, Ordering::Relaxed);
        if self.tracing {
            let at = Instant::now().duration_since(self.origin);
            lock(&self.trace).push(format!(
                "{:>8}.{:03}s {who:<9} {what}",
                at.as_secs(),
                at.subsec_millis()
            ));
        }
    }

    /// Records a detail line, built only when tracing (what a fetch returned, how a commit went).
    pub fn detail(&self, who: &str, what: impl FnOnce() -> String) {
        if self.tracing {
            let at = Instant::now().duration_since(self.origin);
            lock(&self.trace).push(format!(
                "{:>8}.{:03}s {who:<9}   {}",
                at.as_secs(),
                at.subsec_millis(),
                what()
            ));
        }
    }

    /// Counts an event without a trace line.
    pub fn count(&self) {
        self.events.fetch_add(1, Ordering::Relaxed);
    }

    /// The events simulated so far.
    pub fn events(&self) -> u64 {
        self.events.load(Ordering::Relaxed)
    }

    /// Virtual time since the run began.
    pub fn elapsed(&self) -> Duration {
        Instant::now().duration_since(self.origin)
    }

    pub(crate) fn take_trace(&self) -> Vec<String> {
        std::mem::take(&mut lock(&self.trace))
    }

    /// Crashes `host` if the crash budget allows (`forced`: the workload's poison activity, which
    /// always may).
    pub fn crash(&self, host: &HostState, forced: bool, at: &str) -> bool {
        if !forced {
            if self.crashes.load(Ordering::Relaxed) >= self.faults.max_crashes {
                return false;
            }
            self.crashes.fetch_add(1, Ordering::Relaxed);
        }
        if host.dead.swap(true, Ordering::Relaxed) {
            return true;
        }
        self.note(&host.name, format!("CRASH at {at}"));
        self.deaths.notify_one();
        true
    }

    /// Freezes `host` for longer than a lease.
    pub fn freeze(&self, host: &HostState) {
        let span = self.lease + Duration::from_millis(self.rng.between(1_000, 20_000));
        self.note(&host.name, format!("FREEZE for {}s", span.as_secs()));
        host.freeze(Instant::now() + span);
    }

    pub(crate) fn add_waker(&self, waker: WorkWaker) {
        lock(&self.wakers).push(waker);
    }

    /// Tells every host and waiting driver that the task hub changed.
    pub(crate) fn changed(&self) {
        let wakers: Vec<WorkWaker> = lock(&self.wakers).clone();
        for w in wakers {
            w(WorkKind::Orchestrations);
            w(WorkKind::Activities);
        }
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Counts an execution of the activity call `key`; returns how many there were.
    pub fn executed(&self, key: &str) -> u32 {
        let mut map = lock(&self.executions);
        let n = map.entry(key.to_string()).or_default();
        *n += 1;
        *n
    }

    /// The activity executions by call.
    pub fn executions(&self) -> BTreeMap<String, u32> {
        lock(&self.executions).clone()
    }

    /// Whether to inject a failure into the call `key` (at most twice per call, so a retry
    /// policy of five attempts always gets through).
    pub fn inject_failure(&self, key: &str, p: f64) -> bool {
        let mut map = lock(&self.injected);
        let n = map.entry(key.to_string()).or_default();
        if *n >= 2 || !self.draw(p) {
            return false;
        }
        *n += 1;
        true
    }

    /// Records a committed turn.
    pub(crate) fn committed(&self, turn: TurnSnapshot) {
        lock(&self.turns).push(turn);
    }

    /// Takes the committed turns.
    pub(crate) fn take_turns(&self) -> Vec<TurnSnapshot> {
        std::mem::take(&mut lock(&self.turns))
    }

    pub(crate) fn mark_rewound(&self, instance: &str) {
        lock(&self.rewound).push(instance.to_string());
    }

    /// Whether the driver rewound `instance`.
    pub fn was_rewound(&self, instance: &str) -> bool {
        lock(&self.rewound).iter().any(|i| i == instance)
    }
}
