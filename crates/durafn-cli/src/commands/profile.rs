//! `durafn profile …`: named connections in the configuration file.

use std::io::BufRead;

use clap::{Args, Subcommand};
use comfy_table::Cell;
use serde::Serialize;

use crate::config::Profile;
use crate::context::Context;
use crate::error::{CliError, CliResult};
use crate::output::note;

/// `durafn profile` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Save the connection given by --url, --key and --task-hub under a name
    #[command(after_help = "\
Examples:
  durafn profile add local --url http://localhost:7071 --key \"$DURAFN_KEY\" --use
  durafn profile add prod --url https://orders.azurewebsites.net --key-stdin < key.txt")]
    Add(AddArgs),
    /// Make a profile the one used when none is named
    Use {
        /// The profile
        name: String,
    },
    /// List the profiles (never their keys)
    #[command(visible_alias = "ls")]
    List,
    /// Remove a profile
    Remove {
        /// The profile
        name: String,
    },
}

/// `profile add`.
#[derive(Debug, Args)]
pub(crate) struct AddArgs {
    /// The profile's name
    pub(crate) name: String,
    /// Read the key from the first line of stdin (keeps it out of shell history)
    #[arg(long, conflicts_with = "key")]
    pub(crate) key_stdin: bool,
    /// Also make it the current profile
    #[arg(long = "use")]
    pub(crate) make_current: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Listed<'a> {
    name: &'a str,
    url: Option<&'a str>,
    task_hub: Option<&'a str>,
    has_key: bool,
    current: bool,
}

/// Runs a `profile` subcommand.
pub(crate) fn run(ctx: &Context, command: Command) -> CliResult {
    let path = ctx.config_path()?;
    let mut config = ctx.config()?;
    match command {
        Command::Add(a) => {
            let mut profile: Profile = ctx.sources.flags.clone();
            if profile.url.is_none() {
                return Err(CliError::Usage("give the profile's host with --url".into()));
            }
            if a.key_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .map_err(|e| CliError::io("reading the key from stdin", e))?;
                let key = line.trim().to_string();
                if key.is_empty() {
                    return Err(CliError::Usage("stdin held no key".into()));
                }
                profile.key = Some(key);
            }
            let replaced = config.profiles.insert(a.name.clone(), profile).is_some();
            if a.make_current || config.current.is_none() {
                config.current = Some(a.name.clone());
            }
            config.save(&path)?;
            note(format!(
                "{} profile {} in {}",
                if replaced { "updated" } else { "added" },
                a.name,
                path.display()
            ));
            Ok(())
        }
        Command::Use { name } => {
            config.profile(&name)?;
            config.current = Some(name.clone());
            config.save(&path)?;
            note(format!("using profile {name}"));
            Ok(())
        }
        Command::Remove { name } => {
            config.profile(&name)?;
            config.profiles.remove(&name);
            if config.current.as_deref() == Some(name.as_str()) {
                config.current = None;
            }
            config.save(&path)?;
            note(format!("removed profile {name}"));
            Ok(())
        }
        Command::List => {
            let rows: Vec<Listed<'_>> = config
                .profiles
                .iter()
                .map(|(name, p)| Listed {
                    name,
                    url: p.url.as_deref(),
                    task_hub: p.task_hub.as_deref(),
                    has_key: p.key.is_some(),
                    current: config.current.as_deref() == Some(name.as_str()),
                })
                .collect();
            let out = &ctx.out;
            if out.is_json() {
                return out.print_items(&rows);
            }
            if rows.is_empty() {
                note(format!("no profiles in {}", path.display()));
                return Ok(());
            }
            let mut table = out.table(&["", "PROFILE", "URL", "TASK HUB", "KEY"]);
            for r in &rows {
                table.add_row(vec![
                    Cell::new(if r.current { "*" } else { "" }),
                    Cell::new(r.name),
                    Cell::new(r.url.unwrap_or("")),
                    Cell::new(r.task_hub.unwrap_or("")),
                    Cell::new(if r.has_key { "set" } else { "none" }),
                ]);
            }
            out.print_table(&table)
        }
    }
}
