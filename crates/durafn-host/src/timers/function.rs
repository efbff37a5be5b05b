//! Timer-triggered functions: a name, a schedule and a handler of one occurrence.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::functions::durable_http::DurableHttpClient;
use crate::functions::http_function::HandlerError;
use crate::queues::IntoTriggerResult;

/// The schedule's record, as the Functions host's `ScheduleStatus`: persisted in the task hub
/// between runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScheduleStatus {
    /// The occurrence the timer last ran for.
    pub last: Option<DateTime<Utc>>,
    /// The occurrence it runs for next.
    pub next: Option<DateTime<Utc>>,
    /// When the record was last changed.
    pub last_updated: Option<DateTime<Utc>>,
}

/// What a timer-triggered function is told about its run, as the Functions host's `TimerInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TimerInfo {
    /// The occurrence this run is for (the start-up time for `runOnStartup` runs).
    pub scheduled: DateTime<Utc>,
    /// Whether the occurrence was missed (no host ran at the time) and runs late, once for all
    /// the occurrences missed.
    pub is_past_due: bool,
    /// The schedule's record: the occurrence run before this one and the next one (`None`
    /// for `runOnStartup` runs and when `useMonitor` is off).
    pub schedule_status: Option<ScheduleStatus>,
}

/// When a timer-triggered function runs, as function.json's `timerTrigger` binding says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimerTrigger {
    /// A six-field NCRONTAB expression (`{second} {minute} {hour} {day} {month}
    /// {day-of-week}`, `0 */5 * * * *`) or a `TimeSpan` interval (`00:05:00`); `%Setting%`
    /// takes it, or part of it, from an app setting. Evaluated in `WEBSITE_TIME_ZONE` or `TZ`
    /// (IANA names), else UTC.
    pub schedule: String,
    /// Also run once whenever a host starts (default false; every host that starts runs it).
    pub run_on_startup: bool,
    /// Record the schedule and run a missed occurrence once, late, with `is_past_due`
    /// (default true; off for schedules more frequent than once a minute, as in Functions).
    pub use_monitor: bool,
}

impl Default for TimerTrigger {
    fn default() -> Self {
        Self {
            schedule: String::new(),
            run_on_startup: false,
            use_monitor: true,
        }
    }
}

/// The future of one timer handler call.
pub type TimerHandlerFuture = Pin<Box<dyn Future<Output = Result<(), HandlerError>> + Send>>;

/// A timer-triggered function: what the host runs at each occurrence. One host of those
/// sharing a task hub runs each occurrence; a run that fails is logged and the schedule goes
/// on.
pub trait TimerHandler: Send + Sync + 'static {
    /// The function's name (unique in the app, ignoring case).
    fn name(&self) -> &str;

    /// Its trigger.
    fn trigger(&self) -> TimerTrigger;

    /// Runs one occurrence. `client` manages orchestrations and sends queue messages.
    fn call(&self, timer: TimerInfo, client: DurableHttpClient) -> TimerHandlerFuture;

    /// Whether the function is complete; an error stops the app from starting.
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
}

type BoxedTimerHandler =
    Arc<dyn Fn(TimerInfo, DurableHttpClient) -> TimerHandlerFuture + Send + Sync>;

/// A timer-triggered function built from a closure.
///
/// ```
/// use durafn_host::TimerFunction;
///
/// let nightly = TimerFunction::new("nightly-report")
///     .schedule("0 0 2 * * *")
///     .handler(|timer, client| async move {
///         client.start_new("report", None, &timer.scheduled).await?;
///         Ok::<_, durafn_host::HandlerError>(())
///     });
/// # let _ = nightly;
/// ```
#[derive(Clone)]
pub struct TimerFunction {
    name: String,
    trigger: TimerTrigger,
    handler: Option<BoxedTimerHandler>,
}

impl std::fmt::Debug for TimerFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimerFunction")
            .field("name", &self.name)
            .field("trigger", &self.trigger)
            .finish()
    }
}

impl TimerFunction {
    /// A function with no schedule and no handler yet (both are required).
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            trigger: TimerTrigger::default(),
            handler: None,
        }
    }

    /// Its schedule: NCRONTAB or a `TimeSpan`, `%Setting%` allowed.
    pub fn schedule(mut self, schedule: impl Into<String>) -> Self {
        self.trigger.schedule = schedule.into();
        self
    }

    /// Whether it also runs when a host starts.
    pub fn run_on_startup(mut self, run: bool) -> Self {
        self.trigger.run_on_startup = run;
        self
    }

    /// Whether missed occurrences run late (`useMonitor`, default true).
    pub fn use_monitor(mut self, monitor: bool) -> Self {
        self.trigger.use_monitor = monitor;
        self
    }

    /// Sets the handler: an async closure over the timer's info and a durable client,
    /// returning `()` or a `Result<(), E>`.
    pub fn handler<F, Fut, R>(mut self, f: F) -> Self
    where
        F: Fn(TimerInfo, DurableHttpClient) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoTriggerResult + 'static,
    {
        self.handler = Some(Arc::new(move |timer, client| {
            let fut = f(timer, client);
            Box::pin(async move { fut.await.into_trigger_result() })
        }));
        self
    }
}

impl TimerHandler for TimerFunction {
    fn name(&self) -> &str {
        &self.name
    }

    fn trigger(&self) -> TimerTrigger {
        self.trigger.clone()
    }

    fn call(&self, timer: TimerInfo, client: DurableHttpClient) -> TimerHandlerFuture {
        match &self.handler {
            Some(h) => h(timer, client),
            None => Box::pin(async { Err("the timer function has no handler".into()) }),
        }
    }

    fn validate(&self) -> Result<(), String> {
        match self.handler {
            Some(_) => Ok(()),
            None => Err(format!("timer function '{}' has no handler", self.name)),
        }
    }
}
