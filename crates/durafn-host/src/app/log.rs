//! The log writer of `App::run`: events at or above a level, one line each, on stderr, with the
//! fields of the spans they happen in.
//!
//! The host and the runtime log through `tracing`, inside spans that name what runs: a turn
//! (`function`, `instance_id`, `execution_id`, `trace_id`), an activity attempt (the same) and an
//! HTTP function call (`function`, `trace_id`). So every line a function's code logs carries its
//! instance and trace, and an operator filters on them. `DURAFN_LOG_FORMAT=json` writes one JSON
//! object per line (the event's fields flattened, the current span's fields under `span`) for
//! log pipelines. An app that installs its own subscriber keeps it (this one is installed only
//! when none is set).

use tracing::Level;

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

/// How lines are written (`DURAFN_LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// `time level span{fields}: message fields` (the default).
    Text,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// Parses `text` or `json`.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            _ => Err(format!("expected text or json, found {text:?}")),
        }
    }

    /// The format the process environment asks for (`DURAFN_LOG_FORMAT`; text when unset or
    /// not understood).
    pub fn from_env() -> Self {
        std::env::var("DURAFN_LOG_FORMAT")
            .ok()
            .and_then(|v| Self::parse(&v).ok())
            .unwrap_or(Self::Text)
    }
}

/// Installs the stderr writer at `level`, in the format `DURAFN_LOG_FORMAT` names, unless the
/// process already has a subscriber.
pub fn install(level: Level) {
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(false);
    let _ = match LogFormat::from_env() {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
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

    #[test]
    fn formats_parse() {
        assert_eq!(LogFormat::parse("JSON"), Ok(LogFormat::Json));
        assert_eq!(LogFormat::parse("text"), Ok(LogFormat::Text));
        assert!(LogFormat::parse("xml").is_err());
    }
}
