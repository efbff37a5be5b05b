//! The `durafn` binary driven against a real function app (`durafn-cli-testapp`) running as a
//! child process on a free port: every command, its `-o json` output compared byte for byte with
//! what the management API answers, its human output checked for the facts that matter, and
//! the terminal behaviour (`--watch`, `trace --follow`, progress bars) checked in a real
//! terminal through tmux.

mod admin;
mod bulk;
mod common;
mod entities;
mod instances;
mod output;
mod profiles;
mod terminal;
mod trace;
mod wait;
