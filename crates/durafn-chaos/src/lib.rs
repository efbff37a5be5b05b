//! The function app of the crash tests, shared by the app binary and the tests that check it.
//!
//! Each `chaos` instance runs five sequential activities, a durable timer and waits for an
//! external event; its output is a pure function of its number, so a test can check every
//! instance's output after any number of crashes.

pub mod kill;
pub mod orders;

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use durafn_core::{
    ActivityContext, EntityContext, EntityId, FunctionError, OrchestrationContext, Registry,
    activity_fn, entity_fn, orchestrator_fn,
};

/// Where the `step` activity appends one line per execution, to count re-executions.
#[derive(Debug, Clone)]
pub struct ActivityLog(pub PathBuf);

/// The value of step `step` given the accumulator.
pub fn step_value(acc: u64, step: u64) -> u64 {
    acc.wrapping_mul(3).wrapping_add(step + 1)
}

/// The output instance `i` must end with.
pub fn expected_output(i: u64) -> u64 {
    (0..5).fold(i, step_value) + i
}

/// Orchestrations that signal the shared counter (each sends `SIGNALS_PER_SIGNALLER`).
pub const SIGNALLERS: u64 = 50;
/// Signals each signaller sends.
pub const SIGNALS_PER_SIGNALLER: u64 = 20;
/// Bank accounts of the transfer workload.
pub const ACCOUNTS: u64 = 5;
/// The opening balance of each account.
pub const OPENING_BALANCE: i64 = 100;
/// Transfer orchestrations of the transfer workload.
pub const TRANSFERS: u64 = 60;

/// The shared counter of the entity workload.
pub fn counter() -> EntityId {
    EntityId::new("counter", "shared")
}

/// Account `i`.
pub fn account(i: u64) -> EntityId {
    EntityId::new("account", format!("acct-{i}"))
}

/// The transfer `t` moves `amount` from `from` to `to`.
pub fn transfer(t: u64) -> (u64, u64, i64) {
    let from = t % ACCOUNTS;
    let to = (from + 1 + (t / ACCOUNTS) % (ACCOUNTS - 1)) % ACCOUNTS;
    (from, to, 10 + (t as i64 * 7) % 60)
}

/// The app's functions.
pub fn registry() -> Arc<Registry> {
    Arc::new(
        Registry::builder()
            .entity(entity_fn("counter", |ctx: &mut EntityContext| {
                let value: u64 = ctx.get_state()?.unwrap_or(0);
                let next = value + ctx.input::<u64>()?;
                ctx.set_state(&next)?;
                Ok(next)
            }))
            .entity(entity_fn("account", |ctx: &mut EntityContext| {
                let balance: i64 = ctx.get_state()?.unwrap_or(0);
                match ctx.operation() {
                    "deposit" => ctx.set_state(&(balance + ctx.input::<i64>()?))?,
                    "withdraw" => {
                        let amount: i64 = ctx.input()?;
                        if amount > balance {
                            return Err(FunctionError::msg("insufficient funds"));
                        }
                        ctx.set_state(&(balance - amount))?;
                    }
                    _ => {}
                }
                Ok(ctx.get_state::<i64>()?.unwrap_or(0))
            }))
            .orchestrator(orchestrator_fn(
                "signaller",
                |ctx: OrchestrationContext, n: u64| async move {
                    for _ in 0..n {
                        ctx.signal_entity(&counter(), "add", &1)?;
                        // A durable step between signals, so kills land between them too.
                        ctx.call_activity::<()>("noop", &()).await?;
                    }
                    Ok::<_, FunctionError>(())
                },
            ))
            .orchestrator(orchestrator_fn(
                "fund",
                |ctx: OrchestrationContext, _: u64| async move {
                    for i in 0..ACCOUNTS {
                        ctx.call_entity::<i64>(&account(i), "deposit", &OPENING_BALANCE)
                            .await?;
                    }
                    Ok::<_, FunctionError>(())
                },
            ))
            .orchestrator(orchestrator_fn(
                "transfer",
                |ctx: OrchestrationContext, t: u64| async move {
                    let (from, to, amount) = transfer(t);
                    let (from, to) = (account(from), account(to));
                    let section = ctx.lock_entities(&[from.clone(), to.clone()]).await?;
                    let balance: i64 = ctx.call_entity(&from, "balance", &()).await?;
                    let moved = balance >= amount;
                    if moved {
                        ctx.call_entity::<i64>(&from, "withdraw", &amount).await?;
                        ctx.call_entity::<i64>(&to, "deposit", &amount).await?;
                    }
                    section.release();
                    Ok::<_, FunctionError>(moved)
                },
            ))
            .activity(activity_fn(
                "noop",
                |_: ActivityContext, _: ()| async move { Ok::<_, FunctionError>(()) },
            ))
            .orchestrator(orchestrator_fn(
                "chaos",
                |ctx: OrchestrationContext, i: u64| async move {
                    let mut acc = i;
                    for step in 0..5u64 {
                        acc = ctx.call_activity("step", &(i, step, acc)).await?;
                    }
                    ctx.sleep(Duration::from_millis(10 + (i % 5) * 10)).await;
                    let bonus: u64 = ctx.wait_for_external_event("go").await?;
                    Ok::<_, FunctionError>(acc + bonus)
                },
            ))
            .activity(activity_fn(
                "step",
                |ctx: ActivityContext, (i, step, acc): (u64, u64, u64)| async move {
                    if let Some(log) = ctx.data::<ActivityLog>() {
                        // One short O_APPEND write per execution: a kill never leaves half a line.
                        let mut file = std::fs::OpenOptions::new()
                            .create(true)
                            .append(true)
                            .open(&log.0)?;
                        file.write_all(format!("{i},{step}\n").as_bytes())?;
                    }
                    Ok::<_, FunctionError>(step_value(acc, step))
                },
            ))
            .build()
            .expect("the chaos app's names are unique"),
    )
}
