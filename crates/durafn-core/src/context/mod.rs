//! The orchestration context: the only door from orchestrator code to the outside world.
//!
//! Every method is deterministic: given the same history it does the same thing, so that replay
//! reconstructs the orchestration's local state exactly. Durable calls are recorded as actions when
//! they are made and resolve when the engine applies the matching history event.

mod entities;
mod http;
mod logger;
mod retry;
pub(crate) mod state;
mod tasks;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

pub use self::entities::{CriticalSection, LockFuture};
pub use self::http::{DurableHttpRequest, DurableHttpResponse, HTTP_ACTIVITY_NAME};
pub use self::logger::ReplaySafeLogger;
pub use self::retry::{RetryOptions, RetryPredicate};
pub use self::tasks::{EventFuture, EventWithTimeout, TaskFuture, TimerFuture};

use self::state::State;
use self::tasks::TaskTarget;
use crate::action::Action;
use crate::combinators::{WhenAll, WhenAny};
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

    /// A logger that is silent while replaying, so each message is logged once.
    pub fn logger(&self) -> ReplaySafeLogger {
        ReplaySafeLogger::new(self.clone())
    }

    /// Sets the custom status shown by the management API. A value that cannot be encoded
    /// clears it.
    pub fn set_custom_status(&self, status: &impl Serialize) {
        let payload = Payload::encode(status).ok();
        self.with_state(|s| s.custom_status = payload);
    }

    /// Schedules an activity and returns a future of its result.
    pub fn call_activity<O: DeserializeOwned>(
        &self,
        name: &str,
        input: &impl Serialize,
    ) -> TaskFuture<O> {
        let input = match encode_input(name, input) {
            Ok(input) => input,
            Err(e) => return TaskFuture::failed(self.clone(), e),
        };
        let seq = self.with_state(|s| {
            s.issue(
                |id| Action::ScheduleActivity {
                    id,
                    name: name.to_string(),
                    input,
                },
                true,
            )
        });
        TaskFuture::scheduled(
            self.clone(),
            seq,
            TaskTarget::Activity {
                name: name.to_string(),
            },
        )
    }

    /// Calls an activity, retrying failures as `retry` says. Every attempt and every wait
    /// between attempts is recorded in history.
    pub fn call_activity_with_retry<O: DeserializeOwned + Send + 'static>(
        &self,
        name: &str,
        input: &impl Serialize,
        retry: RetryOptions,
    ) -> impl Future<Output = Result<O, TaskError>> + Send + 'static {
        let input = encode_input(name, input);
        let ctx = self.clone();
        let name = name.to_string();
        retry::with_retry(self.clone(), retry, move || match &input {
            Ok(input) => ctx.call_activity::<O>(&name, input),
            Err(e) => TaskFuture::failed(ctx.clone(), e.clone()),
        })
    }

    /// Starts a sub-orchestration and returns a future of its output. Without an instance id,
    /// a deterministic one is generated.
    pub fn call_sub_orchestrator<O: DeserializeOwned>(
        &self,
        name: &str,
        instance_id: Option<&str>,
        input: &impl Serialize,
    ) -> TaskFuture<O> {
        if let Some(refusal) = self.locking_refusal_for_sub_orchestration() {
            return TaskFuture::failed(self.clone(), refusal);
        }
        let input = match encode_input(name, input) {
            Ok(input) => input,
            Err(e) => return TaskFuture::failed(self.clone(), e),
        };
        let instance_id = match instance_id {
            Some(id) => match InstanceId::parse(id) {
                Ok(id) => id,
                Err(e) => {
                    return TaskFuture::failed(
                        self.clone(),
                        TaskError::Data {
                            name: name.to_string(),
                            message: e.to_string(),
                        },
                    );
                }
            },
            None => InstanceId::from_trusted(self.new_guid().simple().to_string()),
        };
        let child = instance_id.clone();
        let seq = self.with_state(|s| {
            s.issue(
                |id| Action::StartSubOrchestration {
                    id,
                    name: name.to_string(),
                    instance_id: child,
                    input,
                },
                true,
            )
        });
        TaskFuture::scheduled(
            self.clone(),
            seq,
            TaskTarget::SubOrchestration {
                name: name.to_string(),
                instance_id,
            },
        )
    }

    /// Starts a sub-orchestration, retrying failures as `retry` says. With an instance id, every
    /// attempt reuses it (the failed child is replaced).
    pub fn call_sub_orchestrator_with_retry<O: DeserializeOwned + Send + 'static>(
        &self,
        name: &str,
        instance_id: Option<&str>,
        input: &impl Serialize,
        retry: RetryOptions,
    ) -> impl Future<Output = Result<O, TaskError>> + Send + 'static {
        let input = encode_input(name, input);
        let ctx = self.clone();
        let name = name.to_string();
        let instance_id = instance_id.map(str::to_string);
        retry::with_retry(self.clone(), retry, move || match &input {
            Ok(input) => ctx.call_sub_orchestrator::<O>(&name, instance_id.as_deref(), input),
            Err(e) => TaskFuture::failed(ctx.clone(), e.clone()),
        })
    }

    /// A durable timer that fires at `fire_at`.
    pub fn create_timer(&self, fire_at: DateTime<Utc>) -> TimerFuture {
        let seq = self.with_state(|s| s.issue(|id| Action::CreateTimer { id, fire_at }, true));
        TimerFuture::new(self.clone(), seq)
    }

    /// A durable timer that fires `duration` after the current (deterministic) time.
    pub fn sleep(&self, duration: Duration) -> TimerFuture {
        let fire_at = add_duration(self.current_utc_datetime(), duration);
        self.create_timer(fire_at)
    }

    /// Waits for an event raised on this instance. Events that arrived earlier are buffered and
    /// handed out in arrival order; names match ignoring case.
    pub fn wait_for_external_event<T: DeserializeOwned>(&self, name: &str) -> EventFuture<T> {
        EventFuture::new(self.clone(), name.to_string())
    }

    /// Waits for an event, giving up with [`TaskError::Timeout`] after `timeout`.
    pub fn wait_for_external_event_with_timeout<T: DeserializeOwned>(
        &self,
        name: &str,
        timeout: Duration,
    ) -> EventWithTimeout<T> {
        let event = self.wait_for_external_event(name);
        let timer = self.sleep(timeout);
        EventWithTimeout::new(event, timer)
    }

    /// Raises an event on another instance (one-way, recorded as `EventSent`).
    pub fn send_event(&self, instance_id: &InstanceId, name: &str, data: &impl Serialize) {
        let input = Payload::encode(data).unwrap_or_default();
        self.with_state(|s| {
            s.issue(
                |id| Action::SendEvent {
                    id,
                    instance_id: instance_id.clone(),
                    name: name.to_string(),
                    input,
                },
                false,
            )
        });
    }

    /// Ends this execution when the orchestrator returns, and starts a fresh one with `input`
    /// and an empty history. Events that arrived and were not consumed are carried over only if
    /// `preserve_unprocessed_events` is set.
    pub fn continue_as_new(&self, input: &impl Serialize, preserve_unprocessed_events: bool) {
        let input = Payload::encode(input).unwrap_or_default();
        self.with_state(|s| s.continue_as_new = Some((input, preserve_unprocessed_events)));
    }

    /// Waits for all futures; fails as soon as one fails. Results come back in input order.
    pub fn when_all<F, T, E>(&self, futures: Vec<F>) -> WhenAll<F, T>
    where
        F: Future<Output = Result<T, E>> + Unpin,
    {
        crate::combinators::when_all(futures)
    }

    /// Waits for the first future to finish (even with an error); the others are handed back
    /// untouched, still running.
    pub fn when_any<F: Future + Unpin>(&self, futures: Vec<F>) -> WhenAny<F> {
        crate::combinators::when_any(futures)
    }

    /// A durable HTTP request. With the asynchronous pattern enabled, a `202 Accepted` with a
    /// `Location` header is followed by polling that location with durable timers until it answers
    /// with something other than 202.
    pub fn call_http(
        &self,
        request: DurableHttpRequest,
    ) -> impl Future<Output = Result<DurableHttpResponse, TaskError>> + Send + 'static {
        http::call_http(self.clone(), request)
    }
}

fn encode_input(name: &str, input: &impl Serialize) -> Result<Payload, TaskError> {
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
