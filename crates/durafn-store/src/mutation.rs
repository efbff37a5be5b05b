//! Planted bugs, for proving that the simulator (`durafn-sim`) catches real mistakes.
//!
//! Compiled only with `--cfg durafn_mutation` (never in a normal build). Such a build has every
//! mutation point of the store and the runtime, each off until [`plant`] names it; a point asks
//! [`planted`] whether its bug is on. One mutation at a time, per process.

use std::sync::Mutex;

static PLANTED: Mutex<Option<String>> = Mutex::new(None);

/// Turns the named mutation on (`None`: all off).
pub fn plant(name: Option<&str>) {
    *PLANTED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = name.map(str::to_string);
}

/// Whether the named mutation is on.
pub fn planted(name: &str) -> bool {
    PLANTED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .as_deref()
        == Some(name)
}
