//! What a command can fail with, and the exit code each failure gives.

use std::process::ExitCode;

/// The documented exit codes (`durafn --help` lists them).
pub(crate) mod exit {
    /// Success; `instances wait`: the instance Completed.
    pub(crate) const OK: u8 = 0;
    /// An error: the host refused or failed the request, could not be reached, or answered
    /// something unexpected.
    pub(crate) const ERROR: u8 = 1;
    /// Bad usage: unknown flags, bad values, a missing argument.
    pub(crate) const USAGE: u8 = 2;
    /// The instance, entity, function, key or profile does not exist.
    pub(crate) const NOT_FOUND: u8 = 3;
    /// `instances wait`: the instance Failed.
    pub(crate) const FAILED: u8 = 4;
    /// `instances wait`: the instance was Terminated (or Canceled).
    pub(crate) const TERMINATED: u8 = 5;
    /// `instances wait`: the timeout passed before the instance finished.
    pub(crate) const TIMEOUT: u8 = 6;
    /// Interrupted by Ctrl-C.
    pub(crate) const INTERRUPTED: u8 = 130;
}

/// A failure of a command, with the message shown to the user.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// The command line or a value given on it is wrong.
    #[error("{0}")]
    Usage(String),
    /// What the command is about does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The instance has already finished, so the operation does not apply (410 Gone).
    #[error("{0}")]
    Finished(String),
    /// The host refused the key (401 or 403).
    #[error("the host refused the request ({status}): {hint}")]
    Unauthorized {
        /// The status code.
        status: u16,
        /// What to do about it.
        hint: &'static str,
    },
    /// The host answered with an error.
    #[error("the host answered {status}: {message}")]
    Host {
        /// The status code.
        status: u16,
        /// The host's message (its `Message` and `ExceptionMessage`).
        message: String,
    },
    /// The host could not be reached or the connection broke.
    #[error("could not reach the host at {url}: {detail}")]
    Connect {
        /// The origin the command talks to.
        url: String,
        /// What went wrong.
        detail: String,
    },
    /// The host answered something this command cannot read.
    #[error("the host's answer could not be read: {0}")]
    BadAnswer(String),
    /// A local file or terminal operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The configuration file could not be read or written.
    #[error("{0}")]
    Config(String),
    /// The user declined a confirmation.
    #[error("aborted")]
    Aborted,
    /// Some items of a bulk operation failed (their errors were shown).
    #[error("{failed} of {total} operations failed")]
    Partial {
        /// How many failed.
        failed: usize,
        /// How many were tried.
        total: usize,
    },
    /// A command that ends with a specific exit code and has said what it had to say.
    #[error("{message}")]
    Exit {
        /// The exit code.
        code: u8,
        /// The message for stderr (empty for none).
        message: String,
    },
}

impl CliError {
    /// An I/O failure while doing `context`.
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }

    /// The exit code for this failure.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => exit::USAGE,
            CliError::NotFound(_) => exit::NOT_FOUND,
            CliError::Exit { code, .. } => *code,
            _ => exit::ERROR,
        }
    }

    /// [`Self::exit_code`] as a process exit code.
    pub(crate) fn exit(&self) -> ExitCode {
        ExitCode::from(self.exit_code())
    }
}

/// The result of a command.
pub(crate) type CliResult<T = ()> = Result<T, CliError>;

/// Replaces every occurrence of `secret` in `text`, so a key can never reach the terminal
/// through a message (the last line of defence: keys travel in a header, never in URLs).
pub(crate) fn redact(text: &str, secret: Option<&str>) -> String {
    match secret {
        Some(s) if !s.is_empty() => text.replace(s, "***"),
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_redaction() {
        assert_eq!(CliError::Usage("x".into()).exit_code(), 2);
        assert_eq!(CliError::NotFound("x".into()).exit_code(), 3);
        assert_eq!(CliError::Aborted.exit_code(), 1);
        assert_eq!(redact("code=abc&x", Some("abc")), "code=***&x");
        assert_eq!(redact("abc", Some("")), "abc");
    }
}
