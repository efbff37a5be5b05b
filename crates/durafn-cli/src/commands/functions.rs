//! `durafn functions`: the app's functions and their triggers (`GET /admin/functions`).

use comfy_table::Cell;
use durafn_api::FunctionInfo;

use crate::client::Body;
use crate::context::Context;
use crate::error::CliResult;

/// `durafn functions`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

/// Fetches the app's functions (the admin API; needs the master key).
pub(crate) fn fetch(
    client: &crate::client::Client,
) -> CliResult<(crate::client::Reply, Vec<FunctionInfo>)> {
    let reply = client
        .admin("GET", "/functions", Body::None)?
        .ok("the function list")?;
    let functions: Vec<FunctionInfo> = reply.json()?;
    Ok((reply, functions))
}

/// Runs `functions`.
pub(crate) fn run(ctx: &Context, _: Args) -> CliResult {
    let (reply, functions) = fetch(&ctx.client()?)?;
    let out = &ctx.out;
    if out.is_json() {
        let items: Vec<&durafn_api::RawValue> = reply.json()?;
        return out.print_json_items(items.iter().map(|r| r.get()));
    }
    let mut table = out.table(&["FUNCTION", "TRIGGER", "METHODS", "AUTH", "URL"]);
    for f in &functions {
        let trigger = f.trigger();
        table.add_row(vec![
            Cell::new(&f.name),
            Cell::new(trigger.map(|t| t.binding_type.as_str()).unwrap_or("")),
            Cell::new(
                trigger
                    .and_then(|t| t.methods.as_ref())
                    .map(|m| m.join(",").to_uppercase())
                    .unwrap_or_default(),
            ),
            Cell::new(trigger.and_then(|t| t.auth_level.as_deref()).unwrap_or("")),
            Cell::new(f.invoke_url_template.as_deref().unwrap_or("")),
        ]);
    }
    out.print_table(&table)
}
