//! Leases as recorded in the task hub, for diagnostics: which host holds which work.

use chrono::{DateTime, Utc};
use durafn_core::{InstanceId, Payload};
use durafn_store::ActivityId;

/// Work held under a lease, as recorded in the task hub.
#[derive(Debug, Clone, PartialEq)]
pub struct Lease {
    /// Who took it (the host id given in the fetch).
    pub owner: String,
    /// When the lease ends (unless renewed); after that, any host may take the work.
    pub until: DateTime<Utc>,
    /// The work.
    pub work: LeasedWork,
}

/// What a [`Lease`] covers.
#[derive(Debug, Clone, PartialEq)]
pub enum LeasedWork {
    /// An instance, for one turn.
    Instance(InstanceId),
    /// An activity work item.
    Activity {
        /// The work item.
        id: ActivityId,
        /// The orchestration that scheduled it.
        instance_id: InstanceId,
        /// The activity function.
        name: String,
        /// Its input.
        input: Payload,
    },
}
