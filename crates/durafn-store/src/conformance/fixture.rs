//! What a check runs against: a fresh, empty store and whatever must outlive it.

use std::any::Any;
use std::sync::Arc;

use crate::Store;

/// A fresh, empty task hub for one check, owning what the store lives in (a temporary
/// directory, a database schema to drop): that is dropped after the store, when the check ends.
pub struct Fixture {
    // Fields drop in order: the store first, then what it lives in.
    store: Arc<dyn Store>,
    _owned: Option<Box<dyn Any + Send + Sync>>,
}

impl Fixture {
    /// A store that needs nothing else (the in-memory task hub).
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            _owned: None,
        }
    }

    /// A store living in `owned` (a `tempfile::TempDir`, a guard that drops a schema), which is
    /// dropped after the store.
    pub fn owning(store: Arc<dyn Store>, owned: impl Any + Send + Sync) -> Self {
        Self {
            store,
            _owned: Some(Box::new(owned)),
        }
    }

    /// The store under test.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }
}

impl std::fmt::Debug for Fixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fixture")
            .field("owns", &self._owned.is_some())
            .finish()
    }
}
