//! The command tree (clap derive) and what every command shares: the connection and the
//! output format.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::client::Client;
use crate::commands::{completions, entities, functions, history, instances, keys, profile, trace};
use crate::config::{self, Config, Profile, Sources};
use crate::error::CliResult;
use crate::output::{Format, Out};

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

/// Options every command accepts.
#[derive(Debug, Clone, Args)]
pub(crate) struct Global {
    /// The host's origin [default: http://localhost:7071]
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) url: Option<String>,
    /// The master key or the durabletask_extension system key
    #[arg(long, global = true, value_name = "KEY")]
    pub(crate) key: Option<String>,
    /// The task hub (for hosts that serve several)
    #[arg(long = "task-hub", global = true, value_name = "NAME")]
    pub(crate) task_hub: Option<String>,
    /// Use this profile of the configuration file
    #[arg(long, global = true, value_name = "NAME")]
    pub(crate) profile: Option<String>,
    /// Output format
    #[arg(short = 'o', long = "output", global = true, value_enum, default_value_t = Format::Table)]
    pub(crate) output: Format,
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

/// What commands share.
#[derive(Debug)]
pub(crate) struct Context {
    /// How to print.
    pub(crate) out: Out,
    /// Where the connection comes from.
    pub(crate) sources: Sources,
}

impl Context {
    /// From the global options and the process environment.
    pub(crate) fn new(global: &Global) -> Self {
        let profile = global.profile.clone().or_else(|| {
            std::env::var("DURAFN_PROFILE")
                .ok()
                .filter(|v| !v.is_empty())
        });
        Self {
            out: Out::new(global.output),
            sources: Sources {
                flags: Profile {
                    url: global.url.clone(),
                    key: global.key.clone(),
                    task_hub: global.task_hub.clone(),
                },
                profile,
                env: Sources::env_from_process(),
            },
        }
    }

    /// The configuration file's path.
    pub(crate) fn config_path(&self) -> CliResult<PathBuf> {
        config::path()
    }

    /// The configuration (empty when there is no file).
    pub(crate) fn config(&self) -> CliResult<Config> {
        Config::load(&self.config_path()?)
    }

    /// A client for the resolved connection.
    pub(crate) fn client(&self) -> CliResult<Client> {
        let config = match (&self.sources.flags.url, &self.sources.profile) {
            // Flags and environment alone need no file; a broken file is reported only when
            // it is needed.
            (Some(_), None) if self.sources.flags.key.is_some() => Config::default(),
            _ => self.config()?,
        };
        Ok(Client::new(config::resolve(&self.sources, &config)?))
    }

    /// Every key this run knows of, to keep them out of messages.
    pub(crate) fn secrets(&self) -> Vec<String> {
        let mut keys: Vec<String> = [&self.sources.flags.key, &self.sources.env.key]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        if let Ok(config) = self.config() {
            keys.extend(config.profiles.values().filter_map(|p| p.key.clone()));
        }
        keys.retain(|k| !k.is_empty());
        keys
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
