//! The durable calls of the orchestration context: activities, sub-orchestrations, timers,
//! events, continue-as-new, combinators and durable HTTP.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::handle::{OrchestrationContext, add_duration, encode_input};
use super::http::{self, DurableHttpRequest, DurableHttpResponse};
use super::logger::ReplaySafeLogger;
use super::retry::{self, RetryOptions};
use super::tasks::{EventFuture, EventWithTimeout, TaskFuture, TaskTarget, TimerFuture};
use crate::action::Action;
use crate::combinators::{WhenAll, WhenAny};
use crate::error::TaskError;
use crate::ids::InstanceId;
use crate::payload::Payload;

impl OrchestrationContext {
    /// A logger that is silent while replaying, so each message is logged once.
    pub fn logger(&self) -> ReplaySafeLogger {
        ReplaySafeLogger::new(self.clone())
    }

    /// Schedules an activity and returns a future of its result.
    #[track_caller]
    pub fn call_activity<O: DeserializeOwned>(
        &self,
        name: &str,
        input: &impl Serialize,
    ) -> TaskFuture<O> {
        let input = match encode_input(name, input) {
            Ok(input) => input,
            Err(e) => return TaskFuture::failed(self.clone(), e),
        };
        let caller = std::panic::Location::caller();
        let seq = self.with_state(|s| {
            s.caller = Some(caller);
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
    /// a deterministic one is generated. The child gets this instance's version.
    #[track_caller]
    pub fn call_sub_orchestrator<O: DeserializeOwned>(
        &self,
        name: &str,
        instance_id: Option<&str>,
        input: &impl Serialize,
    ) -> TaskFuture<O> {
        self.start_sub_orchestrator(name, instance_id, None, input)
    }

    /// Starts a sub-orchestration of another version than this instance's (a child whose
    /// orchestrator is already on a newer version, say); hosts then run it by that version.
    #[track_caller]
    pub fn call_sub_orchestrator_with_version<O: DeserializeOwned>(
        &self,
        name: &str,
        instance_id: Option<&str>,
        version: &str,
        input: &impl Serialize,
    ) -> TaskFuture<O> {
        self.start_sub_orchestrator(name, instance_id, Some(version.to_string()), input)
    }

    #[track_caller]
    fn start_sub_orchestrator<O: DeserializeOwned>(
        &self,
        name: &str,
        instance_id: Option<&str>,
        version: Option<String>,
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
        let caller = std::panic::Location::caller();
        let seq = self.with_state(|s| {
            s.caller = Some(caller);
            s.issue(
                |id| Action::StartSubOrchestration {
                    id,
                    name: name.to_string(),
                    instance_id: child,
                    input,
                    version,
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
    #[track_caller]
    pub fn create_timer(&self, fire_at: DateTime<Utc>) -> TimerFuture {
        let caller = std::panic::Location::caller();
        let seq = self.with_state(|s| {
            s.caller = Some(caller);
            s.issue(|id| Action::CreateTimer { id, fire_at }, true)
        });
        TimerFuture::new(self.clone(), seq)
    }

    /// A durable timer that fires `duration` after the current (deterministic) time.
    #[track_caller]
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
    #[track_caller]
    pub fn send_event(&self, instance_id: &InstanceId, name: &str, data: &impl Serialize) {
        let input = Payload::encode(data).unwrap_or_default();
        let caller = std::panic::Location::caller();
        self.with_state(|s| {
            s.caller = Some(caller);
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
