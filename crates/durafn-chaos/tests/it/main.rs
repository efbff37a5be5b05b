//! The crash and scale-out tests, as one test binary: real app processes killed with SIGKILL.

mod crash;
mod crash_entities;
mod replay_check;
mod scale_out;
