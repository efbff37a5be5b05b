//! The Temporal dev server, on a SQLite file in the measurement's directory.

use std::path::Path;
use std::process::Command;

use crate::paths::program;
use crate::process::{Started, free_port, start_server};

/// Starts `temporal server start-dev` with WAL and `synchronous=FULL`, the same durability as
/// durafn's `Fsync` (its default pragmas managed about 2 workflows per second here).
pub(super) fn server(dir: &Path, log: &Path) -> Result<Started, String> {
    let port = free_port();
    let mut cmd = Command::new(program("python", "temporal"));
    cmd.args(["server", "start-dev", "--headless", "--log-level", "error"])
        .args(["--port", &port.to_string()])
        .args(["--http-port", &free_port().to_string()])
        .args(["--metrics-port", &free_port().to_string()])
        .arg("--db-filename")
        .arg(dir.join("temporal.db"))
        .args(["--sqlite-pragma", "journal_mode=wal"])
        .args(["--sqlite-pragma", "synchronous=full"]);
    let env = vec![("BENCH_TEMPORAL".to_string(), format!("127.0.0.1:{port}"))];
    start_server(cmd, dir, log, &[port], env)
}
