//! The local.settings.json reader: a developer's file, often copied from another app, so every
//! shape of JSON reaches it. It must refuse what it cannot use with an error, never panic; and
//! the settings it accepts must feed the rest of the configuration without a panic either.
#![no_main]

use std::path::PathBuf;

use durafn_host::{AppSettings, HostArgs, HostConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(settings) = AppSettings::from_local_settings(text) {
        let _ = HostConfig::from_parts(PathBuf::from("app"), &HostArgs::default(), settings, None);
    }
});
