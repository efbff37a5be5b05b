//! A small function app for the host's end-to-end tests, shaped like the async HTTP API sample:
//! `client-function` (GET `/api/submit/query?s=…&e=…`) starts `orchestrator-function`, which
//! calls `query-storage-account-activity-function`; `get-status-function` (GET
//! `/api/status/{id}`) reports a job without exposing management links. `wait-for-approval`
//! waits for an `approval` event, for event and terminate tests.
//!
//! For the tests with the real Durable Functions clients: `approval-workflow` waits for a typed
//! `approval` event (`{"approved": …, "by": …}`) and completes with it; `flaky` calls
//! `flaky-step`, which fails until the file named by the app setting `TESTAPP_FIXED_MARKER`
//! exists (so a rewind can finish it); `counter` is an entity (`add`, `reset`, `delete`);
//! `sleeper` calls `nap-activity` for its input's milliseconds and reports a failure as its
//! output, and the HTTP function `nap` (GET `/api/nap?ms=…`) sleeps too (both for
//! `functionTimeout`).
//!
//! For the tracing tests: `traced-job` calls `fails-once` with a retry (its first attempt in each
//! process fails), sleeps on a durable timer, calls `nap-activity` for its input's milliseconds,
//! calls `sleeper` as a sub-orchestration and waits for a `go` event.
//!
//! Queue triggers, when the app setting `TESTAPP_QUEUE` names a queue (on
//! `AzureWebJobsStorage`): `queue-start` reads `{"n": …}` and starts `hello-cities` as instance
//! `q-{n}`, appending `begin`/`done` lines to the file named by `TESTAPP_QUEUE_LOG`; with
//! `TESTAPP_QUEUE_GATE` set it holds each message until that file exists (for crash tests).
//!
//! Usage: `durafn-host-testapp [--port N] [--host ADDR] [--rpc-port N] [--data-dir DIR] [--root DIR]`

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::NaiveDate;
use durafn_core::{
    ActivityContext, EntityContext, FunctionError, OrchestrationContext, RetryOptions, activity_fn,
    entity_fn, orchestrator_fn,
};
use durafn_host::{
    App, AppSettings, AuthLevel, HandlerError, HttpFunction, HttpResponse, QueueFunction,
};
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

/// The data of the `approval` event `approval-workflow` waits for.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Approval {
    approved: bool,
    by: String,
}

fn bad_request(message: &str) -> HttpResponse {
    HttpResponse::new(400).json(&json!({ "error": message }))
}

/// `counter`: `add` (a number), `reset`, `delete`; answers the new value.
fn counter(ctx: &mut EntityContext) -> Result<i64, FunctionError> {
    let value: i64 = ctx.get_state()?.unwrap_or(0);
    let next = match ctx.operation() {
        "add" => value + ctx.input::<i64>()?,
        "reset" => 0,
        "delete" => {
            ctx.delete_state();
            return Ok(0);
        }
        other => return Err(FunctionError::msg(format!("unknown operation {other}"))),
    };
    ctx.set_state(&next)?;
    Ok(next)
}

/// Fails until the marker file named by `TESTAPP_FIXED_MARKER` exists.
async fn flaky_step(ctx: ActivityContext, n: u32) -> Result<String, FunctionError> {
    let marker = ctx
        .data::<AppSettings>()
        .and_then(|s| s.get("TESTAPP_FIXED_MARKER").map(std::path::PathBuf::from));
    match marker {
        Some(path) if path.exists() => Ok(format!("fixed {n}")),
        _ => Err(FunctionError::msg("the step is broken")),
    }
}

/// The activities, orchestrators and entity of the client tests.
fn client_test_functions(app: App) -> App {
    app.orchestrator(orchestrator_fn(
        "approval-workflow",
        |ctx: OrchestrationContext, _request: serde_json::Value| async move {
            let approval: Approval = ctx.wait_for_external_event("approval").await?;
            Ok::<_, FunctionError>(approval)
        },
    ))
    .orchestrator(orchestrator_fn(
        "flaky",
        |ctx: OrchestrationContext, n: u32| async move {
            ctx.call_activity::<String>("flaky-step", &n).await
        },
    ))
    .activity(activity_fn("flaky-step", flaky_step))
    .entity(entity_fn("counter", counter))
    .orchestrator(orchestrator_fn(
        "sleeper",
        |ctx: OrchestrationContext, ms: u64| async move {
            match ctx.call_activity::<String>("nap-activity", &ms).await {
                Ok(done) => Ok::<_, FunctionError>(done),
                Err(e) => Ok(format!("failed: {e}")),
            }
        },
    ))
    .activity(activity_fn("nap-activity", |_ctx, ms: u64| async move {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok::<_, FunctionError>("rested".to_string())
    }))
    .function(
        HttpFunction::new("nap")
            .route("nap")
            .methods(["GET"])
            .auth(AuthLevel::Anonymous)
            .handler(|req, _client| async move {
                let ms: u64 = req.query("ms").and_then(|m| m.parse().ok()).unwrap_or(0);
                tracing::info!(ms, "nap handler");
                tokio::time::sleep(Duration::from_millis(ms.min(3_600_000))).await;
                HttpResponse::ok().text("rested")
            }),
    )
}

/// The orchestration of the tracing tests: every kind of span a job can have.
fn traced_functions(app: App) -> App {
    static FAILED: AtomicBool = AtomicBool::new(false);
    app.orchestrator(orchestrator_fn(
        "traced-job",
        |ctx: OrchestrationContext, nap_ms: u64| async move {
            let retry = RetryOptions::new(Duration::from_millis(10), 3);
            let first: String = ctx
                .call_activity_with_retry("fails-once", &(), retry)
                .await?;
            ctx.sleep(Duration::from_millis(10)).await;
            let napped: String = ctx.call_activity("nap-activity", &nap_ms).await?;
            let child: String = ctx.call_sub_orchestrator("sleeper", None, &0u64).await?;
            ctx.logger().info("traced-job waits for go");
            let go: String = ctx.wait_for_external_event("go").await?;
            Ok::<_, FunctionError>(format!("{first} {napped} {child} {go}"))
        },
    ))
    .activity(activity_fn("fails-once", |_ctx, _: ()| async move {
        tracing::info!("fails-once runs");
        if !FAILED.swap(true, Ordering::SeqCst) {
            return Err(FunctionError::msg("the first attempt fails"));
        }
        Ok::<_, FunctionError>("ok".to_string())
    }))
}

fn app() -> App {
    traced_functions(client_test_functions(App::new()))
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

/// Appends one line to the queue log (one `write` of a whole line, so the lines of several
/// processes do not interleave).
fn log_line(settings: &AppSettings, line: &str) {
    use std::io::Write;
    if let Some(path) = settings.get("TESTAPP_QUEUE_LOG") {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path);
        if let Ok(mut file) = file {
            let _ = file.write_all(format!("{line}\n").as_bytes());
        }
    }
}

/// `{"n": …}`, the message `queue-start` reads.
#[derive(Debug, Deserialize)]
struct Job {
    n: u64,
}

/// The queue functions, when the settings ask for them.
fn queue_functions(app: App) -> App {
    let settings =
        AppSettings::load(std::path::Path::new("."), std::env::vars()).unwrap_or_default();
    if settings.get("TESTAPP_QUEUE").is_none() {
        return app;
    }
    app.orchestrator(orchestrator_fn(
        "hello-cities",
        |ctx: OrchestrationContext, _n: u64| async move {
            let mut out: Vec<String> = Vec::new();
            for city in ["Tokyo", "Seattle", "London"] {
                out.push(ctx.call_activity("say-hello", &city).await?);
            }
            Ok::<_, FunctionError>(out)
        },
    ))
    .activity(activity_fn("say-hello", |_ctx, city: String| async move {
        Ok::<_, FunctionError>(format!("Hello {city}!"))
    }))
    .queue_function(
        QueueFunction::new("queue-start")
            .queue("%TESTAPP_QUEUE%")
            .handler(|item, client| async move {
                let settings = client.settings().clone();
                let job: Job = item.json()?;
                let pid = std::process::id();
                log_line(
                    &settings,
                    &format!("begin {} {} {} {pid}", job.n, item.id, item.dequeue_count),
                );
                if let Some(gate) = settings.get("TESTAPP_QUEUE_GATE") {
                    while !std::path::Path::new(gate).exists() {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
                let id = format!("q-{}", job.n);
                match client.start_new("hello-cities", Some(&id), &job.n).await {
                    Ok(_) | Err(durafn_runtime::ClientError::InstanceExists { .. }) => {}
                    Err(e) => return Err(HandlerError::from(e)),
                }
                log_line(
                    &settings,
                    &format!("done {} {} {} {pid}", job.n, item.id, item.dequeue_count),
                );
                Ok(())
            }),
    )
}

#[tokio::main]
async fn main() {
    if let Err(e) = queue_functions(app()).run().await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
