//! Test support shared by durafn's test suites: the services a test needs (PostgreSQL, Azurite,
//! a Python, ...) are named by environment variables. A test whose variable is unset prints
//! `skipped: set VAR to run ...` and passes, so `cargo test` works on any machine; in CI
//! (`CI=true`) a missing variable fails the test instead, so nothing is skipped silently there.

use std::sync::atomic::{AtomicU64, Ordering};

/// The variable naming the PostgreSQL test database (a `postgres://` URL).
pub const POSTGRES_URL: &str = "DURAFN_TEST_POSTGRES_URL";

/// The variable that says an Azurite emulator runs on 127.0.0.1 (any non-empty value).
pub const AZURITE: &str = "DURAFN_TEST_AZURITE";

/// The variable naming a Python with the packages the Python tests need (the real
/// `azure-functions`, `azure-functions-durable` and the clients' test requirements).
pub const PYTHON: &str = "DURAFN_TEST_PYTHON";

/// Whether this run is CI (`CI=true`), where no test may be skipped.
pub fn in_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// The value of `var` if it is set and not blank; otherwise `None`, after printing that the
/// tests of `what` were skipped.
///
/// # Panics
/// In CI, when the variable is missing: the tests may not be skipped there.
pub fn service(var: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(value) if !value.trim().is_empty() => Some(value),
        _ => {
            assert!(
                !in_ci(),
                "{var} must be set in CI: the {what} tests may not be skipped there"
            );
            println!("skipped: set {var} to run the {what} tests");
            None
        }
    }
}

/// The PostgreSQL test database's URL, or `None` when the PostgreSQL tests are skipped.
pub fn postgres_url() -> Option<String> {
    service(POSTGRES_URL, "PostgreSQL")
}

/// The Python of [`PYTHON`], or `None` when the Python tests are skipped.
pub fn python() -> Option<std::path::PathBuf> {
    service(PYTHON, "Python").map(std::path::PathBuf::from)
}

/// Whether Azurite runs for the tests (`false` when the Azurite tests are skipped).
pub fn azurite() -> bool {
    service(AZURITE, "Azurite").is_some()
}

/// A name no other test, run or person on the same server uses: `<prefix>_<tag>_<process>_<n>_<time>`,
/// lower-case ASCII letters, digits and `_` only (valid as a schema, table or queue name once the
/// caller's own rules on length are met).
pub fn unique_name(prefix: &str, tag: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() % 1_000_000_000);
    format!("{prefix}_{tag}_{}_{n}_{millis}", std::process::id())
}

/// Polls `check` until it returns `Some` (a real process or service reaches a state), backing off
/// from 10 ms to 200 ms between tries; tests wait on state this way, never for a fixed time.
///
/// # Panics
/// When `secs` seconds pass first, naming `what` was waited for.
pub fn eventually<T>(secs: u64, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let mut pause = std::time::Duration::from_millis(10);
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(pause);
        pause = (pause * 2).min(std::time::Duration::from_millis(200));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_differ_and_stay_simple() {
        let (a, b) = (unique_name("t", "x"), unique_name("t", "x"));
        assert_ne!(a, b);
        assert!(a.starts_with("t_x_"));
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    }

    #[test]
    fn a_set_variable_is_returned() {
        // PATH is set wherever tests run.
        assert!(service("PATH", "path").is_some());
    }
}

#[cfg(feature = "otlp")]
pub mod otlp;
