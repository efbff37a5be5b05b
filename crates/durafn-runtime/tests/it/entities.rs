//! Durable entities end to end, written once and run against every task hub backend (see
//! `backends.rs`).

use std::sync::Arc;

use durafn_core::{
    EntityContext, EntityId, EntityState, FunctionError, OrchestrationContext, Payload, Registry,
    RuntimeStatus, Scheduler, TaskError, entity_class, entity_fn, orchestrator_fn,
};
use durafn_runtime::{DurableClient, Runtime, StatusOptions};
use durafn_store::Store;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::app::WAIT;

/// A bank account: a class-style entity.
#[derive(Default, Serialize, Deserialize)]
struct Account {
    balance: i64,
}

impl EntityState for Account {
    fn dispatch(&mut self, ctx: &mut EntityContext) -> Result<Payload, FunctionError> {
        match ctx.operation() {
            "deposit" => {
                self.balance += ctx.input::<i64>()?;
                Ok(Payload::null())
            }
            "withdraw" => {
                let amount: i64 = ctx.input()?;
                if amount > self.balance {
                    return Err(FunctionError::msg(format!(
                        "insufficient funds: {} < {amount}",
                        self.balance
                    )));
                }
                self.balance -= amount;
                Ok(Payload::null())
            }
            "balance" => Ok(Payload::encode(&self.balance)?),
            _ => Err(durafn_core::entity::unknown_operation(ctx)),
        }
    }
}

fn registry() -> Arc<Registry> {
    Arc::new(
        Registry::builder()
            .entity(entity_fn("counter", |ctx: &mut EntityContext| {
                let value: i64 = ctx.get_state()?.unwrap_or(0);
                match ctx.operation() {
                    "add" => ctx.set_state(&(value + ctx.input::<i64>()?))?,
                    "reset" => ctx.delete_state(),
                    "get" => {}
                    "boom" => return Err(FunctionError::msg("boom")),
                    _ => return Err(durafn_core::entity::unknown_operation(ctx)),
                }
                Ok(ctx.get_state::<i64>()?.unwrap_or(0))
            }))
            .entity(entity_fn("log", |ctx: &mut EntityContext| {
                let mut items: Vec<i64> = ctx.get_state()?.unwrap_or_default();
                items.push(ctx.input()?);
                ctx.set_state(&items)?;
                // Entities can signal other entities and start orchestrations.
                if items.len() == 3 {
                    ctx.signal_entity(&EntityId::new("counter", "from-log"), "add", &100);
                    ctx.start_new_orchestration("noop", Some(durafn_core::InstanceId::from_trusted("started-by-log")), &());
                }
                Ok(items.len())
            }))
            .entity(entity_class::<Account>("account"))
            .orchestrator(orchestrator_fn("noop", |_ctx: OrchestrationContext, _: ()| async move { Ok::<_, FunctionError>(()) }))
            .orchestrator(orchestrator_fn("signaller", |ctx: OrchestrationContext, n: u32| async move {
                for _ in 0..n {
                    ctx.signal_entity(&EntityId::new("counter", "shared"), "add", &1)?;
                }
                Ok::<_, FunctionError>(())
            }))
            .orchestrator(orchestrator_fn("caller", |ctx: OrchestrationContext, _: ()| async move {
                let id = EntityId::new("counter", "c1");
                let a: i64 = ctx.call_entity(&id, "add", &5).await?;
                let b: i64 = ctx.call_entity(&id, "add", &2).await?;
                let failed = match ctx.call_entity::<i64>(&id, "boom", &()).await {
                    Err(TaskError::EntityOperationFailed { failure, .. }) => failure.message,
                    other => format!("unexpected {other:?}"),
                };
                let after: i64 = ctx.call_entity(&id, "get", &()).await?;
                Ok::<_, FunctionError>(json!([a, b, failed, after]))
            }))
            .orchestrator(orchestrator_fn("ordered", |ctx: OrchestrationContext, n: i64| async move {
                for i in 0..n {
                    ctx.signal_entity(&EntityId::new("log", "ordered"), "append", &i)?;
                }
                Ok::<_, FunctionError>(())
            }))
            .orchestrator(orchestrator_fn("transfer", |ctx: OrchestrationContext, (from, to, amount): (String, String, i64)| async move {
                let from = EntityId::new("account", from);
                let to = EntityId::new("account", to);
                let section = ctx.lock_entities(&[from.clone(), to.clone()]).await?;
                let balance: i64 = ctx.call_entity(&from, "balance", &()).await?;
                let moved = if balance >= amount {
                    ctx.call_entity::<()>(&from, "withdraw", &amount).await?;
                    ctx.call_entity::<()>(&to, "deposit", &amount).await?;
                    true
                } else {
                    false
                };
                section.release();
                Ok::<_, FunctionError>(moved)
            }))
            .orchestrator(orchestrator_fn("rule_breaker", |ctx: OrchestrationContext, _: ()| async move {
                let a = EntityId::new("counter", "a");
                let b = EntityId::new("counter", "b");
                let _section = ctx.lock_entities(std::slice::from_ref(&a)).await?;
                let outside = ctx.call_entity::<i64>(&b, "get", &()).await.err().map(|e| e.to_string());
                let nested = ctx.lock_entities(std::slice::from_ref(&b)).await.err().map(|e| e.to_string());
                let sub = ctx.call_sub_orchestrator::<()>("noop", None, &()).await.err().map(|e| e.to_string());
                let signal = ctx.signal_entity(&a, "add", &1).err().map(|e| e.to_string());
                let inside: i64 = ctx.call_entity(&a, "add", &1).await?;
                Ok::<_, FunctionError>(json!({"outside": outside, "nested": nested, "sub": sub, "signal": signal, "inside": inside}))
            }))
            .build()
            .expect("registry builds"),
    )
}

/// Waits until entity `id` holds the state `want` (`None`: no state).
async fn wait_for_state(client: &DurableClient, id: &EntityId, want: impl Into<Option<Value>>) {
    let want = want.into();
    let options = StatusOptions::default();
    client
        .wait_for_status(id.instance_id().as_str(), options, WAIT, |s| {
            s.output.as_ref().map(Payload::to_value) == want
        })
        .await
        .unwrap_or_else(|e| panic!("{id} never reached {want:?}: {e}"));
}

/// Waits until no orchestration holds entity `id`'s lock (unlocks are messages too).
async fn wait_unlocked(client: &DurableClient, id: &EntityId) {
    let options = StatusOptions::default();
    client
        .wait_for_status(id.instance_id().as_str(), options, WAIT, |s| {
            s.input
                .as_ref()
                .is_some_and(|i| Scheduler::from_row(Some(i)).lock_owner.is_none())
        })
        .await
        .unwrap_or_else(|e| panic!("the lock of {id} was never released: {e}"));
}

pub(crate) async fn a_thousand_concurrent_signals_from_fifty_orchestrations(store: Arc<dyn Store>) {
    let runtime = Runtime::builder(store, registry()).start();
    let client = runtime.client();
    for i in 0..50 {
        client
            .start_new("signaller", Some(&format!("s{i}")), &20)
            .await
            .expect("start");
    }
    wait_for_state(&client, &EntityId::new("counter", "shared"), json!(1000)).await;
    runtime.shutdown().await;
}

pub(crate) async fn calls_return_results_and_failures_roll_back(store: Arc<dyn Store>) {
    let runtime = Runtime::builder(store, registry()).start();
    let client = runtime.client();
    client
        .start_new("caller", Some("c"), &())
        .await
        .expect("start");
    let status = client.wait_for_completion("c", WAIT).await.expect("done");
    assert_eq!(
        status.runtime_status,
        RuntimeStatus::Completed,
        "{status:?}"
    );
    assert_eq!(
        status.output.expect("output").to_value(),
        json!([5, 7, "boom", 7])
    );
    runtime.shutdown().await;
}

pub(crate) async fn operations_from_one_sender_run_in_order(store: Arc<dyn Store>) {
    let runtime = Runtime::builder(store, registry()).start();
    let client = runtime.client();
    client
        .start_new("ordered", Some("o"), &40)
        .await
        .expect("start");
    let expected: Vec<i64> = (0..40).collect();
    wait_for_state(&client, &EntityId::new("log", "ordered"), json!(expected)).await;
    // The third operation signalled another entity and started an orchestration.
    wait_for_state(&client, &EntityId::new("counter", "from-log"), json!(100)).await;
    assert_eq!(
        client
            .wait_for_completion("started-by-log", WAIT)
            .await
            .expect("done")
            .runtime_status,
        RuntimeStatus::Completed
    );
    runtime.shutdown().await;
}

pub(crate) async fn transfers_under_locks_conserve_money(store: Arc<dyn Store>) {
    let runtime = Runtime::builder(store, registry()).start();
    let client = runtime.client();
    let accounts = ["a", "b", "c", "d"];
    for a in accounts {
        client
            .signal_entity(&EntityId::new("account", a), "deposit", &100)
            .await
            .expect("signal");
    }
    for a in accounts {
        wait_for_state(
            &client,
            &EntityId::new("account", a),
            json!({"balance": 100}),
        )
        .await;
    }
    let mut ids = Vec::new();
    for i in 0..40usize {
        let from = accounts[i % 4];
        let to = accounts[(i * 7 + 1) % 4];
        if from == to {
            continue;
        }
        let id = format!("t{i}");
        client
            .start_new("transfer", Some(&id), &(from, to, 30 + (i as i64 % 5) * 10))
            .await
            .expect("start");
        ids.push(id);
    }
    for id in &ids {
        let s = client.wait_for_completion(id, WAIT).await.expect("done");
        assert_eq!(s.runtime_status, RuntimeStatus::Completed, "{s:?}");
    }
    let mut total = 0;
    for a in accounts {
        let state: Value = client
            .read_entity_state(&EntityId::new("account", a))
            .await
            .expect("read")
            .expect("state");
        let balance = state["balance"].as_i64().expect("balance");
        assert!(balance >= 0, "account {a} went negative: {balance}");
        total += balance;
    }
    assert_eq!(total, 400, "money is conserved");
    // Every lock is released (unlocks are messages, processed after the orchestration ends).
    let page = client
        .list_entities(Some("account"), 10, None)
        .await
        .expect("list");
    assert_eq!(page.entities.len(), 4);
    for entity in &page.entities {
        wait_unlocked(&client, &entity.entity_id).await;
    }
    runtime.shutdown().await;
}

pub(crate) async fn locking_rules_are_enforced_with_clear_errors(store: Arc<dyn Store>) {
    let runtime = Runtime::builder(store, registry()).start();
    let client = runtime.client();
    client
        .start_new("rule_breaker", Some("r"), &())
        .await
        .expect("start");
    let status = client.wait_for_completion("r", WAIT).await.expect("done");
    let out = status.output.expect("output").to_value();
    assert!(
        out["outside"]
            .as_str()
            .expect("refused")
            .contains("may only call the entities it locked"),
        "{out}"
    );
    assert!(
        out["nested"]
            .as_str()
            .expect("refused")
            .contains("cannot request more locks"),
        "{out}"
    );
    assert!(
        out["sub"]
            .as_str()
            .expect("refused")
            .contains("cannot start sub-orchestrations"),
        "{out}"
    );
    assert!(
        out["signal"]
            .as_str()
            .expect("refused")
            .contains("may not signal"),
        "{out}"
    );
    assert_eq!(out["inside"], json!(1));
    // The orchestration ended holding its lock: the lock was released.
    wait_unlocked(&client, &EntityId::new("counter", "a")).await;
    runtime.shutdown().await;
}

pub(crate) async fn clients_read_list_and_clean_entities(store: Arc<dyn Store>) {
    let runtime = Runtime::builder(store, registry()).start();
    let client = runtime.client();
    let x = EntityId::new("Counter", "x");
    let y = EntityId::new("counter", "y");
    client.signal_entity(&x, "add", &3).await.expect("signal");
    client.signal_entity(&y, "add", &4).await.expect("signal");
    wait_for_state(&client, &x, json!(3)).await;
    wait_for_state(&client, &y, json!(4)).await;
    assert_eq!(
        client
            .read_entity_state::<i64>(&EntityId::new("counter", "nobody"))
            .await
            .expect("read"),
        None
    );
    let first = client
        .list_entities(Some("counter"), 1, None)
        .await
        .expect("list");
    assert_eq!(first.entities.len(), 1);
    let rest = client
        .list_entities(Some("counter"), 10, first.continuation.as_deref())
        .await
        .expect("list");
    assert_eq!(rest.entities.len(), 1);
    client
        .signal_entity(&y, "reset", &())
        .await
        .expect("signal");
    wait_for_state(&client, &y, None::<Value>).await;
    assert_eq!(
        client.clean_entity_storage().await.expect("clean"),
        1,
        "only the stateless entity is removed"
    );
    let all = client.list_entities(None, 10, None).await.expect("list");
    assert_eq!(
        all.entities
            .iter()
            .map(|e| e.entity_id.to_string())
            .collect::<Vec<_>>(),
        ["@counter@x"]
    );
    runtime.shutdown().await;
}
