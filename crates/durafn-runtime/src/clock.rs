//! Time, injected so tests and the core never read the system clock directly.

use chrono::{DateTime, TimeDelta, Utc};

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock, to the microsecond: task hubs keep times to the microsecond, and a time
/// must read back exactly as it was written (listing continuations compare them).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        to_micros(DateTime::<Utc>::from(std::time::SystemTime::now()))
    }
}

fn to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

/// A clock that starts at a chosen instant and moves with tokio's clock. Under paused tokio time
/// (`#[tokio::test(start_paused = true)]`, a simulation) tokio's clock moves only when told to
/// (`tokio::time::advance`) or, once every task waits, straight to the next timer; so does this
/// one, and a run driven by it (with a seeded [`IdGen`](crate::IdGen)) is reproducible: the
/// runtime's durable timers fire exactly when their time comes, whatever the machine's speed.
#[derive(Debug, Clone, Copy)]
pub struct ManualClock {
    start: DateTime<Utc>,
    origin: tokio::time::Instant,
}

impl ManualClock {
    /// A clock that reads `start` now (to the microsecond) and moves with tokio's clock.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            start: to_micros(start),
            origin: tokio::time::Instant::now(),
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = tokio::time::Instant::now().duration_since(self.origin);
        let micros = i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX);
        self.start
            .checked_add_signed(TimeDelta::microseconds(micros))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn the_manual_clock_moves_only_with_paused_time() {
        let start = DateTime::<Utc>::from_timestamp(1_700_000_000, 123_456_789).unwrap();
        let clock = ManualClock::new(start);
        assert_eq!(clock.now().timestamp_subsec_nanos(), 123_456_000);
        let before = clock.now();
        tokio::task::yield_now().await;
        assert_eq!(clock.now(), before);
        tokio::time::advance(Duration::from_secs(90)).await;
        assert_eq!(clock.now() - before, TimeDelta::seconds(90));
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(clock.now() - before, TimeDelta::milliseconds(91_500));
    }
}
