//! Orchestration versions, as Durable Functions has them: every instance carries the version it
//! was started with (`ExecutionStarted.Version`), every host runs one version of the code, and a
//! host only runs the instances its version may run.
//!
//! Versions compare as Durable Functions compares them, so a hub shared with it orders them the
//! same way: two versions that both read as .NET `System.Version` (two to four dotted
//! non-negative numbers) compare numerically, anything else compares as text ignoring case, and
//! an empty (or absent) version is older than every other.

use std::cmp::Ordering;

/// Which instances a host of a given version runs (host.json `versionMatchStrategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VersionMatchStrategy {
    /// Every instance, whatever its version.
    None,
    /// Only instances of exactly the host's version.
    Strict,
    /// Instances of the host's version or an older one (the default): new code must run what
    /// old code started, but old code must not run what new code started.
    #[default]
    CurrentOrOlder,
}

impl VersionMatchStrategy {
    /// Reads the host.json spelling (case-insensitive).
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "none" => Some(Self::None),
            "strict" => Some(Self::Strict),
            "currentorolder" => Some(Self::CurrentOrOlder),
            _ => None,
        }
    }
}

/// What a host does with an instance its version may not run (host.json
/// `versionFailureStrategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VersionFailureStrategy {
    /// Leave the work where it is, for a host that can run it (the default): on a hub shared by
    /// hosts of several versions, each instance is run by a host of a version that matches.
    #[default]
    Reject,
    /// Fail the instance with [`SystemFailure::VersionMismatch`](crate::SystemFailure).
    Fail,
}

impl VersionFailureStrategy {
    /// Reads the host.json spelling (case-insensitive).
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "reject" => Some(Self::Reject),
            "fail" => Some(Self::Fail),
            _ => None,
        }
    }
}

/// A host's version and the rules it applies to the instances it fetches.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Versioning {
    /// The version of this host's code (host.json `defaultVersion`); new instances are stamped
    /// with it. `None` turns the check off: a host that does not say which version it runs
    /// runs every instance.
    pub version: Option<String>,
    /// Which instances this host runs.
    pub match_strategy: VersionMatchStrategy,
    /// What it does with the others.
    pub failure_strategy: VersionFailureStrategy,
}

impl Versioning {
    /// Why this host may not run an instance of `instance_version`, or `None` if it may.
    pub fn mismatch(&self, instance_version: Option<&str>) -> Option<String> {
        let current = self.version.as_deref().filter(|v| !v.is_empty())?;
        let theirs = instance_version.unwrap_or("");
        let order = compare_versions(theirs, current);
        let refused = match self.match_strategy {
            VersionMatchStrategy::None => false,
            VersionMatchStrategy::Strict => order != Ordering::Equal,
            VersionMatchStrategy::CurrentOrOlder => order == Ordering::Greater,
        };
        refused.then(|| {
            let rule = match self.match_strategy {
                VersionMatchStrategy::Strict => "only instances of exactly that version",
                _ => "only instances of that version or older",
            };
            format!(
                "the instance's version {theirs:?} does not match this host's version {current:?}: \
                 versionMatchStrategy {:?} runs {rule}",
                self.match_strategy
            )
        })
    }
}

/// Orders two versions as Durable Functions does: numerically when both are dotted numbers (two
/// to four parts, like .NET's `System.Version`, whose missing parts sort first), otherwise as
/// text ignoring case; the empty version is the oldest.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Less,
        (false, true) => return Ordering::Greater,
        (false, false) => {}
    }
    match (dotted(a), dotted(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => a.to_lowercase().cmp(&b.to_lowercase()),
    }
}

/// `System.Version.TryParse`: two to four parts of non-negative 32-bit numbers; absent build
/// and revision parts are -1, so `1.0` sorts before `1.0.0`.
fn dotted(text: &str) -> Option<[i64; 4]> {
    let parts: Vec<&str> = text.trim().split('.').collect();
    if !(2..=4).contains(&parts.len()) {
        return None;
    }
    let mut out = [-1_i64; 4];
    for (slot, part) in out.iter_mut().zip(&parts) {
        let part = part.trim();
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *slot = i64::from(part.parse::<i32>().ok()?);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_numbers_compare_numerically_and_text_ignoring_case() {
        assert_eq!(compare_versions("1.10", "1.9"), Ordering::Greater);
        assert_eq!(compare_versions("2.0", "10.0"), Ordering::Less);
        assert_eq!(compare_versions("1.0", "1.0.0"), Ordering::Less);
        assert_eq!(compare_versions("1.0.0.0", "1.0.0.0"), Ordering::Equal);
        // One part is not a System.Version: text, where "10" sorts before "9".
        assert_eq!(compare_versions("10", "9"), Ordering::Less);
        assert_eq!(compare_versions("Beta", "alpha"), Ordering::Greater);
        assert_eq!(compare_versions("V1", "v1"), Ordering::Equal);
        assert_eq!(compare_versions("", "0.0"), Ordering::Less);
        assert_eq!(compare_versions("1.0", ""), Ordering::Greater);
        assert_eq!(compare_versions("", ""), Ordering::Equal);
    }

    #[test]
    fn each_strategy_runs_what_it_says() {
        let host = |s| Versioning {
            version: Some("2.0".into()),
            match_strategy: s,
            failure_strategy: VersionFailureStrategy::Reject,
        };
        let none = host(VersionMatchStrategy::None);
        let strict = host(VersionMatchStrategy::Strict);
        let older = host(VersionMatchStrategy::CurrentOrOlder);
        for v in [None, Some("1.0"), Some("2.0"), Some("3.0")] {
            assert!(none.mismatch(v).is_none());
        }
        assert!(strict.mismatch(Some("2.0")).is_none());
        assert!(strict.mismatch(Some("1.0")).is_some());
        assert!(strict.mismatch(None).is_some());
        assert!(older.mismatch(Some("1.0")).is_none());
        assert!(older.mismatch(Some("2.0")).is_none());
        assert!(older.mismatch(None).is_none());
        let newer = older
            .mismatch(Some("3.0"))
            .expect("a newer instance is refused");
        assert!(
            newer.contains("\"3.0\"") && newer.contains("\"2.0\""),
            "{newer}"
        );
        let unversioned = Versioning::default();
        assert!(unversioned.mismatch(Some("9.9")).is_none());
    }

    #[test]
    fn strategies_read_their_host_json_spelling() {
        assert_eq!(
            VersionMatchStrategy::parse("currentOrOlder"),
            Some(VersionMatchStrategy::CurrentOrOlder)
        );
        assert_eq!(
            VersionMatchStrategy::parse("Strict"),
            Some(VersionMatchStrategy::Strict)
        );
        assert_eq!(
            VersionFailureStrategy::parse("FAIL"),
            Some(VersionFailureStrategy::Fail)
        );
        assert_eq!(VersionFailureStrategy::parse("drop"), None);
    }
}
