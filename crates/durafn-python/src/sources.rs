//! The Python worker's sources, compiled into the binary, so an installed `durafn` needs no
//! checkout of the repository: at start they are written to the data directory, under a folder
//! named after their content hash (so hosts of different versions never share one), and the
//! worker is started with that folder on `PYTHONPATH`.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The package's modules: (file name, source).
pub(crate) const WORKER_MODULES: &[(&str, &str)] = &[
    (
        "__init__.py",
        include_str!("../../../workers/python/durafn_worker/__init__.py"),
    ),
    (
        "__main__.py",
        include_str!("../../../workers/python/durafn_worker/__main__.py"),
    ),
    (
        "channel.py",
        include_str!("../../../workers/python/durafn_worker/channel.py"),
    ),
    (
        "errors.py",
        include_str!("../../../workers/python/durafn_worker/errors.py"),
    ),
    (
        "http_binding.py",
        include_str!("../../../workers/python/durafn_worker/http_binding.py"),
    ),
    (
        "invoke.py",
        include_str!("../../../workers/python/durafn_worker/invoke.py"),
    ),
    (
        "loader.py",
        include_str!("../../../workers/python/durafn_worker/loader.py"),
    ),
    (
        "logs.py",
        include_str!("../../../workers/python/durafn_worker/logs.py"),
    ),
    (
        "speedups.py",
        include_str!("../../../workers/python/durafn_worker/speedups.py"),
    ),
    (
        "worker.py",
        include_str!("../../../workers/python/durafn_worker/worker.py"),
    ),
];

/// The package's directory name.
const PACKAGE: &str = "durafn_worker";

/// A short hash of every module's name and content.
pub(crate) fn version_hash() -> String {
    let mut hasher = Sha256::new();
    for (name, source) in WORKER_MODULES {
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update(source.as_bytes());
        hasher.update([0]);
    }
    hasher
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes the package under `data_dir` (once per version) and returns the directory to put on
/// `PYTHONPATH`. The package is written to a temporary folder and renamed into place, so a
/// host killed while writing never leaves a half-written package for the next start.
pub(crate) fn install(data_dir: &Path) -> std::io::Result<PathBuf> {
    let root = data_dir.join("python-worker");
    let home = root.join(version_hash());
    if home.join(PACKAGE).join("worker.py").is_file() {
        return Ok(home);
    }
    std::fs::create_dir_all(&root)?;
    let staging = root.join(format!(".staging-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let package = staging.join(PACKAGE);
    std::fs::create_dir_all(&package)?;
    for (name, source) in WORKER_MODULES {
        std::fs::write(package.join(name), source)?;
    }
    match std::fs::rename(&staging, &home) {
        Ok(()) => Ok(home),
        // Another host of the same version won the race: its copy is identical.
        Err(_) if home.join(PACKAGE).join("worker.py").is_file() => {
            let _ = std::fs::remove_dir_all(&staging);
            Ok(home)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_of_the_package_is_embedded() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workers/python/durafn_worker");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".py"))
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = WORKER_MODULES.iter().map(|(n, _)| n.to_string()).collect();
        embedded.sort();
        assert_eq!(
            embedded, on_disk,
            "add new worker modules to WORKER_MODULES"
        );
        for (name, source) in WORKER_MODULES {
            assert_eq!(
                std::fs::read_to_string(dir.join(name)).unwrap(),
                *source,
                "{name}"
            );
        }
    }

    #[test]
    fn installing_writes_the_package_once() {
        let dir = tempfile::tempdir().unwrap();
        let home = install(dir.path()).unwrap();
        assert!(home.ends_with(version_hash()));
        let worker = home.join(PACKAGE).join("worker.py");
        assert!(worker.is_file());
        let again = install(dir.path()).unwrap();
        assert_eq!(home, again);
        assert_eq!(version_hash().len(), 16);
    }
}
