//! Replay tests: does this build still replay the histories its instances recorded?
//!
//! A [`Replayer`] takes the app's [`Registry`] and histories as files (what `durafn history
//! export` prints, what the management API answers with `showHistory=true`, a JSON array of
//! history events as a Durable Functions host stores them) and replays each, reporting per
//! instance either that it replays or where it first diverges: the recorded event and the
//! action the code issues instead, side by side, with the history index and, when known, the
//! source location of the call.
//!
//! ```no_run
//! # fn registry() -> durafn::Registry { durafn::Registry::builder().build().unwrap() }
//! #[test]
//! fn recorded_histories_still_replay() {
//!     durafn::testing::assert_histories_replay(registry(), "tests/histories");
//! }
//! ```

mod condensed;
mod files;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use durafn_core::replay::{ReplayVerdict, replay_history};
use durafn_core::{HistoryEvent, Registry};

pub use self::files::HistoryFileError;
use self::files::{History, read_histories};

/// Replays recorded histories against a registry.
#[derive(Clone)]
pub struct Replayer {
    registry: Arc<Registry>,
}

impl std::fmt::Debug for Replayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replayer").finish_non_exhaustive()
    }
}

/// What replaying one instance's history found.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayReport {
    /// Where the history came from (a file, and its place in the file).
    pub source: String,
    /// The instance (empty when the history does not say).
    pub instance_id: String,
    /// The orchestrator.
    pub name: String,
    /// The version the instance was started with.
    pub version: Option<String>,
    /// Whether it replays, and if not where it first diverges.
    pub verdict: ReplayVerdict,
}

impl ReplayReport {
    /// Whether the history replayed clean.
    pub fn is_ok(&self) -> bool {
        self.verdict.is_ok()
    }
}

impl std::fmt::Display for ReplayReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let instance = if self.instance_id.is_empty() {
            "-"
        } else {
            &self.instance_id
        };
        match self.verdict.divergence() {
            None => write!(f, "ok       {} ({instance}, {})", self.source, self.name),
            Some(d) => {
                writeln!(f, "DIVERGED {} ({instance}, {})", self.source, self.name)?;
                let at = d.history_index.map_or_else(
                    || "at the end of history".to_string(),
                    |i| format!("history index {i}"),
                );
                writeln!(f, "  {at}, step {}", d.event_id)?;
                let recorded = d.recorded.as_ref().map_or_else(
                    || "nothing".to_string(),
                    |e| {
                        format!(
                            "{} ({})",
                            durafn_core::action::describe_recorded(&e.kind),
                            e.kind.type_name()
                        )
                    },
                );
                writeln!(f, "  recorded: {recorded}")?;
                let issued = d
                    .issued
                    .as_ref()
                    .map_or_else(|| "nothing".to_string(), |a| a.describe());
                write!(f, "  new code: {issued}")?;
                if let Some(location) = &d.location {
                    write!(f, " ({location})")?;
                }
                write!(f, "\n  {}", d.message)
            }
        }
    }
}

impl Replayer {
    /// A replayer of the orchestrators of `registry`.
    pub fn new(registry: Registry) -> Self {
        Self::shared(Arc::new(registry))
    }

    /// A replayer of a registry already shared with a runtime.
    pub fn shared(registry: Arc<Registry>) -> Self {
        Self { registry }
    }

    /// Replays one history (one execution, from its `ExecutionStarted` on).
    pub fn replay_events(&self, history: &[HistoryEvent]) -> ReplayVerdict {
        replay_history(self.registry.clone(), history)
    }

    /// Replays every history in `text`, the JSON of one export (a status object with
    /// `historyEvents`, an array of them, or an array of history events); `source` names it
    /// in the reports.
    pub fn replay_json(
        &self,
        source: &str,
        text: &str,
    ) -> Result<Vec<ReplayReport>, HistoryFileError> {
        let histories = read_histories(source, text)?;
        Ok(histories.into_iter().map(|h| self.replay(h)).collect())
    }

    /// Replays every history in a file.
    pub fn replay_file(
        &self,
        path: impl AsRef<Path>,
    ) -> Result<Vec<ReplayReport>, HistoryFileError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| HistoryFileError {
            source: path.display().to_string(),
            message: e.to_string(),
        })?;
        self.replay_json(&path.display().to_string(), &text)
    }

    /// Replays every `.json` file of a directory (and its subdirectories), in name order.
    pub fn replay_dir(&self, dir: impl AsRef<Path>) -> Result<Vec<ReplayReport>, HistoryFileError> {
        let mut files = Vec::new();
        collect_json(dir.as_ref(), &mut files)?;
        files.sort();
        let mut reports = Vec::new();
        for file in files {
            reports.extend(self.replay_file(&file)?);
        }
        Ok(reports)
    }

    fn replay(&self, history: History) -> ReplayReport {
        let verdict = match &history.events {
            files::Events::Full(events) => replay_history(self.registry.clone(), events),
            files::Events::Condensed(entries) => {
                condensed::replay(self.registry.clone(), &history, entries)
            }
        };
        ReplayReport {
            source: history.source,
            instance_id: history.instance_id,
            name: history.name,
            version: history.version,
            verdict,
        }
    }
}

fn collect_json(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), HistoryFileError> {
    let error = |e: std::io::Error| HistoryFileError {
        source: dir.display().to_string(),
        message: e.to_string(),
    };
    for entry in std::fs::read_dir(dir).map_err(error)? {
        let path = entry.map_err(error)?.path();
        if path.is_dir() {
            collect_json(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

/// The one-line replay test: every history under `dir` (a path relative to the package, as
/// `cargo test` runs in it) must replay against `registry`. Panics with the report of each
/// that does not, and if the directory holds no history at all (a test that checks nothing
/// must not pass).
pub fn assert_histories_replay(registry: Registry, dir: impl AsRef<Path>) {
    let dir = dir.as_ref();
    let reports = Replayer::new(registry)
        .replay_dir(dir)
        .unwrap_or_else(|e| panic!("reading the histories failed: {e}"));
    assert!(
        !reports.is_empty(),
        "{} holds no history to replay",
        dir.display()
    );
    let failed: Vec<String> = reports
        .iter()
        .filter(|r| !r.is_ok())
        .map(ToString::to_string)
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} histories no longer replay:\n{}",
        failed.len(),
        reports.len(),
        failed.join("\n")
    );
}
