//! A logger that only speaks when the code runs for the first time, not when it replays.

use std::fmt::Display;

use super::handle::OrchestrationContext;

/// Logs through `tracing` with the instance id and orchestrator name, unless replaying.
#[derive(Debug, Clone)]
pub struct ReplaySafeLogger {
    ctx: OrchestrationContext,
}

impl ReplaySafeLogger {
    pub(crate) fn new(ctx: OrchestrationContext) -> Self {
        Self { ctx }
    }

    fn emit(&self, level: tracing::Level, message: &dyn Display) {
        let (replaying, instance_id, name) = self
            .ctx
            .with_state(|s| (s.replaying, s.instance_id.clone(), s.name.clone()));
        if replaying {
            return;
        }
        let instance_id = instance_id.as_str();
        let function = name.as_str();
        match level {
            tracing::Level::ERROR => tracing::error!(instance_id, function, "{message}"),
            tracing::Level::WARN => tracing::warn!(instance_id, function, "{message}"),
            tracing::Level::INFO => tracing::info!(instance_id, function, "{message}"),
            _ => tracing::debug!(instance_id, function, "{message}"),
        }
    }

    /// Logs at debug level.
    pub fn debug(&self, message: impl Display) {
        self.emit(tracing::Level::DEBUG, &message);
    }

    /// Logs at info level.
    pub fn info(&self, message: impl Display) {
        self.emit(tracing::Level::INFO, &message);
    }

    /// Logs at warn level.
    pub fn warn(&self, message: impl Display) {
        self.emit(tracing::Level::WARN, &message);
    }

    /// Logs at error level.
    pub fn error(&self, message: impl Display) {
        self.emit(tracing::Level::ERROR, &message);
    }
}
