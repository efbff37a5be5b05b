//! Which faults a run injects, and how often.

use std::time::Duration;

/// Fault rates (probabilities per opportunity) and the shape of the cluster. Each seed draws its
/// own faults from these rates.
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    /// A store call fails before doing anything.
    pub fail_before: f64,
    /// A store call that writes does its work, then reports a failure (the reply was lost).
    pub reply_lost: f64,
    /// A store call is slow (up to [`Faults::slow_max`] of virtual time).
    pub slow: f64,
    /// The longest slow call.
    pub slow_max: Duration,
    /// The whole host freezes for longer than a lease (the clock jumps past its leases while it
    /// still holds them; others take its work).
    pub pause: f64,
    /// An activity result is delivered twice.
    pub duplicate: f64,
    /// An activity called with a retry policy fails (at most twice per call).
    pub activity_fail: f64,
    /// An activity called with a retry policy hangs past the function timeout (counted with the
    /// failures).
    pub activity_hang: f64,
    /// A host crashes at a store call (before or after the call's work).
    pub crash: f64,
    /// The most crashes injected per run (workload crashes, the poison activity's, are extra).
    pub max_crashes: u32,
    /// Runtimes sharing the task hub (most seeds use up to this many).
    pub hosts: usize,
    /// Whether clients race the work (suspend, resume, restart, purge; raising events,
    /// terminating and rewinding are part of the workload and always run).
    pub client_races: bool,
}

impl Faults {
    /// No faults: one host, nothing injected.
    pub fn none() -> Self {
        Self {
            fail_before: 0.0,
            reply_lost: 0.0,
            slow: 0.0,
            slow_max: Duration::ZERO,
            pause: 0.0,
            duplicate: 0.0,
            activity_fail: 0.0,
            activity_hang: 0.0,
            crash: 0.0,
            max_crashes: 0,
            hosts: 1,
            client_races: false,
        }
    }

    /// Whether anything at all is injected.
    pub fn any(&self) -> bool {
        *self
            != Self {
                hosts: self.hosts,
                client_races: self.client_races,
                ..Self::none()
            }
    }

    /// Applies `name=value,name=value` (names as the fields; `none` first clears everything).
    pub fn apply(mut self, spec: &str) -> Result<Self, String> {
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if part == "none" {
                self = Self {
                    hosts: self.hosts,
                    ..Self::none()
                };
                continue;
            }
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| format!("'{part}': expected name=value"))?;
            let rate = || {
                value
                    .parse::<f64>()
                    .ok()
                    .filter(|v| (0.0..=1.0).contains(v))
                    .ok_or_else(|| format!("'{part}': expected a probability between 0 and 1"))
            };
            let count = || {
                value
                    .parse::<u64>()
                    .map_err(|_| format!("'{part}': expected a whole number"))
            };
            match name {
                "fail_before" => self.fail_before = rate()?,
                "reply_lost" => self.reply_lost = rate()?,
                "slow" => self.slow = rate()?,
                "slow_max_ms" => self.slow_max = Duration::from_millis(count()?),
                "pause" => self.pause = rate()?,
                "duplicate" => self.duplicate = rate()?,
                "activity_fail" => self.activity_fail = rate()?,
                "activity_hang" => self.activity_hang = rate()?,
                "crash" => self.crash = rate()?,
                "max_crashes" => self.max_crashes = count()? as u32,
                "hosts" => self.hosts = (count()? as usize).clamp(1, 8),
                "client_races" => self.client_races = count()? != 0,
                _ => return Err(format!("unknown fault '{name}'")),
            }
        }
        Ok(self)
    }
}

impl Default for Faults {
    /// The rates the 10,000-seed run uses.
    fn default() -> Self {
        Self {
            fail_before: 0.02,
            reply_lost: 0.02,
            slow: 0.05,
            slow_max: Duration::from_secs(5),
            pause: 0.002,
            duplicate: 0.05,
            activity_fail: 0.1,
            activity_hang: 0.03,
            crash: 0.003,
            max_crashes: 3,
            hosts: 3,
            client_races: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_sets_rates_and_refuses_nonsense() {
        let f = Faults::default()
            .apply("none,crash=0.5,hosts=2")
            .expect("parses");
        assert_eq!(f.crash, 0.5);
        assert_eq!(f.hosts, 2);
        assert_eq!(f.fail_before, 0.0);
        assert!(Faults::default().apply("crash=2").is_err());
        assert!(Faults::default().apply("crsh=0.1").is_err());
        assert!(!Faults::none().any());
        assert!(Faults::default().any());
    }
}
