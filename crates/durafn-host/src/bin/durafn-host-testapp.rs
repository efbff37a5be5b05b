//! A small function app for the host's end-to-end tests, shaped like the async HTTP API sample:
//! `client-function` (GET `/api/submit/query?s=…&e=…`) starts `orchestrator-function`, which
//! calls `query-storage-account-activity-function`; `get-status-function` (GET
//! `/api/status/{id}`) reports a job without exposing management links. `wait-for-approval`
//! waits for an `approval` event, for event and terminate tests.
//!
//! Usage: `durafn-host-testapp [--port N] [--host ADDR] [--data-dir DIR] [--root DIR]`

use chrono::NaiveDate;
use durafn_core::{FunctionError, OrchestrationContext, activity_fn, orchestrator_fn};
use durafn_host::{App, AuthLevel, HandlerError, HttpFunction, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Query {
    start: String,
    end: String,
}

fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(text, "%d/%m/%Y"))
        .ok()
}

fn bad_request(message: &str) -> HttpResponse {
    HttpResponse::new(400).json(&json!({ "error": message }))
}

fn app() -> App {
    App::new()
        .orchestrator(orchestrator_fn(
            "orchestrator-function",
            |ctx: OrchestrationContext, q: Query| async move {
                let count: u64 = ctx
                    .call_activity("query-storage-account-activity-function", &q)
                    .await?;
                Ok::<_, FunctionError>(count)
            },
        ))
        .activity(activity_fn(
            "query-storage-account-activity-function",
            |_ctx, q: Query| async move {
                // Stands in for the table query: the number of days in the range.
                let (Some(s), Some(e)) = (parse_date(&q.start), parse_date(&q.end)) else {
                    return Err(FunctionError::msg("invalid dates"));
                };
                Ok((e - s).num_days().max(0) as u64)
            },
        ))
        .orchestrator(orchestrator_fn(
            "wait-for-approval",
            |ctx: OrchestrationContext, _input: serde_json::Value| async move {
                let approval: serde_json::Value = ctx.wait_for_external_event("approval").await?;
                Ok::<_, FunctionError>(approval)
            },
        ))
        .function(
            HttpFunction::new("client-function")
                .route("submit/query")
                .methods(["GET"])
                .auth(AuthLevel::Anonymous)
                .handler(|req, client| async move {
                    let Some(start) = req.query("s").filter(|s| !s.is_empty()) else {
                        return Ok(bad_request("Empty start date."));
                    };
                    let Some(start) = parse_date(start) else {
                        return Ok(bad_request("Invalid start date format."));
                    };
                    let Some(end) = req.query("e").filter(|s| !s.is_empty()) else {
                        return Ok(bad_request("Empty end date."));
                    };
                    let Some(end) = parse_date(end) else {
                        return Ok(bad_request("Invalid end date format."));
                    };
                    if (end - start).num_days() < 1 {
                        return Ok(bad_request("Invalid date range."));
                    }
                    let query = Query {
                        start: start.format("%Y-%m-%d").to_string(),
                        end: end.format("%Y-%m-%d").to_string(),
                    };
                    let id = client
                        .start_new("orchestrator-function", None, &query)
                        .await?;
                    let status_uri = format!("{}/api/status/{id}", req.origin());
                    Ok::<_, HandlerError>(
                        HttpResponse::ok().json(&json!({ "statusUri": status_uri })),
                    )
                }),
        )
        .function(
            HttpFunction::new("get-status-function")
                .route("status/{id}")
                .methods(["GET"])
                .auth(AuthLevel::Anonymous)
                .handler(|req, client| async move {
                    let id = req.route_param("id").unwrap_or_default().to_string();
                    match client.get_status(&id, Default::default()).await {
                        Ok(Some(s)) => Ok(HttpResponse::ok().json(&json!({
                            "id": s.instance_id.as_str(),
                            "status": s.runtime_status.as_str(),
                            "result": s.output,
                        }))),
                        Ok(None) | Err(durafn_runtime::ClientError::InvalidInstanceId(_)) => {
                            Ok(HttpResponse::new(404).text("Job not found"))
                        }
                        Err(e) => Err::<HttpResponse, HandlerError>(e.into()),
                    }
                }),
        )
}

#[tokio::main]
async fn main() {
    if let Err(e) = app().run().await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
