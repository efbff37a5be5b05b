//! Ids the runtime makes (instance, execution and host ids), from an injected [`IdGen`], so that
//! a run can be made reproducible the way an injected [`Clock`](crate::Clock) makes its times.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// A source of new ids: 32 lowercase hex digits, the shape of Durable Functions instance ids.
pub trait IdGen: Send + Sync + 'static {
    /// A new id.
    fn new_id(&self) -> String;
}

/// Random ids (the default), without a random-number crate: the standard library's per-process
/// random hash keys mixed with a counter and the time.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomIds;

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn random_half() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    h.write_u64(nanos);
    h.write_u32(std::process::id());
    h.finish()
}

impl IdGen for RandomIds {
    fn new_id(&self) -> String {
        format!("{:016x}{:016x}", random_half(), random_half())
    }
}

/// Ids that follow from a seed: the same seed gives the same ids in the same order, so a run
/// with a seeded `IdGen` and a [`ManualClock`](crate::ManualClock) can be repeated exactly.
/// (SplitMix64 over a counter: well spread, not cryptographic.)
#[derive(Debug)]
pub struct SeededIds {
    seed: u64,
    next: AtomicU64,
}

impl SeededIds {
    /// Ids from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            next: AtomicU64::new(0),
        }
    }
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl IdGen for SeededIds {
    fn new_id(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let a = splitmix64(self.seed ^ n.wrapping_mul(2));
        let b = splitmix64(self.seed ^ n.wrapping_mul(2).wrapping_add(1));
        format!("{a:016x}{b:016x}")
    }
}

/// A random id (see [`RandomIds`]), for code that has no runtime at hand.
pub fn new_id() -> String {
    RandomIds.new_id()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_ids_repeat_and_seeds_differ() {
        let (a, b, c) = (SeededIds::new(7), SeededIds::new(7), SeededIds::new(8));
        let first: Vec<String> = (0..5).map(|_| a.new_id()).collect();
        let again: Vec<String> = (0..5).map(|_| b.new_id()).collect();
        assert_eq!(first, again);
        assert_ne!(first[0], c.new_id());
        let mut distinct = first.clone();
        distinct.dedup();
        assert_eq!(distinct.len(), 5);
        assert!(
            first
                .iter()
                .all(|id| id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()))
        );
    }

    #[test]
    fn random_ids_differ() {
        assert_ne!(new_id(), new_id());
        assert_eq!(RandomIds.new_id().len(), 32);
    }
}
