//! The context handle: the state an orchestration's code shares with the engine, and the
//! deterministic facts it reads (ids, time, GUIDs).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::state::State;
use crate::error::TaskError;
use crate::ids::{ExecutionId, InstanceId};
use crate::payload::Payload;

/// The namespace of deterministic GUIDs, the same as Durable Functions uses, so that the same
/// instance, time and counter give the same GUID in both.
const GUID_NAMESPACE: Uuid = Uuid::from_u128(0x9e952958_5e33_4daf_827f_2fa12937b875);

/// Handed to every orchestrator: schedules durable work and reads deterministic facts.
///
/// Cloning is cheap; all clones share one orchestration.
#[derive(Clone)]
pub struct OrchestrationContext {
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for OrchestrationContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.with_state(|s| {
            f.debug_struct("OrchestrationContext")
                .field("instance_id", &s.instance_id)
                .field("name", &s.name)
                .finish()
        })
    }
}

impl OrchestrationContext {
    pub(crate) fn new() -> Self {
        Self {
            state: Arc::new(Mutex::new(State::new())),
        }
    }

    /// Runs `f` on the shared state. A panic in user code cannot leave the state half-changed
    /// (user code never runs under this lock), so a poisoned lock is safe to reuse.
    pub(crate) fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut guard = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }

    /// This orchestration's instance id.
    pub fn instance_id(&self) -> InstanceId {
        self.with_state(|s| s.instance_id.clone())
    }

    /// The current execution (changes with `continue_as_new`).
    pub fn execution_id(&self) -> ExecutionId {
        self.with_state(|s| s.execution_id.clone())
    }

    /// The orchestrator function's name.
    pub fn name(&self) -> String {
        self.with_state(|s| s.name.clone())
    }

    /// The version the instance was started with (`ExecutionStarted.Version`: given at start,
    /// or the starting host's `defaultVersion`, or the parent's for a sub-orchestration), so
    /// one build can keep old instances on the behaviour they started with.
    pub fn version(&self) -> Option<String> {
        self.with_state(|s| s.version.clone())
    }

    /// Whether to take the new path of an in-place change named `patch_id`. New code reaching
    /// it for the first time records a marker in history and gets `true`; replay of a history
    /// recorded by the build before (which has no marker there) gets `false`, so the instance
    /// finishes on the old path while new instances take the new one. An execution gets the
    /// same answer for an id every time it asks. See `docs/versioning.md` for the workflow.
    pub fn is_patched(&self, patch_id: &str) -> bool {
        self.with_state(|s| s.patched(patch_id, false))
    }

    /// The clean-up step of a patch: once no instance of the build before the patch is left,
    /// the old path is deleted and `is_patched(id)` becomes `deprecate_patch(id)`, which always
    /// takes the new path and still records the marker, so histories with and without it
    /// replay (and the build with `is_patched` can still be rolled back to). A later build
    /// drops the call altogether: markers nobody asks about are ignored on replay.
    pub fn deprecate_patch(&self, patch_id: &str) {
        self.with_state(|s| {
            s.patched(patch_id, true);
        });
    }

    /// Whether the code is re-running over recorded history (and so should not repeat side
    /// effects such as logging).
    pub fn is_replaying(&self) -> bool {
        self.with_state(|s| s.replaying)
    }

    /// The deterministic current time: the start of the current turn, the same on every replay.
    pub fn current_utc_datetime(&self) -> DateTime<Utc> {
        self.with_state(|s| s.now)
    }

    /// A deterministic GUID: UUIDv5 of the instance id, the current time and a counter.
    pub fn new_guid(&self) -> Uuid {
        self.with_state(|s| {
            // .NET's round-trip format ("o"): seven fractional digits.
            let name = format!(
                "{}_{}.{:07}Z_{}",
                s.instance_id,
                s.now.format("%Y-%m-%dT%H:%M:%S"),
                s.now.timestamp_subsec_nanos() / 100,
                s.guid_counter
            );
            s.guid_counter += 1;
            Uuid::new_v5(&GUID_NAMESPACE, name.as_bytes())
        })
    }

    /// What the orchestrator's [`prepare_turn`](crate::Orchestrator::prepare_turn) produced
    /// for the turn being run; `None` for orchestrators that do not prepare their turns.
    pub fn prepared_turn(&self) -> Option<Payload> {
        self.with_state(|s| s.prepared.clone())
    }

    /// Sets the custom status shown by the management API. A value that cannot be encoded
    /// clears it.
    pub fn set_custom_status(&self, status: &impl Serialize) {
        let payload = Payload::encode(status).ok();
        self.with_state(|s| s.custom_status = payload);
    }
}

pub(crate) fn encode_input(name: &str, input: &impl Serialize) -> Result<Payload, TaskError> {
    Payload::encode(input).map_err(|e| TaskError::Data {
        name: name.to_string(),
        message: e.to_string(),
    })
}

pub(crate) fn add_duration(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::TimeDelta::from_std(d)
        .ok()
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}
