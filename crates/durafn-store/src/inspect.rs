//! What an operator looks at: filtered listings in either order with counts per status, the
//! work queued for one instance with its leases and delivery counts, and the task hub's health.
//!
//! These are read-only queries for dashboards and tools. Every backend answers them from its
//! own tables (in SQL where it has SQL, with indexes), never by loading every instance, so they
//! stay cheap on a task hub with millions of instances.

use chrono::{DateTime, Utc};
use durafn_core::{EventId, ExecutionId, HistoryEvent, InstanceId, Payload, RuntimeStatus};

use crate::StoreFuture;
use crate::model::{ActivityId, InstanceFilter, InstancePage, InstanceRecord, MessageId};

/// Which way a listing runs: by created time, then instance id.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum SortOrder {
    /// Oldest first (the order of [`AdminStore::list_instances`](crate::AdminStore::list_instances)).
    #[default]
    OldestFirst,
    /// Newest first (what an operator usually wants to see).
    NewestFirst,
}

/// A listing query: the filter of the management API and what a dashboard adds to it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InstanceQuery {
    /// Created time, statuses, id prefix and orchestrator name.
    pub filter: InstanceFilter,
    /// Only instances whose custom status (its JSON text) contains this text, ignoring ASCII
    /// case.
    pub custom_status_contains: Option<String>,
    /// Leave out entities (instances whose id starts with `@`).
    pub orchestrations_only: bool,
    /// The order of the listing.
    pub order: SortOrder,
}

impl InstanceQuery {
    /// A query with this filter, in the default order.
    pub fn from_filter(filter: InstanceFilter) -> Self {
        Self {
            filter,
            ..Self::default()
        }
    }

    /// Whether a record passes the query.
    pub fn matches(&self, r: &InstanceRecord) -> bool {
        self.filter.matches(r)
            && !(self.orchestrations_only && r.instance_id.as_str().starts_with('@'))
            && self.custom_status_contains.as_deref().is_none_or(|text| {
                r.custom_status
                    .as_ref()
                    .is_some_and(|c| contains_ignoring_ascii_case(c.as_json(), text))
            })
    }
}

/// Whether `haystack` contains `needle`, ignoring ASCII case (as SQL `lower()` does for ASCII).
pub fn contains_ignoring_ascii_case(haystack: &str, needle: &str) -> bool {
    needle.is_empty()
        || haystack
            .as_bytes()
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// Work held under a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseInfo {
    /// Who holds it (the host id given when the work was fetched).
    pub owner: String,
    /// When it ends (unless renewed). A lease that ended is still shown until another host
    /// takes the work or the holder finishes it: a host that died holding work shows up so.
    pub until: DateTime<Utc>,
}

/// A message waiting for an instance.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingMessage {
    /// Its id.
    pub id: MessageId,
    /// The execution it answers, if it names one.
    pub execution_id: Option<ExecutionId>,
    /// The event it delivers.
    pub event: HistoryEvent,
    /// Not delivered before this time (a durable timer); `None`: visible at once.
    pub visible_at: Option<DateTime<Utc>>,
    /// How many times it has been fetched.
    pub delivery: u32,
}

/// An activity work item of an instance.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingActivity {
    /// Its id.
    pub id: ActivityId,
    /// The execution that scheduled it.
    pub execution_id: ExecutionId,
    /// The `TaskScheduled` event id.
    pub task_id: EventId,
    /// The activity function.
    pub name: String,
    /// Its input.
    pub input: Payload,
    /// Not handed out before this time (a retry after an abandon); `None`: at once.
    pub visible_at: Option<DateTime<Utc>>,
    /// The lease, while a host holds it.
    pub lease: Option<LeaseInfo>,
    /// How many times it has been handed out.
    pub delivery: u32,
}

/// Everything queued for one instance: what tells "waiting for an event" from "a host died
/// holding the lease" from "a message that keeps failing".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InstanceWork {
    /// The lease on the instance, if a host holds (or held and lost) it.
    pub lease: Option<LeaseInfo>,
    /// Its queued messages, oldest first.
    pub messages: Vec<PendingMessage>,
    /// Its activity work items, oldest first.
    pub activities: Vec<PendingActivity>,
}

/// The state of one work queue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueHealth {
    /// Items that can be handed out now.
    pub ready: u64,
    /// Items not visible yet (durable timers, retries after a delay).
    pub scheduled: u64,
    /// Items (or, for orchestrations, instances) held under a live lease.
    pub leased: u64,
    /// Since when the longest-waiting ready item has been waiting: for messages the later of
    /// when it was sent and when it became visible. `None` for activities, whose items carry no
    /// time (see [`oldest_ready_activity`](HubHealth::oldest_ready_activity)), and when
    /// nothing is ready.
    pub oldest_ready_since: Option<DateTime<Utc>>,
}

/// The leases one host holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostLeases {
    /// The host id.
    pub owner: String,
    /// Instances it holds under a live lease.
    pub instances: u64,
    /// Activity work items it holds under a live lease.
    pub activities: u64,
    /// Leases of it that have ended without the work being finished or taken over.
    pub expired: u64,
    /// When its latest lease ends.
    pub latest_until: Option<DateTime<Utc>>,
}

/// The health of a task hub's queues at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HubHealth {
    /// The orchestration queue (messages to instances and entities).
    pub orchestrations: QueueHealth,
    /// The activity queue.
    pub activities: QueueHealth,
    /// The oldest activity work item that is ready: its instance and `TaskScheduled` id, from
    /// whose history the time it was scheduled can be read.
    pub oldest_ready_activity: Option<(InstanceId, EventId)>,
    /// Leases by host, ordered by host id.
    pub hosts: Vec<HostLeases>,
}

/// Read-only queries for operators (dashboards, tools).
pub trait InspectStore: Send + Sync {
    /// Instances matching `query`, in its order, one page at a time (the continuation token is
    /// the one of [`AdminStore::list_instances`](crate::AdminStore::list_instances)).
    fn query_instances<'a>(
        &'a self,
        query: &'a InstanceQuery,
        page_size: usize,
        continuation: Option<&'a str>,
    ) -> StoreFuture<'a, InstancePage>;

    /// How many instances match `query`, for every status (in [`RuntimeStatus::ALL`] order;
    /// statuses the query leaves out count 0).
    fn count_instances<'a>(
        &'a self,
        query: &'a InstanceQuery,
    ) -> StoreFuture<'a, Vec<(RuntimeStatus, u64)>>;

    /// The lease, queued messages and activity work items of an instance (empty if unknown).
    fn instance_work<'a>(&'a self, id: &'a InstanceId) -> StoreFuture<'a, InstanceWork>;

    /// Queue depths, the oldest waiting work and the leases per host, as of `now`.
    fn hub_health(&self, now: DateTime<Utc>) -> StoreFuture<'_, HubHealth>;
}

/// Adds a lease to the per-host tally: live leases count by kind, ended ones as expired.
pub fn tally_lease(
    hosts: &mut Vec<HostLeases>,
    owner: &str,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
    activity: bool,
) {
    let i = match hosts.binary_search_by(|h| h.owner.as_str().cmp(owner)) {
        Ok(i) => i,
        Err(i) => {
            hosts.insert(
                i,
                HostLeases {
                    owner: owner.to_string(),
                    ..HostLeases::default()
                },
            );
            i
        }
    };
    let h = &mut hosts[i];
    if until <= now {
        h.expired += 1;
    } else if activity {
        h.activities += 1;
    } else {
        h.instances += 1;
    }
    h.latest_until = Some(h.latest_until.map_or(until, |t| t.max(until)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_search_ignores_ascii_case() {
        assert!(contains_ignoring_ascii_case(
            "{\"Stage\":\"Copy\"}",
            "stage\":\"cOPY"
        ));
        assert!(contains_ignoring_ascii_case("abc", ""));
        assert!(!contains_ignoring_ascii_case("ab", "abc"));
    }

    #[test]
    fn leases_are_tallied_by_host_in_order() {
        let t = |s| DateTime::<Utc>::from_timestamp(s, 0).unwrap();
        let mut hosts = Vec::new();
        tally_lease(&mut hosts, "b", t(20), t(10), false);
        tally_lease(&mut hosts, "a", t(30), t(10), true);
        tally_lease(&mut hosts, "b", t(5), t(10), true);
        assert_eq!(hosts.len(), 2);
        assert_eq!((hosts[0].owner.as_str(), hosts[0].activities), ("a", 1));
        assert_eq!(
            (hosts[1].instances, hosts[1].expired, hosts[1].latest_until),
            (1, 1, Some(t(20)))
        );
    }
}
