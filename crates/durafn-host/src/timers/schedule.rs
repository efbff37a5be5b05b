//! A timer function's schedule as one eternal orchestration in the task hub.
//!
//! Each timer function has one instance, `durafn.timer:{function}`, of the built-in
//! orchestrator `durafn.timer-schedule`: it records the schedule's status (last and next
//! occurrence) as its custom status, waits for the next occurrence with a durable timer, runs
//! the function through the built-in activity `durafn.timer-run`, and continues as new with the
//! next status. Because an instance is run by one host at a time and each turn commits once,
//! every occurrence is run by exactly one of the hosts sharing the task hub, and a timer that
//! was due while no host ran fires when one starts: the run is then late, and with `useMonitor`
//! it runs once, with `is_past_due`, for all the occurrences missed (without, it is skipped).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use durafn_core::{
    ActivityContext, FunctionError, OrchestrationContext, RuntimeStatus, TaskError, activity_fn,
    orchestrator_fn,
};
use durafn_runtime::{ClientError, DurableClient, StatusOptions};
use durafn_schedule::{Schedule, TimeZone};
use serde::{Deserialize, Serialize};

use crate::functions::durable_http::DurableHttpClient;
use crate::timers::function::{ScheduleStatus, TimerHandler, TimerInfo};

/// The built-in orchestrator that keeps a timer's schedule.
pub(crate) const SCHEDULE_ORCHESTRATOR: &str = "durafn.timer-schedule";
/// The built-in activity that runs a timer function for one occurrence.
pub(crate) const RUN_ACTIVITY: &str = "durafn.timer-run";
/// The event that hands a running schedule a changed trigger.
const SCHEDULE_CHANGED: &str = "durafn.schedule-changed";
/// Names of the host's own functions start with this, which function names cannot.
pub(crate) const BUILT_IN_PREFIX: &str = "durafn.";

/// How late a run may start and still count as on time: later than this, no host was
/// running at the occurrence (or every host was stalled), and the run is past due.
pub const PAST_DUE_AFTER: Duration = Duration::from_secs(60);

/// The instance that keeps the schedule of `function`.
pub fn schedule_instance_id(function: &str) -> String {
    format!("durafn.timer:{}", function.to_lowercase())
}

/// What the schedule orchestration carries from one occurrence to the next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ScheduleInput {
    pub(crate) function: String,
    /// The schedule with its settings resolved.
    pub(crate) schedule: String,
    /// The IANA time zone it is evaluated in.
    pub(crate) zone: String,
    pub(crate) use_monitor: bool,
    pub(crate) status: Option<ScheduleStatus>,
}

impl ScheduleInput {
    fn same_trigger(&self, other: &ScheduleInput) -> bool {
        self.schedule == other.schedule
            && self.zone == other.zone
            && self.use_monitor == other.use_monitor
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RunRequest {
    function: String,
    timer: TimerInfo,
}

/// Parses a resolved schedule in a zone; both were checked when the host started.
pub(crate) fn parse_schedule(schedule: &str, zone: &str) -> Result<Schedule, String> {
    let zone: TimeZone = if zone.is_empty() {
        TimeZone::default()
    } else {
        TimeZone::parse(zone, "WEBSITE_TIME_ZONE").map_err(|e| e.to_string())?
    };
    Schedule::parse(schedule, zone).map_err(|e| e.to_string())
}

async fn keep_schedule(
    ctx: OrchestrationContext,
    input: ScheduleInput,
) -> Result<(), FunctionError> {
    let schedule = parse_schedule(&input.schedule, &input.zone).map_err(FunctionError::msg)?;
    let now = ctx.current_utc_datetime();
    let mut status = input.status.unwrap_or_default();
    let next = match status.next {
        Some(next) => next,
        None => match schedule.next_after(now) {
            Some(next) => {
                status.next = Some(next);
                status.last_updated = Some(now);
                next
            }
            None => return Ok(()),
        },
    };
    ctx.set_custom_status(&status);
    let wait = (next - now).to_std().unwrap_or(Duration::ZERO);
    let changed = ctx
        .wait_for_external_event_with_timeout::<ScheduleInput>(SCHEDULE_CHANGED, wait)
        .await;
    match changed {
        Ok(new) => {
            // A host started with another trigger: keep the last run, recompute the next.
            let status = ScheduleStatus {
                last: status.last,
                next: None,
                last_updated: Some(ctx.current_utc_datetime()),
            };
            ctx.continue_as_new(
                &ScheduleInput {
                    status: Some(status),
                    ..new
                },
                false,
            );
            return Ok(());
        }
        Err(TaskError::Timeout { .. }) => {}
        Err(e) => return Err(FunctionError::msg(e.to_string())),
    }
    let fired = ctx.current_utc_datetime();
    let late = fired - next > TimeDelta::from_std(PAST_DUE_AFTER).unwrap_or(TimeDelta::MAX);
    let monitor = input.use_monitor && schedule.monitor_applies(next);
    // Occurrences missed while no host ran are skipped: the next one is after now.
    let from = if late { fired } else { next };
    let previous = status.last;
    let status = ScheduleStatus {
        last: Some(next),
        next: schedule.next_after(from),
        last_updated: Some(fired),
    };
    if !late || monitor {
        let timer = TimerInfo {
            scheduled: next,
            is_past_due: late,
            schedule_status: monitor.then_some(ScheduleStatus {
                last: previous,
                ..status
            }),
        };
        let run = RunRequest {
            function: input.function.clone(),
            timer,
        };
        // A failed run is recorded in this instance's history; the schedule goes on.
        let _ = ctx.call_activity::<()>(RUN_ACTIVITY, &run).await;
    }
    ctx.continue_as_new(
        &ScheduleInput {
            status: Some(status),
            ..input
        },
        false,
    );
    Ok(())
}

/// The timer functions of an app, for the run activity; the client is set once the runtime
/// runs.
pub(crate) struct TimerRuns {
    handlers: HashMap<String, Arc<dyn TimerHandler>>,
    client: OnceLock<Arc<dyn Fn() -> DurableHttpClient + Send + Sync>>,
    /// Woken when the client is set: the runtime starts before the host hands its client over,
    /// and a due occurrence may run in between.
    ready: tokio::sync::Notify,
}

impl TimerRuns {
    pub(crate) fn new(handlers: &[Arc<dyn TimerHandler>]) -> Self {
        Self {
            handlers: handlers
                .iter()
                .map(|h| (h.name().to_lowercase(), h.clone()))
                .collect(),
            client: OnceLock::new(),
            ready: tokio::sync::Notify::new(),
        }
    }

    pub(crate) fn set_client(&self, client: Arc<dyn Fn() -> DurableHttpClient + Send + Sync>) {
        let _ = self.client.set(client);
        self.ready.notify_waiters();
    }

    /// The host's client, once the host has handed it over (a run that comes first waits).
    async fn client(&self) -> Arc<dyn Fn() -> DurableHttpClient + Send + Sync> {
        loop {
            let ready = self.ready.notified();
            tokio::pin!(ready);
            ready.as_mut().enable();
            if let Some(client) = self.client.get() {
                return client.clone();
            }
            ready.await;
        }
    }

    /// Runs a timer function once.
    pub(crate) async fn run(&self, function: &str, timer: TimerInfo) -> Result<(), FunctionError> {
        let handler = self
            .handlers
            .get(&function.to_lowercase())
            .ok_or_else(|| FunctionError::msg(format!("no timer function named {function}")))?;
        let client = self.client().await;
        handler.call(timer, client()).await.map_err(|e| {
            tracing::warn!(function, error = %e, "the timer function failed");
            FunctionError::msg(e.to_string())
        })
    }
}

/// Registers the schedule orchestrator and the run activity.
pub(crate) fn built_in_functions(
    builder: durafn_core::RegistryBuilder,
) -> durafn_core::RegistryBuilder {
    builder
        .orchestrator(orchestrator_fn(SCHEDULE_ORCHESTRATOR, keep_schedule))
        .activity(activity_fn(
            RUN_ACTIVITY,
            |ctx: ActivityContext, run: RunRequest| async move {
                let runs = ctx
                    .data::<TimerRuns>()
                    .ok_or_else(|| FunctionError::msg("this host has no timer functions"))?;
                runs.run(&run.function, run.timer).await
            },
        ))
}

/// Makes sure the schedule of a timer function runs in the task hub with this trigger:
/// starts it if there is none (or it ended), hands a running one a changed trigger. Hosts
/// starting together race harmlessly: one start wins, the others find it running.
pub(crate) async fn ensure_schedule(
    client: &DurableClient,
    input: ScheduleInput,
) -> Result<(), ClientError> {
    let id = schedule_instance_id(&input.function);
    let options = StatusOptions {
        show_input: true,
        ..StatusOptions::default()
    };
    let current = client.get_status(&id, options).await?;
    let previous = current.as_ref().and_then(|s| {
        s.input
            .as_ref()
            .and_then(|i| i.decode::<ScheduleInput>().ok())
    });
    let status = current
        .as_ref()
        .and_then(|s| s.custom_status.as_ref())
        .and_then(|c| c.decode::<ScheduleStatus>().ok());
    match current {
        Some(s) if !s.runtime_status.is_terminal() => {
            if previous.is_some_and(|p| !p.same_trigger(&input)) {
                client.raise_event(&id, SCHEDULE_CHANGED, &input).await?;
            }
            Ok(())
        }
        _ => {
            // Keep the record only while the trigger is the same: it is what makes a missed
            // occurrence past due.
            let same = previous.is_some_and(|p| p.same_trigger(&input));
            let input = ScheduleInput {
                status: if same {
                    status
                } else {
                    status.map(|s| ScheduleStatus { next: None, ..s })
                },
                ..input
            };
            match client
                .start_new(SCHEDULE_ORCHESTRATOR, Some(&id), &input)
                .await
            {
                Ok(_) | Err(ClientError::InstanceExists { .. }) => Ok(()),
                Err(e) => Err(e),
            }
        }
    }
}

/// The recorded status of a timer function's schedule, for the admin API.
pub(crate) async fn recorded_status(
    client: &DurableClient,
    function: &str,
) -> Option<(RuntimeStatus, ScheduleStatus)> {
    let status = client
        .get_status(&schedule_instance_id(function), StatusOptions::default())
        .await
        .ok()??;
    let recorded = status.custom_status?.decode::<ScheduleStatus>().ok()?;
    Some((status.runtime_status, recorded))
}

/// The start-up run of a `runOnStartup` timer.
pub(crate) fn startup_info(now: DateTime<Utc>) -> TimerInfo {
    TimerInfo {
        scheduled: now,
        is_past_due: false,
        schedule_status: None,
    }
}
