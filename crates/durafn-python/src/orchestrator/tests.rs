//! Turns of real Python orchestrators (the SDK in a worker process) through durafn's engine:
//! each turn is prepared by the walk, then run by an `OrchestrationExecutor` that is handed the
//! preparation and replays the recorded history, as the runtime's load step does. Each test plays the rest of the world: it
//! delivers the results and events its scenario needs, as data.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use durafn_core::testkit::{epoch, msg};
use durafn_core::{
    Action, EventId, EventKind, FailureDetails, HistoryEvent, OrchestrationExecutor, Outcome,
    Payload, Registry, Turn,
};

use super::PythonOrchestrator;
use super::memo::Memo;
use super::plan::{Plan, PlannedOutcome};
use crate::PythonApp;

use durafn_testenv::python;

fn text(json: &str) -> Payload {
    Payload::from_json_text(json).unwrap()
}

async fn load(root: &std::path::Path, data: &std::path::Path) -> PythonApp {
    let python = python().expect("checked by the caller");
    let args = durafn_host::HostArgs {
        root: Some(root.to_path_buf()),
        data_dir: Some(data.to_path_buf()),
        ..Default::default()
    };
    let env = [(
        "languageWorkers__python__defaultExecutablePath".to_string(),
        python.display().to_string(),
    )];
    let config = durafn_host::HostConfig::load(&args, env).unwrap();
    PythonApp::load(&config).await.expect("the app loads")
}

struct Harness {
    orchestrator: PythonOrchestrator,
    apps: Vec<PythonApp>,
    name: String,
    registry: Arc<Registry>,
    history: Vec<HistoryEvent>,
    now: DateTime<Utc>,
    dir: tempfile::TempDir,
}

impl Harness {
    /// A harness for orchestrator `name` of the app in `app` (copied to a temporary directory);
    /// `cold` keeps no answers between turns, so every turn walks history from scratch.
    async fn new(app: &str, name: &str, cold: bool) -> Option<Harness> {
        python()?;
        let dir = tempfile::tempdir().unwrap();
        let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(app);
        copy_dir(&source, &dir.path().join("app"));
        let loaded = load(&dir.path().join("app"), &dir.path().join("data")).await;
        let memo = Arc::new(Memo::new(if cold { 0 } else { 100 }));
        let orchestrator = PythonOrchestrator::new(name, loaded.worker().clone(), memo);
        let registry = Registry::builder()
            .orchestrator(orchestrator.clone())
            .build()
            .unwrap();
        Some(Harness {
            orchestrator,
            apps: vec![loaded],
            name: name.to_string(),
            registry: Arc::new(registry),
            history: Vec::new(),
            now: epoch(),
            dir,
        })
    }

    /// A harness whose first turn has run: the execution started with `input`.
    async fn begin(app: &str, name: &str, input: &str, cold: bool) -> Option<(Harness, Turn)> {
        let mut h = Harness::new(app, name, cold).await?;
        let (_, t) = h.turn(vec![h.started(input)]).await;
        Some((h, t))
    }

    /// Runs the app again from its (possibly edited) copy, as a restarted host would.
    async fn reload(&mut self) {
        for app in self.apps.drain(..) {
            app.shutdown(std::time::Duration::from_secs(1)).await;
        }
        let loaded = load(&self.dir.path().join("app"), &self.dir.path().join("data")).await;
        self.orchestrator = PythonOrchestrator::new(
            self.name.clone(),
            loaded.worker().clone(),
            Arc::new(Memo::new(100)),
        );
        self.registry = Arc::new(
            Registry::builder()
                .orchestrator(self.orchestrator.clone())
                .build()
                .unwrap(),
        );
        self.apps.push(loaded);
    }

    fn started(&self, input: &str) -> HistoryEvent {
        let mut started = msg::execution_started(&self.name, "inst-1", (), self.now);
        if let EventKind::ExecutionStarted { input: i, .. } = &mut started.kind {
            *i = text(input);
        }
        started
    }

    /// One turn, one second after the last: prepared by the walk, run by the engine.
    async fn turn(&mut self, messages: Vec<HistoryEvent>) -> (Plan, Turn) {
        if !self.history.is_empty() {
            self.now += TimeDelta::seconds(1);
        }
        let prepared = self
            .orchestrator
            .prepare("inst-1", &self.history, &messages, self.now)
            .await
            .expect("the turn is prepared");
        let plan: Plan = prepared.decode().unwrap();
        let mut executor = OrchestrationExecutor::new(self.registry.clone());
        executor.set_prepared(Some(prepared));
        executor.replay(&self.history);
        let turn = executor.run_turn(messages, self.now);
        self.history.extend(turn.new_events.iter().cloned());
        (plan, turn)
    }

    fn completed(&self, id: i64, json: &str) -> HistoryEvent {
        HistoryEvent::new(
            self.now,
            EventKind::TaskCompleted {
                task_scheduled_id: EventId(id),
                result: text(json),
            },
        )
    }

    fn failed(&self, id: i64, message: &str) -> HistoryEvent {
        HistoryEvent::new(
            self.now,
            EventKind::TaskFailed {
                task_scheduled_id: EventId(id),
                failure: FailureDetails::new("RuntimeError", message),
            },
        )
    }

    fn event(&self, name: &str, json: &str) -> HistoryEvent {
        HistoryEvent::new(
            self.now,
            EventKind::EventRaised {
                name: name.into(),
                input: text(json),
            },
        )
    }

    fn entity_done(&self, id: i64, json: &str) -> HistoryEvent {
        HistoryEvent::new(
            self.now,
            EventKind::EntityOperationCompleted {
                task_scheduled_id: EventId(id),
                result: text(json),
            },
        )
    }

    fn fired(&self, turn: &Turn, id: i64) -> HistoryEvent {
        let fire_at = turn
            .actions
            .iter()
            .find_map(|a| match a {
                Action::CreateTimer { id: i, fire_at } if i.0 == id => Some(*fire_at),
                _ => None,
            })
            .expect("the timer was created in that turn");
        msg::timer_fired(id, fire_at)
    }
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() == "__pycache__" {
            continue;
        }
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The (id, kind, name) of each action, for compact assertions.
fn actions(turn: &Turn) -> Vec<(i64, &'static str, String)> {
    turn.actions
        .iter()
        .map(|a| match a {
            Action::ScheduleActivity { id, name, input } => {
                (id.0, "activity", format!("{name} {}", input.as_json()))
            }
            Action::CreateTimer { id, .. } => (id.0, "timer", String::new()),
            Action::StartSubOrchestration {
                id,
                name,
                instance_id,
                ..
            } => (id.0, "sub", format!("{name} {instance_id}")),
            Action::CallEntity {
                id,
                entity,
                operation,
                input,
            } => (
                id.0,
                "call",
                format!("{entity} {operation} {}", input.as_json()),
            ),
            Action::SignalEntity {
                id,
                entity,
                operation,
                input,
                ..
            } => (
                id.0,
                "signal",
                format!("{entity} {operation} {}", input.as_json()),
            ),
            other => (other.id().0, "other", format!("{other:?}")),
        })
        .collect()
}

fn completed_with(turn: &Turn) -> serde_json::Value {
    match &turn.outcome {
        Some(Outcome::Completed(p)) => p.to_value(),
        other => panic!("expected completion, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_follow_the_sdks_sequence_with_its_extra_timer() {
    let Some(mut h) = Harness::new("examples/python/v2-showcase", "flaky_workflow", false).await
    else {
        return;
    };
    let job = r#"{"counter": "/nonexistent", "failures": 9}"#;
    let (_, t) = h.turn(vec![h.started(job)]).await;
    assert_eq!(actions(&t), [(0, "activity", format!("flaky {job}"))]);
    let mut last = t;
    for attempt in 0..3 {
        let failed = h.failed(2 * attempt, &format!("attempt {} failed", attempt + 1));
        let (_, t) = h.turn(vec![failed]).await;
        assert_eq!(
            actions(&t),
            [(2 * attempt + 1, "timer", String::new())],
            "attempt {attempt}"
        );
        match &t.actions[0] {
            Action::CreateTimer { fire_at, .. } => {
                assert_eq!(*fire_at, h.now + TimeDelta::milliseconds(1000))
            }
            other => panic!("{other:?}"),
        }
        let fired = h.fired(&t, 2 * attempt + 1);
        let (_, t) = h.turn(vec![fired]).await;
        last = t;
        if attempt < 2 {
            assert_eq!(
                actions(&last),
                [(2 * attempt + 2, "activity", format!("flaky {job}"))]
            );
            assert_eq!(last.outcome, None);
        }
    }
    // The extra timer after the third failure lets the error surface.
    match &last.outcome {
        Some(Outcome::Failed(f)) => {
            assert!(
                f.message.starts_with(
                    "Orchestrator function 'flaky_workflow' failed: RuntimeError: attempt 3 failed"
                ),
                "{f:?}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_events_take_their_ids_before_the_turns_new_actions() {
    for cold in [false, true] {
        let Some((mut h, t)) = Harness::begin(
            "workers/python/tests/apps/probe",
            "retry-race",
            "null",
            cold,
        )
        .await
        else {
            return;
        };
        assert_eq!(
            actions(&t),
            [
                (0, "activity", "fail-activity \"a\"".to_string()),
                (1, "activity", "echo-activity \"b\"".to_string())
            ]
        );
        // The plain call's result arrives first, the retried call's failure after it: the SDK
        // still gives the retry timer the next id, and the call the code makes next the one after.
        let (_, t) = h
            .turn(vec![h.completed(1, "\"b\""), h.failed(0, "a")])
            .await;
        assert_eq!(
            actions(&t),
            [
                (2, "timer", String::new()),
                (3, "activity", "echo-activity \"c\"".to_string())
            ],
            "cold: {cold}"
        );
        let fired = h.fired(&t, 2);
        let (_, t) = h.turn(vec![h.completed(3, "\"c\""), fired]).await;
        assert_eq!(completed_with(&t), "c");
        // The retry goes on in the SDK after the code returned: its next attempt takes id 4.
        assert_eq!(
            actions(&t),
            [(4, "activity", "fail-activity \"a\"".to_string())]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_raised_before_the_wait_are_held_back_and_delivered_in_order() {
    for cold in [false, true] {
        let Some((mut h, t)) = Harness::begin(
            "workers/python/tests/apps/probe",
            "two-events",
            "null",
            cold,
        )
        .await
        else {
            return;
        };
        assert_eq!(
            actions(&t),
            [(0, "activity", "echo-activity \"first\"".to_string())]
        );
        // Both events arrive before the code waits for either; the SDK alone would answer both
        // waits with the last one.
        let (_, t) = h
            .turn(vec![h.event("Note", "\"x\""), h.event("Note", "\"y\"")])
            .await;
        assert_eq!((t.outcome.clone(), actions(&t)), (None, vec![]));
        let (_, t) = h.turn(vec![h.completed(0, "\"first\"")]).await;
        assert_eq!(
            completed_with(&t),
            serde_json::json!(["x", "y"]),
            "cold: {cold}"
        );
    }
    // Arriving together with the result that makes the code wait, they are delivered in the
    // same turn.
    let Some(mut h) = Harness::new("workers/python/tests/apps/probe", "two-events", false).await
    else {
        return;
    };
    h.turn(vec![h.started("null")]).await;
    let (_, t) = h
        .turn(vec![
            h.event("Note", "1"),
            h.completed(0, "\"first\""),
            h.event("Note", "2"),
        ])
        .await;
    assert_eq!(completed_with(&t), serde_json::json!([1, 2]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entity_calls_signals_timers_events_and_sub_orchestrations() {
    let Some((mut h, t)) = Harness::begin(
        "examples/python/v2-showcase",
        "counter_workflow",
        "\"k1\"",
        false,
    )
    .await
    else {
        return;
    };
    assert_eq!(
        actions(&t),
        [
            (0, "signal", "@counter@k1 add 5".to_string()),
            (1, "call", "@counter@k1 add 1".to_string())
        ]
    );
    let (_, t) = h.turn(vec![h.entity_done(1, "6")]).await;
    assert_eq!(
        actions(&t),
        [(2, "call", "@counter@k1 get null".to_string())]
    );
    let (_, t) = h.turn(vec![h.entity_done(2, "6")]).await;
    assert_eq!(
        completed_with(&t),
        serde_json::json!({"afterAdd": 6, "value": 6})
    );

    // The event wins the race: the timer is cancelled in the SDK, the custom status follows.
    let Some((mut h, t)) = Harness::begin(
        "examples/python/v2-showcase",
        "approval_workflow",
        r#"{"timeoutHours": 1}"#,
        false,
    )
    .await
    else {
        return;
    };
    assert_eq!(actions(&t), [(0, "timer", String::new())]);
    assert_eq!(t.custom_status, Some(text("\"waiting for approval\"")));
    let (_, t) = h.turn(vec![h.event("Approval", r#"{"by": "ann"}"#)]).await;
    assert_eq!(
        completed_with(&t),
        serde_json::json!({"approved": true, "by": "ann"})
    );
    assert_eq!(t.custom_status, Some(text("\"approved\"")));
    // The timer wins: the escalation activity runs.
    let Some((mut h, t)) = Harness::begin(
        "examples/python/v2-showcase",
        "approval_workflow",
        r#"{"timeoutHours": 1, "manager": "bo"}"#,
        false,
    )
    .await
    else {
        return;
    };
    let fired = h.fired(&t, 0);
    let (_, t) = h.turn(vec![fired]).await;
    assert_eq!(
        actions(&t),
        [(
            1,
            "activity",
            r#"escalate {"timeoutHours": 1, "manager": "bo"}"#.to_string()
        )]
    );
    let (_, t) = h.turn(vec![h.completed(1, "\"escalated to bo\"")]).await;
    assert_eq!(
        completed_with(&t),
        serde_json::json!({"approved": false, "escalation": "escalated to bo"})
    );

    // Sub-orchestrations with the ids the code gives them.
    let Some((mut h, t)) = Harness::begin(
        "examples/python/v2-showcase",
        "tour",
        r#"[["Tokyo"], ["Lima"]]"#,
        false,
    )
    .await
    else {
        return;
    };
    assert_eq!(
        actions(&t),
        [(0, "sub", "fan_out_fan_in inst-1:leg0".to_string())]
    );
    let done = |h: &Harness, id: i64, json: &str| {
        HistoryEvent::new(
            h.now,
            EventKind::SubOrchestrationInstanceCompleted {
                task_scheduled_id: EventId(id),
                result: text(json),
            },
        )
    };
    let (_, t) = h.turn(vec![done(&h, 0, r#"["Hello Tokyo!"]"#)]).await;
    assert_eq!(
        actions(&t),
        [(1, "sub", "fan_out_fan_in inst-1:leg1".to_string())]
    );
    let (_, t) = h.turn(vec![done(&h, 1, r#"["Hello Lima!"]"#)]).await;
    assert_eq!(
        completed_with(&t),
        serde_json::json!([["Hello Tokyo!"], ["Hello Lima!"]])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continue_as_new_and_the_deterministic_apis() {
    let Some((mut h, t)) =
        Harness::begin("workers/python/tests/apps/probe", "eternal", "0", false).await
    else {
        return;
    };
    assert_eq!(
        actions(&t),
        [(0, "activity", "echo-activity 0".to_string())]
    );
    let (plan, t) = h.turn(vec![h.completed(0, "0")]).await;
    assert_eq!(plan.outcome, PlannedOutcome::ContinuedAsNew(text("1")));
    assert!(
        matches!(t.outcome, Some(Outcome::ContinuedAsNew { ref input, .. }) if input.as_json() == "1")
    );

    let Some((mut h, t)) = Harness::begin(
        "examples/python/v2-showcase",
        "context_facts",
        "null",
        false,
    )
    .await
    else {
        return;
    };
    assert_eq!(
        actions(&t),
        [(0, "activity", "say_hello \"again\"".to_string())]
    );
    let (_, t) = h.turn(vec![h.completed(0, "\"Hello again!\"")]).await;
    let facts = completed_with(&t);
    assert_eq!(facts["first"]["time"], "2021-10-12T10:00:00+00:00");
    assert_eq!(facts["second"]["time"], "2021-10-12T10:00:01+00:00");
    assert_eq!(
        facts["first"]["replaying"], true,
        "the first part runs again, replaying"
    );
    assert_eq!(facts["second"]["replaying"], false);
    assert_eq!(facts["instanceId"], "inst-1");
    assert_ne!(facts["first"]["uuid"], facts["second"]["uuid"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_orchestrator_fails_with_the_engines_error_naming_both_actions() {
    let Some((mut h, t)) = Harness::begin(
        "examples/python/v2-showcase",
        "fan_out_fan_in",
        r#"["Tokyo"]"#,
        false,
    )
    .await
    else {
        return;
    };
    assert_eq!(
        actions(&t),
        [(0, "activity", "say_hello \"Tokyo\"".to_string())]
    );
    let script = h.dir.path().join("app/function_app.py");
    let code = std::fs::read_to_string(&script).unwrap();
    let changed = code.replace(
        r#"context.call_activity("say_hello", city)"#,
        r#"context.call_activity("escalate", city)"#,
    );
    assert_ne!(code, changed);
    std::fs::write(&script, changed).unwrap();
    h.reload().await;
    let (_, t) = h.turn(vec![h.completed(0, "\"Hello Tokyo!\"")]).await;
    match &t.outcome {
        Some(Outcome::Failed(f)) => {
            assert!(
                f.message.contains("history records activity 'say_hello' at step 0, but the code now schedules activity 'escalate'"),
                "{f:?}"
            );
        }
        other => panic!("{other:?}"),
    }
}
