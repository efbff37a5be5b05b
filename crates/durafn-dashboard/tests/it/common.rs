//! The function app the dashboard tests run: the seed app's functions (apps/audit-query) with
//! orchestrations that wait for an event, fail once, sleep, fan out to a sub-orchestration and
//! call an entity; served by a real host on a real socket.

#![allow(unreachable_pub)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use audit_query::functions::{self, AuditTable};
use durafn_core::{
    ActivityContext, EntityContext, EntityId, FunctionError, OrchestrationContext, activity_fn,
    entity_fn, orchestrator_fn,
};
use durafn_host::keys::{DASHBOARD_KEY, DASHBOARD_READONLY_KEY};
use durafn_host::{App, HostConfig, KeyScope, listen};
use durafn_runtime::DurableClient;
use serde_json::{Value, json};

/// How often `flaky-step` has run: it fails the first time and succeeds after.
struct FlakyRuns(AtomicU32);

fn registries() -> (durafn_core::Registry, durafn_core::Registry) {
    let seed = functions::registry().expect("the seed app's functions");
    let extra = durafn_core::Registry::builder()
        .orchestrator(orchestrator_fn(
            "approval-flow",
            |ctx: OrchestrationContext, order: Value| async move {
                ctx.set_custom_status(&json!({"stage": "awaiting approval", "order": order}));
                let approval: Value = ctx.wait_for_external_event("Approval").await?;
                let note: String = ctx.call_activity("notify", &approval).await?;
                ctx.set_custom_status(&json!({"stage": "approved"}));
                Ok::<_, FunctionError>(note)
            },
        ))
        .orchestrator(orchestrator_fn(
            "flaky-flow",
            |ctx: OrchestrationContext, _: ()| async move {
                let r: String = ctx.call_activity("flaky-step", &()).await?;
                Ok::<_, FunctionError>(r)
            },
        ))
        .orchestrator(orchestrator_fn(
            "sleeper",
            |ctx: OrchestrationContext, _: Value| async move {
                ctx.set_custom_status(&json!({"stage": "sleeping"}));
                ctx.sleep(Duration::from_secs(3600)).await;
                Ok::<_, FunctionError>(())
            },
        ))
        .orchestrator(orchestrator_fn(
            "fulfil-order",
            |ctx: OrchestrationContext, order: Value| async move {
                ctx.set_custom_status(&json!({"stage": "reserving stock"}));
                let reserved: Value = ctx.call_activity("reserve-stock", &order).await?;
                ctx.sleep(Duration::from_millis(120)).await;
                ctx.set_custom_status(&json!({"stage": "shipping"}));
                let parcel: Value = ctx
                    .call_sub_orchestrator("ship-order", None, &reserved)
                    .await?;
                let count: i64 = ctx
                    .call_entity(&EntityId::new("counter", "orders"), "add", &1)
                    .await?;
                let receipt: Value = ctx
                    .call_activity("send-receipt", &json!({"parcel": parcel, "orders": count}))
                    .await?;
                ctx.set_custom_status(&json!({"stage": "done"}));
                Ok::<_, FunctionError>(receipt)
            },
        ))
        .orchestrator(orchestrator_fn(
            "ship-order",
            |ctx: OrchestrationContext, reserved: Value| async move {
                let packed: Value = ctx.call_activity("pack", &reserved).await?;
                let label: Value = ctx.call_activity("print-label", &packed).await?;
                Ok::<_, FunctionError>(label)
            },
        ))
        .activity(activity_fn(
            "notify",
            |_ctx: ActivityContext, v: Value| async move {
                Ok::<_, FunctionError>(format!("approved by {}", v["by"].as_str().unwrap_or("?")))
            },
        ))
        .activity(activity_fn(
            "flaky-step",
            |ctx: ActivityContext, _: ()| async move {
                let runs = ctx.data::<FlakyRuns>().expect("registered");
                if runs.0.fetch_add(1, Ordering::SeqCst) == 0 {
                    return Err(FunctionError::msg("the warehouse did not answer"));
                }
                Ok::<_, FunctionError>("second time lucky".to_string())
            },
        ))
        .activity(work("reserve-stock", 60))
        .activity(work("pack", 90))
        .activity(work("print-label", 40))
        .activity(work("send-receipt", 30))
        .entity(entity_fn("counter", |ctx: &mut EntityContext| {
            let n: i64 = ctx.get_state()?.unwrap_or(0);
            match ctx.operation() {
                "add" => {
                    let by: i64 = ctx.input()?;
                    ctx.set_state(&(n + by))?;
                    Ok(n + by)
                }
                "reset" => {
                    ctx.set_state(&0)?;
                    Ok(0)
                }
                _ => Ok(n),
            }
        }))
        .build()
        .expect("the test functions");
    (seed, extra)
}

/// An activity that takes `ms` milliseconds and echoes its input with its name.
fn work(name: &'static str, ms: u64) -> impl durafn_core::Activity {
    activity_fn(name, move |_ctx: ActivityContext, v: Value| async move {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        let order = v
            .get("order")
            .or_else(|| v.get("for"))
            .cloned()
            .unwrap_or(Value::Null);
        Ok::<_, FunctionError>(json!({"step": name, "for": order, "ok": true}))
    })
}

/// A running host with the test app.
pub struct TestHost {
    /// `http://127.0.0.1:PORT`.
    pub origin: String,
    /// The master key.
    pub master: String,
    /// The `dashboard_readonly` key.
    pub viewer: String,
    /// The `dashboard` key.
    pub operator: String,
    /// A client of its task hub.
    pub client: DurableClient,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl TestHost {
    /// Starts the app on a free port, with an in-memory task hub and the seed app's embedded
    /// audit table filled with its demo rows.
    pub async fn start() -> TestHost {
        Self::start_with(|_| {}).await
    }

    /// [`TestHost::start`] with a change to the configuration (host.json's settings).
    pub async fn start_with(configure: impl FnOnce(&mut HostConfig)) -> TestHost {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = HostConfig::in_memory(dir.path().join("data"));
        config.listen_host = "127.0.0.1".into();
        config.local_rpc_enabled = false;
        configure(&mut config);
        let table = durafn_tables::open("embedded", &dir.path().join("data")).expect("table");
        audit_query::demo::seed_if_empty(table.as_ref(), "audit", &mut |_, _| {})
            .await
            .expect("demo rows");
        let (seed, extra) = registries();
        let host = App::new()
            .registry(&seed)
            .registry(&extra)
            .function(functions::client_function)
            .function(functions::get_status_function)
            .app_data(AuditTable {
                store: table,
                table: "audit".into(),
                delay: Duration::ZERO,
            })
            .app_data(FlakyRuns(AtomicU32::new(0)))
            .config(config)
            .start()
            .await
            .expect("the host starts");
        let keys = host.keys();
        let master = keys.master_key();
        let (operator, _) = keys
            .set(&KeyScope::System, DASHBOARD_KEY, None)
            .expect("dashboard key");
        let (viewer, _) = keys
            .set(&KeyScope::System, DASHBOARD_READONLY_KEY, None)
            .expect("read-only key");
        let client = host.client();
        let (listener, addr) = listen(host.config()).await.expect("listen");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(async move {
            host.serve(listener, async {
                let _ = stopped.await;
            })
            .await
            .expect("serves");
        });
        TestHost {
            origin: format!("http://{addr}"),
            master,
            viewer,
            operator,
            client,
            stop: Some(stop),
            served: Some(served),
            _dir: dir,
        }
    }

    /// `origin` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    /// Stops serving and drains the runtime.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(served) = self.served.take() {
            let _ = tokio::time::timeout(Duration::from_secs(60), served).await;
        }
    }

    /// Waits (up to 30 s, on the runtime's completion notifications) until an instance ends.
    pub async fn finished(&self, id: &str) -> durafn_runtime::InstanceStatus {
        self.client
            .wait_for_completion(id, Duration::from_secs(30))
            .await
            .expect("the instance finishes")
    }

    /// Starts an instance of `name` and waits until it runs.
    pub async fn running(&self, name: &str, id: Option<&str>, input: &Value) -> String {
        let id = self
            .client
            .start_new(name, id, input)
            .await
            .expect("start")
            .to_string();
        self.until_status(&id, |s| s == durafn_core::RuntimeStatus::Running)
            .await;
        id
    }

    /// Polls (with a deadline) until `check` holds for the instance's status.
    pub async fn until_status(
        &self,
        id: &str,
        check: impl Fn(durafn_core::RuntimeStatus) -> bool,
    ) -> durafn_core::RuntimeStatus {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let s = self
                .client
                .get_status(id, durafn_runtime::StatusOptions::default())
                .await
                .expect("status")
                .map(|s| s.runtime_status);
            if let Some(s) = s
                && check(s)
            {
                return s;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "instance {id} stayed {s:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// An HTTP request to the host over its socket; returns the status, headers and body.
pub async fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Vec<(String, String)>, String) {
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let client: Client<_, Full<axum::body::Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let mut req = axum::http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let response = client
        .request(req.body(Full::from(body.to_string())).expect("request"))
        .await
        .expect("the host answers");
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

/// The value of a response header.
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The CSRF token of the first form in a page.
pub fn csrf_of(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token")
        + 19;
    page[at..].split('"').next().unwrap_or_default().to_string()
}
