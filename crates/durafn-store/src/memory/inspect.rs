//! The operator queries of the in-memory task hub.

use chrono::{DateTime, Utc};
use durafn_core::{InstanceId, RuntimeStatus};

use super::{MemoryStore, ready};
use crate::inspect::{
    HubHealth, InspectStore, InstanceQuery, InstanceWork, LeaseInfo, PendingActivity,
    PendingMessage, SortOrder, tally_lease,
};
use crate::{
    ActivityId, InstancePage, InstanceRecord, MessageId, StoreFuture, decode_continuation,
};

/// A stored `visible_at` as the queries report it: the sentinel of "at once" is `None`.
fn visibility(at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    (at != DateTime::<Utc>::MIN_UTC).then_some(at)
}

impl InspectStore for MemoryStore {
    fn query_instances<'a>(
        &'a self,
        query: &'a InstanceQuery,
        page_size: usize,
        continuation: Option<&'a str>,
    ) -> StoreFuture<'a, InstancePage> {
        let after = match continuation.map(decode_continuation).transpose() {
            Ok(after) => after,
            Err(e) => return ready(Err(e)),
        };
        let newest_first = query.order == SortOrder::NewestFirst;
        ready(Ok(self.with(|s| {
            let mut matching: Vec<&InstanceRecord> = s
                .instances
                .values()
                .filter(|r| query.matches(r))
                .filter(|r| {
                    after.as_ref().is_none_or(|(at, id)| {
                        let key = (r.created_at, r.instance_id.as_str());
                        let position = (*at, id.as_str());
                        if newest_first {
                            key < position
                        } else {
                            key > position
                        }
                    })
                })
                .collect();
            matching.sort_by(|a, b| {
                let ordered = (a.created_at, &a.instance_id).cmp(&(b.created_at, &b.instance_id));
                if newest_first {
                    ordered.reverse()
                } else {
                    ordered
                }
            });
            let rows = matching
                .into_iter()
                .take(crate::kit::page_rows(page_size))
                .cloned()
                .collect();
            crate::kit::page(rows, page_size)
        })))
    }

    fn count_instances<'a>(
        &'a self,
        query: &'a InstanceQuery,
    ) -> StoreFuture<'a, Vec<(RuntimeStatus, u64)>> {
        ready(Ok(self.with(|s| {
            crate::kit::status_counts(
                s.instances
                    .values()
                    .filter(|r| query.matches(r))
                    .map(|r| (r.status, 1)),
            )
        })))
    }

    fn instance_work<'a>(&'a self, id: &'a InstanceId) -> StoreFuture<'a, InstanceWork> {
        ready(Ok(self.with(|s| {
            let lease = s.locks.get(id).map(|(_, until)| LeaseInfo {
                owner: s.lock_owners.get(id).cloned().unwrap_or_default(),
                until: *until,
            });
            let messages = s
                .messages
                .iter()
                .filter(|(_, m)| &m.instance_id == id)
                .map(|(mid, m)| PendingMessage {
                    id: MessageId(*mid),
                    execution_id: m.execution_id.clone(),
                    event: m.event.clone(),
                    visible_at: visibility(m.visible_at),
                    delivery: m.delivery,
                })
                .collect();
            let activities = s
                .activities
                .iter()
                .filter(|(_, a)| &a.activity.instance_id == id)
                .map(|(aid, a)| PendingActivity {
                    id: ActivityId(*aid),
                    execution_id: a.activity.execution_id.clone(),
                    task_id: a.activity.task_id,
                    name: a.activity.name.clone(),
                    input: a.activity.input.clone(),
                    visible_at: visibility(a.visible_at),
                    lease: a.lease.as_ref().map(|(_, until)| LeaseInfo {
                        owner: a.lease_owner.clone(),
                        until: *until,
                    }),
                    delivery: a.delivery,
                })
                .collect();
            InstanceWork {
                lease,
                messages,
                activities,
            }
        })))
    }

    fn hub_health(&self, now: DateTime<Utc>) -> StoreFuture<'_, HubHealth> {
        ready(Ok(self.with(|s| {
            let mut health = HubHealth::default();
            for m in s.messages.values() {
                if m.visible_at > now {
                    health.orchestrations.scheduled += 1;
                    continue;
                }
                health.orchestrations.ready += 1;
                let since = m.event.timestamp.max(m.visible_at);
                let oldest = &mut health.orchestrations.oldest_ready_since;
                *oldest = Some(oldest.map_or(since, |t| t.min(since)));
            }
            health.orchestrations.leased =
                s.locks.values().filter(|(_, u)| *u > now).count() as u64;
            for (id, (_, until)) in &s.locks {
                let owner = s.lock_owners.get(id).map_or("", String::as_str);
                tally_lease(&mut health.hosts, owner, *until, now, false);
            }
            for a in s.activities.values() {
                match &a.lease {
                    Some((_, until)) if *until > now => health.activities.leased += 1,
                    _ if a.visible_at > now => health.activities.scheduled += 1,
                    _ => {
                        health.activities.ready += 1;
                        if health.oldest_ready_activity.is_none() {
                            health.oldest_ready_activity =
                                Some((a.activity.instance_id.clone(), a.activity.task_id));
                        }
                    }
                }
                if let Some((_, until)) = &a.lease {
                    tally_lease(&mut health.hosts, &a.lease_owner, *until, now, true);
                }
            }
            health
        })))
    }
}
