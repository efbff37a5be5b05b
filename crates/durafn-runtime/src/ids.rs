//! Random ids for instances, executions and hosts, without a random-number crate: the standard
//! library's per-process random hash keys mixed with a counter and the time.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn half() -> u64 {
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

/// 128 random bits as 32 lowercase hex digits, the shape of Durable Functions instance ids.
pub fn new_id() -> String {
    format!("{:016x}{:016x}", half(), half())
}
