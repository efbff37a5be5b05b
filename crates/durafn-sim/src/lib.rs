//! Deterministic simulation of durafn.
//!
//! The **real** runtime (dispatchers, instance cache, leases and renewals, retries, the entity
//! scheduler, the client) runs over the in-memory task hub on one thread under paused tokio time,
//! with seeded ids and a seeded generator for every choice, so a seed fixes the whole run and a
//! failing seed replays exactly. Each host reaches the task hub through a [`FaultyStore`] that
//! injects the seed's faults (failed calls, lost replies, slow calls, freezes longer than a
//! lease, duplicate results, crashes at any store call); a keeper restarts crashed hosts; a
//! driver per job acts as the clients (events, terminate, rewind, suspend/resume, restart, purge,
//! entity signals). The [oracle](oracle::check) then checks the invariants on what is left.
//!
//! A test and measurement tool (`publish = false`): nothing in the product depends on it.

pub mod endpoint;
pub mod faults;
pub mod oracle;
pub mod rng;
pub mod run;
pub mod state;
pub mod store;
pub mod workload;

use std::time::Duration;

pub use faults::Faults;
pub use run::{RunRecord, run};
pub use store::FaultyStore;

/// What checking one seed found.
#[derive(Debug)]
pub struct SeedReport {
    /// The seed.
    pub seed: u64,
    /// The invariants it broke (empty: clean).
    pub failures: Vec<String>,
    /// Events simulated.
    pub events: u64,
    /// Virtual time simulated.
    pub virtual_time: Duration,
}

/// Runs `seed` under `faults` and checks every invariant.
pub fn check_seed(seed: u64, faults: &Faults) -> SeedReport {
    let record = run(seed, faults, false);
    let failures = oracle::check(&record, &workload::registry());
    SeedReport {
        seed,
        failures,
        events: record.events,
        virtual_time: record.virtual_time,
    }
}

/// The command that replays `seed` with its event log.
pub fn reproduce_command(seed: u64, faults_spec: &str) -> String {
    let faults = if faults_spec.is_empty() {
        String::new()
    } else {
        format!(" --faults {faults_spec}")
    };
    format!("cargo run --release -p durafn-sim -- --seed {seed} --trace{faults}")
}

/// Plants the named bug for the rest of the process (builds with `--cfg durafn_mutation`).
#[cfg(durafn_mutation)]
pub fn plant(name: Option<&str>) {
    durafn_store::mutation::plant(name);
}
