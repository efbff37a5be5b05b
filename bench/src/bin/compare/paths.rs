//! Where things are: the repository's `bench/`, the cache the peers are installed into, and how
//! this machine's paths are kept out of committed reports.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository's `bench/` directory.
pub(crate) fn bench_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The cache directory peers are installed into (`DURAFN_BENCH_CACHE`, else the user's cache).
pub(crate) fn cache_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("DURAFN_BENCH_CACHE")
        && !dir.trim().is_empty()
    {
        return PathBuf::from(dir);
    }
    let base = std::env::var("XDG_CACHE_HOME")
        .ok()
        .filter(|d| !d.trim().is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache"));
    base.join("durafn-bench")
}

/// A program a component installed: `<cache>/<component>/bin/<name>` (the layout `setup.sh`
/// installs into).
pub(crate) fn program(component: &str, name: &str) -> PathBuf {
    cache_dir().join(component).join("bin").join(name)
}

/// `text` without this machine's paths (error messages go into committed reports).
pub(crate) fn anonymize(text: &str) -> String {
    let mut out = text.replace(&cache_dir().display().to_string(), "$CACHE");
    if let Some(repo) = bench_dir().parent() {
        out = out.replace(&repo.display().to_string(), ".");
    }
    if let Ok(home) = std::env::var("HOME")
        && !home.is_empty()
    {
        out = out.replace(&home, "$HOME");
    }
    out
}

/// The last `n` non-empty lines of a file, joined.
pub(crate) fn tail(path: &Path, n: usize) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return None;
    }
    Some(lines[lines.len().saturating_sub(n)..].join(" / "))
}

/// The commit the run measured, and whether the work tree had changes.
pub(crate) fn git_commit() -> String {
    let out = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(bench_dir())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let head = out(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty = out(&["status", "--porcelain"]).is_some_and(|s| !s.is_empty());
    if dirty {
        format!("{head}, with local changes")
    } else {
        head
    }
}
