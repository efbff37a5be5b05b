//! durafn's extensions of the management API, for operators: instance counts per status for a
//! filter, why an instance is where it is, and the task hub's health. They live under
//! [`EXTENSIONS`] beside the Durable Functions routes; an Azure Functions host answers them
//! with 404, which clients take as "not a durafn host".

use serde::{Deserialize, Serialize};

/// The path of the extensions, under [`MANAGEMENT_BASE`](crate::MANAGEMENT_BASE).
pub const EXTENSIONS: &str = "/durafn";

/// `GET …/durafn/counts`: how many instances match a filter (the listing's filter, plus the
/// orchestrator `name` and `customStatus` text), per status. Entities are not counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceCounts {
    /// All of them.
    pub total: u64,
    /// By runtime status, every status present (`"Running": 3`, …).
    pub counts: std::collections::BTreeMap<String, u64>,
}

/// Work held under a lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaseJson {
    /// The host that holds it.
    pub owner: String,
    /// When it ends (RFC 3339); an end in the past means the holder did not finish in time.
    pub until: String,
}

/// A queued message of an instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueuedMessageJson {
    /// Its id in the task hub.
    pub id: i64,
    /// The history event it delivers (`EventRaised`, `TimerFired`, …).
    pub event_type: String,
    /// When it was sent.
    pub sent_time: String,
    /// Not delivered before this time (a durable timer); absent when visible at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible_time: Option<String>,
    /// How many times it was fetched.
    pub deliveries: u32,
}

/// An activity work item of an instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityItemJson {
    /// Its id in the task hub.
    pub id: i64,
    /// The activity function.
    pub name: String,
    /// The id of its `TaskScheduled` event.
    pub task_id: i64,
    /// Not handed out before this time; absent when at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible_time: Option<String>,
    /// Its lease, while a host holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<LeaseJson>,
    /// How many times it was handed out.
    pub deliveries: u32,
}

/// One thing that explains where an instance stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FindingJson {
    /// What kind (`leaseExpired`, `waitingForEvents`, `repeatedDelivery`, …).
    pub kind: String,
    /// The same in words.
    pub message: String,
}

/// `GET …/durafn/instances/{instanceId}/diagnosis`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiagnosisJson {
    /// The instance.
    pub instance_id: String,
    /// Its runtime status.
    pub runtime_status: String,
    /// The lease on it, if a host holds (or held and lost) one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<LeaseJson>,
    /// Its queued messages, oldest first.
    pub messages: Vec<QueuedMessageJson>,
    /// Its activity work items, oldest first.
    pub activities: Vec<ActivityItemJson>,
    /// The events its code waits for (lower-cased names).
    pub awaited_events: Vec<String>,
    /// Deliveries after which this host dead-letters work.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_deliveries: Option<u32>,
    /// What explains its state, most telling first.
    pub findings: Vec<FindingJson>,
}

/// One work queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueJson {
    /// Items that can be handed out now.
    pub ready: u64,
    /// Items not visible yet (timers, delayed retries).
    pub scheduled: u64,
    /// Items (for orchestrations: instances) under a live lease.
    pub leased: u64,
    /// Since when the longest-waiting ready item has waited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_ready_time: Option<String>,
}

/// The leases of one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostLeasesJson {
    /// The host id.
    pub owner: String,
    /// Instances it holds.
    pub instances: u64,
    /// Activity work items it holds.
    pub activities: u64,
    /// Its leases that ended without the work being finished or taken over.
    pub expired: u64,
    /// When its latest lease ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_lease_until: Option<String>,
}

/// `GET …/durafn/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HubHealthJson {
    /// When it was taken.
    pub time: String,
    /// Instances (entities included) per status.
    pub counts: std::collections::BTreeMap<String, u64>,
    /// The orchestration queue.
    pub orchestrations: QueueJson,
    /// The activity queue.
    pub activities: QueueJson,
    /// Leases by host.
    pub hosts: Vec<HostLeasesJson>,
}
