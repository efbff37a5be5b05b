//! The host.json reader: the file is written by hand (or by Azure tooling for another host), so
//! every shape of JSON reaches it. It must refuse what it cannot use with an error, never panic.
#![no_main]

use std::path::PathBuf;

use durafn_host::{AppSettings, HostArgs, HostConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Settings the file may refer to with `%NAME%` (the hub name, connection string names).
    let settings = AppSettings::new()
        .with("HUB", "FuzzHub")
        .with("Empty", "")
        .with("Pg", "postgres://localhost/db");
    let _ = HostConfig::from_parts(
        PathBuf::from("app"),
        &HostArgs::default(),
        settings,
        Some(text),
    );
});
