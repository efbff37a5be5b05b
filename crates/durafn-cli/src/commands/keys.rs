//! `durafn keys …`: the host's keys through the admin API (master key only): host keys,
//! system keys and the keys of each HTTP function.
//!
//! Listing shows names only unless `--reveal` is given, and even then never the value of the
//! key this command line is connected with.

use clap::{Args, Subcommand};
use comfy_table::Cell;
use durafn_api::{Key, KeyList, SetKey};
use serde::Serialize;

use crate::client::{Body, Client, encode};
use crate::commands::functions;
use crate::context::Context;
use crate::error::{CliError, CliResult};
use crate::output::note;

/// `durafn keys` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// List keys (names only unless --reveal)
    #[command(visible_alias = "ls")]
    List(ListArgs),
    /// Create a key (or replace one's value); prints its value
    #[command(after_help = "\
Examples:
  durafn keys create ci                       # a host key with a generated value
  durafn keys create partner --function submit --value \"$VALUE\"")]
    Create(CreateArgs),
    /// Delete a key
    Delete(DeleteArgs),
}

/// Which key collection.
#[derive(Debug, Clone, Args)]
pub(crate) struct ScopeArgs {
    /// The keys of this HTTP function
    #[arg(long, value_name = "NAME", conflicts_with = "system")]
    pub(crate) function: Option<String>,
    /// The system keys (durabletask_extension and other extensions' keys)
    #[arg(long)]
    pub(crate) system: bool,
}

/// `keys list`.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Only this collection (default: host keys, system keys and every HTTP function's keys)
    #[command(flatten)]
    pub(crate) scope: ScopeArgs,
    /// Only host keys
    #[arg(long, conflicts_with_all = ["function", "system"])]
    pub(crate) host: bool,
    /// Show the values too (except the key in use)
    #[arg(long)]
    pub(crate) reveal: bool,
}

/// `keys create`.
#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// The key's name
    pub(crate) name: String,
    /// Where (default: a host key)
    #[command(flatten)]
    pub(crate) scope: ScopeArgs,
    /// The value to set (default: the host generates one)
    #[arg(long)]
    pub(crate) value: Option<String>,
}

/// `keys delete`.
#[derive(Debug, Args)]
pub(crate) struct DeleteArgs {
    /// The key's name
    pub(crate) name: String,
    /// Where (default: a host key)
    #[command(flatten)]
    pub(crate) scope: ScopeArgs,
}

/// A key collection of the admin API.
#[derive(Debug, Clone)]
enum Scope {
    Host,
    System,
    Function(String),
}

impl Scope {
    fn of(args: &ScopeArgs) -> Self {
        match (&args.function, args.system) {
            (Some(f), _) => Scope::Function(f.clone()),
            (None, true) => Scope::System,
            (None, false) => Scope::Host,
        }
    }

    fn path(&self) -> String {
        match self {
            Scope::Host => "/host/functionkeys".into(),
            Scope::System => "/host/systemkeys".into(),
            Scope::Function(f) => format!("/functions/{}/keys", encode(f)),
        }
    }

    fn label(&self) -> String {
        match self {
            Scope::Host => "host".into(),
            Scope::System => "system".into(),
            Scope::Function(f) => format!("function {f}"),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Listed {
    scope: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    in_use: bool,
}

/// Runs a `keys` subcommand.
pub(crate) fn run(ctx: &Context, command: Command) -> CliResult {
    let client = ctx.client()?;
    match command {
        Command::List(a) => list(ctx, &client, &a),
        Command::Create(a) => {
            let scope = Scope::of(&a.scope);
            let path = format!("{}/{}", scope.path(), encode(&a.name));
            let reply = match &a.value {
                None => client.admin("POST", &path, Body::None)?,
                Some(value) => {
                    let body = serde_json::to_string(&SetKey {
                        name: None,
                        value: value.clone(),
                    })
                    .map_err(|e| CliError::BadAnswer(e.to_string()))?;
                    client.admin("PUT", &path, Body::Json(&body))?
                }
            };
            let reply = reply.ok(&format!("key {} ({})", a.name, scope.label()))?;
            let key: Key = reply.json()?;
            note(format!(
                "{} key {} ({})",
                if reply.status == 201 {
                    "created"
                } else {
                    "updated"
                },
                key.name,
                scope.label()
            ));
            if ctx.out.is_json() {
                ctx.out.print_json_text(reply.text()?)
            } else {
                crate::output::print_stdout(&format!("{}\n", key.value))
            }
        }
        Command::Delete(a) => {
            let scope = Scope::of(&a.scope);
            let path = format!("{}/{}", scope.path(), encode(&a.name));
            client.admin("DELETE", &path, Body::None)?.ok(&format!(
                "key {} ({})",
                a.name,
                scope.label()
            ))?;
            note(format!("deleted key {} ({})", a.name, scope.label()));
            Ok(())
        }
    }
}

fn list(ctx: &Context, client: &Client, a: &ListArgs) -> CliResult {
    let scopes = if a.host {
        vec![Scope::Host]
    } else if a.scope.function.is_some() || a.scope.system {
        vec![Scope::of(&a.scope)]
    } else {
        let (_, functions) = functions::fetch(client)?;
        let mut scopes = vec![Scope::Host, Scope::System];
        scopes.extend(
            functions
                .iter()
                .filter(|f| f.trigger().is_some_and(|t| t.binding_type == "httpTrigger"))
                .map(|f| Scope::Function(f.name.clone())),
        );
        scopes
    };
    let in_use = client.connection().key.clone();
    let mut rows = Vec::new();
    for scope in scopes {
        let reply = client
            .admin("GET", &scope.path(), Body::None)?
            .ok(&format!("the {} keys", scope.label()))?;
        let list: KeyList = reply.json()?;
        for key in list.keys {
            let used = in_use.as_deref() == Some(key.value.as_str());
            rows.push(Listed {
                scope: scope.label(),
                name: key.name,
                value: (a.reveal && !used).then_some(key.value),
                in_use: used,
            });
        }
    }
    let out = &ctx.out;
    if out.is_json() {
        return out.print_items(&rows);
    }
    let mut headers = vec!["SCOPE", "NAME"];
    if a.reveal {
        headers.push("VALUE");
    }
    headers.push("");
    let mut table = out.table(&headers);
    for r in &rows {
        let mut row = vec![Cell::new(&r.scope), Cell::new(&r.name)];
        if a.reveal {
            row.push(Cell::new(r.value.as_deref().unwrap_or("(hidden)")));
        }
        row.push(Cell::new(if r.in_use { "in use" } else { "" }));
        table.add_row(row);
    }
    out.print_table(&table)
}
