//! What the store's calls and its background tasks share.

use std::sync::Arc;

use durafn_store::kit::LockTokens;

use crate::notify::Notifier;
use crate::pool::Pool;
use crate::vacuum::Vacuum;

/// The connection pool, the lock-token source, the notifier and the vacuum counter of one store.
pub(crate) struct Shared {
    pub(crate) pool: Pool,
    pub(crate) tokens: LockTokens,
    pub(crate) notifier: Arc<Notifier>,
    pub(crate) vacuum: Vacuum,
}
