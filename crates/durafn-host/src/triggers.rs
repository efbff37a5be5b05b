//! Starting and stopping an app's non-HTTP triggers: a polling loop per queue function, a
//! schedule instance per timer function (and its `runOnStartup` run).

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use durafn_azure::queue::Queue;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::app::state::{HostState, Inner, QueueEntry, TimerEntry, TriggerTasks};
use crate::config::HostConfig;
use crate::error::HostError;
use crate::functions::http_function::validate_function_name;
use crate::queues::connection::Connections;
use crate::queues::listener::{ClientFactory, QueueListener};
use crate::queues::{QueueHandler, QueueOptions, Queues};
use crate::timers::TimerHandler;
use crate::timers::schedule::{ScheduleInput, TimerRuns, ensure_schedule, startup_info};

/// A queue function with its queue opened.
struct CheckedQueue {
    handler: Arc<dyn QueueHandler>,
    connection: String,
    queue: Queue,
    wake: Arc<Notify>,
}

/// A timer function with its schedule resolved and parsed.
struct CheckedTimer {
    handler: Arc<dyn TimerHandler>,
    entry: TimerEntry,
}

/// The checked triggers of an app, before and while it runs.
pub(crate) struct Triggers {
    queues_in: Vec<CheckedQueue>,
    timers: Vec<CheckedTimer>,
    options: QueueOptions,
    timeout: Option<Duration>,
    /// Queue output for the app's functions.
    pub(crate) queues: Queues,
}

impl Triggers {
    /// Checks every queue and timer function; an error names the function and what is wrong.
    pub(crate) fn check(
        queue_functions: &[Arc<dyn QueueHandler>],
        timer_functions: &[Arc<dyn TimerHandler>],
        config: &HostConfig,
    ) -> Result<Triggers, HostError> {
        let bad = HostError::Functions;
        let settings = Arc::new(config.settings.clone());
        let connections = Arc::new(Connections::new(
            settings.clone(),
            config.root.join(crate::app::SECRETS_DIR),
            config.queues.message_encoding,
        ));
        let mut queues_in = Vec::new();
        let mut listening = HashMap::new();
        for h in queue_functions {
            let name = h.name().to_string();
            validate_function_name(&name).map_err(bad)?;
            h.validate().map_err(bad)?;
            let trigger = h.trigger();
            if trigger.queue.trim().is_empty() {
                return Err(bad(format!("queue function '{name}' names no queue")));
            }
            let queue = connections
                .queue(&trigger.connection, &trigger.queue)
                .map_err(|e| bad(format!("queue function '{name}': {e}")))?;
            let wake = Arc::new(Notify::new());
            listening.insert(
                (trigger.connection.clone(), queue.name().to_string()),
                wake.clone(),
            );
            queues_in.push(CheckedQueue {
                handler: h.clone(),
                connection: trigger.connection,
                queue,
                wake,
            });
        }
        let zone = durafn_schedule::TimeZone::from_settings(
            settings.get("WEBSITE_TIME_ZONE"),
            settings.get("TZ"),
        )
        .map_err(|e| bad(format!("the app's time zone: {e}")))?;
        let mut timers = Vec::new();
        for h in timer_functions {
            let name = h.name().to_string();
            validate_function_name(&name).map_err(bad)?;
            h.validate().map_err(bad)?;
            let trigger = h.trigger();
            let schedule = durafn_schedule::resolve_settings(&trigger.schedule, |n| {
                settings.get(n).map(String::from)
            })
            .map_err(|e| bad(format!("timer function '{name}': {e}")))?;
            durafn_schedule::Schedule::parse(&schedule, zone)
                .map_err(|e| bad(format!("timer function '{name}': {e}")))?;
            timers.push(CheckedTimer {
                handler: h.clone(),
                entry: TimerEntry {
                    name,
                    schedule,
                    zone: zone.name().to_string(),
                    run_on_startup: trigger.run_on_startup,
                    use_monitor: trigger.use_monitor,
                },
            });
        }
        Ok(Triggers {
            queues_in,
            timers,
            options: config.queues.clone(),
            timeout: config.function_timeout,
            queues: Queues::new(connections, listening),
        })
    }

    /// The names of the queue and timer functions.
    pub(crate) fn names(&self) -> Vec<String> {
        self.queues_in
            .iter()
            .map(|q| q.handler.name().to_string())
            .chain(self.timers.iter().map(|t| t.entry.name.clone()))
            .collect()
    }

    pub(crate) fn timer_entries(&self) -> Vec<TimerEntry> {
        self.timers.iter().map(|t| t.entry.clone()).collect()
    }

    pub(crate) fn queue_entries(&self) -> Vec<QueueEntry> {
        self.queues_in
            .iter()
            .map(|q| QueueEntry {
                name: q.handler.name().to_string(),
                queue: q.queue.name().to_string(),
                connection: q.connection.clone(),
            })
            .collect()
    }

    /// Starts the listeners and the schedules.
    pub(crate) fn start(
        self,
        state: &HostState,
        clock: Option<Arc<dyn durafn_runtime::Clock>>,
        lease: Duration,
    ) {
        let clock: Arc<dyn durafn_runtime::Clock> =
            clock.unwrap_or_else(|| Arc::new(durafn_runtime::SystemClock));
        let weak: Weak<Inner> = Arc::downgrade(&state.0);
        let client: ClientFactory = Arc::new(move || {
            let state = HostState(weak.upgrade().expect("the host runs while its triggers do"));
            state.http_client(state.fallback_origin())
        });
        if let Some(runs) = state.app_data.get::<TimerRuns>() {
            runs.set_client(client.clone());
        }
        let (stop, stop_rx) = watch::channel(false);
        let mut tasks = Vec::new();
        for q in self.queues_in {
            let listener = QueueListener {
                function: q.handler.name().to_string(),
                queue: q.queue,
                handler: q.handler,
                options: self.options.clone(),
                lease,
                timeout: self.timeout,
                client: client.clone(),
                wake: q.wake,
            };
            tasks.push(tokio::spawn(listener.run(stop_rx.clone())));
        }
        for t in self.timers {
            let durable = state.client.clone();
            let client = client.clone();
            let entry = t.entry;
            let handler = t.handler;
            let clock = clock.clone();
            let mut stop_rx = stop_rx.clone();
            tasks.push(tokio::spawn(async move {
                let input = ScheduleInput {
                    function: entry.name.clone(),
                    schedule: entry.schedule.clone(),
                    zone: entry.zone.clone(),
                    use_monitor: entry.use_monitor,
                    status: None,
                };
                let mut wait = Duration::from_millis(100);
                loop {
                    match ensure_schedule(&durable, input.clone()).await {
                        Ok(()) => break,
                        Err(e) => {
                            tracing::warn!(function = %entry.name, error = %e, "could not start the timer's schedule; retrying");
                        }
                    }
                    tokio::select! {
                        _ = stop_rx.wait_for(|s| *s) => return,
                        _ = tokio::time::sleep(wait) => wait = (wait * 2).min(Duration::from_secs(30)),
                    }
                }
                if entry.run_on_startup {
                    let now = clock.now();
                    if let Err(e) = handler.call(startup_info(now), client()).await {
                        tracing::warn!(function = %entry.name, error = %e, "the timer function's start-up run failed");
                    }
                }
            }));
        }
        *state
            .trigger_tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(TriggerTasks { stop, tasks });
    }
}

/// Stops polling and waits (up to `limit`) for the runs in flight.
pub(crate) async fn stop(state: &HostState, limit: Duration) {
    let tasks = state
        .trigger_tasks
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take();
    let Some(tasks) = tasks else { return };
    let _ = tasks.stop.send(true);
    let all = futures_join(tasks.tasks);
    if tokio::time::timeout(limit, all).await.is_err() {
        tracing::warn!(
            "queue functions still running at shutdown were abandoned; their messages reappear when their leases end"
        );
    }
}

async fn futures_join(tasks: Vec<JoinHandle<()>>) {
    for t in tasks {
        let _ = t.await;
    }
}
