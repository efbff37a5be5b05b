//! The commands, one module per group.

pub(crate) mod bulk;
pub(crate) mod completions;
pub(crate) mod entities;
pub(crate) mod functions;
pub(crate) mod history;
pub(crate) mod instances;
pub(crate) mod keys;
pub(crate) mod profile;
pub(crate) mod replay_check;
#[cfg(feature = "python")]
pub(crate) mod start;
pub(crate) mod target;
pub(crate) mod trace;
pub(crate) mod wait;
pub(crate) mod watch;

use std::io::Read;

use durafn_api::RawValue;

use crate::error::{CliError, CliResult};

/// Reads a JSON argument: the JSON itself, `@path` for a file's contents, or `-` for stdin.
/// The text is checked to be JSON here, so a typo is a usage error rather than a 400.
pub(crate) fn json_arg(what: &str, arg: &str) -> CliResult<String> {
    let text = if arg == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| CliError::io("reading stdin", e))?;
        s
    } else if let Some(path) = arg.strip_prefix('@') {
        std::fs::read_to_string(path).map_err(|e| CliError::io(format!("reading {path}"), e))?
    } else {
        arg.to_string()
    };
    serde_json::from_str::<&RawValue>(&text).map_err(|e| {
        CliError::Usage(format!(
            "{what} is not JSON ({e}); quote strings as JSON, for example '\"Tokyo\"'"
        ))
    })?;
    Ok(text)
}

/// The text of an optional JSON value for a table (`null` when absent).
pub(crate) fn json_text(v: &Option<Box<RawValue>>) -> String {
    v.as_ref()
        .map(|r| r.get().to_string())
        .unwrap_or_else(|| "null".into())
}
