//! Instance filters (`--status`, `--name`, `--prefix`, `--from`, `--to`) and paging through
//! listings with continuation tokens.
//!
//! The management API filters by status, id prefix and creation time; it has no filter by
//! orchestrator name, so `--name` is applied here, to each page as it arrives.

use std::ops::ControlFlow;

use chrono::{DateTime, Utc};
use durafn_api::{InstanceStatus, RawValue, RuntimeStatus, query};

use crate::client::Client;
use crate::error::{CliError, CliResult};
use crate::time::{api_time, parse_time};

/// The largest page the API serves.
pub(crate) const MAX_PAGE: usize = 1000;

/// Parses `--from`/`--to` for clap.
pub(crate) fn time_arg(text: &str) -> Result<DateTime<Utc>, String> {
    parse_time(text, crate::time::now())
}

/// Parses a `--status` value for clap.
pub(crate) fn status_arg(text: &str) -> Result<RuntimeStatus, String> {
    text.parse::<RuntimeStatus>().map_err(|e| e.to_string())
}

/// Which instances a command is about.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct Filter {
    /// Only instances with this runtime status (Pending, Running, Completed, ContinuedAsNew,
    /// Failed, Terminated, Suspended; comma-separated or repeated)
    #[arg(long, value_name = "STATUS", value_delimiter = ',', value_parser = status_arg)]
    pub(crate) status: Vec<RuntimeStatus>,
    /// Only instances of this orchestrator (ignoring case)
    #[arg(long, value_name = "NAME")]
    pub(crate) name: Option<String>,
    /// Only instances whose id starts with this
    #[arg(long, value_name = "PREFIX")]
    pub(crate) prefix: Option<String>,
    /// Only instances created at or after TIME: RFC 3339, a date, or an age such as 15m, 2h, 7d
    #[arg(long, value_name = "TIME", value_parser = time_arg)]
    pub(crate) from: Option<DateTime<Utc>>,
    /// Only instances created at or before TIME (same forms as --from)
    #[arg(long, value_name = "TIME", value_parser = time_arg)]
    pub(crate) to: Option<DateTime<Utc>>,
}

impl Filter {
    /// Whether no filter was given.
    pub(crate) fn is_empty(&self) -> bool {
        self.status.is_empty()
            && self.name.is_none()
            && self.prefix.is_none()
            && self.from.is_none()
            && self.to.is_none()
    }

    /// The query parameters of a listing.
    pub(crate) fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if !self.status.is_empty() {
            let names: Vec<&str> = self.status.iter().map(|s| s.as_str()).collect();
            q.push((query::RUNTIME_STATUS, names.join(",")));
        }
        if let Some(p) = &self.prefix {
            q.push((query::INSTANCE_ID_PREFIX, p.clone()));
        }
        if let Some(t) = &self.from {
            q.push((query::CREATED_TIME_FROM, api_time(t)));
        }
        if let Some(t) = &self.to {
            q.push((query::CREATED_TIME_TO, api_time(t)));
        }
        q
    }

    /// Whether a listed instance passes the filters the API cannot apply.
    pub(crate) fn matches(&self, status: &InstanceStatus) -> bool {
        self.name
            .as_ref()
            .is_none_or(|n| n.eq_ignore_ascii_case(&status.name))
    }
}

/// One listed instance: the host's JSON and its reading.
#[derive(Debug)]
pub(crate) struct Listed {
    /// The status object as the host wrote it.
    pub(crate) raw: Box<RawValue>,
    /// The same, read.
    pub(crate) status: InstanceStatus,
}

/// Walks the listing page by page through continuation tokens, handing each matching instance
/// to `each` until it breaks or the pages end. `page_size` is the `top` of each request.
pub(crate) fn walk(
    client: &Client,
    filter: &Filter,
    page_size: usize,
    show_input: bool,
    mut each: impl FnMut(Listed) -> ControlFlow<()>,
) -> CliResult {
    let mut q = filter.query();
    q.push((query::TOP, page_size.clamp(1, MAX_PAGE).to_string()));
    if show_input {
        q.push((query::SHOW_INPUT, "true".into()));
    }
    let mut token: Option<String> = None;
    loop {
        let reply = client
            .page("/instances", &q, token.as_deref())?
            .ok("the instance listing")?;
        let page: Vec<Box<RawValue>> = reply.json()?;
        for raw in page {
            let status: InstanceStatus = serde_json::from_str(raw.get())
                .map_err(|e| CliError::BadAnswer(format!("a listed instance: {e}")))?;
            if filter.matches(&status) && each(Listed { raw, status }).is_break() {
                return Ok(());
            }
        }
        match reply.continuation {
            Some(next) if token.as_deref() != Some(next.as_str()) => token = Some(next),
            Some(_) => {
                return Err(CliError::BadAnswer(
                    "the host sent the same continuation token twice".into(),
                ));
            }
            None => return Ok(()),
        }
    }
}

/// Collects up to `limit` matching instances (all with `None`); the flag says whether more
/// were left.
pub(crate) fn collect(
    client: &Client,
    filter: &Filter,
    limit: Option<usize>,
    show_input: bool,
) -> CliResult<(Vec<Listed>, bool)> {
    let page_size = match (limit, &filter.name) {
        (Some(n), None) => n.min(MAX_PAGE),
        _ => MAX_PAGE,
    };
    let mut out = Vec::new();
    let mut more = false;
    walk(client, filter, page_size, show_input, |item| {
        if limit.is_some_and(|n| out.len() >= n) {
            more = true;
            return ControlFlow::Break(());
        }
        out.push(item);
        ControlFlow::Continue(())
    })?;
    Ok((out, more))
}
