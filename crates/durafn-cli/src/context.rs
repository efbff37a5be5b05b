//! What every command shares: the global options and the connection and output built from them.

use std::path::PathBuf;

use clap::Args;

use crate::client::Client;
use crate::config::{self, Config, Profile, Sources};
use crate::error::CliResult;
use crate::output::{Format, Out};

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
