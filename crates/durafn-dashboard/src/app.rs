//! What the dashboard is given and what its handlers share: the client, who may do what, the
//! options, the CSRF secret and the bulk jobs.

use std::sync::Arc;

use durafn_runtime::DurableClient;

/// Where the host serves the dashboard; every link the dashboard writes starts with it.
pub const BASE: &str = "/dashboard";

/// What a key may do in the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Reads and writes (raise, terminate, purge, bulk operations, entities).
    Operator,
    /// Reads only: write controls are hidden and writes refused.
    Viewer,
}

/// Decides what a presented key may do; `None` refuses it.
pub type Authorizer = Arc<dyn Fn(&str) -> Option<Role> + Send + Sync>;

/// A function of the app, as the dashboard lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionInfo {
    /// The function's name.
    pub name: String,
    /// Its trigger: `httpTrigger`, `orchestrationTrigger`, `activityTrigger`, `entityTrigger`, …
    pub trigger: String,
    /// What else to show (an HTTP function's methods and route).
    pub detail: String,
    /// For a timer-triggered function, the instance that keeps its schedule: its custom status
    /// (`{"Last": …, "Next": …}`, as the Functions host's `ScheduleStatus`) is the live record
    /// of the last and next run, read each time the page is shown.
    pub schedule_instance: Option<String>,
}

/// How the dashboard is set up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DashboardOptions {
    /// The task hub's name, shown in the header.
    pub hub: String,
    /// Everybody only reads (the host's `readOnly` setting).
    pub read_only: bool,
    /// The app's functions and their triggers.
    pub functions: Vec<FunctionInfo>,
    /// The orchestrators a new instance can be started of.
    pub orchestrators: Vec<String>,
    /// The address of a trace in the operator's trace viewer, `{traceId}` standing for the id
    /// (a Jaeger or Grafana Tempo URL); the instance page links its trace with it.
    pub trace_url_template: Option<String>,
}

/// What every handler shares.
pub(crate) struct Shared {
    pub(crate) client: DurableClient,
    pub(crate) authorize: Authorizer,
    pub(crate) options: DashboardOptions,
    pub(crate) csrf_secret: [u8; 32],
    pub(crate) jobs: crate::jobs::Jobs,
}

pub(crate) type App = Arc<Shared>;
