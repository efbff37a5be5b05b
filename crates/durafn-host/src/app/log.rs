//! A small log writer for `App::run`: events at or above a level, one line each, on stderr.
//!
//! The host logs through `tracing`; an app that installs its own subscriber keeps it (this one
//! is installed only when none is set). It exists so that a function app started from `main`
//! shows its start-up, its warnings and its function failures without another dependency.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// Parses a `DURAFN_LOG` level.
pub fn parse_level(text: &str) -> Result<Level, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "error" => Ok(Level::ERROR),
        "warn" | "warning" => Ok(Level::WARN),
        "info" | "information" => Ok(Level::INFO),
        "debug" => Ok(Level::DEBUG),
        "trace" => Ok(Level::TRACE),
        _ => Err(format!(
            "expected error, warn, info, debug or trace, found {text:?}"
        )),
    }
}

/// Installs the stderr writer at `level` unless the process already has a subscriber.
pub fn install(level: Level) {
    let _ = tracing::subscriber::set_global_default(StderrLog {
        max: level,
        next_span: AtomicU64::new(1),
    });
}

struct StderrLog {
    max: Level,
    next_span: AtomicU64,
}

struct Line(String);

impl Visit for Line {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            let _ = write!(self.0, " {value}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, " {value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}

impl Subscriber for StderrLog {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= self.max
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::from_level(self.max))
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(self.next_span.fetch_add(1, Ordering::Relaxed))
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let meta = event.metadata();
        let mut line = Line(String::new());
        event.record(&mut line);
        let now = chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now())
            .format("%Y-%m-%dT%H:%M:%S%.3fZ");
        eprintln!("{now} {:>5} {}:{}", meta.level(), meta.target(), line.0);
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse() {
        assert_eq!(parse_level("Warning"), Ok(Level::WARN));
        assert_eq!(parse_level("TRACE"), Ok(Level::TRACE));
        assert!(parse_level("loud").is_err());
    }
}
