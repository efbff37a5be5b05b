//! Time, injected so tests and the core never read the system clock directly.

use chrono::{DateTime, Utc};

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
        let now = DateTime::<Utc>::from(std::time::SystemTime::now());
        DateTime::<Utc>::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
    }
}
