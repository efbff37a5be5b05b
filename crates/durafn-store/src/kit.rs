//! The backend kit: what every task hub backend does the same way, written once.
//!
//! Listing pages and their continuation tokens, which instances a purge may delete, status
//! counts, the message that tells a parent its sub-orchestration's id is taken, and lock tokens.
//! A backend keeps only what is its own (queries, transactions, encodings).

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use durafn_core::{
    EventKind, FailureDetails, HistoryEvent, InstanceId, ParentInstance, RuntimeStatus,
    SystemFailure,
};

use crate::error::StoreError;
use crate::model::{InstanceFilter, InstancePage, InstanceRecord, LockToken, NewMessage};

/// How many rows a listing reads for a page of `page_size`: one more than the page (at least
/// one), to know whether another page follows.
pub fn page_rows(page_size: usize) -> usize {
    page_size.max(1).saturating_add(1)
}

/// Makes a page from rows read in listing order (created time, then instance id), at most
/// [`page_rows`] of them: the extra row only says that there is a next page.
pub fn page(mut rows: Vec<InstanceRecord>, page_size: usize) -> InstancePage {
    let page_size = page_size.max(1);
    let more = rows.len() > page_size;
    rows.truncate(page_size);
    let continuation = if more {
        rows.last()
            .map(|r| encode_continuation(r.created_at, &r.instance_id))
    } else {
        None
    };
    InstancePage {
        instances: rows,
        continuation,
    }
}

/// Encodes a listing position as an opaque, header-safe continuation token.
pub fn encode_continuation(created_at: DateTime<Utc>, instance_id: &InstanceId) -> String {
    let hex: String = instance_id
        .as_str()
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{}.{hex}", created_at.timestamp_micros())
}

/// Decodes a token made by [`encode_continuation`].
pub fn decode_continuation(token: &str) -> Result<(DateTime<Utc>, String), StoreError> {
    let bad = || StoreError::InvalidInput(format!("invalid continuation token {token:?}"));
    let (micros, hex) = token.split_once('.').ok_or_else(bad)?;
    let micros: i64 = micros.parse().map_err(|_| bad())?;
    let at = DateTime::<Utc>::from_timestamp_micros(micros).ok_or_else(bad)?;
    if hex.len() % 2 != 0 || !hex.is_ascii() {
        return Err(bad());
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| bad())?;
    let id = String::from_utf8(bytes).map_err(|_| bad())?;
    Ok((at, id))
}

/// The statuses a purge with `filter` deletes: the terminal ones the filter allows (empty when
/// the filter asks only for active statuses).
pub fn purgeable_statuses(filter: &InstanceFilter) -> Vec<RuntimeStatus> {
    RuntimeStatus::ALL
        .into_iter()
        .filter(|s| s.is_terminal() && (filter.statuses.is_empty() || filter.statuses.contains(s)))
        .collect()
}

/// Whether a single purge of `id`, whose status is `status` (`None`: no such instance), goes
/// ahead (`Ok(true)`), finds nothing (`Ok(false)`) or is refused because the instance is active.
pub fn purge_check(id: &InstanceId, status: Option<RuntimeStatus>) -> Result<bool, StoreError> {
    match status {
        None => Ok(false),
        Some(status) if !status.is_terminal() => Err(StoreError::NotTerminal {
            instance_id: id.clone(),
            status,
        }),
        Some(_) => Ok(true),
    }
}

/// Every status with its count, in [`RuntimeStatus::ALL`] order, from the counts a backend
/// found (statuses it did not find count 0).
pub fn status_counts(
    found: impl IntoIterator<Item = (RuntimeStatus, u64)>,
) -> Vec<(RuntimeStatus, u64)> {
    let mut counts: Vec<(RuntimeStatus, u64)> =
        RuntimeStatus::ALL.into_iter().map(|s| (s, 0)).collect();
    for (status, n) in found {
        if let Some(entry) = counts.iter_mut().find(|(s, _)| *s == status) {
            entry.1 += n;
        }
    }
    counts
}

/// The message that tells `parent` that its sub-orchestration `child` was not started because
/// an instance with that id is still active (in `status`); sent at `at`, the child's creation.
pub fn child_refused(
    parent: &ParentInstance,
    child: &InstanceId,
    status: RuntimeStatus,
    at: DateTime<Utc>,
) -> NewMessage {
    let failure = FailureDetails::system(
        SystemFailure::InstanceExists,
        format!("an instance with id '{child}' already exists and is {status}"),
    );
    NewMessage {
        instance_id: parent.instance_id.clone(),
        execution_id: Some(parent.execution_id.clone()),
        event: HistoryEvent::new(
            at,
            EventKind::SubOrchestrationInstanceFailed {
                task_scheduled_id: parent.task_scheduled_id,
                failure,
            },
        ),
        visible_at: None,
    }
}

/// Makes lock tokens: `owner:prefix:counter`.
///
/// A durable task hub is shared by processes over time, so its tokens must never repeat:
/// [`LockTokens::unique`] takes the process id and the time the store was opened as the prefix.
/// The in-memory task hub lives and dies with one process, so [`LockTokens::sequential`] with a
/// fixed prefix is enough, and makes its tokens the same on every run of the same work (a
/// deterministic simulation compares runs).
#[derive(Debug)]
pub struct LockTokens {
    prefix: String,
    next: AtomicU64,
}

impl LockTokens {
    /// Tokens unique across processes and restarts: process id and the time of this call.
    pub fn unique() -> Self {
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Self::sequential(format!("{}:{started:x}", std::process::id()))
    }

    /// Tokens that only count up after `prefix`: the same sequence every time.
    pub fn sequential(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
            next: AtomicU64::new(0),
        }
    }

    /// A fresh token for `owner`.
    pub fn next(&self, owner: &str) -> LockToken {
        let n = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        LockToken(format!("{owner}:{}:{n}", self.prefix))
    }
}

/// The instances a turn's commit may claim for its committer ([`TurnCommit::claim_turns`]):
/// the instance itself, the sub-orchestrations it creates, then the targets of its messages
/// visible by the claim's time, each once, in that order, at most the claim's `max_items`.
/// Every backend claims by this list. Empty without a claim.
///
/// [`TurnCommit::claim_turns`]: crate::TurnCommit::claim_turns
pub fn turn_targets(commit: &crate::TurnCommit) -> Vec<InstanceId> {
    let Some(claim) = &commit.claim_turns else {
        return Vec::new();
    };
    let now = claim.lease.now;
    let candidates = std::iter::once(&commit.instance_id)
        .chain(commit.sub_orchestrations.iter().map(|c| &c.instance_id))
        .chain(
            commit
                .messages
                .iter()
                .filter(|m| m.visible_at.is_none_or(|at| at <= now))
                .map(|m| &m.instance_id),
        );
    let mut targets: Vec<InstanceId> = Vec::new();
    for id in candidates {
        if targets.len() == claim.max_items {
            break;
        }
        if !targets.contains(id) {
            targets.push(id.clone());
        }
    }
    targets
}

/// Which completions of one `complete_activities` call carry the instances they claim: for each
/// instance, the first completion that asked to claim it and was recorded (`recorded(index)`),
/// with its claim, in completion order. Every backend hands claimed turns back by this rule.
pub fn turn_carriers(
    completions: &[crate::ActivityCompletion],
    recorded: impl Fn(usize) -> bool,
) -> Vec<(usize, &crate::InstanceClaim)> {
    let mut carriers: Vec<(usize, &crate::InstanceClaim)> = Vec::new();
    for (index, completion) in completions.iter().enumerate() {
        let Some(claim) = &completion.claim else {
            continue;
        };
        let target = &completion.result.instance_id;
        let taken = carriers
            .iter()
            .any(|(i, _)| completions[*i].result.instance_id == *target);
        if recorded(index) && !taken {
            carriers.push((index, claim));
        }
    }
    carriers
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn row(id: &str, secs: i64) -> InstanceRecord {
        let at = Utc.timestamp_opt(secs, 0).single().unwrap();
        InstanceRecord {
            instance_id: InstanceId::from_trusted(id),
            name: "o".into(),
            execution_id: durafn_core::ExecutionId::new("e"),
            status: RuntimeStatus::Running,
            input: durafn_core::Payload::null(),
            output: None,
            failure: None,
            custom_status: None,
            created_at: at,
            last_updated_at: at,
            parent: None,
            history_len: 0,
            version: None,
            trace_context: None,
        }
    }

    #[test]
    fn pages_say_whether_more_follow() {
        assert_eq!(page_rows(0), 2);
        assert_eq!(page_rows(10), 11);
        let last = page(vec![row("a", 1), row("b", 2)], 2);
        assert_eq!(last.instances.len(), 2);
        assert_eq!(last.continuation, None);
        let first = page(vec![row("a", 1), row("b", 2), row("c", 3)], 2);
        let token = first.continuation.expect("a next page");
        let (at, id) = decode_continuation(&token).unwrap();
        assert_eq!((at.timestamp(), id.as_str()), (2, "b"));
        assert!(decode_continuation("nope").is_err());
    }

    #[test]
    fn purges_take_only_terminal_instances() {
        let any = InstanceFilter::default();
        assert_eq!(
            purgeable_statuses(&any),
            vec![
                RuntimeStatus::Completed,
                RuntimeStatus::Failed,
                RuntimeStatus::Terminated
            ]
        );
        let active = InstanceFilter {
            statuses: vec![RuntimeStatus::Running],
            ..Default::default()
        };
        assert!(purgeable_statuses(&active).is_empty());
        let id = InstanceId::from_trusted("i");
        assert_eq!(purge_check(&id, None), Ok(false));
        assert_eq!(purge_check(&id, Some(RuntimeStatus::Failed)), Ok(true));
        assert!(matches!(
            purge_check(&id, Some(RuntimeStatus::Running)),
            Err(StoreError::NotTerminal { .. })
        ));
    }

    #[test]
    fn sequential_tokens_repeat_run_after_run() {
        let (a, b) = (LockTokens::sequential("mem"), LockTokens::sequential("mem"));
        for _ in 0..3 {
            assert_eq!(a.next("h"), b.next("h"));
        }
        assert_eq!(a.next("h").0, "h:mem:4");
        assert_ne!(
            LockTokens::unique().next("h"),
            LockTokens::sequential("x").next("h")
        );
    }
}
