//! Retry policies for activities and sub-orchestrations.
//!
//! A retry loop is ordinary orchestrator code over durable calls and durable timers, so every
//! attempt and every wait is in history and replays deterministically.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::handle::{OrchestrationContext, add_duration};
use super::tasks::TaskFuture;
use crate::error::TaskError;

/// Decides whether a failure is worth another attempt.
pub type RetryPredicate = Arc<dyn Fn(&TaskError) -> bool + Send + Sync>;

/// How to retry a failed durable call: the delay before retry `n` (counting from 0) is
/// `first_retry_interval × backoff_coefficient^n`, capped at `max_retry_interval`; retrying stops
/// after `max_number_of_attempts` attempts, once `retry_timeout` has passed since the first
/// attempt, or when the predicate says no.
#[derive(Clone)]
pub struct RetryOptions {
    first_retry_interval: Duration,
    max_number_of_attempts: u32,
    backoff_coefficient: f64,
    max_retry_interval: Option<Duration>,
    retry_timeout: Option<Duration>,
    handle: Option<RetryPredicate>,
}

impl std::fmt::Debug for RetryOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryOptions")
            .field("first_retry_interval", &self.first_retry_interval)
            .field("max_number_of_attempts", &self.max_number_of_attempts)
            .field("backoff_coefficient", &self.backoff_coefficient)
            .field("max_retry_interval", &self.max_retry_interval)
            .field("retry_timeout", &self.retry_timeout)
            .field("handle", &self.handle.is_some())
            .finish()
    }
}

impl RetryOptions {
    /// Retries up to `max_number_of_attempts` attempts in all (at least 1), waiting
    /// `first_retry_interval` before the first retry; the backoff coefficient defaults to 1.
    pub fn new(first_retry_interval: Duration, max_number_of_attempts: u32) -> Self {
        Self {
            first_retry_interval,
            max_number_of_attempts: max_number_of_attempts.max(1),
            backoff_coefficient: 1.0,
            max_retry_interval: None,
            retry_timeout: None,
            handle: None,
        }
    }

    /// Multiplies the delay by `coefficient` after each retry (values below 1 are taken as 1).
    pub fn backoff_coefficient(mut self, coefficient: f64) -> Self {
        self.backoff_coefficient = if coefficient.is_finite() && coefficient >= 1.0 {
            coefficient
        } else {
            1.0
        };
        self
    }

    /// Caps the delay between attempts.
    pub fn max_retry_interval(mut self, max: Duration) -> Self {
        self.max_retry_interval = Some(max);
        self
    }

    /// Stops retrying once this long has passed since the first attempt began.
    pub fn retry_timeout(mut self, timeout: Duration) -> Self {
        self.retry_timeout = Some(timeout);
        self
    }

    /// Retries only failures for which `predicate` returns true.
    pub fn handle(
        mut self,
        predicate: impl Fn(&TaskError) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.handle = Some(Arc::new(predicate));
        self
    }

    /// The delay before retry number `retry` (0 for the first retry).
    pub fn delay(&self, retry: u32) -> Duration {
        let factor = self
            .backoff_coefficient
            .powi(retry.min(i32::MAX as u32) as i32);
        let secs = self.first_retry_interval.as_secs_f64() * factor;
        let delay = if secs.is_finite() && secs < u64::MAX as f64 {
            Duration::from_secs_f64(secs)
        } else {
            Duration::MAX
        };
        match self.max_retry_interval {
            Some(max) => delay.min(max),
            None => delay,
        }
    }
}

#[allow(clippy::manual_async_fn)] // the `Send + 'static` bounds must be spelled out
pub(crate) fn with_retry<O, F>(
    ctx: OrchestrationContext,
    options: RetryOptions,
    mut attempt: F,
) -> impl Future<Output = Result<O, TaskError>> + Send + 'static
where
    O: DeserializeOwned + Send + 'static,
    F: FnMut() -> TaskFuture<O> + Send + 'static,
{
    async move {
        let first_attempt = ctx.current_utc_datetime();
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let error = match attempt().await {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            let retryable = matches!(
                error,
                TaskError::ActivityFailed { .. } | TaskError::SubOrchestrationFailed { .. }
            );
            let allowed = options.handle.as_ref().is_none_or(|handle| handle(&error));
            if !retryable || !allowed || attempts >= options.max_number_of_attempts {
                return Err(error);
            }
            let now = ctx.current_utc_datetime();
            if let Some(timeout) = options.retry_timeout {
                if now >= add_duration(first_attempt, timeout) {
                    return Err(error);
                }
            }
            ctx.with_state(|s| {
                if !s.replaying {
                    s.new_retries += 1;
                }
            });
            ctx.create_timer(add_duration(now, options.delay(attempts - 1)))
                .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_are_capped() {
        let options = RetryOptions::new(Duration::from_secs(5), 10)
            .backoff_coefficient(2.0)
            .max_retry_interval(Duration::from_secs(30));
        let delays: Vec<u64> = (0..5).map(|n| options.delay(n).as_secs()).collect();
        assert_eq!(delays, vec![5, 10, 20, 30, 30]);
        assert_eq!(
            RetryOptions::new(Duration::from_secs(1), 0).max_number_of_attempts,
            1
        );
        let huge = RetryOptions::new(Duration::from_secs(1), 3).backoff_coefficient(1e300);
        assert_eq!(huge.delay(1000), Duration::MAX);
    }
}
