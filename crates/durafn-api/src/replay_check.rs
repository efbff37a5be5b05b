//! `GET …/durafn/replay-check`: the pre-deploy replay check, a page at a time. The host replays
//! one page of the task hub's live instances (Pending, Running, Suspended) against its own
//! build, reading only, and answers with the page's counts, the instances that would fail
//! with their first divergence, and where to go on. Run it on a host of the build about to be
//! deployed (one that runs no orchestrations, say) before rolling it out.

use serde::{Deserialize, Serialize};

/// The path, under [`EXTENSIONS`](crate::inspect::EXTENSIONS).
pub const REPLAY_CHECK: &str = "/replay-check";

/// One page of the check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayCheckPage {
    /// Instances checked in this page.
    pub checked: u64,
    /// Of which replay.
    pub ok: u64,
    /// Counts by orchestrator and version.
    pub groups: Vec<ReplayGroup>,
    /// The instances that would fail.
    pub failures: Vec<ReplayFailure>,
    /// Pass back as `continuationToken` for the next page; absent after the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continuation_token: Option<String>,
}

/// The counts of one orchestrator and version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayGroup {
    /// The orchestrator.
    pub name: String,
    /// The version (empty: none).
    pub version: String,
    /// Instances that replay.
    pub ok: u64,
    /// Instances that would fail.
    pub failed: u64,
}

/// An instance the build would break, with where it first diverges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayFailure {
    /// The instance.
    pub instance_id: String,
    /// Its orchestrator.
    pub name: String,
    /// Its version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The index of the recorded event in its history; absent for the end of history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_index: Option<u64>,
    /// The step (sequence number) both share; -1 when the divergence is not about one.
    pub event_id: i64,
    /// What history records there ("activity 'Notify' (TaskScheduled)"); absent: nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded: Option<String>,
    /// What the build's code does instead; absent: nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued: Option<String>,
    /// Where in the source the code makes that call, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The message the instance would fail with.
    pub message: String,
}
