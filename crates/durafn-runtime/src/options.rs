//! Runtime settings; the host maps host.json's `extensions.durableTask` onto them.

use std::time::Duration;

use durafn_core::{VersionFailureStrategy, VersionMatchStrategy, Versioning};

/// The default payload limit: 4 MiB. Large enough for the 1 MB inputs and outputs the
/// benchmarks move end to end, small enough that one turn's payloads stay well within what a
/// task hub row and one commit hold comfortably.
pub const DEFAULT_MAX_PAYLOAD_BYTES: usize = 4 * 1024 * 1024;

/// How the runtime schedules work.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// Activities running at once in this host (`maxConcurrentActivityFunctions`).
    pub max_concurrent_activities: usize,
    /// Instances processed per orchestration batch (`maxConcurrentOrchestratorFunctions`).
    pub max_concurrent_orchestrations: usize,
    /// Orchestration dispatch loops; more than one pipelines fetching with committing.
    pub orchestration_dispatchers: usize,
    /// Live orchestrations kept between turns (the instance cache); 0 disables it.
    pub instance_cache_size: usize,
    /// How long fetched work stays leased; activities renew their lease while they run.
    pub lease: Duration,
    /// Deliveries after which work is dead-lettered (the activity or instance fails).
    pub max_deliveries: u32,
    /// The longest wait between polls for work from other hosts (polling backs off to this).
    pub max_poll_interval: Duration,
    /// How long a graceful shutdown waits for running activities before abandoning them.
    pub drain_timeout: Duration,
    /// A name for this host in leases and logs; generated if empty.
    pub host_id: String,
    /// Whether this host runs orchestrations (hosts can be split into roles).
    pub run_orchestrations: bool,
    /// Whether this host runs activities.
    pub run_activities: bool,
    /// The longest an activity may run (host.json `functionTimeout`); one that runs longer is
    /// stopped and fails with `FunctionTimeout`, which its orchestration sees as a task failure.
    /// `None`: no limit.
    pub activity_timeout: Option<Duration>,
    /// The version of instances this runtime's clients start without one (host.json
    /// `defaultVersion`).
    /// It is also the version of this host's code: with `version_match` it decides which
    /// instances this host runs. `None` runs every instance.
    pub default_version: Option<String>,
    /// Which instances this host's version runs (`versionMatchStrategy`).
    pub version_match: VersionMatchStrategy,
    /// What happens to the others (`versionFailureStrategy`).
    pub version_failure: VersionFailureStrategy,
    /// How long rejected work waits before a host fetches it again; meanwhile hosts of other
    /// versions sharing the hub take it.
    pub version_reject_delay: Duration,
    /// The largest payload (an input, output, event data or custom status, as JSON text) the
    /// runtime records, in bytes (host.json `extensions.durableTask.maxPayloadSize`). A client's
    /// start, event or signal over it is refused (`ClientError::PayloadTooLarge`); an activity
    /// result over it fails the task, and an orchestration producing one fails the instance,
    /// both with `PayloadTooLarge` (DF0022). `usize::MAX` means no limit.
    pub max_payload_bytes: usize,
}

impl RuntimeOptions {
    /// This host's version and the rules it applies.
    pub fn versioning(&self) -> Versioning {
        Versioning {
            version: self.default_version.clone(),
            match_strategy: self.version_match,
            failure_strategy: self.version_failure,
        }
    }
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        Self {
            max_concurrent_activities: 100,
            max_concurrent_orchestrations: 256,
            orchestration_dispatchers: 2,
            instance_cache_size: 10_000,
            lease: Duration::from_secs(60),
            max_deliveries: 10,
            max_poll_interval: Duration::from_secs(1),
            drain_timeout: Duration::from_secs(30),
            host_id: String::new(),
            run_orchestrations: true,
            run_activities: true,
            activity_timeout: None,
            default_version: None,
            version_match: VersionMatchStrategy::default(),
            version_failure: VersionFailureStrategy::default(),
            version_reject_delay: Duration::from_secs(2),
            max_payload_bytes: DEFAULT_MAX_PAYLOAD_BYTES,
        }
    }
}
