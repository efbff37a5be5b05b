//! The article's four functions.
//!
//! * `client-function` — `GET /api/submit/query?s=…&e=…`, anonymous:
//!   validates the range, starts `orchestrator-function`, answers with the
//!   URL to poll;
//! * `get-status-function` — `GET /api/status/{id}`, anonymous: the job's
//!   id, status and result, nothing else;
//! * `orchestrator-function`: calls the activity with the range and
//!   returns its result;
//! * `query-storage-account-activity-function`: counts the distinct ids in
//!   the audit table over the range.

use std::sync::Arc;
use std::time::Duration;

use durafn_core::{
    ActivityContext, FunctionError, OrchestrationContext, Registry, RegistryError, activity_fn,
    orchestrator_fn,
};
use durafn_host::{AuthLevel, DurableHttpClient, HttpFunction, HttpRequest, HttpResponse};
use durafn_runtime::{ClientError, StatusOptions};
use durafn_tables::TableStore;

use crate::dateparse::Context;
use crate::query;
use crate::status::{NOT_FOUND_BODY, status_body};
use crate::submit::{self, QueryInput, Rejection};

/// The client function's name.
pub const CLIENT_FUNCTION: &str = "client-function";
/// The status function's name.
pub const STATUS_FUNCTION: &str = "get-status-function";
/// The orchestrator's name.
pub const ORCHESTRATOR: &str = "orchestrator-function";
/// The activity's name.
pub const ACTIVITY: &str = "query-storage-account-activity-function";

/// The client function's route (under `/api`).
pub const SUBMIT_ROUTE: &str = "submit/query";
/// The status function's route (under `/api`).
pub const STATUS_ROUTE: &str = "status/{id}";

/// The content type of the client function's answers, as the article sets
/// it.
const JSON: &str = "application/json";

/// What the activity needs: the store, the table and the artificial delay.
/// Registered as app data.
#[derive(Debug, Clone)]
pub struct AuditTable {
    /// The table store the connection setting names.
    pub store: Arc<dyn TableStore>,
    /// The table to query.
    pub table: String,
    /// How long to wait before querying (to show a long-running job).
    pub delay: Duration,
}

/// The orchestrator and the activity.
pub fn registry() -> Result<Registry, RegistryError> {
    Registry::builder()
        .orchestrator(orchestrator_fn(
            ORCHESTRATOR,
            |ctx: OrchestrationContext, input: QueryInput| async move {
                let count: u64 = ctx.call_activity(ACTIVITY, &input).await?;
                Ok::<u64, FunctionError>(count)
            },
        ))
        .activity(activity_fn(
            ACTIVITY,
            |ctx: ActivityContext, input: QueryInput| async move {
                let audit = ctx.data::<AuditTable>().ok_or_else(|| {
                    FunctionError::msg("the app did not register its audit table")
                })?;
                if !audit.delay.is_zero() {
                    tokio::time::sleep(audit.delay).await;
                }
                let count =
                    query::count_distinct_ids(audit.store.as_ref(), &audit.table, &input).await?;
                tracing::info!(
                    start = %input.start,
                    end = %input.end,
                    table = %audit.table,
                    count,
                    "audit query done"
                );
                Ok::<u64, FunctionError>(count)
            },
        ))
        .build()
}

/// `client-function`.
pub fn client_function() -> HttpFunction {
    HttpFunction::new(CLIENT_FUNCTION)
        .route(SUBMIT_ROUTE)
        .methods(["GET"])
        .auth(AuthLevel::Anonymous)
        .handler(|req: HttpRequest, client: DurableHttpClient| async move {
            submit_query(&req, &client).await
        })
}

async fn submit_query(
    req: &HttpRequest,
    client: &DurableHttpClient,
) -> Result<HttpResponse, ClientError> {
    let params = submit::service_params(req.query_pairs());
    let checked = submit::validate(
        submit::param(&params, "s"),
        submit::param(&params, "e"),
        &Context::now(),
    );
    let input = match checked {
        Ok(input) => input,
        Err(Rejection::Incomparable) => {
            tracing::warn!(
                "client-function: a date with a time zone and one without cannot be compared"
            );
            return Ok(HttpResponse::new(Rejection::Incomparable.status()));
        }
        Err(rejection) => {
            return Ok(HttpResponse::new(rejection.status()).bytes(rejection.body(), JSON));
        }
    };
    let instance_id = client.start_new(ORCHESTRATOR, None, &input).await?;
    // The article: `urlparse(req.url).scheme` and the `Host` header (Python
    // would print `None` for a missing one).
    let scheme = req.url().split("://").next().unwrap_or("http");
    let host = req.header("host").unwrap_or("None");
    let uri = submit::status_uri(scheme, host, instance_id.as_str());
    tracing::info!(instance_id = %instance_id, start = %input.start, end = %input.end, "job submitted");
    Ok(HttpResponse::ok().bytes(submit::accepted_body(&uri), JSON))
}

/// `get-status-function`.
pub fn status_function() -> HttpFunction {
    HttpFunction::new(STATUS_FUNCTION)
        .route(STATUS_ROUTE)
        .methods(["GET"])
        .auth(AuthLevel::Anonymous)
        .handler(|req: HttpRequest, client: DurableHttpClient| async move {
            job_status(&req, &client).await
        })
}

async fn job_status(
    req: &HttpRequest,
    client: &DurableHttpClient,
) -> Result<HttpResponse, ClientError> {
    let id = req.route_param("id").unwrap_or_default();
    let options = StatusOptions {
        show_history: false,
        show_input: false,
    };
    match client.get_status(id, options).await {
        Ok(Some(status)) => Ok(HttpResponse::ok().bytes(status_body(&status), JSON)),
        // An id that cannot exist is as unknown as one that does not.
        Ok(None) | Err(ClientError::InvalidInstanceId(_)) => {
            Ok(HttpResponse::new(404).text(NOT_FOUND_BODY))
        }
        Err(e) => Err(e),
    }
}
