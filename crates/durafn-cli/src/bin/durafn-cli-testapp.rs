//! The function app the `durafn` command line's integration tests run as a real process. It is
//! not part of the command line; it exists so that every command can be driven against a real
//! host.
//!
//! - `approval` waits for an `approve` event and returns its data (custom status `waiting`);
//! - `fails` calls the `explode` activity, which fails;
//! - `flaky` calls `flaky-step`, which fails on its first run in the process and succeeds after
//!   a rewind;
//! - `tree` waits for a `go` event, then calls the `leaf` activity and two `branch`
//!   sub-orchestrations, each of which calls `leaf` and a `twig` sub-orchestration, which calls
//!   `leaf`: two levels of sub-orchestrations with activities;
//! - `slow` waits on an hour-long timer (to terminate, suspend and resume);
//! - `quick` returns its input (for bulk operations);
//! - `greet` sets a custom status and calls the `hello` activity;
//! - the `counter` entity adds its input to its state (`add`), or deletes it (`delete`);
//! - `submit` (GET `/api/submit?name=…`, function key) starts `greet`.
//!
//! Usage: `durafn-cli-testapp [--port N] [--data-dir DIR] [--root DIR]`; it prints
//! `listening on http://…` once it serves. Set `DURAFN_MASTER_KEY` to choose the master key.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use durafn_core::{
    EntityContext, FunctionError, OrchestrationContext, activity_fn, entity_fn, orchestrator_fn,
};
use durafn_host::{App, AuthLevel, HandlerError, HttpFunction};
use serde_json::Value;

/// Whether `flaky-step` has failed once already.
static FLAKY_FAILED: AtomicBool = AtomicBool::new(false);

fn app() -> App {
    App::new()
        .orchestrator(orchestrator_fn(
            "approval",
            |ctx: OrchestrationContext, _: Value| async move {
                ctx.set_custom_status(&"waiting");
                let answer: Value = ctx.wait_for_external_event("approve").await?;
                ctx.set_custom_status(&"approved");
                Ok::<_, FunctionError>(answer)
            },
        ))
        .orchestrator(orchestrator_fn(
            "fails",
            |ctx: OrchestrationContext, _: Value| async move {
                ctx.call_activity::<Value>("explode", &()).await
            },
        ))
        .activity(activity_fn("explode", |_ctx, _: ()| async move {
            Err::<Value, _>(FunctionError::msg("the explosion was planned"))
        }))
        .orchestrator(orchestrator_fn(
            "flaky",
            |ctx: OrchestrationContext, _: Value| async move {
                ctx.call_activity::<String>("flaky-step", &()).await
            },
        ))
        .activity(activity_fn("flaky-step", |_ctx, _: ()| async move {
            if FLAKY_FAILED.swap(true, Ordering::SeqCst) {
                Ok("fixed".to_string())
            } else {
                Err(FunctionError::msg("the first run fails"))
            }
        }))
        .orchestrator(orchestrator_fn(
            "tree",
            |ctx: OrchestrationContext, _: Value| async move {
                ctx.wait_for_external_event::<Value>("go").await?;
                let root: String = ctx.call_activity("leaf", &"root").await?;
                let a = ctx.call_sub_orchestrator::<String>("branch", None, &"a");
                let b = ctx.call_sub_orchestrator::<String>("branch", None, &"b");
                let a = a.await?;
                let b = b.await?;
                Ok::<_, FunctionError>(format!("{root} {a} {b}"))
            },
        ))
        .orchestrator(orchestrator_fn(
            "branch",
            |ctx: OrchestrationContext, name: String| async move {
                let leaf: String = ctx.call_activity("leaf", &name).await?;
                let twig: String = ctx
                    .call_sub_orchestrator("twig", None, &format!("{name}-twig"))
                    .await?;
                Ok::<_, FunctionError>(format!("{leaf}+{twig}"))
            },
        ))
        .orchestrator(orchestrator_fn(
            "twig",
            |ctx: OrchestrationContext, name: String| async move {
                ctx.call_activity::<String>("leaf", &name).await
            },
        ))
        .activity(activity_fn("leaf", |_ctx, name: String| async move {
            // A little work, so that a trace can watch steps run.
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok::<_, FunctionError>(format!("leaf({name})"))
        }))
        .orchestrator(orchestrator_fn(
            "slow",
            |ctx: OrchestrationContext, _: Value| async move {
                ctx.sleep(Duration::from_secs(3600)).await;
                Ok::<_, FunctionError>("woke up")
            },
        ))
        .orchestrator(orchestrator_fn(
            "quick",
            |_ctx: OrchestrationContext, input: Value| async move { Ok::<_, FunctionError>(input) },
        ))
        .orchestrator(orchestrator_fn(
            "greet",
            |ctx: OrchestrationContext, name: String| async move {
                ctx.set_custom_status(&serde_json::json!({"step": "greeting"}));
                ctx.call_activity::<String>("hello", &name).await
            },
        ))
        .activity(activity_fn("hello", |_ctx, name: String| async move {
            Ok::<_, FunctionError>(format!("Hello {name}!"))
        }))
        .entity(entity_fn("counter", |ctx: &mut EntityContext| {
            if ctx.operation() == "delete" {
                ctx.delete_state();
                return Ok(0);
            }
            let next = ctx.get_state::<i64>()?.unwrap_or(0) + ctx.input::<i64>()?;
            ctx.set_state(&next)?;
            Ok(next)
        }))
        .function(
            HttpFunction::new("submit")
                .route("submit")
                .methods(["GET"])
                .auth(AuthLevel::Function)
                .handler(|req, client| async move {
                    let name = req.query("name").unwrap_or("world").to_string();
                    let id = client.start_new("greet", None, &name).await?;
                    Ok::<_, HandlerError>(client.create_check_status_response(&req, id.as_str()))
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
