//! The seeded random numbers every choice of a run comes from.

use std::sync::{Mutex, PoisonError};

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

/// A seeded generator shared by the parts of one run. The run is single-threaded and its
/// scheduling deterministic, so the draws come in the same order every time.
#[derive(Debug)]
pub struct SimRng(Mutex<ChaCha8Rng>);

impl SimRng {
    /// A generator for `seed`; `stream` separates independent uses of one seed (the workload
    /// must not change when the faults do).
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        Self(Mutex::new(rng))
    }

    fn next(&self) -> u64 {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .next_u64()
    }

    /// True with probability `p`.
    pub fn chance(&self, p: f64) -> bool {
        if p <= 0.0 {
            return false;
        }
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    /// A number in `lo..=hi`.
    pub fn between(&self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }
}
