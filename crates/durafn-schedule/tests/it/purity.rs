//! The crate stays pure: time is an argument, never read from a clock, and
//! nothing is read from the environment or the file system (the time zone
//! database is compiled in).

use std::path::Path;

const FORBIDDEN: &[&str] = &[
    "SystemTime",
    "Instant::now",
    "Utc::now",
    "Local::now",
    "std::env",
    "std::fs",
    "std::net",
    "std::process",
];

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source directory") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_clock_environment_or_files() {
    let mut files = Vec::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    assert!(files.len() >= 8, "found the sources: {files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable");
        for name in FORBIDDEN {
            assert!(!text.contains(name), "{} uses {name}", file.display());
        }
    }
}

#[test]
fn chrono_has_no_clock() {
    // The workspace builds chrono without its `clock` feature, so
    // `Utc::now()` does not even exist for this crate; keep it that way.
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            .expect("readable manifest");
    assert!(!manifest.contains("clock"), "the manifest enables a clock");
}
