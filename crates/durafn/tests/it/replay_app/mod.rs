//! The app whose recorded histories live in `tests/histories/`, and the changes to it a replay
//! test must catch: each [`Change`] is a registry that differs from the recorded build in one
//! way operators get wrong.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use durafn::{
    ActivityContext, EntityContext, EntityId, FunctionError, OrchestrationContext, Registry,
    RetryOptions, activity_fn, entity_fn, orchestrator_fn,
};
use serde_json::{Value, json};

/// The build the histories were recorded with, or a change to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// As recorded.
    None,
    /// `chain` calls its second activity under a new name.
    ActivityRenamed,
    /// `chain` calls its first two activities the other way round.
    OrderSwapped,
    /// `chain` sleeps between its first two activities.
    TimerAdded,
    /// `parent` starts another sub-orchestrator than it did.
    SubOrchestrationReplaced,
}

/// How often each flaky activity input was attempted (the generator's runs only).
static ATTEMPTS: Mutex<Option<HashMap<String, u32>>> = Mutex::new(None);

fn attempt(key: &str) -> u32 {
    let mut guard = ATTEMPTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let n = guard
        .get_or_insert_with(HashMap::new)
        .entry(key.to_string())
        .or_insert(0);
    *n += 1;
    *n
}

fn step(name: &'static str) -> impl durafn::Activity {
    activity_fn(
        name,
        move |_ctx: ActivityContext, input: Value| async move {
            Ok::<_, FunctionError>(json!({"step": name, "input": input}))
        },
    )
}

/// The registry of `change`.
pub(crate) fn app(change: Change) -> Registry {
    let mut b = Registry::builder();
    b = b.orchestrator(orchestrator_fn(
        "chain",
        move |ctx: OrchestrationContext, order: String| async move {
            ctx.set_custom_status(&"reserving");
            let (first, second) = match change {
                Change::OrderSwapped => ("charge", "reserve"),
                Change::ActivityRenamed => ("reserve", "charge_card"),
                _ => ("reserve", "charge"),
            };
            let a: Value = ctx.call_activity(first, &order).await?;
            if change == Change::TimerAdded {
                ctx.sleep(Duration::from_secs(1)).await;
            }
            let b: Value = ctx.call_activity(second, &order).await?;
            let receipt = ctx.new_guid();
            let c: Value = ctx.call_activity("ship", &receipt.to_string()).await?;
            ctx.set_custom_status(&"shipped");
            Ok::<_, FunctionError>(json!([a, b, c]))
        },
    ));
    b = b.orchestrator(orchestrator_fn(
        "fan_out",
        |ctx: OrchestrationContext, n: u32| async move {
            let calls: Vec<_> = (0..n)
                .map(|i| ctx.call_activity::<Value>("work", &i))
                .collect();
            let results = ctx.when_all(calls).await?;
            Ok::<_, FunctionError>(json!(results))
        },
    ));
    b = b.orchestrator(orchestrator_fn(
        "race",
        |ctx: OrchestrationContext, _: ()| async move {
            let work = ctx.call_activity::<Value>("work", &"race");
            let deadline = ctx.sleep(Duration::from_secs(3600));
            let winner = ctx
                .when_any(vec![
                    Box::pin(async move { work.await.map(Some) })
                        as std::pin::Pin<
                            Box<
                                dyn std::future::Future<
                                        Output = Result<Option<Value>, durafn::TaskError>,
                                    > + Send,
                            >,
                        >,
                    Box::pin(async move {
                        deadline.await;
                        Ok(None)
                    }),
                ])
                .await;
            Ok::<_, FunctionError>(json!({"index": winner.index, "value": winner.output?}))
        },
    ));
    b = b.orchestrator(orchestrator_fn(
        "nap",
        |ctx: OrchestrationContext, _: ()| async move {
            ctx.sleep(Duration::from_millis(5)).await;
            Ok::<_, FunctionError>(ctx.call_activity::<Value>("work", &"after the nap").await?)
        },
    ));
    b = b.orchestrator(orchestrator_fn(
        "approval",
        |ctx: OrchestrationContext, order: String| async move {
            ctx.call_activity::<Value>("reserve", &order).await?;
            let approved: bool = ctx.wait_for_external_event("approve").await?;
            let next = if approved { "ship" } else { "cancel" };
            Ok::<_, FunctionError>(ctx.call_activity::<Value>(next, &order).await?)
        },
    ));
    b = b.orchestrator(orchestrator_fn(
        "approval_timeout",
        |ctx: OrchestrationContext, _: ()| async move {
            match ctx
                .wait_for_external_event_with_timeout::<bool>("approve", Duration::from_millis(5))
                .await
            {
                Ok(_) => Ok::<_, FunctionError>(json!("approved")),
                Err(_) => Ok(ctx.call_activity::<Value>("escalate", &"late").await?),
            }
        },
    ));
    b = b.orchestrator(orchestrator_fn(
        "retry",
        |ctx: OrchestrationContext, key: String| async move {
            let retry = RetryOptions::new(Duration::from_millis(2), 5);
            Ok::<_, FunctionError>(
                ctx.call_activity_with_retry::<Value>("flaky", &key, retry)
                    .await?,
            )
        },
    ));
    b = b.orchestrator(orchestrator_fn(
        "failing",
        |ctx: OrchestrationContext, _: ()| async move {
            ctx.call_activity::<Value>("boom", &()).await?;
            Ok::<_, FunctionError>(json!("unreachable"))
        },
    ));
    b = b.orchestrator(orchestrator_fn(
        "rewound",
        |ctx: OrchestrationContext, key: String| async move {
            ctx.call_activity::<Value>("reserve", &key).await?;
            Ok::<_, FunctionError>(ctx.call_activity::<Value>("fragile", &key).await?)
        },
    ));
    b = b.orchestrator(orchestrator_fn(
        "parent",
        move |ctx: OrchestrationContext, id: String| async move {
            let child = if change == Change::SubOrchestrationReplaced {
                "child_v2"
            } else {
                "child"
            };
            let out: Value = ctx
                .call_sub_orchestrator(child, Some(&format!("{id}-child")), &"from the parent")
                .await?;
            Ok::<_, FunctionError>(json!({"child": out}))
        },
    ));
    for name in ["child", "child_v2"] {
        b = b.orchestrator(orchestrator_fn(
            name,
            |ctx: OrchestrationContext, input: String| async move {
                Ok::<_, FunctionError>(ctx.call_activity::<Value>("work", &input).await?)
            },
        ));
    }
    b = b.orchestrator(orchestrator_fn(
        "notifier",
        |ctx: OrchestrationContext, target: String| async move {
            let target = durafn::InstanceId::parse(&target)
                .map_err(|e| FunctionError::msg(e.to_string()))?;
            ctx.send_event(&target, "approve", &true);
            Ok::<_, FunctionError>(json!("sent"))
        },
    ));
    b = b.orchestrator(orchestrator_fn(
        "counter_user",
        |ctx: OrchestrationContext, key: String| async move {
            let counter = EntityId::new("counter", &key);
            ctx.call_entity::<()>(&counter, "add", &5).await?;
            ctx.signal_entity(&counter, "add", &1)?;
            let later = ctx.current_utc_datetime() + chrono::TimeDelta::milliseconds(5);
            ctx.signal_entity_at(&counter, "add", &1, later)?;
            let value: i64 = ctx.call_entity(&counter, "get", &()).await?;
            Ok::<_, FunctionError>(json!(value))
        },
    ));
    b = b.orchestrator(orchestrator_fn(
        "transfer",
        |ctx: OrchestrationContext, (from, to): (String, String)| async move {
            let (from, to) = (
                EntityId::new("counter", &from),
                EntityId::new("counter", &to),
            );
            let lock = ctx.lock_entities(&[from.clone(), to.clone()]).await?;
            ctx.call_entity::<()>(&from, "add", &-3).await?;
            ctx.call_entity::<()>(&to, "add", &3).await?;
            drop(lock);
            Ok::<_, FunctionError>(json!("moved"))
        },
    ));
    b = b.orchestrator(orchestrator_fn(
        "countdown",
        |ctx: OrchestrationContext, n: u32| async move {
            ctx.call_activity::<Value>("work", &n).await?;
            if n > 0 {
                ctx.continue_as_new(&(n - 1), false);
            }
            Ok::<_, FunctionError>(json!(n))
        },
    ));
    b = b.orchestrator(orchestrator_fn(
        "patched",
        |ctx: OrchestrationContext, _: ()| async move {
            let step = if ctx.is_patched("use-work") {
                "work"
            } else {
                "ship"
            };
            Ok::<_, FunctionError>(ctx.call_activity::<Value>(step, &"patched").await?)
        },
    ));
    for name in [
        "reserve",
        "charge",
        "charge_card",
        "ship",
        "cancel",
        "work",
        "escalate",
    ] {
        b = b.activity(step(name));
    }
    b = b.activity(activity_fn(
        "flaky",
        |_ctx: ActivityContext, key: String| async move {
            if attempt(&format!("flaky-{key}")) < 3 {
                return Err(FunctionError::msg("not yet"));
            }
            Ok::<_, FunctionError>(json!("third time lucky"))
        },
    ));
    b = b.activity(activity_fn(
        "fragile",
        |_ctx: ActivityContext, key: String| async move {
            if attempt(&format!("fragile-{key}")) < 2 {
                return Err(FunctionError::msg("broke the first time"));
            }
            Ok::<_, FunctionError>(json!("held"))
        },
    ));
    b = b.activity(activity_fn(
        "boom",
        |_ctx: ActivityContext, _: ()| async move { Err::<Value, _>(FunctionError::msg("boom")) },
    ));
    b = b.entity(entity_fn("counter", |ctx: &mut EntityContext| {
        let mut value: i64 = ctx.get_state()?.unwrap_or(0);
        match ctx.operation() {
            "add" => {
                value += ctx.input::<i64>()?;
                ctx.set_state(&value)?;
                Ok(json!(null))
            }
            _ => Ok(json!(value)),
        }
    }));
    b.build().expect("the replay app's registry")
}
