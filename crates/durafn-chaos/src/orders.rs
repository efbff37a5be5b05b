//! The app of the pre-deploy check's end-to-end test, in two builds. Build 1 reserves stock,
//! waits for approval and ships. Build 2 changes three things: express orders now reserve from
//! a different warehouse activity (a breaking change for the express orders already waiting),
//! approved orders send a receipt behind a patch marker (safe: old instances keep the old
//! path), and refunds are untouched. So exactly the waiting express orders are what build 2
//! would break.

use durafn_core::{FunctionError, OrchestrationContext, Registry, activity_fn, orchestrator_fn};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// One order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Order {
    /// Its number.
    pub n: u64,
    /// Whether it ships express.
    pub express: bool,
}

/// Whether order `n` of the test's workload ships express (every seventh).
pub fn is_express(n: u64) -> bool {
    n % 7 == 3
}

/// The app's registry in build 1 or 2.
pub fn registry(build: u32) -> Registry {
    let v2 = build >= 2;
    let mut b = Registry::builder()
        .orchestrator(orchestrator_fn(
            "order",
            move |ctx: OrchestrationContext, order: Order| async move {
                let reserve = if v2 && order.express {
                    "reserve_express"
                } else {
                    "reserve"
                };
                ctx.call_activity::<Value>(reserve, &order.n).await?;
                let receipt = v2 && ctx.is_patched("receipt");
                let approved: bool = ctx.wait_for_external_event("approve").await?;
                if approved && receipt {
                    ctx.call_activity::<Value>("send_receipt", &order.n).await?;
                }
                Ok::<_, FunctionError>(ctx.call_activity::<Value>("ship", &order.n).await?)
            },
        ))
        .orchestrator(orchestrator_fn(
            "refund",
            |ctx: OrchestrationContext, n: u64| async move {
                let _: bool = ctx.wait_for_external_event("approve").await?;
                Ok::<_, FunctionError>(ctx.call_activity::<Value>("pay_back", &n).await?)
            },
        ));
    let mut names = vec!["reserve", "ship", "pay_back"];
    if v2 {
        names.extend(["reserve_express", "send_receipt"]);
    }
    for name in names {
        b = b.activity(activity_fn(name, move |_ctx, n: u64| async move {
            Ok::<_, FunctionError>(json!({ "step": name, "order": n }))
        }));
    }
    b.build().expect("the orders app's registry")
}
