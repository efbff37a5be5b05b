//! Reads what a real durafn host answers into these types and writes it back: the JSON must come
//! out as it went in (same fields, same values), for every kind of body the host writes.

// Tests may unwrap: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use durafn_api::{
    DurableClientBinding, EntityEntry, ErrorBody, EventType, FunctionInfo, HostStatus,
    HttpManagementPayload, InstanceStatus, Key, KeyList, MANAGEMENT_BASE, PurgeResult,
    RuntimeStatus,
};
use durafn_core::{FunctionError, OrchestrationContext, activity_fn, entity_fn, orchestrator_fn};
use durafn_host::http::{Request, StatusCode};
use durafn_host::{App, AuthLevel, Host, HostConfig, HttpFunction, HttpResponse};
use http_body_util::BodyExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tower::ServiceExt;

fn app() -> App {
    App::new()
        .orchestrator(orchestrator_fn(
            "parent",
            |ctx: OrchestrationContext, name: String| async move {
                ctx.set_custom_status(&"calling");
                let greeting: String = ctx.call_activity("greet", &name).await?;
                let child: String = ctx.call_sub_orchestrator("child", None, &name).await?;
                Ok::<_, FunctionError>(format!("{greeting} / {child}"))
            },
        ))
        .orchestrator(orchestrator_fn(
            "child",
            |ctx: OrchestrationContext, name: String| async move {
                ctx.call_activity::<String>("greet", &name).await
            },
        ))
        .orchestrator(orchestrator_fn(
            "fails",
            |ctx: OrchestrationContext, _: Value| async move {
                ctx.call_activity::<String>("explode", &()).await
            },
        ))
        .orchestrator(orchestrator_fn(
            "waits",
            |ctx: OrchestrationContext, _: Value| async move {
                let child = ctx.call_sub_orchestrator::<Value>("child-waits", None, &());
                let timer = ctx.sleep(Duration::from_secs(3600));
                let go: Value = ctx.wait_for_external_event("go").await?;
                drop(timer);
                child.await?;
                Ok::<_, FunctionError>(go)
            },
        ))
        .orchestrator(orchestrator_fn(
            "child-waits",
            |ctx: OrchestrationContext, _: Value| async move {
                ctx.wait_for_external_event::<Value>("go").await
            },
        ))
        .activity(activity_fn("greet", |_ctx, name: String| async move {
            Ok::<_, FunctionError>(format!("Hello {name}!"))
        }))
        .activity(activity_fn("explode", |_ctx, _: ()| async move {
            Err::<String, _>(FunctionError::msg("it broke"))
        }))
        .entity(entity_fn(
            "counter",
            |ctx: &mut durafn_core::EntityContext| {
                let next = ctx.get_state::<i64>()?.unwrap_or(0) + ctx.input::<i64>()?;
                ctx.set_state(&next)?;
                Ok(next)
            },
        ))
        .function(
            HttpFunction::new("hello")
                .route("hello/{name}")
                .methods(["GET", "POST"])
                .auth(AuthLevel::Function)
                .handler(|_req, _client| async move { HttpResponse::ok() }),
        )
}

struct TestHost {
    host: Host,
    master: String,
    _dir: tempfile::TempDir,
}

impl TestHost {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = HostConfig::in_memory(dir.path().join("data"));
        config.runtime.max_poll_interval = Duration::from_millis(50);
        let host = app().config(config).start().await.unwrap();
        let master = host.keys().master_key();
        Self {
            host,
            master,
            _dir: dir,
        }
    }

    /// Sends a request with the master key; returns the status and the body as JSON.
    async fn call(&self, method: &str, path: &str, body: &str) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("x-functions-key", &self.master)
            .header("content-type", "application/json")
            .body(body.to_string())
            .unwrap();
        let response = self.host.router().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                panic!(
                    "{path}: not JSON ({e}): {}",
                    String::from_utf8_lossy(&bytes)
                )
            })
        };
        (status, json)
    }

    async fn done(&self, id: &str) {
        let _ = self
            .host
            .client()
            .wait_for_completion(id, Duration::from_secs(30))
            .await;
    }

    async fn start_instance(&self, name: &str, input: &str) -> String {
        let (status, body) = self
            .call(
                "POST",
                &format!("{MANAGEMENT_BASE}/orchestrators/{name}"),
                input,
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        round_trip::<HttpManagementPayload>(&body).id
    }
}

/// Reads `json` as `T`, writes it back, and checks that nothing changed.
fn round_trip<T: DeserializeOwned + Serialize>(json: &Value) -> T {
    let typed: T = serde_json::from_value(json.clone()).unwrap_or_else(|e| {
        panic!(
            "does not read as {}: {e}\n{json:#}",
            std::any::type_name::<T>()
        )
    });
    let text = serde_json::to_string(&typed).unwrap();
    let back: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        &back,
        json,
        "{} does not write back the same",
        std::any::type_name::<T>()
    );
    typed
}

fn types(status: &InstanceStatus) -> Vec<String> {
    status
        .history_events
        .as_ref()
        .unwrap()
        .iter()
        .map(|e| e.event_type.to_string())
        .collect()
}

#[tokio::test]
async fn management_responses_read_and_write_back_unchanged() {
    let h = TestHost::start().await;
    let m = MANAGEMENT_BASE;

    // A completed instance with an activity and a sub-orchestration, full history.
    let id = h.start_instance("parent", r#""Tokyo""#).await;
    h.done(&id).await;
    let (code, body) = h
        .call(
            "GET",
            &format!("{m}/instances/{id}?showHistory=true&showHistoryOutput=true"),
            "",
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    let status: InstanceStatus = round_trip(&body);
    assert_eq!(status.runtime_status, RuntimeStatus::Completed);
    assert_eq!(status.custom_status.as_ref().unwrap().get(), r#""calling""#);
    assert_eq!(
        types(&status),
        [
            "ExecutionStarted",
            "TaskCompleted",
            "SubOrchestrationInstanceCompleted",
            "ExecutionCompleted"
        ]
    );
    let events = status.history_events.as_ref().unwrap();
    assert_eq!(events[1].function_name.as_deref(), Some("greet"));
    assert!(events[1].scheduled_time.unwrap() <= events[1].timestamp);
    assert_eq!(
        events[2].result.as_ref().unwrap().get(),
        r#""Hello Tokyo!""#
    );
    assert_eq!(
        events[3].orchestration_status,
        Some(RuntimeStatus::Completed)
    );

    // Without outputs, and without the history.
    let (_, body) = h
        .call("GET", &format!("{m}/instances/{id}?showHistory=true"), "")
        .await;
    round_trip::<InstanceStatus>(&body);
    let (_, body) = h.call("GET", &format!("{m}/instances/{id}"), "").await;
    let plain: InstanceStatus = round_trip(&body);
    assert!(plain.history_events.is_none());

    // A failed instance: the output is the message, the failure is in history.
    let failed = h.start_instance("fails", "").await;
    h.done(&failed).await;
    let (_, body) = h
        .call(
            "GET",
            &format!("{m}/instances/{failed}?showHistory=true&showHistoryOutput=true"),
            "",
        )
        .await;
    let status: InstanceStatus = round_trip(&body);
    assert_eq!(status.runtime_status, RuntimeStatus::Failed);
    let task_failed = status
        .history_events
        .as_ref()
        .unwrap()
        .iter()
        .find(|e| e.event_type == EventType::TaskFailed)
        .expect("a TaskFailed entry");
    assert_eq!(task_failed.reason.as_deref(), Some("it broke"));

    // A running instance: an unanswered sub-orchestration (with its id), a timer, then
    // suspend, resume, an event and termination.
    let running = h.start_instance("waits", "{}").await;
    let child_id = loop {
        let (_, body) = h
            .call(
                "GET",
                &format!("{m}/instances/{running}?showHistory=true"),
                "",
            )
            .await;
        let status: InstanceStatus = round_trip(&body);
        let created = status
            .history_events
            .iter()
            .flatten()
            .find(|e| e.event_type == EventType::SubOrchestrationInstanceCreated);
        if let Some(created) = created {
            assert!(types(&status).contains(&"TimerCreated".to_string()));
            break created.instance_id.clone().expect("the child's id");
        }
        tokio::task::yield_now().await;
    };
    let (_, body) = h
        .call("GET", &format!("{m}/instances/{child_id}"), "")
        .await;
    assert_eq!(round_trip::<InstanceStatus>(&body).name, "child-waits");
    for op in ["suspend?reason=pause", "resume?reason=go%20on"] {
        let (code, _) = h
            .call("POST", &format!("{m}/instances/{running}/{op}"), "")
            .await;
        assert_eq!(code, StatusCode::ACCEPTED);
    }
    let (code, _) = h
        .call(
            "POST",
            &format!("{m}/instances/{running}/raiseEvent/other"),
            r#"{"x":1}"#,
        )
        .await;
    assert_eq!(code, StatusCode::ACCEPTED);
    let (code, _) = h
        .call(
            "POST",
            &format!("{m}/instances/{running}/terminate?reason=enough"),
            "",
        )
        .await;
    assert_eq!(code, StatusCode::ACCEPTED);
    h.done(&running).await;
    let (_, body) = h
        .call(
            "GET",
            &format!("{m}/instances/{running}?showHistory=true&showHistoryOutput=true"),
            "",
        )
        .await;
    let status: InstanceStatus = round_trip(&body);
    assert_eq!(status.runtime_status, RuntimeStatus::Terminated);
    let kinds = types(&status);
    for kind in [
        "ExecutionSuspended",
        "ExecutionResumed",
        "EventRaised",
        "ExecutionTerminated",
    ] {
        assert!(kinds.contains(&kind.to_string()), "{kind} in {kinds:?}");
    }

    // Listings, with and without inputs.
    for q in [
        "",
        "?showInput=true&top=2",
        "?runtimeStatus=Completed,Failed",
    ] {
        let (code, body) = h.call("GET", &format!("{m}/instances{q}"), "").await;
        assert_eq!(code, StatusCode::OK);
        let list: Vec<InstanceStatus> = round_trip(&body);
        assert!(!list.is_empty());
    }

    // Restart answers the check-status body; purge answers the count.
    let (code, body) = h
        .call("POST", &format!("{m}/instances/{id}/restart"), "")
        .await;
    assert_eq!(code, StatusCode::ACCEPTED);
    let restarted: HttpManagementPayload = round_trip(&body);
    assert_ne!(restarted.id, id);
    let (code, body) = h
        .call("DELETE", &format!("{m}/instances/{failed}"), "")
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(round_trip::<PurgeResult>(&body).instances_deleted, 1);

    // Errors carry a message (and a detail for bad arguments to a start).
    let (code, body) = h.call("POST", &format!("{m}/orchestrators/nope"), "").await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    let error: ErrorBody = round_trip(&body);
    assert!(error.exception_message.unwrap().contains("nope"));
    let (code, body) = h.call("GET", &format!("{m}/instances?top=0"), "").await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(round_trip::<ErrorBody>(&body).message.contains("top"));
}

#[tokio::test]
async fn entity_and_admin_responses_read_and_write_back_unchanged() {
    let h = TestHost::start().await;
    let m = MANAGEMENT_BASE;
    let (code, _) = h
        .call("POST", &format!("{m}/entities/counter/a?op=add"), "5")
        .await;
    assert_eq!(code, StatusCode::ACCEPTED);
    let entries = loop {
        let (_, body) = h
            .call("GET", &format!("{m}/entities?fetchState=true"), "")
            .await;
        let entries: Vec<EntityEntry> = round_trip(&body);
        if entries.iter().any(|e| e.state.is_some()) {
            break entries;
        }
        tokio::task::yield_now().await;
    };
    assert_eq!(entries[0].entity_id.to_string(), "@counter@a");
    assert_eq!(entries[0].state.as_ref().unwrap().get(), "5");
    let (_, body) = h.call("GET", &format!("{m}/entities/counter"), "").await;
    assert!(round_trip::<Vec<EntityEntry>>(&body)[0].state.is_none());

    let (_, body) = h.call("GET", "/admin/functions", "").await;
    let functions: Vec<FunctionInfo> = round_trip(&body);
    let hello = functions.iter().find(|f| f.name == "hello").unwrap();
    let trigger = hello.trigger().unwrap();
    assert_eq!(trigger.binding_type, "httpTrigger");
    assert_eq!(trigger.auth_level.as_deref(), Some("function"));
    assert!(
        hello
            .invoke_url_template
            .as_ref()
            .unwrap()
            .ends_with("/api/hello/{name}")
    );
    let triggers: Vec<&str> = functions
        .iter()
        .filter_map(|f| f.trigger().map(|t| t.binding_type.as_str()))
        .collect();
    for t in ["orchestrationTrigger", "activityTrigger", "entityTrigger"] {
        assert!(triggers.contains(&t), "{t} in {triggers:?}");
    }
    let (_, body) = h.call("GET", "/admin/functions/hello", "").await;
    round_trip::<FunctionInfo>(&body);

    for path in [
        "/admin/host/functionkeys",
        "/admin/host/systemkeys",
        "/admin/functions/hello/keys",
    ] {
        let (code, body) = h.call("GET", path, "").await;
        assert_eq!(code, StatusCode::OK, "{path}");
        assert!(!round_trip::<KeyList>(&body).keys.is_empty(), "{path}");
    }
    let (code, body) = h.call("POST", "/admin/host/functionkeys/ci", "").await;
    assert_eq!(code, StatusCode::CREATED);
    let key: Key = round_trip(&body);
    assert_eq!(key.name, "ci");
    assert!(
        !format!("{key:?}").contains(&key.value),
        "Debug hides the value"
    );
    let (code, body) = h
        .call(
            "PUT",
            "/admin/host/functionkeys/ci",
            r#"{"value":"abcdefghijklmnopqrstuvwxyz0123456789"}"#,
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(
        round_trip::<Key>(&body).value,
        "abcdefghijklmnopqrstuvwxyz0123456789"
    );
    let (code, body) = h.call("GET", "/admin/host/functionkeys/missing", "").await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    round_trip::<ErrorBody>(&body);

    let (_, body) = h.call("GET", "/admin/host/status", "").await;
    assert_eq!(round_trip::<HostStatus>(&body).state, "Running");
    let (_, body) = h.call("GET", "/admin/durabletask/binding", "").await;
    let binding: DurableClientBinding = round_trip(&body);
    assert_eq!(binding.management_urls.id, "INSTANCEID");
}
