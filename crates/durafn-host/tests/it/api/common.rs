//! A test app with every kind of function, started in memory, and a small request helper.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode};
use durafn_core::{FunctionError, OrchestrationContext, activity_fn, orchestrator_fn};
use durafn_host::{App, AuthLevel, HandlerError, Host, HostConfig, HttpFunction, HttpResponse};
use serde_json::{Value, json};
use tower::ServiceExt;

/// Whether the `flaky-step` activity fails (shared with the app through app data).
pub(crate) struct Flaky(pub(crate) AtomicBool);

pub(crate) struct TestHost {
    pub(crate) host: Host,
    pub(crate) router: Router,
    pub(crate) master: String,
    pub(crate) system: String,
    pub(crate) host_key: String,
    pub(crate) func_key: String,
    pub(crate) other_key: String,
    pub(crate) flaky: Arc<Flaky>,
    pub(crate) _dir: tempfile::TempDir,
}

pub(crate) fn app(flaky: Arc<Flaky>) -> App {
    App::new()
        .app_data(flaky.clone())
        .orchestrator(orchestrator_fn(
            "hello",
            |ctx: OrchestrationContext, name: String| async move {
                ctx.call_activity::<String>("greet", &name).await
            },
        ))
        .entity(durafn_core::entity_fn(
            "counter",
            |ctx: &mut durafn_core::EntityContext| {
                let value: i64 = ctx.get_state()?.unwrap_or(0);
                if ctx.operation() == "delete" {
                    ctx.delete_state();
                    return Ok(0);
                }
                let next = value + ctx.input::<i64>()?;
                ctx.set_state(&next)?;
                Ok(next)
            },
        ))
        .activity(activity_fn("greet", |_ctx, name: String| async move {
            Ok::<_, FunctionError>(format!("Hello {name}!"))
        }))
        .orchestrator(orchestrator_fn(
            "wait",
            |ctx: OrchestrationContext, _: Value| async move {
                ctx.wait_for_external_event::<Value>("go").await
            },
        ))
        .orchestrator(orchestrator_fn(
            "flaky",
            |ctx: OrchestrationContext, _: Value| async move {
                ctx.call_activity::<String>("flaky-step", &()).await
            },
        ))
        .activity(activity_fn("flaky-step", |ctx, _: ()| async move {
            let flaky = ctx.data::<Arc<Flaky>>().expect("registered");
            if flaky.0.load(Ordering::SeqCst) {
                Err(FunctionError::msg("the step failed"))
            } else {
                Ok("fixed".to_string())
            }
        }))
        .function(
            HttpFunction::new("anon")
                .methods(["GET"])
                .auth(AuthLevel::Anonymous)
                .handler(
                    |_req, _client| async move { HttpResponse::ok().json(&json!({"ok": true})) },
                ),
        )
        .function(
            HttpFunction::new("func")
                .route("func/{id:int}")
                .methods(["GET", "POST"])
                .auth(AuthLevel::Function)
                .handler(|req, _client| async move {
                    HttpResponse::ok()
                        .json(&json!({"id": req.route_param("id"), "q": req.query("Q")}))
                }),
        )
        .function(
            HttpFunction::new("other")
                .methods(["GET"])
                .handler(|_req, _client| async move { HttpResponse::ok().json(&json!({})) }),
        )
        .function(
            HttpFunction::new("adminfn")
                .methods(["GET"])
                .auth(AuthLevel::Admin)
                .handler(|_req, _client| async move { HttpResponse::ok().json(&json!({})) }),
        )
        .function(
            HttpFunction::new("echo")
                .methods(["POST"])
                .auth(AuthLevel::Anonymous)
                .handler(|req, _client| async move {
                    match req.json::<Value>() {
                        Ok(v) => HttpResponse::ok().json(&v),
                        Err(e) => HttpResponse::new(400).json(&json!({"error": e.to_string()})),
                    }
                }),
        )
        .function(
            HttpFunction::new("starter")
                .route("start/{name}")
                .methods(["POST"])
                .auth(AuthLevel::Anonymous)
                .handler(|req, client| async move {
                    let name = req.route_param("name").unwrap_or_default().to_string();
                    let input: Value = req.json().unwrap_or(Value::Null);
                    let id = client.start_new(&name, None, &input).await?;
                    Ok::<_, HandlerError>(client.create_check_status_response(&req, id.as_str()))
                }),
        )
        .function(
            HttpFunction::new("waiter")
                .route("wait-start/{name}")
                .methods(["POST"])
                .auth(AuthLevel::Anonymous)
                .handler(|req, client| async move {
                    let name = req.route_param("name").unwrap_or_default().to_string();
                    let input: Value = req.json().unwrap_or(Value::Null);
                    let ms: u64 = req
                        .query("timeoutMs")
                        .and_then(|t| t.parse().ok())
                        .unwrap_or(5000);
                    let id = client.start_new(&name, None, &input).await?;
                    let r = client
                        .wait_for_completion_or_create_check_status_response(
                            &req,
                            id.as_str(),
                            Duration::from_millis(ms),
                            Duration::from_millis(50),
                        )
                        .await?;
                    Ok::<_, HandlerError>(r)
                }),
        )
        .function(
            HttpFunction::new("payload")
                .route("payload/{id}")
                .methods(["GET"])
                .auth(AuthLevel::Anonymous)
                .handler(|req, client| async move {
                    let p =
                        client.create_http_management_payload(req.route_param("id").unwrap_or(""));
                    HttpResponse::ok().json(&p)
                }),
        )
        .function(
            HttpFunction::new("fails")
                .methods(["GET"])
                .auth(AuthLevel::Anonymous)
                .handler(|_req, _client| async move {
                    Err::<HttpResponse, HandlerError>("secret connection string xyz".into())
                }),
        )
        .function(
            HttpFunction::new("panics")
                .methods(["GET"])
                .auth(AuthLevel::Anonymous)
                .handler(|req, _client| async move {
                    if req.method() == "GET" {
                        panic!("secret panic detail");
                    }
                    HttpResponse::ok()
                }),
        )
        .function(
            HttpFunction::new("items")
                .route("items/{id?}")
                .methods(["GET"])
                .auth(AuthLevel::Anonymous)
                .handler(|req, _client| async move {
                    HttpResponse::ok().json(&json!({"id": req.route_param("id")}))
                }),
        )
        .function(
            HttpFunction::new("files")
                .route("files/{*path}")
                .methods(["GET"])
                .auth(AuthLevel::Anonymous)
                .handler(|req, _client| async move {
                    HttpResponse::ok().json(&json!({"path": req.route_param("path")}))
                }),
        )
}

pub(crate) async fn start() -> TestHost {
    start_with(|c| c).await
}

pub(crate) async fn start_with(tune: impl FnOnce(HostConfig) -> HostConfig) -> TestHost {
    let dir = tempfile::tempdir().unwrap();
    let mut config = HostConfig::in_memory(dir.path().join("data"));
    config.max_request_body_bytes = 64 * 1024;
    config.runtime.max_poll_interval = Duration::from_millis(50);
    let config = tune(config);
    let flaky = Arc::new(Flaky(AtomicBool::new(true)));
    let host = app(flaky.clone()).config(config).start().await.unwrap();
    let keys = host.keys();
    let master = keys.master_key();
    let system = keys.system_key();
    let host_key = keys.get(&durafn_host::KeyScope::Host, "default").unwrap();
    let func_key = keys
        .get(&durafn_host::KeyScope::Function("func".into()), "default")
        .unwrap();
    let other_key = keys
        .get(&durafn_host::KeyScope::Function("other".into()), "default")
        .unwrap();
    TestHost {
        router: host.router(),
        host,
        master,
        system,
        host_key,
        func_key,
        other_key,
        flaky,
        _dir: dir,
    }
}

#[derive(Debug)]
pub(crate) struct Resp {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Resp {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Every body the host writes is empty or JSON.
    pub(crate) fn assert_empty_or_json(&self) {
        if !self.body.is_empty() {
            let _ = self.json();
        }
    }

    /// The same, except for the routes whose format is text by nature (`/metrics`).
    pub(crate) fn assert_empty_or_json_unless_text(&self, path: &str) {
        if path != "/metrics" {
            self.assert_empty_or_json();
        }
    }
}

/// A request under construction.
pub(crate) struct Req {
    builder: axum::http::request::Builder,
    body: Vec<u8>,
}

pub(crate) fn req(method: &str, uri: &str) -> Req {
    Req {
        builder: Request::builder().method(method).uri(uri),
        body: Vec::new(),
    }
}

impl Req {
    pub(crate) fn key(mut self, key: &str) -> Self {
        self.builder = self.builder.header("x-functions-key", key);
        self
    }

    pub(crate) fn header(mut self, name: &str, value: &str) -> Self {
        self.builder = self.builder.header(name, value);
        self
    }

    pub(crate) fn json(mut self, body: &str) -> Self {
        self.builder = self.builder.header("content-type", "application/json");
        self.body = body.as_bytes().to_vec();
        self
    }

    pub(crate) fn body(mut self, body: Vec<u8>) -> Self {
        self.body = body;
        self
    }

    pub(crate) async fn send(self, router: &Router) -> Resp {
        let request = self.builder.body(Body::from(self.body)).unwrap();
        let response = router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        Resp {
            status,
            headers,
            body,
        }
    }
}

pub(crate) const M: &str = "/runtime/webhooks/durabletask";

/// Polls the status route until the instance has `status`, failing after a deadline.
pub(crate) async fn wait_for(t: &TestHost, id: &str, status: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let r = req("GET", &format!("{M}/instances/{id}"))
            .key(&t.system)
            .send(&t.router)
            .await;
        if r.status != StatusCode::NOT_FOUND {
            let v = r.json();
            if v["runtimeStatus"] == status {
                return v;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "instance {id} did not become {status}: {}",
            r.text()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Starts an orchestration through the management API and returns its id.
pub(crate) async fn start_instance(
    t: &TestHost,
    name: &str,
    id: Option<&str>,
    input: &str,
) -> String {
    let path = match id {
        Some(id) => format!("{M}/orchestrators/{name}/{id}"),
        None => format!("{M}/orchestrators/{name}"),
    };
    let r = req("POST", &path)
        .key(&t.system)
        .json(input)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    r.json()["id"].as_str().unwrap().to_string()
}

/// Polls an entity's state route until `done` accepts the answer, failing after a deadline.
pub(crate) async fn entity_until(
    t: &TestHost,
    name: &str,
    key: &str,
    done: impl Fn(&Resp) -> bool,
) -> Resp {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let r = req("GET", &format!("{M}/entities/{name}/{key}"))
            .key(&t.system)
            .send(&t.router)
            .await;
        if done(&r) {
            return r;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "entity {name}/{key} never got there: {} {}",
            r.status,
            r.text()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
