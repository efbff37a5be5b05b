//! What the tests of this crate share: the Python to run apps with, copies of the apps, and a
//! host configuration over them.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};

use durafn_host::{HostArgs, HostConfig};

pub use durafn_testenv::python;

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Copies the directory `from` into `to` (the apps are copied so that the worker's bytecode
/// and the host's data never land in the repository).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the copy");
    for entry in std::fs::read_dir(from).expect("read the app") {
        let entry = entry.expect("an entry");
        let name = entry.file_name();
        if name == "__pycache__" || name == ".durafn" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().expect("a type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a file");
        }
    }
}

/// A copy of the app at `relative` (from the repository root) in `dir`, and a host
/// configuration for it with its data under `dir/data`.
pub fn app_config(relative: &str, dir: &Path, python: &Path) -> HostConfig {
    let root = dir.join("app");
    copy_dir(&repo().join(relative), &root);
    let args = HostArgs {
        root: Some(root),
        data_dir: Some(dir.join("data")),
        port: Some(0),
        ..HostArgs::default()
    };
    let env = [(
        "languageWorkers__python__defaultExecutablePath".to_string(),
        python.display().to_string(),
    )];
    HostConfig::load(&args, env).expect("the app's configuration")
}
