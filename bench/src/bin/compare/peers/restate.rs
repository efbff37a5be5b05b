//! The Restate server: a single node with its default configuration, its data in the
//! measurement's directory.

use std::path::Path;
use std::process::Command;

use crate::paths::program;
use crate::process::{Started, free_port, start_server};

/// Starts `restate-server` on free ports; the worker learns the ingress and admin addresses and
/// the port its endpoint is to listen on.
pub(super) fn server(dir: &Path, log: &Path) -> Result<Started, String> {
    let (ingress, admin, node, endpoint) = (free_port(), free_port(), free_port(), free_port());
    let mut cmd = Command::new(program("restate", "restate-server"));
    cmd.arg("--base-dir")
        .arg(dir.join("restate"))
        .arg("--no-logo")
        .env(
            "RESTATE_INGRESS__BIND_ADDRESS",
            format!("127.0.0.1:{ingress}"),
        )
        .env("RESTATE_ADMIN__BIND_ADDRESS", format!("127.0.0.1:{admin}"))
        .env("RESTATE_BIND_ADDRESS", format!("127.0.0.1:{node}"))
        .env(
            "RESTATE_ADVERTISED_ADDRESS",
            format!("http://127.0.0.1:{node}"),
        )
        .env("RESTATE_DISABLE_TELEMETRY", "true")
        .env("RESTATE_LOG_FILTER", "warn");
    let env = vec![
        (
            "BENCH_INGRESS".into(),
            format!("http://127.0.0.1:{ingress}"),
        ),
        ("BENCH_ADMIN".into(), format!("http://127.0.0.1:{admin}")),
        ("BENCH_ENDPOINT_PORT".into(), endpoint.to_string()),
    ];
    start_server(cmd, dir, log, &[ingress, admin], env)
}
