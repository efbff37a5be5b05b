//! The command tree (clap derive) and what every command shares: the connection and the
//! output format.

use clap::{Parser, Subcommand};

use crate::commands::{completions, entities, functions, history, instances, keys, profile, trace};
use crate::context::{Context, Global};
use crate::error::CliResult;

const AFTER_HELP: &str = "\
Connection (first found wins): --url/--key/--task-hub; the profile named by --profile or
DURAFN_PROFILE; DURAFN_URL, DURAFN_KEY, DURAFN_TASK_HUB; the current profile
(durafn profile use); http://localhost:7071. The key is the host's master key or its
durabletask_extension system key; it is sent in a header and never printed.

Output: tables for people (coloured on a terminal unless NO_COLOR is set), or -o json /
-o jsonl for scripts. Data goes to stdout, messages to stderr.

Exit codes:
  0  success (instances wait: the instance Completed)
  1  error (the host refused or failed the request, or could not be reached)
  2  usage (bad flags or values)
  3  not found (instance, entity, function, key or profile)
  4  instances wait: the instance Failed
  5  instances wait: the instance was Terminated
  6  instances wait: the timeout passed first
  130 interrupted (Ctrl-C)

Examples:
  durafn instances list --status Running --from 2h
  durafn instances start hello --input '\"Tokyo\"'
  durafn instances wait 0a31a173b2091d2c --timeout 60 && echo done
  durafn trace 0a31a173b2091d2c --follow
  durafn --url https://orders.azurewebsites.net --key \"$KEY\" instances count
  durafn profile add prod --url https://orders.azurewebsites.net --key-stdin < key.txt";

/// Manage durable function instances on a durafn or Azure Functions host.
#[derive(Debug, Parser)]
#[command(name = "durafn", version, after_help = AFTER_HELP, max_term_width = 100)]
pub(crate) struct Cli {
    /// Connection and output options, accepted by every command.
    #[command(flatten)]
    pub(crate) global: Global,
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The commands. `durafn start` runs a function app; the operator commands start instances with
/// `durafn instances start`.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run a script-root function app (Python) on this machine, as `func start` does
    #[cfg(feature = "python")]
    Start(crate::commands::start::Args),
    /// List, inspect, start and control orchestration instances
    #[command(subcommand, visible_alias = "i")]
    Instances(instances::Command),
    /// Show an instance as a tree of its sub-orchestrations and activities
    Trace(trace::Args),
    /// Export an instance's history
    #[command(subcommand)]
    History(history::Command),
    /// List, read, signal and delete entities
    #[command(subcommand)]
    Entities(entities::Command),
    /// List the app's functions and their triggers
    Functions(functions::Args),
    /// List, create and delete the host's keys
    #[command(subcommand)]
    Keys(keys::Command),
    /// Manage named connections in the configuration file
    #[command(subcommand)]
    Profile(profile::Command),
    /// Replay every live instance against the host's build and list those it would break
    ReplayCheck(crate::commands::replay_check::Args),
    /// Print a shell completion script
    Completions(completions::Args),
}

/// Runs a command.
pub(crate) fn run(ctx: &Context, command: Command) -> CliResult {
    use crate::commands::*;
    match command {
        Command::Instances(c) => instances::run(ctx, c),
        Command::Trace(a) => trace::run(ctx, a),
        Command::History(c) => history::run(ctx, c),
        Command::Entities(c) => entities::run(ctx, c),
        Command::Functions(a) => functions::run(ctx, a),
        Command::Keys(c) => keys::run(ctx, c),
        Command::Profile(c) => profile::run(ctx, c),
        Command::ReplayCheck(a) => replay_check::run(ctx, a),
        Command::Completions(a) => completions::run(a, <Cli as clap::CommandFactory>::command()),
        #[cfg(feature = "python")]
        Command::Start(a) => start::run(a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_tree_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn positional_names_do_not_shadow_global_options() {
        let cli = Cli::try_parse_from([
            "durafn", "--key", "k", "entities", "signal", "counter", "alice", "add", "5",
        ])
        .unwrap();
        assert_eq!(cli.global.key.as_deref(), Some("k"));
    }
}
