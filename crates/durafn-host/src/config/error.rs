//! Why a configuration was refused.

/// Why the configuration was refused. Every message starts with the file (or `environment`,
/// `command line`) and names the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A key the host does not know (usually a typo).
    #[error("{source_name}: unknown key {key}")]
    UnknownKey {
        /// The file or source.
        source_name: String,
        /// The full key path, such as `extensions.durableTask.hubName`.
        key: String,
    },
    /// A key close to a known one: almost certainly a typo.
    #[error("{source_name}: unknown key {key}; did you mean {suggestion}?")]
    Typo {
        /// The file.
        source_name: String,
        /// The full key path as written.
        key: String,
        /// The known key it is closest to, as a full path.
        suggestion: String,
    },
    /// A key with a value of the wrong shape.
    #[error("{source_name}: {key}: {message}")]
    Invalid {
        /// The file or source.
        source_name: String,
        /// The full key path.
        key: String,
        /// What was wrong.
        message: String,
    },
    /// The source as a whole could not be read (invalid JSON, not an object, unknown flag).
    #[error("{source_name}: {message}")]
    Malformed {
        /// The file or source.
        source_name: String,
        /// What was wrong.
        message: String,
    },
    /// The file exists but could not be read.
    #[error("{source_name}: could not be read: {source}")]
    Io {
        /// The file.
        source_name: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl ConfigError {
    pub(crate) fn invalid(source_name: &str, key: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            source_name: source_name.into(),
            key: key.into(),
            message: message.into(),
        }
    }
}
