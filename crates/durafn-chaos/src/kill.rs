//! The kill loop shared by the crash tests: start the app, SIGKILL it at a random moment, repeat.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A small deterministic PRNG (splitmix64), so a failing schedule can be replayed from its seed.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// A seed from `DURAFN_CRASH_SEED`, or from the clock.
pub fn seed() -> u64 {
    std::env::var("DURAFN_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        })
}

/// Starts `spawn()` and kills it after a random 40–240 ms, `kills` times. Returns how many
/// kills happened; fewer means the app finished all its work before being killed enough.
///
/// # Panics
/// If the app exits with a failure on its own.
pub fn kill_repeatedly(mut spawn: impl FnMut() -> Child, kills: u64, rng: &mut Rng) -> u64 {
    let mut killed = 0;
    while killed < kills {
        let mut child = spawn();
        let wait = Duration::from_millis(40 + rng.next_u64() % 200);
        let started = Instant::now();
        while started.elapsed() < wait {
            if let Some(status) = child.try_wait().expect("try_wait") {
                assert!(status.success(), "the app failed on its own: {status}");
                return killed;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        killed += 1;
    }
    killed
}

/// Runs the app to the end and checks it says it is done.
///
/// # Panics
/// If it fails or does not report completion.
pub fn run_to_completion(mut command: Command) {
    let output = command.output().expect("final run");
    assert!(
        output.status.success(),
        "final run failed: {}",
        output.status
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("ALL DONE"));
}
