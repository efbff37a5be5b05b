//! `durafn`: manage durable function instances from a terminal, on any host that serves the
//! Durable Functions management API (a durafn function app, or an Azure Functions app).
//!
//! The command line talks to a host only through that API (`/runtime/webhooks/durabletask/…`)
//! and the admin API (`/admin/…`), with the JSON types of `durafn-api`. Each command group
//! lives in its own module under `commands`; `cli` is the clap tree that ties them together.

mod cli;
mod client;
mod commands;
mod config;
mod context;
mod error;
mod filter;
mod output;
mod steps;
mod terminal;
mod time;
mod tree;

use std::process::ExitCode;

use clap::Parser;

use crate::error::{exit, redact};

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version print to stdout and exit 0; usage errors exit 2.
            let code = u8::try_from(e.exit_code()).unwrap_or(exit::USAGE);
            if code == exit::OK {
                let _ = e.print();
            } else {
                // A usage error may quote the command line, and so a key given on it.
                let mut message = e.render().to_string();
                for secret in keys_in_args() {
                    message = redact(&message, Some(&secret));
                }
                eprint!("{message}");
            }
            return ExitCode::from(code);
        }
    };
    let ctx = context::Context::new(&cli.global);
    match cli::run(&ctx, cli.command) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(e) => {
            let mut message = e.to_string();
            for secret in ctx.secrets() {
                message = redact(&message, Some(&secret));
            }
            if !message.is_empty() {
                eprintln!("error: {message}");
            }
            e.exit()
        }
    }
}

/// The keys on the command line or in the environment, when the command line could not be
/// parsed (so that its error message cannot show them).
fn keys_in_args() -> Vec<String> {
    let args: Vec<String> = std::env::args().collect();
    let mut keys: Vec<String> = args
        .windows(2)
        .filter(|w| w[0] == "--key")
        .map(|w| w[1].clone())
        .chain(
            args.iter()
                .filter_map(|a| a.strip_prefix("--key=").map(String::from)),
        )
        .collect();
    keys.extend(std::env::var("DURAFN_KEY").ok());
    keys.retain(|k| !k.is_empty());
    keys
}
