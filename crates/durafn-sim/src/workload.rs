//! The workload: the functions every run registers (using every primitive) and the jobs a seed
//! draws, each with the outcome it must reach whatever the faults.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use durafn_core::{
    ActivityContext, DurableHttpRequest, EntityContext, EntityId, FunctionError,
    OrchestrationContext, Registry, RetryOptions, TaskError, activity_fn, entity_fn,
    orchestrator_fn,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::endpoint::ORIGIN;
use crate::rng::SimRng;
use crate::state::{HostState, SimState};

/// The function timeout of the simulated hosts; an injected hang lasts longer.
pub const ACTIVITY_TIMEOUT: Duration = Duration::from_secs(600);
/// How long a race waits for its event before timing out.
const EVENT_TIMEOUT: Duration = Duration::from_secs(2 * 3600);
/// How long each continue-as-new round's losing timer waits (it outlives its execution).
const ROUND_TIMER: Duration = Duration::from_secs(3600);
/// How long the last round sleeps (a stale timer of the previous round must not end it).
const LAST_SLEEP: Duration = Duration::from_secs(3 * 3600);
/// How many bank accounts the entity jobs share.
pub const ACCOUNTS: u64 = 3;

/// What a simulated host's activities can see of the simulation (its app data).
pub struct HostCtx {
    /// The run.
    pub sim: Arc<SimState>,
    /// The host the activity runs on.
    pub host: Arc<HostState>,
}

/// One entity operation a bank job performs: a call, a signal, or a transfer in a critical
/// section (kind 0, 1, 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankOp {
    /// 0 call deposit, 1 signal deposit, 2 transfer from `from` to `to`.
    pub kind: u8,
    /// The account deposited to, or debited.
    pub from: u64,
    /// The account credited by a transfer.
    pub to: u64,
    /// The amount.
    pub amount: i64,
}

/// One instance the driver starts, and what the driver does to it.
#[derive(Debug, Clone, PartialEq)]
pub enum Job {
    /// Activities in sequence, each with a retry policy; custom status per step.
    Chain {
        /// How many.
        steps: i64,
    },
    /// Activities in parallel (`when_all`) after a timer.
    FanOut {
        /// How many.
        width: i64,
    },
    /// An external event with a timeout, then `when_any` of an activity and a timer.
    Race {
        /// The event the client raises; `None`: none, the wait times out.
        raise: Option<i64>,
    },
    /// A sub-orchestration (a chain).
    Parent {
        /// The child's steps.
        steps: i64,
    },
    /// Continue-as-new rounds, each leaving a timer behind that outlives its execution.
    Cycle {
        /// How many rounds before the last.
        rounds: i64,
    },
    /// Entity calls, signals and critical sections; the client signals deposits too.
    Bank {
        /// The orchestration's operations.
        ops: Vec<BankOp>,
        /// Deposits the client signals: (account, amount).
        client_deposits: Vec<(u64, i64)>,
    },
    /// An activity that fails until the client rewinds the instance.
    Flaky,
    /// Waits for an event that never comes (optionally holding an account's lock) until the
    /// client terminates it.
    Victim {
        /// The account it locks first.
        lock: Option<u64>,
    },
    /// An activity that crashes its host every time: dead-lettering must end it.
    Bomb,
    /// Durable HTTP against the simulated service ([`crate::endpoint`]): 5xx answers retried
    /// after a durable timer, 202 polling over durable timers, slow answers.
    Http(HttpSpec),
}

/// What the simulated service does with one `call_http` job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpSpec {
    /// Attempts answered with 503 before the service accepts one.
    pub fails: u64,
    /// 202 answers (polled at their `Location`) before the 200.
    pub polls: u64,
    /// Seconds the 200 takes.
    pub delay: u64,
    /// The request timeout in seconds; shorter than `delay`, every call times out.
    pub timeout: u64,
}

impl HttpSpec {
    /// How many failed calls the orchestrator takes before it gives up: more than the faults
    /// can cause (two refused connections per instance), so only a real timeout ends it so.
    pub const GIVE_UP: u32 = 4;
}

impl Job {
    /// The orchestrator that runs it.
    pub fn orchestrator(&self) -> &'static str {
        match self {
            Job::Chain { .. } => "chain",
            Job::FanOut { .. } => "fanout",
            Job::Race { .. } => "race",
            Job::Parent { .. } => "parent",
            Job::Cycle { .. } => "cycle",
            Job::Bank { .. } => "bank",
            Job::Flaky => "flaky",
            Job::Victim { .. } => "victim",
            Job::Bomb => "bomb",
            Job::Http(_) => "http",
        }
    }

    /// The orchestrator's input.
    pub fn input(&self) -> Value {
        match self {
            Job::Chain { steps } | Job::Parent { steps } => json!(steps),
            Job::FanOut { width } => json!(width),
            Job::Race { raise } => json!(raise.is_some()),
            Job::Cycle { rounds } => json!([0, rounds]),
            Job::Bank { ops, .. } => json!(ops),
            Job::Flaky | Job::Bomb => Value::Null,
            Job::Victim { lock } => json!(lock),
            Job::Http(spec) => json!(spec),
        }
    }

    /// The status and output it must end with (`"Terminated"` output is not compared).
    pub fn expected(&self) -> (&'static str, Value) {
        match self {
            Job::Chain { steps } => ("Completed", json!(chain_sum(*steps))),
            Job::FanOut { width } => (
                "Completed",
                json!((0..*width).map(|i| i * i).collect::<Vec<_>>()),
            ),
            Job::Race { raise } => (
                "Completed",
                json!({"event": raise.map_or(json!("timeout"), |v| json!(v)), "first": 0}),
            ),
            Job::Parent { steps } => ("Completed", json!(chain_sum(*steps) + 1000)),
            Job::Cycle { rounds } => ("Completed", json!({"rounds": rounds, "slept": true})),
            Job::Bank { ops, .. } => ("Completed", json!(ops.len())),
            Job::Flaky => ("Completed", json!("repaired")),
            Job::Victim { .. } => ("Terminated", Value::Null),
            Job::Bomb => ("Completed", json!("dead-lettered")),
            Job::Http(spec) if spec.delay > spec.timeout => (
                "Completed",
                json!({"error": "timeout", "attempts": spec.fails}),
            ),
            Job::Http(spec) => (
                "Completed",
                json!({"status": 200, "body": "done", "attempts": spec.fails}),
            ),
        }
    }
}

fn chain_sum(steps: i64) -> i64 {
    (0..steps).map(|i| i * i + 1).sum()
}

/// The entity id of account `n`.
pub fn account(n: u64) -> EntityId {
    EntityId::new("account", format!("a{n}"))
}

/// Draws the jobs of a seed (from the workload stream: faults never change them).
pub fn jobs(rng: &SimRng) -> Vec<Job> {
    let count = rng.between(3, 8);
    let mut jobs = Vec::new();
    for _ in 0..count {
        let job = match rng.below(100) {
            0..=14 => Job::Chain {
                steps: rng.between(1, 5) as i64,
            },
            15..=26 => Job::FanOut {
                width: rng.between(1, 6) as i64,
            },
            27..=38 => Job::Race {
                raise: rng.chance(0.7).then(|| rng.below(100) as i64),
            },
            39..=48 => Job::Parent {
                steps: rng.between(1, 3) as i64,
            },
            49..=58 => Job::Cycle {
                rounds: rng.between(1, 3) as i64,
            },
            59..=78 => {
                let ops = (0..rng.between(1, 5))
                    .map(|_| BankOp {
                        kind: rng.below(3) as u8,
                        from: rng.below(ACCOUNTS),
                        to: rng.below(ACCOUNTS),
                        amount: rng.between(1, 50) as i64,
                    })
                    .collect();
                let client_deposits = (0..rng.below(3))
                    .map(|_| (rng.below(ACCOUNTS), rng.between(1, 20) as i64))
                    .collect();
                Job::Bank {
                    ops,
                    client_deposits,
                }
            }
            79..=86 => Job::Flaky,
            87..=95 => Job::Victim {
                lock: rng.chance(0.5).then(|| rng.below(ACCOUNTS)),
            },
            _ => Job::Bomb,
        };
        jobs.push(job);
    }
    // Drawn after the others, so the jobs of a seed from before durable HTTP stay as they were.
    for _ in 0..rng.below(3) {
        let slow = rng.chance(0.25);
        jobs.push(Job::Http(HttpSpec {
            fails: rng.below(3),
            polls: rng.below(4),
            delay: if slow { 7200 } else { rng.below(90) },
            timeout: if slow { 60 } else { 600 },
        }));
    }
    jobs
}

/// The balance every account must end with: the fold of every deposit and transfer.
pub fn expected_balances(jobs: &[Job]) -> Vec<i64> {
    let mut balances = vec![0i64; ACCOUNTS as usize];
    for job in jobs {
        if let Job::Bank {
            ops,
            client_deposits,
        } = job
        {
            for op in ops {
                match op.kind {
                    0 | 1 => balances[op.from as usize] += op.amount,
                    _ => {
                        balances[op.from as usize] -= op.amount;
                        balances[op.to as usize] += op.amount;
                    }
                }
            }
            for (a, n) in client_deposits {
                balances[*a as usize] += n;
            }
        }
    }
    balances
}

/// The `call_http` job: retries 5xx answers with the next attempt and failed calls (refused,
/// timed out) up to [`HttpSpec::GIVE_UP`] times, each after a durable timer.
async fn http_job(ctx: OrchestrationContext, spec: HttpSpec) -> Result<Value, FunctionError> {
    let (mut attempt, mut failures, mut timed_out) = (0, 0, false);
    loop {
        let mut request = DurableHttpRequest::get(format!(
            "{ORIGIN}/{}/call?attempt={attempt}&fails={}&polls={}&delay={}",
            ctx.instance_id(),
            spec.fails,
            spec.polls,
            spec.delay
        ));
        request.timeout = Some(Duration::from_secs(spec.timeout));
        request.polling_interval = Some(Duration::from_secs(15));
        match ctx.call_http(request).await {
            Ok(r) if r.status_code >= 500 => attempt += 1,
            Ok(r) => {
                let body = r
                    .content
                    .as_deref()
                    .map(|b| b.split(' ').next().unwrap_or(b));
                return Ok(json!({"status": r.status_code, "body": body, "attempts": attempt}));
            }
            Err(e) => {
                failures += 1;
                timed_out |= e.to_string().contains("timed out");
                if failures == HttpSpec::GIVE_UP {
                    let error = if timed_out { "timeout" } else { "failed" };
                    return Ok(json!({"error": error, "attempts": attempt}));
                }
            }
        }
        ctx.sleep(Duration::from_secs(10)).await;
    }
}

fn retry() -> RetryOptions {
    RetryOptions::new(Duration::from_secs(5), 5)
}

type Step<T> = Pin<Box<dyn Future<Output = T> + Send>>;

fn host(ctx: &ActivityContext) -> Arc<HostCtx> {
    ctx.data::<HostCtx>()
        .expect("the simulated host's context is registered")
}

/// The start of every activity: a frozen host runs nothing, and the execution is counted.
/// With `faulty` (the call of this instance with this input, which is retried with a policy),
/// the seed may make it fail or hang, at most twice over all its attempts.
async fn begin(
    ctx: &ActivityContext,
    faulty: Option<String>,
) -> Result<Arc<HostCtx>, FunctionError> {
    let hc = host(ctx);
    hc.host.gate().await;
    let key = format!("{}/{}", ctx.instance_id, ctx.task_id);
    let n = hc.sim.executed(&key);
    hc.sim.note(
        &hc.host.name,
        format!("run {} {key} (execution {n})", ctx.name),
    );
    if let Some(call) = faulty {
        let f = &hc.sim.faults;
        let call = format!("{}/{}({call})", ctx.instance_id, ctx.name);
        if hc.sim.inject_failure(&call, f.activity_fail) {
            hc.sim.note(&hc.host.name, format!("FAIL activity {key}"));
            return Err(FunctionError::msg("simulated activity failure"));
        }
        if hc.sim.inject_failure(&call, f.activity_hang) {
            hc.sim.note(&hc.host.name, format!("HANG activity {key}"));
            tokio::time::sleep(ACTIVITY_TIMEOUT + Duration::from_secs(60)).await;
        }
    }
    Ok(hc)
}

/// The end of every activity: a host that crashed meanwhile never reports the result.
async fn end<T>(hc: &HostCtx, value: T) -> Result<T, FunctionError> {
    hc.host.gate().await;
    Ok(value)
}

/// The functions of the simulated app.
pub fn registry() -> Arc<Registry> {
    let registry = Registry::builder()
        .orchestrator(orchestrator_fn(
            "chain",
            |ctx: OrchestrationContext, steps: i64| async move {
                let mut acc = 0i64;
                for i in 0..steps {
                    ctx.set_custom_status(&i);
                    acc = ctx
                        .call_activity_with_retry::<i64>("add", &(acc, i), retry())
                        .await?;
                }
                Ok::<_, FunctionError>(acc)
            },
        ))
        .orchestrator(orchestrator_fn(
            "fanout",
            |ctx: OrchestrationContext, width: i64| async move {
                ctx.sleep(Duration::from_secs(30)).await;
                let calls: Vec<Step<Result<i64, TaskError>>> = (0..width)
                    .map(|i| {
                        Box::pin(ctx.call_activity_with_retry::<i64>("square", &i, retry()))
                            as Step<_>
                    })
                    .collect();
                let squares = ctx.when_all(calls).await?;
                ctx.set_custom_status(&"done");
                Ok::<_, FunctionError>(squares)
            },
        ))
        .orchestrator(orchestrator_fn(
            "race",
            |ctx: OrchestrationContext, _raised: bool| async move {
                let event = match ctx
                    .wait_for_external_event_with_timeout::<i64>("go", EVENT_TIMEOUT)
                    .await
                {
                    Ok(v) => json!(v),
                    Err(TaskError::Timeout { .. }) => json!("timeout"),
                    Err(e) => return Err(FunctionError::from(e)),
                };
                let echo = ctx.call_activity::<i64>("echo", &7);
                let timer = ctx.sleep(ROUND_TIMER);
                let first = ctx
                    .when_any(vec![
                        Box::pin(async move { echo.await.ok() }) as Step<Option<i64>>,
                        Box::pin(async move {
                            timer.await;
                            None
                        }),
                    ])
                    .await;
                Ok::<_, FunctionError>(json!({"event": event, "first": first.index}))
            },
        ))
        .orchestrator(orchestrator_fn(
            "parent",
            |ctx: OrchestrationContext, steps: i64| async move {
                let child: i64 = ctx.call_sub_orchestrator("chain", None, &steps).await?;
                Ok::<_, FunctionError>(child + 1000)
            },
        ))
        .orchestrator(orchestrator_fn(
            "cycle",
            |ctx: OrchestrationContext, (k, rounds): (i64, i64)| async move {
                if k < rounds {
                    // The event to itself wins; the timer stays queued past this execution. It
                    // is task 0, as the last round's sleep is: a stale timer delivered to the
                    // wrong execution would end that sleep early.
                    let timer = ctx.sleep(ROUND_TIMER);
                    ctx.send_event(&ctx.instance_id(), "next", &k);
                    let next = ctx.wait_for_external_event::<i64>("next");
                    let first = ctx
                        .when_any(vec![
                            Box::pin(async move {
                                timer.await;
                                None
                            }) as Step<Option<i64>>,
                            Box::pin(async move { next.await.ok() }),
                        ])
                        .await;
                    if first.index == 0 {
                        return Err(FunctionError::msg("the round's timer beat its event"));
                    }
                    ctx.set_custom_status(&k);
                    ctx.continue_as_new(&(k + 1, rounds), false);
                    return Ok(Value::Null);
                }
                let before = ctx.current_utc_datetime();
                ctx.sleep(LAST_SLEEP).await;
                let slept = ctx.current_utc_datetime() - before
                    >= chrono::TimeDelta::from_std(LAST_SLEEP).unwrap_or_default();
                Ok::<_, FunctionError>(json!({"rounds": rounds, "slept": slept}))
            },
        ))
        .orchestrator(orchestrator_fn(
            "bank",
            |ctx: OrchestrationContext, ops: Vec<BankOp>| async move {
                for op in &ops {
                    let from = account(op.from);
                    match op.kind {
                        0 => {
                            let _: i64 = ctx.call_entity(&from, "deposit", &op.amount).await?;
                        }
                        1 => ctx.signal_entity(&from, "deposit", &op.amount)?,
                        _ => {
                            let to = account(op.to);
                            let section = ctx.lock_entities(&[from.clone(), to.clone()]).await?;
                            let _: i64 = ctx.call_entity(&from, "withdraw", &op.amount).await?;
                            let _: i64 = ctx.call_entity(&to, "deposit", &op.amount).await?;
                            drop(section);
                        }
                    }
                }
                Ok::<_, FunctionError>(ops.len())
            },
        ))
        .orchestrator(orchestrator_fn(
            "flaky",
            |ctx: OrchestrationContext, _: Value| async move {
                let s: String = ctx.call_activity("fragile", &()).await?;
                Ok::<_, FunctionError>(s)
            },
        ))
        .orchestrator(orchestrator_fn(
            "victim",
            |ctx: OrchestrationContext, lock: Option<u64>| async move {
                let _section = match lock {
                    Some(a) => Some(ctx.lock_entities(&[account(a)]).await?),
                    None => None,
                };
                ctx.wait_for_external_event::<Value>("never").await?;
                Ok::<_, FunctionError>("impossible")
            },
        ))
        .orchestrator(orchestrator_fn(
            "bomb",
            |ctx: OrchestrationContext, _: Value| async move {
                let outcome = match ctx.call_activity::<Value>("bomb", &()).await {
                    Err(TaskError::ActivityFailed { failure, .. })
                        if failure.error_type == "DeadLettered" =>
                    {
                        "dead-lettered".to_string()
                    }
                    Err(e) => format!("unexpected failure: {e}"),
                    Ok(_) => "survived".to_string(),
                };
                Ok::<_, FunctionError>(outcome)
            },
        ))
        .orchestrator(orchestrator_fn("http", http_job))
        .activity(activity_fn(
            "add",
            |ctx: ActivityContext, (acc, i): (i64, i64)| async move {
                let hc = begin(&ctx, Some(format!("{acc},{i}"))).await?;
                end(&hc, acc + i * i + 1).await
            },
        ))
        .activity(activity_fn(
            "square",
            |ctx: ActivityContext, i: i64| async move {
                let hc = begin(&ctx, Some(i.to_string())).await?;
                end(&hc, i * i).await
            },
        ))
        .activity(activity_fn(
            "echo",
            |ctx: ActivityContext, i: i64| async move {
                let hc = begin(&ctx, None).await?;
                end(&hc, i).await
            },
        ))
        .activity(activity_fn(
            "fragile",
            |ctx: ActivityContext, _: Value| async move {
                let hc = begin(&ctx, None).await?;
                if !hc.sim.was_rewound(ctx.instance_id.as_str()) {
                    return Err(FunctionError::msg("fragile until rewound"));
                }
                end(&hc, "repaired".to_string()).await
            },
        ))
        .activity(activity_fn(
            "bomb",
            |ctx: ActivityContext, _: Value| async move {
                let hc = begin(&ctx, None).await?;
                // A while after it starts, so that the turns its host runs meanwhile commit
                // (otherwise their messages would be dead-lettered along with it).
                tokio::time::sleep(Duration::from_secs(30)).await;
                hc.sim.crash(&hc.host, true, "the poison activity");
                hc.host.gate().await;
                Ok::<_, FunctionError>(Value::Null)
            },
        ))
        .entity(entity_fn("account", |ctx: &mut EntityContext| {
            let balance = ctx.get_state::<i64>()?.unwrap_or(0);
            let next = match ctx.operation() {
                "deposit" => balance + ctx.input::<i64>()?,
                "withdraw" => balance - ctx.input::<i64>()?,
                "get" => balance,
                other => return Err(FunctionError::msg(format!("no operation '{other}'"))),
            };
            ctx.set_state(&next)?;
            Ok(next)
        }))
        .build()
        .expect("the simulated app's registry builds");
    Arc::new(registry)
}
