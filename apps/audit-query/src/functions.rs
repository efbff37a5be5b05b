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
//!   the audit table over the range;
//! * `submit-from-queue` (when `AuditJobsQueue` names a queue): a message
//!   `{"s": …, "e": …}` on that queue starts the same orchestration, as
//!   instance `queue-{message id}`, so a message delivered again while its
//!   job runs does not start a second one.

use std::sync::Arc;
use std::time::Duration;

use durafn::prelude::*;
use durafn::{ClientError, RegistryError, StatusOptions};
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

/// The queue function's name.
pub const QUEUE_FUNCTION: &str = "submit-from-queue";
/// The app setting naming the queue jobs may also be submitted on.
pub const JOBS_QUEUE_SETTING: &str = "AuditJobsQueue";

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

/// `orchestrator-function`: calls the activity with the range and returns
/// its result.
#[orchestrator(name = "orchestrator-function")]
pub async fn orchestrator_function(
    ctx: OrchestrationContext,
    input: QueryInput,
) -> Result<u64, FunctionError> {
    let count: u64 = ctx.call_activity(ACTIVITY, &input).await?;
    Ok(count)
}

/// `query-storage-account-activity-function`: counts the distinct ids in
/// the audit table over the range.
#[activity(name = "query-storage-account-activity-function")]
pub async fn query_storage_account_activity_function(
    ctx: ActivityContext,
    input: QueryInput,
) -> Result<u64, FunctionError> {
    let audit = ctx
        .data::<AuditTable>()
        .ok_or_else(|| FunctionError::msg("the app did not register its audit table"))?;
    if !audit.delay.is_zero() {
        tokio::time::sleep(audit.delay).await;
    }
    let count = query::count_distinct_ids(audit.store.as_ref(), &audit.table, &input).await?;
    tracing::info!(
        start = %input.start,
        end = %input.end,
        table = %audit.table,
        count,
        "audit query done"
    );
    Ok(count)
}

/// The orchestrator and the activity.
pub fn registry() -> Result<Registry, RegistryError> {
    Registry::builder()
        .orchestrator(orchestrator_function)
        .activity(query_storage_account_activity_function)
        .build()
}

#[http_trigger(name = "client-function", route = "submit/query", methods = ["GET"], auth = "anonymous")]
/// `client-function`: validates the range, starts the orchestrator,
/// answers with the URL to poll.
pub async fn client_function(
    req: HttpRequest,
    client: DurableHttpClient,
) -> Result<HttpResponse, ClientError> {
    submit_query(&req, &client).await
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

/// A job as a queue message: the client function's two parameters.
#[derive(Debug, serde::Deserialize)]
struct QueuedJob {
    s: Option<String>,
    e: Option<String>,
}

#[queue_trigger(name = "submit-from-queue", queue = "%AuditJobsQueue%")]
/// `submit-from-queue`: a message `{"s": …, "e": …}` starts the same
/// orchestration as the client function. A message that is not a valid job
/// fails, so it ends in the poison queue after its tries.
pub async fn submit_from_queue(
    item: QueueItem,
    client: DurableHttpClient,
) -> Result<(), durafn::host::HandlerError> {
    let job: QueuedJob = item.json()?;
    let input = submit::validate(job.s.as_deref(), job.e.as_deref(), &Context::now())
        .map_err(|rejection| format!("not a valid job: {rejection}"))?;
    let instance_id = format!("queue-{}", item.id);
    match client
        .start_new(ORCHESTRATOR, Some(&instance_id), &input)
        .await
    {
        Ok(_) => {}
        // Delivered again while its job runs: it was started already.
        Err(ClientError::InstanceExists { .. }) => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    tracing::info!(instance_id = %instance_id, start = %input.start, end = %input.end, "job submitted from the queue");
    Ok(())
}

#[http_trigger(name = "get-status-function", route = "status/{id}", methods = ["GET"], auth = "anonymous")]
/// `get-status-function`: the job's id, status and result, nothing else.
pub async fn get_status_function(
    req: HttpRequest,
    client: DurableHttpClient,
) -> Result<HttpResponse, ClientError> {
    job_status(&req, &client).await
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

#[cfg(test)]
mod tests {
    use durafn::host::{HttpHandler, HttpTrigger};

    use super::*;

    #[test]
    fn the_functions_are_registered_under_the_articles_names() {
        let registry = registry().expect("registry builds");
        assert_eq!(registry.orchestrator_names(), [ORCHESTRATOR]);
        assert_eq!(registry.activity_names(), [ACTIVITY]);
        for (handler, name, route) in [
            (
                &client_function as &dyn HttpHandler,
                CLIENT_FUNCTION,
                SUBMIT_ROUTE,
            ),
            (&get_status_function, STATUS_FUNCTION, STATUS_ROUTE),
        ] {
            assert_eq!(handler.name(), name);
            assert_eq!(
                handler.trigger(),
                HttpTrigger {
                    route: Some(route.into()),
                    methods: vec!["GET".into()],
                    auth_level: AuthLevel::Anonymous,
                }
            );
        }
    }
}
