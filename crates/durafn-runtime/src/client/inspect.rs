//! What operators ask the client: filtered listings with counts, why an instance is where it
//! is, and how the task hub is doing. Every answer comes from the task hub's
//! [`InspectStore`](durafn_store::InspectStore) queries, the same store the rest of the client
//! uses, so a dashboard and the management API see the same thing.

use chrono::{DateTime, Utc};
use durafn_core::{EventKind, OrchestrationExecutor, RuntimeStatus};
use durafn_store::inspect::{HubHealth, InstanceQuery, InstanceWork};
use durafn_store::{InstancePage, InstanceRecord};

use super::{DurableClient, parse_id};
use crate::error::ClientError;

/// One thing that explains where an instance stands, most telling first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// The instance has finished; nothing more will run.
    Finished(RuntimeStatus),
    /// An operator suspended it; its messages wait until it is resumed.
    Suspended,
    /// A host is running a turn of it now.
    TurnRunning {
        /// The host.
        owner: String,
        /// When its lease ends.
        until: DateTime<Utc>,
    },
    /// A host took the instance and its lease ended without a commit: the host probably died
    /// holding it. Another host takes it over on its next fetch.
    LeaseExpired {
        /// The host that held it.
        owner: String,
        /// When the lease ended.
        since: DateTime<Utc>,
    },
    /// A message has been delivered this often without a committed turn; at more than
    /// `max_deliveries` the instance is failed as a poison message.
    RepeatedDelivery {
        /// How often the most delivered message was fetched.
        delivery: u32,
        /// The dead-letter limit of this host, when the client knows it.
        limit: Option<u32>,
    },
    /// Messages are ready and wait for an orchestration dispatcher.
    MessagesReady(usize),
    /// An activity runs on a host.
    ActivityRunning {
        /// The activity.
        name: String,
        /// The host.
        owner: String,
        /// When its lease ends.
        until: DateTime<Utc>,
    },
    /// An activity's lease ended while it ran: its host probably died; it runs again elsewhere.
    ActivityLeaseExpired {
        /// The activity.
        name: String,
        /// The host that held it.
        owner: String,
        /// When the lease ended.
        since: DateTime<Utc>,
    },
    /// An activity was handed out this often; at more than `max_deliveries` it is failed with
    /// `DeadLettered`.
    ActivityRedelivered {
        /// The activity.
        name: String,
        /// How often it was handed out.
        delivery: u32,
        /// The dead-letter limit, when the client knows it.
        limit: Option<u32>,
    },
    /// Activities are queued and wait for a worker.
    ActivitiesQueued(usize),
    /// The orchestration waits for a durable timer.
    WaitingForTimer(DateTime<Utc>),
    /// The orchestration waits for these external events (lower-cased names).
    WaitingForEvents(Vec<String>),
    /// Nothing is queued and nothing awaited that the client can see.
    Idle,
}

impl Finding {
    /// A short name of the kind, for tools (`leaseExpired`, `waitingForEvents`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Finding::Finished(_) => "finished",
            Finding::Suspended => "suspended",
            Finding::TurnRunning { .. } => "turnRunning",
            Finding::LeaseExpired { .. } => "leaseExpired",
            Finding::RepeatedDelivery { .. } => "repeatedDelivery",
            Finding::MessagesReady(_) => "messagesReady",
            Finding::ActivityRunning { .. } => "activityRunning",
            Finding::ActivityLeaseExpired { .. } => "activityLeaseExpired",
            Finding::ActivityRedelivered { .. } => "activityRedelivered",
            Finding::ActivitiesQueued(_) => "activitiesQueued",
            Finding::WaitingForTimer(_) => "waitingForTimer",
            Finding::WaitingForEvents(_) => "waitingForEvents",
            Finding::Idle => "idle",
        }
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = |at: &DateTime<Utc>| at.format("%Y-%m-%d %H:%M:%S%.3fZ").to_string();
        let limit = |l: &Option<u32>| {
            l.map(|n| format!(" (dead-lettered after {n})"))
                .unwrap_or_default()
        };
        match self {
            Finding::Finished(s) => write!(f, "finished ({s}); nothing more will run"),
            Finding::Suspended => f.write_str("suspended: its messages wait until it is resumed"),
            Finding::TurnRunning { owner, until } => {
                write!(
                    f,
                    "host {owner} is running a turn (lease until {})",
                    t(until)
                )
            }
            Finding::LeaseExpired { owner, since } => write!(
                f,
                "host {owner} held it and its lease ended {} without a commit: the host probably died",
                t(since)
            ),
            Finding::RepeatedDelivery { delivery, limit: l } => write!(
                f,
                "a message was delivered {delivery} times without a committed turn{}",
                limit(l)
            ),
            Finding::MessagesReady(n) => {
                write!(f, "{n} message(s) ready, waiting for a dispatcher")
            }
            Finding::ActivityRunning { name, owner, until } => {
                write!(
                    f,
                    "activity {name} runs on host {owner} (lease until {})",
                    t(until)
                )
            }
            Finding::ActivityLeaseExpired { name, owner, since } => write!(
                f,
                "activity {name} was leased by {owner} until {}: its host probably died",
                t(since)
            ),
            Finding::ActivityRedelivered {
                name,
                delivery,
                limit: l,
            } => {
                write!(
                    f,
                    "activity {name} was handed out {delivery} times{}",
                    limit(l)
                )
            }
            Finding::ActivitiesQueued(n) => {
                write!(f, "{n} activity work item(s) wait for a worker")
            }
            Finding::WaitingForTimer(at) => write!(f, "waits for a durable timer due {}", t(at)),
            Finding::WaitingForEvents(names) => {
                write!(f, "waits for the event(s) {}", names.join(", "))
            }
            Finding::Idle => f.write_str("nothing is queued and nothing awaited"),
        }
    }
}

/// Why an instance is where it is: its queued work with leases and delivery counts, the
/// events its code waits for, and the findings drawn from them.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnosis {
    /// The instance's status.
    pub status: RuntimeStatus,
    /// Its lease, messages and activity work items.
    pub work: InstanceWork,
    /// The events its code waits for (found by replaying its history; empty when the client
    /// has no registry to replay with).
    pub awaited_events: Vec<String>,
    /// Deliveries after which work is dead-lettered, when the client belongs to a runtime.
    pub max_deliveries: Option<u32>,
    /// What explains its state, most telling first.
    pub findings: Vec<Finding>,
}

/// The task hub's health: instances per status, queue depths, the oldest waiting work and
/// the leases per host.
#[derive(Debug, Clone, PartialEq)]
pub struct HubReport {
    /// When it was taken.
    pub at: DateTime<Utc>,
    /// Instances (and entities) per status.
    pub counts: Vec<(RuntimeStatus, u64)>,
    /// The queues and leases.
    pub health: HubHealth,
    /// Since when the oldest ready activity has waited: the time it was scheduled, from its
    /// instance's history.
    pub oldest_activity_since: Option<DateTime<Utc>>,
}

impl DurableClient {
    /// Instances matching `query`, in its order, one page at a time.
    pub async fn query(
        &self,
        query: &InstanceQuery,
        page_size: usize,
        continuation: Option<&str>,
    ) -> Result<InstancePage, ClientError> {
        Ok(self
            .store
            .query_instances(query, page_size, continuation)
            .await?)
    }

    /// The stored row of an instance (its parent included), or `None` if there is none.
    pub async fn record(&self, instance_id: &str) -> Result<Option<InstanceRecord>, ClientError> {
        let id = parse_id(instance_id)?;
        Ok(self.store.get_instance(&id).await?)
    }

    /// How many instances match `query`, per status.
    pub async fn count(
        &self,
        query: &InstanceQuery,
    ) -> Result<Vec<(RuntimeStatus, u64)>, ClientError> {
        Ok(self.store.count_instances(query).await?)
    }

    /// The pre-deploy replay check over this client's task hub and registry (a client without
    /// a registry finds every live instance unregistered): every live instance `filter`
    /// selects, replayed and never leased; `progress` is called after each page.
    pub async fn replay_check(
        &self,
        filter: &durafn_store::InstanceFilter,
        page_size: usize,
        progress: impl FnMut(&crate::replay_check::CheckSummary),
    ) -> Result<crate::replay_check::CheckSummary, ClientError> {
        let registry = self.registry.clone().unwrap_or_else(|| {
            std::sync::Arc::new(
                durafn_core::Registry::builder()
                    .build()
                    .expect("an empty registry is valid"),
            )
        });
        Ok(crate::replay_check::check_hub(
            self.store.as_ref(),
            &registry,
            filter,
            page_size,
            progress,
        )
        .await?)
    }

    /// The external events the instance's code waits for now, found by replaying its history
    /// with this client's registry (empty without one, or when the orchestrator is not
    /// registered here).
    pub async fn awaited_events(&self, instance_id: &str) -> Result<Vec<String>, ClientError> {
        let id = parse_id(instance_id)?;
        let Some(registry) = self.registry.clone() else {
            return Ok(Vec::new());
        };
        let Some(record) = self.store.get_instance(&id).await? else {
            return Ok(Vec::new());
        };
        if record.status.is_terminal() || registry.orchestrator(&record.name).is_none() {
            return Ok(Vec::new());
        }
        let history = self.store.get_history(&id).await?;
        let mut executor = OrchestrationExecutor::new(registry);
        executor.replay(&history);
        Ok(executor.awaited_events())
    }

    /// Why an instance is where it is, or `None` if there is no such instance.
    pub async fn diagnose(&self, instance_id: &str) -> Result<Option<Diagnosis>, ClientError> {
        let id = parse_id(instance_id)?;
        let Some(record) = self.store.get_instance(&id).await? else {
            return Ok(None);
        };
        let work = self.store.instance_work(&id).await?;
        let awaited_events = self.awaited_events(instance_id).await?;
        let max_deliveries = self.runtime.as_ref().map(|rt| rt.options.max_deliveries);
        let now = self.clock.now();
        let findings = findings(record.status, &work, &awaited_events, max_deliveries, now);
        Ok(Some(Diagnosis {
            status: record.status,
            work,
            awaited_events,
            max_deliveries,
            findings,
        }))
    }

    /// The task hub's health now.
    pub async fn hub_report(&self) -> Result<HubReport, ClientError> {
        let at = self.clock.now();
        let counts = self.store.count_by_status().await?;
        let health = self.store.hub_health(at).await?;
        let mut oldest_activity_since = None;
        if let Some((instance, task)) = &health.oldest_ready_activity {
            oldest_activity_since = self
                .store
                .get_history(instance)
                .await?
                .iter()
                .find(|e| e.event_id == *task && matches!(e.kind, EventKind::TaskScheduled { .. }))
                .map(|e| e.timestamp);
        }
        Ok(HubReport {
            at,
            counts,
            health,
            oldest_activity_since,
        })
    }
}

/// Draws the findings from an instance's status, work and awaited events.
fn findings(
    status: RuntimeStatus,
    work: &InstanceWork,
    awaited: &[String],
    limit: Option<u32>,
    now: DateTime<Utc>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if status.is_terminal() {
        out.push(Finding::Finished(status));
    }
    if status == RuntimeStatus::Suspended {
        out.push(Finding::Suspended);
    }
    if let Some(lease) = &work.lease {
        out.push(if lease.until > now {
            Finding::TurnRunning {
                owner: lease.owner.clone(),
                until: lease.until,
            }
        } else {
            Finding::LeaseExpired {
                owner: lease.owner.clone(),
                since: lease.until,
            }
        });
    }
    if let Some(delivery) = work
        .messages
        .iter()
        .map(|m| m.delivery)
        .max()
        .filter(|d| *d > 1)
    {
        out.push(Finding::RepeatedDelivery { delivery, limit });
    }
    let ready = work
        .messages
        .iter()
        .filter(|m| m.visible_at.is_none_or(|t| t <= now))
        .count();
    if ready > 0 && work.lease.as_ref().is_none_or(|l| l.until <= now) {
        out.push(Finding::MessagesReady(ready));
    }
    let mut queued = 0;
    for a in &work.activities {
        match &a.lease {
            Some(l) if l.until > now => out.push(Finding::ActivityRunning {
                name: a.name.clone(),
                owner: l.owner.clone(),
                until: l.until,
            }),
            Some(l) => out.push(Finding::ActivityLeaseExpired {
                name: a.name.clone(),
                owner: l.owner.clone(),
                since: l.until,
            }),
            None => queued += 1,
        }
        if a.delivery > 1 {
            out.push(Finding::ActivityRedelivered {
                name: a.name.clone(),
                delivery: a.delivery,
                limit,
            });
        }
    }
    if queued > 0 {
        out.push(Finding::ActivitiesQueued(queued));
    }
    let timer = work
        .messages
        .iter()
        .filter_map(|m| m.visible_at.filter(|t| *t > now))
        .min();
    if let Some(at) = timer {
        out.push(Finding::WaitingForTimer(at));
    }
    if !awaited.is_empty() {
        out.push(Finding::WaitingForEvents(awaited.to_vec()));
    }
    if out.is_empty() {
        out.push(Finding::Idle);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use durafn_store::inspect::{LeaseInfo, PendingActivity};

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(s, 0).unwrap()
    }

    #[test]
    fn a_dead_host_is_told_from_a_running_turn_and_from_waiting() {
        let mut work = InstanceWork {
            lease: Some(LeaseInfo {
                owner: "host-a".into(),
                until: t(10),
            }),
            ..InstanceWork::default()
        };
        let running = findings(RuntimeStatus::Running, &work, &[], Some(10), t(5));
        assert!(matches!(running[0], Finding::TurnRunning { .. }));
        let dead = findings(RuntimeStatus::Running, &work, &[], Some(10), t(50));
        assert_eq!(
            dead[0],
            Finding::LeaseExpired {
                owner: "host-a".into(),
                since: t(10)
            }
        );
        work.lease = None;
        let waiting = findings(
            RuntimeStatus::Running,
            &work,
            &["approval".into()],
            None,
            t(5),
        );
        assert_eq!(
            waiting,
            [Finding::WaitingForEvents(vec!["approval".into()])]
        );
        work.activities.push(PendingActivity {
            id: durafn_store::ActivityId(1),
            execution_id: durafn_core::ExecutionId::new("e"),
            task_id: durafn_core::EventId(0),
            name: "Charge".into(),
            input: durafn_core::Payload::null(),
            visible_at: None,
            lease: None,
            delivery: 4,
        });
        let poison = findings(RuntimeStatus::Running, &work, &[], Some(10), t(5));
        assert_eq!(
            poison,
            [
                Finding::ActivityRedelivered {
                    name: "Charge".into(),
                    delivery: 4,
                    limit: Some(10)
                },
                Finding::ActivitiesQueued(1)
            ]
        );
        assert_eq!(
            findings(
                RuntimeStatus::Completed,
                &InstanceWork::default(),
                &[],
                None,
                t(0)
            ),
            [Finding::Finished(RuntimeStatus::Completed)]
        );
    }
}
