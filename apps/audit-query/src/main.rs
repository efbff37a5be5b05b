//! `audit-query`: the article's app as a durafn function app.
//!
//! ```text
//! audit-query [--port N] [--host ADDR] [--data-dir DIR] [--root DIR]
//! audit-query load-demo [--rows N] [--seed S] [--data-dir DIR] [--root DIR]
//! ```
//!
//! With no command it serves the four functions (on `http://localhost:7071`
//! by default), after filling an empty embedded audit table with demo rows.
//! `load-demo` writes demo rows into whichever table the settings name.

use std::process::ExitCode;
use std::sync::Arc;

use audit_query::demo::{self, DEMO_SEED, ProgressLine};
use audit_query::functions::{self, AuditTable};
use audit_query::secrets::SecretResolver;
use audit_query::settings::AuditSettings;
use durafn::App;
use durafn::host::settings::USAGE;
use durafn::host::{HostArgs, HostConfig};
use durafn_tables::TableStore;

/// The app's part of `--help`.
const APP_USAGE: &str = "\
Commands:
  (none)          serve the functions
  load-demo       write demo audit rows into the configured table, then exit
                    --rows N   how many rows (default: the first-start data set)
                    --seed S   which rows (default 2021)

App settings (environment or local.settings.json Values):
  AuditTableConnection  embedded (default), UseDevelopmentStorage=true, a storage
                        connection string, or a Key Vault reference to one
  AuditTableName        the table to query (default audit)
  AuditQueryDelayMs     wait this long in the query, to watch a running job (default 0)
  AuditDemoData         fill an empty embedded table on start (default true)
  AuditJobsQueue        also take jobs from this queue ({\"s\": …, \"e\": …} messages) on
                        the AzureWebJobsStorage account (UseDevelopmentStorage=true: Azurite)
";

/// The example from the article's Test section.
const EXAMPLE_QUERY: &str = "/api/submit/query?s=10/10/2021&e=10/12/2021";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("load-demo") => load_demo(args.get(1..).unwrap_or_default().to_vec()).await,
        _ => serve(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("audit-query: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The host configuration and the app's settings, as both commands read
/// them.
fn configure(host_args: &HostArgs) -> Result<(HostConfig, AuditSettings), String> {
    let config = HostConfig::from_process(host_args).map_err(|e| e.to_string())?;
    let resolver = SecretResolver::local(config.root.join(durafn::host::SECRETS_DIR));
    let settings = AuditSettings::read(
        |name| config.settings.get(name).map(str::to_owned),
        &resolver,
    )
    .map_err(|e| e.to_string())?;
    durafn_tables::store::validate_table_name(&settings.table).map_err(|e| e.to_string())?;
    Ok((config, settings))
}

/// Opens the table store the settings name.
fn open_store(
    config: &HostConfig,
    settings: &AuditSettings,
) -> Result<Arc<dyn TableStore>, String> {
    durafn_tables::open(settings.connection.expose(), &config.data_dir).map_err(|e| {
        format!(
            "cannot open the audit table store ({}): {e}",
            settings.store_kind()
        )
    })
}

async fn serve(args: Vec<String>) -> Result<(), String> {
    let host_args = HostArgs::parse(args.clone()).map_err(|e| e.to_string())?;
    if host_args.help {
        print!("{USAGE}\n{APP_USAGE}");
        return Ok(());
    }
    if host_args.list_keys {
        // The host prints the keys and exits: nothing of the app is needed.
        return App::new()
            .run_with_args(args)
            .await
            .map_err(|e| e.to_string());
    }
    let (config, settings) = configure(&host_args)?;
    let store = open_store(&config, &settings)?;
    println!(
        "audit-query: table {} ({})",
        settings.table,
        settings.store_kind()
    );
    if settings.is_embedded() && settings.demo_data {
        let mut progress =
            ProgressLine::new(format!("filling table {} with demo rows", settings.table));
        let written = demo::seed_if_empty(store.as_ref(), &settings.table, &mut |done, total| {
            progress.update(done, total)
        })
        .await
        .map_err(|e| format!("cannot fill the demo table: {e}"))?;
        if written > 0 {
            println!("audit-query: wrote {written} demo rows (seed {DEMO_SEED})");
        }
    }
    let origin = match config.port {
        0 => "http://localhost:<port>".to_owned(),
        port => format!("http://localhost:{port}"),
    };
    println!("audit-query: try the article's example:");
    println!("  curl \"{origin}{EXAMPLE_QUERY}\"");
    println!("  curl \"{origin}/api/status/<id from statusUri>\"");

    let registry = functions::registry().map_err(|e| e.to_string())?;
    let mut app = App::new()
        .registry(&registry)
        .function(functions::client_function)
        .function(functions::get_status_function);
    // The queue submission listens only where a queue is named (it needs a storage account).
    if config.settings.get(functions::JOBS_QUEUE_SETTING).is_some() {
        app = app.queue_function(functions::submit_from_queue);
    }
    app.app_data(AuditTable {
        store,
        table: settings.table.clone(),
        delay: settings.delay,
    })
    .run_with_args(args)
    .await
    .map_err(|e| e.to_string())
}

/// `load-demo`'s own flags, the rest being the host's.
#[derive(Debug, Default)]
struct LoadArgs {
    rows: Option<u64>,
    seed: Option<u64>,
    host: Vec<String>,
}

fn parse_load_args(args: Vec<String>) -> Result<LoadArgs, String> {
    let mut out = LoadArgs::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let slot = match flag.as_str() {
            "--rows" => &mut out.rows,
            "--seed" => &mut out.seed,
            _ => {
                out.host.push(arg);
                continue;
            }
        };
        let value = inline
            .or_else(|| args.next())
            .ok_or_else(|| format!("{flag} needs a number"))?;
        *slot = Some(
            value
                .parse()
                .map_err(|_| format!("{flag} needs a whole number, not {value:?}"))?,
        );
    }
    Ok(out)
}

async fn load_demo(args: Vec<String>) -> Result<(), String> {
    let load = parse_load_args(args)?;
    let host_args = HostArgs::parse(load.host.clone()).map_err(|e| e.to_string())?;
    if host_args.help {
        print!(
            "Usage: audit-query load-demo [--rows N] [--seed S] [--data-dir DIR] [--root DIR]\n\n{APP_USAGE}"
        );
        return Ok(());
    }
    let (config, settings) = configure(&host_args)?;
    let store = open_store(&config, &settings)?;
    let seed = load.seed.unwrap_or(DEMO_SEED);
    let total = match load.rows {
        Some(n) => n,
        None => demo::first_start_rows().count() as u64,
    };
    let mut progress = ProgressLine::new(format!(
        "loading demo rows into table {} ({})",
        settings.table,
        settings.store_kind()
    ));
    let written = demo::load(
        store.as_ref(),
        &settings.table,
        demo::rows(seed, total),
        total,
        &mut |done, total| progress.update(done, total),
    )
    .await
    .map_err(|e| format!("loading demo rows failed: {e}"))?;
    println!(
        "loaded {written} demo rows (seed {seed}) into table {}",
        settings.table
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn load_demo_flags() {
        let parsed = parse_load_args(args(&["--rows", "500", "--seed=9", "--data-dir", "d"]))
            .expect("valid");
        assert_eq!((parsed.rows, parsed.seed), (Some(500), Some(9)));
        assert_eq!(parsed.host, args(&["--data-dir", "d"]));
        let defaults = parse_load_args(Vec::new()).expect("valid");
        assert_eq!((defaults.rows, defaults.seed), (None, None));
        assert!(parse_load_args(args(&["--rows"])).is_err());
        assert!(parse_load_args(args(&["--rows", "many"])).is_err());
    }
}
