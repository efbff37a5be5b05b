//! `APP replay-check`: the entry point every function app gets for checking, before a deploy,
//! which live instances of its task hub this build would break. It replays each against the
//! app's own registry (the build being deployed), reading only; see
//! `durafn_runtime::replay_check`.

use std::io::Write as _;
use std::sync::Arc;

use durafn_runtime::replay_check::check_hub;
use durafn_sqlite::{SqliteOptions, SqliteStore};
use durafn_store::{InstanceFilter, Store};

use crate::app::store::open_store;
use crate::config::HostConfig;
use crate::config::settings::HostArgs;
use crate::error::HostError;

/// The command word.
pub(crate) const COMMAND: &str = "replay-check";

/// What `replay-check --help` prints.
const USAGE: &str = "\
Usage: APP replay-check [--hub LOCATION] [--hub-name NAME] [--name ORCHESTRATOR] [--version V]
                        [--page-size N] [--root DIR] [--data-dir DIR]

Replays every live instance (Pending, Running, Suspended) of the task hub against this build's
orchestrators, without leasing or writing anything, and prints how many replay and which would
fail, by orchestrator and version, with the first divergence of each. Exits with status 1 if any
would fail.

  --hub LOCATION   the task hub: a SQLite file, or a postgres:// URL (default: the one host.json
                   and the settings configure)
  --hub-name NAME  with a postgres:// URL: the task hub's schema (default: host.json hubName)
  --name NAME      only instances of this orchestrator
  --version V      only instances of this version
  --page-size N    instances per listing and history read (default 1000)
";

struct CheckArgs {
    hub: Option<String>,
    hub_name: Option<String>,
    filter: InstanceFilter,
    page_size: usize,
    help: bool,
    host: Vec<String>,
}

fn parse(args: Vec<String>) -> Result<CheckArgs, HostError> {
    let mut out = CheckArgs {
        hub: None,
        hub_name: None,
        filter: InstanceFilter::default(),
        page_size: 1000,
        help: false,
        host: Vec::new(),
    };
    let bad = |message: String| {
        HostError::Config(crate::config::ConfigError::Malformed {
            source_name: "command line".into(),
            message,
        })
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        if flag == "--help" || flag == "-h" {
            out.help = true;
            continue;
        }
        if !matches!(
            flag.as_str(),
            "--hub"
                | "--hub-name"
                | "--name"
                | "--version"
                | "--page-size"
                | "--root"
                | "--data-dir"
        ) {
            return Err(bad(format!(
                "unknown argument {arg:?}; try replay-check --help"
            )));
        }
        let value = inline
            .or_else(|| args.next())
            .ok_or_else(|| bad(format!("{flag} needs a value")))?;
        match flag.as_str() {
            "--hub" => out.hub = Some(value),
            "--hub-name" => out.hub_name = Some(value),
            "--name" => out.filter.name = Some(value),
            "--version" => out.filter.version = Some(value),
            "--page-size" => {
                out.page_size =
                    value
                        .parse::<usize>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| {
                            bad(format!(
                                "--page-size expects a positive number, found {value:?}"
                            ))
                        })?;
            }
            _ => {
                out.host.push(flag);
                out.host.push(value);
            }
        }
    }
    Ok(out)
}

/// Opens the task hub `--hub` names, or the configured one.
async fn open(
    custom_store: Option<Arc<dyn Store>>,
    args: &CheckArgs,
    config: &HostConfig,
) -> Result<Arc<dyn Store>, HostError> {
    let Some(hub) = &args.hub else {
        if let Some(store) = custom_store {
            return Ok(store);
        }
        return Ok(open_store(config).await?.0);
    };
    if hub.starts_with("postgres://") || hub.starts_with("postgresql://") {
        return open_postgres(hub, args.hub_name.as_deref().unwrap_or(&config.hub_name)).await;
    }
    if !std::path::Path::new(hub).is_file() {
        return Err(HostError::Functions(format!(
            "--hub {hub:?} is neither a postgres:// URL nor an existing SQLite task hub file"
        )));
    }
    Ok(Arc::new(SqliteStore::open(hub, SqliteOptions::default())?))
}

#[cfg(feature = "postgres")]
async fn open_postgres(url: &str, hub_name: &str) -> Result<Arc<dyn Store>, HostError> {
    let options = durafn_postgres::PostgresOptions {
        schema: hub_name.to_lowercase(),
        application_name: "durafn-replay-check".into(),
        notifications: false,
        ..durafn_postgres::PostgresOptions::default()
    };
    let store = durafn_postgres::PostgresStore::connect(url, options)
        .await
        .map_err(|e| {
            HostError::Functions(format!("could not open the PostgreSQL task hub: {e}"))
        })?;
    Ok(Arc::new(store))
}

#[cfg(not(feature = "postgres"))]
async fn open_postgres(_url: &str, _hub_name: &str) -> Result<Arc<dyn Store>, HostError> {
    Err(HostError::Functions(
        "this build has no PostgreSQL support (cargo feature `postgres`)".into(),
    ))
}

/// Runs the check and prints its report; `Err(WouldBreak)` if any instance would fail.
pub(crate) async fn run(
    registry: durafn_core::Registry,
    custom_store: Option<Arc<dyn Store>>,
    args: Vec<String>,
) -> Result<(), HostError> {
    let args = parse(args)?;
    if args.help {
        print!("{USAGE}");
        return Ok(());
    }
    let host_args = HostArgs::parse(args.host.clone())?;
    let config = HostConfig::from_process(&host_args)?;
    let registry = Arc::new(registry);
    let store = open(custom_store, &args, &config).await?;
    let mut stderr = std::io::stderr();
    let summary = check_hub(
        store.as_ref(),
        &registry,
        &args.filter,
        args.page_size,
        |s| {
            let _ = writeln!(
                stderr,
                "replay-check: {} checked, {} would fail ({:.0} instances/s)",
                s.checked,
                s.failures.len(),
                s.per_second()
            );
        },
    )
    .await?;
    print!("{}", summary.render());
    let _ = std::io::stdout().flush();
    if summary.failures.is_empty() {
        Ok(())
    } else {
        Err(HostError::WouldBreak(summary.failures.len()))
    }
}

/// GET `durafn/replay-check`: one page of the live instances, replayed against this host's
/// build (`top`, `continuationToken`, and the listing's filters plus `name`).
pub(crate) async fn page(
    s: crate::app::state::HostState,
    call: crate::functions::request::Call,
) -> Result<axum::response::Response, crate::error::ApiError> {
    use crate::error::{ApiError, json_response};
    crate::api::management::check_hub(&s, &call)?;
    let mut filter = crate::api::management::filter_of(&call)?;
    filter.name = call
        .query
        .get("name")
        .filter(|n| !n.is_empty())
        .map(String::from);
    let top = match call.query.number("top")? {
        None => 500,
        Some(n) if n >= 1 => usize::try_from(n).unwrap_or(5000).min(5000),
        Some(_) => {
            return Err(ApiError::bad_request(
                "The query parameter top must be at least 1.",
            ));
        }
    };
    let token = call
        .query
        .get("continuationToken")
        .filter(|t| !t.is_empty());
    let page = durafn_runtime::replay_check::check_page(
        s.client.store().as_ref(),
        &s.registry,
        &filter,
        top,
        token,
    )
    .await
    .map_err(|e| ApiError::from_client(e.into()))?;
    let mut summary = durafn_runtime::replay_check::CheckSummary::default();
    summary.add(page.instances);
    let body = page_json(&summary, page.continuation);
    Ok(json_response(axum::http::StatusCode::OK, &body))
}

/// The JSON of a checked page.
pub(crate) fn page_json(
    summary: &durafn_runtime::replay_check::CheckSummary,
    continuation: Option<String>,
) -> durafn_api::ReplayCheckPage {
    durafn_api::ReplayCheckPage {
        checked: summary.checked,
        ok: summary.ok,
        groups: summary
            .groups
            .iter()
            .map(|((name, version), c)| durafn_api::ReplayGroup {
                name: name.clone(),
                version: version.clone(),
                ok: c.ok,
                failed: c.failed,
            })
            .collect(),
        failures: summary.failures.iter().map(failure_json).collect(),
        continuation_token: continuation,
    }
}

fn failure_json(f: &durafn_runtime::replay_check::CheckedInstance) -> durafn_api::ReplayFailure {
    let d = f.verdict.divergence();
    durafn_api::ReplayFailure {
        instance_id: f.instance_id.clone(),
        name: f.name.clone(),
        version: f.version.clone(),
        history_index: d.and_then(|d| d.history_index).map(|i| i as u64),
        event_id: d.map_or(-1, |d| d.event_id),
        recorded: d.and_then(|d| d.recorded.as_ref()).map(|e| {
            format!(
                "{} ({})",
                durafn_core::action::describe_recorded(&e.kind),
                e.kind.type_name()
            )
        }),
        issued: d.and_then(|d| d.issued.as_ref()).map(|a| a.describe()),
        location: d.and_then(|d| d.location.clone()),
        message: d.map(|d| d.message.clone()).unwrap_or_default(),
    }
}
