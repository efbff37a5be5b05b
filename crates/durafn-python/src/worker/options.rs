//! What a worker is started with, and why a start can fail.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::protocol::FunctionSpec;

/// How to start a worker for one app.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// The interpreter.
    pub python: PathBuf,
    /// The app's script root (the worker's working directory).
    pub script_root: PathBuf,
    /// The app settings, exported into the worker's environment before the app is imported.
    pub app_settings: BTreeMap<String, String>,
    /// The v1 functions as parsed from their `function.json` files (empty for a v2 app).
    pub functions: Vec<FunctionSpec>,
    /// The directory holding the `durafn_worker` package (put on `PYTHONPATH`).
    pub package_dir: PathBuf,
}

/// Why a worker could not be started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The interpreter could not be executed.
    #[error("could not start the Python worker with {python}: {source}")]
    Spawn {
        /// The interpreter.
        python: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A local operation failed.
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
    /// The process exited before it was ready.
    #[error("the Python worker exited during start-up ({status})")]
    Exited {
        /// Its exit status.
        status: String,
        /// What it printed last.
        console: String,
    },
    /// It did not connect and load the app in time.
    #[error("the Python worker did not start within {0:?}")]
    Timeout(Duration),
    /// It broke the protocol.
    #[error("the Python worker broke the protocol: {0}")]
    Protocol(String),
    /// The app's environment lacks a package the worker needs.
    #[error(
        "{python} has no {package} package: install the app's requirements.txt into the Python the app runs with (its .venv, or the languageWorkers__python__defaultExecutablePath setting)"
    )]
    MissingPackage {
        /// The interpreter.
        python: String,
        /// The package.
        package: &'static str,
    },
    /// One of the above, with what the worker printed.
    #[error("{error}; the worker printed:\n{console}")]
    WithConsole {
        /// The error.
        error: Box<StartError>,
        /// The worker's last console lines.
        console: String,
    },
}

impl StartError {
    pub(super) fn with_console(self, console: String) -> Self {
        match self {
            _ if console.trim().is_empty() => self,
            StartError::Exited { status, .. } => StartError::WithConsole {
                error: Box::new(StartError::Exited {
                    status,
                    console: String::new(),
                }),
                console,
            },
            other => StartError::WithConsole {
                error: Box::new(other),
                console,
            },
        }
    }
}
