//! Build 2 of the orders app (see `durafn_chaos::orders`): the build about to be deployed.
//! `orders-v2 replay-check --hub PATH` lists the live instances it would break.

use std::process::ExitCode;

use durafn_chaos::orders::registry;
use durafn_host::App;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match App::new().registry(&registry(2)).run_with_args(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("orders-v2: {e}");
            ExitCode::FAILURE
        }
    }
}
