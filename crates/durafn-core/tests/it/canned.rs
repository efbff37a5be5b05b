//! Canned histories for the engine's tricky cases, as data: a recorded history, the messages of
//! the next turn, and what the turn must produce. Each case also replays the whole result from
//! scratch and must reach the same status (full replay and incremental execution agree).

use std::time::Duration;

use chrono::{DateTime, Utc};
use durafn_core::testkit::{HistoryBuilder, epoch, msg};
use durafn_core::{
    Action, EventKind, FailureDetails, FunctionError, HistoryEvent, InstanceId,
    OrchestrationContext, OrchestrationExecutor, Outcome, Payload, Registry, RuntimeStatus,
    SystemFailure, orchestrator_fn, when_all, when_any,
};
use serde_json::{Value, json};

type Res<T> = Result<T, FunctionError>;

fn registry() -> std::sync::Arc<Registry> {
    let registry = Registry::builder()
        .orchestrator(orchestrator_fn(
            "seq",
            |ctx: OrchestrationContext, _: Value| async move {
                let a: String = ctx.call_activity("A", &1).await?;
                let b: String = ctx.call_activity("B", &2).await?;
                Res::Ok(vec![a, b])
            },
        ))
        .orchestrator(orchestrator_fn(
            "renamed",
            |ctx: OrchestrationContext, _: Value| async move {
                let a: String = ctx.call_activity("A2", &1).await?;
                Res::Ok(a)
            },
        ))
        .orchestrator(orchestrator_fn(
            "idle",
            |_ctx: OrchestrationContext, _: Value| async move { Res::Ok(0) },
        ))
        .orchestrator(orchestrator_fn(
            "pair",
            |ctx: OrchestrationContext, _: Value| async move {
                let a = ctx.call_activity::<String>("A", &1);
                let b = ctx.call_activity::<String>("B", &2);
                Res::Ok(when_all(vec![a, b]).await?)
            },
        ))
        .orchestrator(orchestrator_fn(
            "late",
            |ctx: OrchestrationContext, _: Value| async move {
                let a: String = ctx.call_activity("A", &1).await?;
                let go: String = ctx.wait_for_external_event("go").await?;
                Res::Ok(format!("{a}+{go}"))
            },
        ))
        .orchestrator(orchestrator_fn(
            "deadline",
            |ctx: OrchestrationContext, _: Value| async move {
                let go: String = ctx
                    .wait_for_external_event_with_timeout("go", Duration::from_secs(3600))
                    .await?;
                Res::Ok(go)
            },
        ))
        .orchestrator(orchestrator_fn(
            "race",
            |ctx: OrchestrationContext, _: Value| async move {
                let timer = ctx.sleep(Duration::from_secs(60));
                let event = ctx.wait_for_external_event::<String>("go");
                let first = when_any(vec![
                    Box::pin(async move {
                        timer.await;
                        "timer".to_string()
                    })
                        as std::pin::Pin<Box<dyn std::future::Future<Output = String> + Send>>,
                    Box::pin(async move { event.await.unwrap_or_default() }),
                ])
                .await;
                Res::Ok(first.output)
            },
        ))
        .orchestrator(orchestrator_fn(
            "parent",
            |ctx: OrchestrationContext, _: Value| async move {
                let v: i64 = ctx.call_sub_orchestrator("child", Some("kid"), &()).await?;
                Res::Ok(v)
            },
        ))
        .build()
        .expect("registry builds");
    std::sync::Arc::new(registry)
}

fn at(secs: u64) -> DateTime<Utc> {
    epoch() + chrono::TimeDelta::seconds(secs as i64)
}

/// A history that has started `name` and is in its first turn.
fn started(name: &str) -> HistoryBuilder {
    let mut h = HistoryBuilder::default();
    h.orchestrator_started()
        .execution_started(name, "canned", json!(null));
    h
}

/// What a case expects of the turn.
#[derive(Debug)]
struct Expect {
    status: RuntimeStatus,
    actions: &'static [&'static str],
    output: Option<Value>,
    failure: Option<(&'static str, Option<SystemFailure>)>,
}

struct Case {
    name: &'static str,
    history: Vec<HistoryEvent>,
    messages: Vec<HistoryEvent>,
    expect: Expect,
}

fn action(a: &Action) -> String {
    match a {
        Action::ScheduleActivity { name, .. } => format!("activity {name}"),
        Action::CreateTimer { .. } => "timer".into(),
        Action::StartSubOrchestration { name, .. } => format!("sub {name}"),
        other => format!("{other:?}"),
    }
}

fn running(actions: &'static [&'static str]) -> Expect {
    Expect {
        status: RuntimeStatus::Running,
        actions,
        output: None,
        failure: None,
    }
}

fn completed(output: Value) -> Expect {
    Expect {
        status: RuntimeStatus::Completed,
        actions: &[],
        output: Some(output),
        failure: None,
    }
}

fn failed(error_type: &'static str, system: Option<SystemFailure>) -> Expect {
    Expect {
        status: RuntimeStatus::Failed,
        actions: &[],
        output: None,
        failure: Some((error_type, system)),
    }
}

fn cases() -> Vec<Case> {
    let a_scheduled = |name: &str| {
        let mut h = started(name);
        h.task_scheduled(0, "A", 1).orchestrator_completed();
        h
    };
    vec![
        Case {
            name: "the code now calls another activity than history records",
            history: a_scheduled("renamed").build(),
            messages: vec![msg::task_completed(0, "a", at(1))],
            expect: failed(
                "NonDeterministicOrchestration",
                Some(SystemFailure::NonDeterminism),
            ),
        },
        Case {
            name: "history records work the code no longer schedules",
            history: a_scheduled("idle").build(),
            messages: vec![msg::task_completed(0, "a", at(1))],
            expect: failed(
                "NonDeterministicOrchestration",
                Some(SystemFailure::NonDeterminism),
            ),
        },
        Case {
            name: "completions may arrive out of order",
            history: {
                let mut h = started("pair");
                h.task_scheduled(0, "A", 1)
                    .task_scheduled(1, "B", 2)
                    .orchestrator_completed();
                h.build()
            },
            messages: vec![
                msg::task_completed(1, "b", at(1)),
                msg::task_completed(0, "a", at(2)),
            ],
            expect: completed(json!(["a", "b"])),
        },
        Case {
            name: "a completion for a task that was never scheduled is ignored",
            history: a_scheduled("seq").build(),
            messages: vec![msg::task_completed(7, "stray", at(1))],
            expect: running(&[]),
        },
        Case {
            name: "a completion delivered twice counts once",
            history: {
                let mut h = a_scheduled("seq");
                h.orchestrator_started()
                    .task_completed(0, "a")
                    .task_scheduled(1, "B", 2)
                    .orchestrator_completed();
                h.build()
            },
            messages: vec![
                msg::task_completed(0, "again", at(1)),
                msg::task_completed(1, "b", at(1)),
            ],
            expect: completed(json!(["a", "b"])),
        },
        Case {
            name: "an event that arrived before anyone waited for it is kept",
            history: {
                let mut h = a_scheduled("late");
                h.orchestrator_started()
                    .event_raised("go", "early")
                    .orchestrator_completed();
                h.build()
            },
            messages: vec![msg::task_completed(0, "a", at(1))],
            expect: completed(json!("a+early")),
        },
        Case {
            name: "while suspended, completions wait for the resume",
            history: a_scheduled("seq").build(),
            messages: vec![msg::suspended(at(1)), msg::task_completed(0, "a", at(1))],
            expect: Expect {
                status: RuntimeStatus::Suspended,
                ..running(&[])
            },
        },
        Case {
            name: "a resume delivers what waited, in order",
            history: a_scheduled("seq").build(),
            messages: vec![
                msg::suspended(at(1)),
                msg::task_completed(0, "a", at(1)),
                msg::resumed(at(2)),
            ],
            expect: running(&["activity B"]),
        },
        Case {
            name: "terminate ends a waiting execution with no further work",
            history: a_scheduled("seq").build(),
            messages: vec![msg::terminated("stop", at(1))],
            expect: Expect {
                status: RuntimeStatus::Terminated,
                output: Some(json!("stop")),
                ..running(&[])
            },
        },
        Case {
            name: "the timeout timer fires first: a typed timeout failure",
            history: {
                let mut h = started("deadline");
                h.timer_created(0, at(3600)).orchestrator_completed();
                h.build()
            },
            messages: vec![msg::timer_fired(0, at(3600))],
            expect: failed("TimeoutError", Some(SystemFailure::Timeout)),
        },
        Case {
            name: "the event beats the timer, and the dropped timer is not waited for",
            history: {
                let mut h = started("race");
                h.timer_created(0, at(60)).orchestrator_completed();
                h.build()
            },
            messages: vec![msg::event_raised("go", "event", at(5))],
            expect: completed(json!("event")),
        },
        Case {
            name: "a finished history takes no more messages",
            history: {
                let mut h = started("idle");
                h.push(EventKind::ExecutionCompleted {
                    orchestration_status: RuntimeStatus::Completed,
                    result: Some(Payload::encode(&0).expect("json")),
                    failure_details: None,
                })
                .orchestrator_completed();
                h.build()
            },
            messages: vec![msg::event_raised("go", 1, at(1))],
            expect: completed(json!(0)),
        },
        Case {
            name: "a terminated child fails its parent with the child's typed failure",
            history: {
                let mut h = started("parent");
                h.scheduled(
                    0,
                    EventKind::SubOrchestrationInstanceCreated {
                        name: "child".into(),
                        instance_id: InstanceId::from_trusted("kid"),
                        input: Payload::null(),
                    },
                )
                .orchestrator_completed();
                h.build()
            },
            messages: vec![msg::sub_failed(
                0,
                FailureDetails::system(SystemFailure::SubOrchestrationTerminated, "stopped"),
                at(1),
            )],
            expect: failed(
                "Terminated",
                Some(SystemFailure::SubOrchestrationTerminated),
            ),
        },
    ]
}

fn replayed(history: &[HistoryEvent]) -> OrchestrationExecutor {
    let mut executor = OrchestrationExecutor::new(registry());
    executor.replay(history);
    executor
}

#[test]
fn canned_histories_give_the_recorded_answers() {
    for case in cases() {
        let mut executor = replayed(&case.history);
        let turn = executor.run_turn(case.messages.clone(), at(10));
        let actions: Vec<String> = turn.actions.iter().map(action).collect();
        assert_eq!(actions, case.expect.actions, "{}: actions", case.name);
        assert_eq!(turn.status, case.expect.status, "{}: status", case.name);
        let (output, failure) = match &turn.outcome {
            Some(Outcome::Completed(p)) | Some(Outcome::Terminated(p)) => {
                (Some(p.to_value()), None)
            }
            Some(Outcome::Failed(f)) => (None, Some((f.error_type.clone(), f.system))),
            _ => (None, None),
        };
        if turn.new_events.is_empty() {
            // Nothing happened: the outcome was recorded before.
            assert_eq!(executor.status(), case.expect.status, "{}", case.name);
        } else {
            assert_eq!(output, case.expect.output, "{}: output", case.name);
        }
        assert_eq!(
            failure,
            case.expect.failure.map(|(t, s)| (t.to_string(), s)),
            "{}: failure",
            case.name
        );
        let mut whole = case.history.clone();
        whole.extend(turn.new_events);
        assert_eq!(
            replayed(&whole).status(),
            turn.status,
            "{}: a fresh replay of the result agrees",
            case.name
        );
    }
}

#[test]
fn a_non_determinism_failure_names_both_actions() {
    let history = {
        let mut h = started("renamed");
        h.task_scheduled(0, "A", 1).orchestrator_completed();
        h.build()
    };
    let mut executor = replayed(&history);
    let turn = executor.run_turn(vec![], at(1));
    match turn.outcome {
        Some(Outcome::Failed(f)) => {
            assert!(
                f.message.contains("'A'") && f.message.contains("'A2'"),
                "{}",
                f.message
            );
        }
        other => panic!("expected non-determinism, got {other:?}"),
    }
}
