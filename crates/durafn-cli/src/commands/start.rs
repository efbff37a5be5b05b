//! `durafn start`: runs a script-root function app (Python) as `func start` does, on a durafn
//! host: its task hub (SQLite by default, PostgreSQL from host.json), keys, the management API
//! and the local RPC endpoint the app's durable clients use.

use std::path::PathBuf;
use std::time::Duration;

use durafn_host::{App, HostArgs, HostConfig, listen, shutdown_signal};
use durafn_python::PythonApp;

use crate::error::{CliError, CliResult, exit};

/// How long the worker may finish what runs when the host stops.
const WORKER_GRACE: Duration = Duration::from_secs(10);

/// `durafn start`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
The script root holds host.json, local.settings.json (Values, IsEncrypted: false) and the app:
one folder per function with a function.json (the v1 model), or a function_app.py (the v2
model). Functions run in a Python worker started with the app's .venv/bin/python, else the
languageWorkers__python__defaultExecutablePath setting, else python3 from PATH; that Python
needs the app's requirements (azure-functions, azure-functions-durable).

State (the task hub, keys, the worker's sources) lives in the data directory, by default
.durafn under the script root. App settings named DURAFN_* configure the host (DURAFN_LOG,
DURAFN_MASTER_KEY, ...); see the README.

Examples:
  durafn start --script-root examples/python/audit-query
  durafn start --port 7072 --data-dir /var/lib/orders")]
pub(crate) struct Args {
    /// The app's directory [default: the current directory]
    #[arg(long = "script-root", value_name = "DIR")]
    pub(crate) script_root: Option<PathBuf>,
    /// The port to listen on (0 picks a free one) [default: 7071, or DURAFN_PORT]
    #[arg(long, value_name = "N")]
    pub(crate) port: Option<u16>,
    /// The address to listen on [default: 127.0.0.1, or DURAFN_HOST]
    #[arg(long, value_name = "ADDR")]
    pub(crate) host: Option<String>,
    /// The port of the keyless loopback endpoint the app's durable clients call (0 picks a
    /// free one) [default: 0, or DURAFN_RPC_PORT]
    #[arg(long = "rpc-port", value_name = "N")]
    pub(crate) rpc_port: Option<u16>,
    /// Where the task hub and the keys are kept [default: SCRIPT_ROOT/.durafn]
    #[arg(long = "data-dir", value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
}

fn failed(message: impl std::fmt::Display) -> CliError {
    CliError::Exit {
        code: exit::ERROR,
        message: message.to_string(),
    }
}

/// Starts the app and serves it until SIGINT or SIGTERM.
pub(crate) fn run(args: Args) -> CliResult {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::io("starting the async runtime", e))?;
    runtime.block_on(serve(args))
}

async fn serve(args: Args) -> CliResult {
    let host_args = HostArgs {
        port: args.port,
        host: args.host,
        rpc_port: args.rpc_port,
        data_dir: args.data_dir,
        root: Some(args.script_root.unwrap_or_else(|| PathBuf::from("."))),
        ..HostArgs::default()
    };
    let config = HostConfig::from_process(&host_args).map_err(failed)?;
    let level = config
        .settings
        .get("DURAFN_LOG")
        .and_then(|l| durafn_host::parse_log_level(l).ok())
        .unwrap_or(tracing::Level::INFO);
    durafn_host::install_log(level);
    let python = PythonApp::load(&config).await.map_err(failed)?;
    let host = match python.register(App::new()).config(config).start().await {
        Ok(host) => host,
        Err(e) => {
            python.shutdown(Duration::from_secs(1)).await;
            return Err(failed(e));
        }
    };
    let served = async {
        let (listener, addr) = listen(host.config()).await?;
        let rpc = host.listen_rpc().await?;
        println!(
            "durafn start: Python worker pid {} ({} model, Python {})",
            python.worker().pid(),
            match python.model() {
                durafn_python::script_root::Model::V1 => "v1",
                durafn_python::script_root::Model::V2 { .. } => "v2",
            },
            python.loaded().python
        );
        host.print_banner(addr, rpc.as_ref());
        host.serve_with_rpc(listener, rpc, shutdown_signal()).await
    }
    .await;
    python.shutdown(WORKER_GRACE).await;
    served.map_err(failed)
}
