//! `durafn instances wait ID`: polls the instance's status until it has finished, and tells how
//! it ended through the exit code.
//!
//! The management API has no long poll for an existing instance, so this asks for the status
//! with a backoff from 50 ms to one second.

use std::time::{Duration, Instant};

use durafn_api::RuntimeStatus;

use crate::client::Client;
use crate::commands::target::{fetch_status, print_details};
use crate::error::{CliError, CliResult, exit};
use crate::output::Out;

/// `instances wait`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The instance id
    pub(crate) id: String,
    /// Give up after this many seconds (exit code 6) [default: wait as long as it takes]
    #[arg(long, value_name = "SECONDS")]
    pub(crate) timeout: Option<f64>,
}

const FIRST_POLL: Duration = Duration::from_millis(50);
const LONGEST_POLL: Duration = Duration::from_secs(1);

/// Waits, prints the final status, and returns the exit code's error for anything but
/// Completed.
pub(crate) fn run(out: &Out, client: &Client, a: &Args) -> CliResult {
    let deadline = match a.timeout {
        Some(s) if s.is_finite() && s >= 0.0 => Some(Instant::now() + Duration::from_secs_f64(s)),
        Some(_) => {
            return Err(CliError::Usage(
                "--timeout must be a number of seconds".into(),
            ));
        }
        None => None,
    };
    let mut pause = FIRST_POLL;
    loop {
        let (reply, status) = fetch_status(client, &a.id, &[])?;
        if status.runtime_status.is_terminal() {
            if out.is_json() {
                out.print_json_text(reply.text()?)?;
            } else {
                print_details(out, &status)?;
            }
            return match status.runtime_status {
                RuntimeStatus::Completed => Ok(()),
                RuntimeStatus::Failed => Err(CliError::Exit {
                    code: exit::FAILED,
                    message: String::new(),
                }),
                _ => Err(CliError::Exit {
                    code: exit::TERMINATED,
                    message: String::new(),
                }),
            };
        }
        let now = Instant::now();
        if let Some(deadline) = deadline {
            if now >= deadline {
                return Err(CliError::Exit {
                    code: exit::TIMEOUT,
                    message: format!(
                        "timed out after {}s: instance {} is still {}",
                        a.timeout.unwrap_or_default(),
                        a.id,
                        status.runtime_status
                    ),
                });
            }
            pause = pause.min(deadline - now);
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(LONGEST_POLL);
    }
}
