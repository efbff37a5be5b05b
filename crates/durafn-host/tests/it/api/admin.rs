//! The admin API: functions, host status, keys, binding, metrics and health.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::api::common::{M, req, start, start_instance, wait_for};

#[tokio::test]
async fn functions_are_listed_with_their_bindings() {
    let t = start().await;
    let r = req("GET", "/admin/functions")
        .key(&t.master)
        .header("host", "h:1")
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let list = r.json();
    let find = |name: &str| -> Value {
        list.as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} is listed"))
    };
    let func = find("func");
    let trigger = &func["config"]["bindings"][0];
    assert_eq!(trigger["type"], "httpTrigger");
    assert_eq!(trigger["authLevel"], "function");
    assert_eq!(trigger["route"], "func/{id:int}");
    assert_eq!(trigger["methods"], json!(["get", "post"]));
    assert_eq!(func["invoke_url_template"], "http://h:1/api/func/{id:int}");
    assert_eq!(
        find("anon")["config"]["bindings"][0]["authLevel"],
        "anonymous"
    );
    assert_eq!(
        find("hello")["config"]["bindings"][0]["type"],
        "orchestrationTrigger"
    );
    assert_eq!(
        find("greet")["config"]["bindings"][0]["type"],
        "activityTrigger"
    );

    let r = req("GET", "/admin/functions/HELLO")
        .key(&t.master)
        .send(&t.router)
        .await;
    assert_eq!(r.json()["name"], "hello");
    let r = req("GET", "/admin/functions/nope")
        .key(&t.master)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.json()["Message"].is_string());

    let r = req("GET", "/admin/host/status")
        .key(&t.master)
        .send(&t.router)
        .await;
    let v = r.json();
    assert_eq!(v["state"], "Running");
    assert_eq!(v["taskHubName"], "TestHubName");
    assert_eq!(v["storageProvider"], "memory");
}

#[tokio::test]
async fn key_management() {
    let t = start().await;
    let r = req("GET", "/admin/functions/func/keys")
        .key(&t.master)
        .send(&t.router)
        .await;
    assert_eq!(
        r.json(),
        json!({"keys": [{"name": "default", "value": t.func_key}]})
    );

    // POST generates; the new key opens the function at once.
    let r = req("POST", "/admin/functions/func/keys/ci")
        .key(&t.master)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let ci = r.json()["value"].as_str().unwrap().to_string();
    assert_eq!(ci.len(), 43);
    let r = req("GET", "/api/func/1").key(&ci).send(&t.router).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = req("POST", "/admin/functions/func/keys/ci")
        .key(&t.master)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::OK, "regenerated");
    assert_ne!(r.json()["value"], ci);
    let r = req("GET", "/api/func/1").key(&ci).send(&t.router).await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "the old value no longer works"
    );

    // PUT sets a value.
    let value = "my-own-key-value-0123456789";
    let r = req("PUT", "/admin/functions/func/keys/mine")
        .key(&t.master)
        .json(&json!({"value": value}).to_string())
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.json(), json!({"name": "mine", "value": value}));
    let r = req("GET", &format!("/api/func/1?code={value}"))
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::OK, "?code= works too");
    let r = req("GET", "/admin/functions/func/keys/mine")
        .key(&t.master)
        .send(&t.router)
        .await;
    assert_eq!(r.json()["value"], value);
    for bad in [
        r#"{"value":"short"}"#,
        r#"{"valu":"x"}"#,
        "nope",
        r#"{"name":"other","value":"aaaaaaaaaaaaaaaaaaaa"}"#,
    ] {
        let r = req("PUT", "/admin/functions/func/keys/mine")
            .key(&t.master)
            .json(bad)
            .send(&t.router)
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(r.json()["Message"].is_string());
    }
    let r = req("POST", "/admin/functions/func/keys/bad%20name")
        .key(&t.master)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    let r = req("DELETE", "/admin/functions/func/keys/mine")
        .key(&t.master)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = req("DELETE", "/admin/functions/func/keys/mine")
        .key(&t.master)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = req("GET", "/admin/functions/nope/keys")
        .key(&t.master)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Host and system keys.
    let r = req("GET", "/admin/host/functionkeys")
        .key(&t.master)
        .send(&t.router)
        .await;
    assert_eq!(
        r.json(),
        json!({"keys": [{"name": "default", "value": t.host_key}]})
    );
    let r = req("GET", "/admin/host/systemkeys")
        .key(&t.master)
        .send(&t.router)
        .await;
    assert_eq!(
        r.json(),
        json!({"keys": [{"name": "durabletask_extension", "value": t.system}]})
    );
    let r = req("GET", "/admin/host/functionkeys/_master")
        .key(&t.master)
        .send(&t.router)
        .await;
    assert_eq!(r.json()["value"], t.master);
    let r = req("GET", "/admin/host/nonsense")
        .key(&t.master)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = req("DELETE", "/admin/host/functionkeys/_master")
        .key(&t.master)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = req("DELETE", "/admin/host/systemkeys/durabletask_extension")
        .key(&t.master)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // Regenerating the system key changes the management API's key.
    let r = req("POST", "/admin/host/systemkeys/durabletask_extension")
        .key(&t.master)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let new_system = r.json()["value"].as_str().unwrap().to_string();
    let r = req("GET", &format!("{M}/instances"))
        .key(&t.system)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = req("GET", &format!("{M}/instances"))
        .key(&new_system)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::OK);

    // The keys file follows every change.
    let listed = durafn_host::list_keys(&t.host.config().data_dir).unwrap();
    assert!(
        listed
            .iter()
            .any(|k| k.name == "ci" && k.scope == durafn_host::KeyScope::Function("func".into()))
    );
    assert!(listed.iter().any(|k| k.value == new_system));
    assert!(!listed.iter().any(|k| k.name == "mine"));
}

#[tokio::test]
async fn binding_metrics_health_and_openapi() {
    let t = start().await;
    let r = req("GET", "/admin/durabletask/binding")
        .key(&t.master)
        .header("host", "h:2")
        .send(&t.router)
        .await;
    let b = r.json();
    let base = format!("http://h:2{M}");
    assert_eq!(b["taskHubName"], "TestHubName");
    assert_eq!(b["baseUrl"], base);
    assert!(
        b.get("rpcBaseUrl").is_none(),
        "no local RPC endpoint is bound when the router is used without serving: {b}"
    );
    assert_eq!(
        b["requiredQueryStringParameters"],
        format!("code={}", t.system)
    );
    assert_eq!(
        b["creationUrls"]["createNewInstancePostUri"],
        format!(
            "{base}/orchestrators/{{functionName}}[/{{instanceId}}]?code={}",
            t.system
        )
    );
    assert_eq!(b["managementUrls"]["id"], "INSTANCEID");
    assert!(
        b["managementUrls"]["statusQueryGetUri"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{base}/instances/INSTANCEID?taskHub=TestHubName"))
    );

    let id = start_instance(&t, "hello", None, r#""m""#).await;
    wait_for(&t, &id, "Completed").await;
    let r = req("GET", "/metrics").key(&t.master).send(&t.router).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.header("content-type"),
        Some(durafn_host::PROMETHEUS_CONTENT_TYPE)
    );
    let text = r.text();
    for line in [
        "durafn_instances{runtime_status=\"Completed\"} 1",
        "durafn_instances{runtime_status=\"Running\"} 0",
        "# TYPE durafn_turns_total counter",
        "# TYPE durafn_activity_duration_seconds histogram",
        "durafn_activities_total 1",
        "durafn_activity_duration_seconds_bucket{activity=\"",
        "le=\"+Inf\"} 1",
        "# TYPE durafn_commit_duration_seconds histogram",
        "durafn_work_ready{queue=\"activities\"} 0",
        "durafn_spans_dropped_total 0",
        "# TYPE durafn_instance_cache_hits_total counter",
        "durafn_host_uptime_seconds ",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    let r = req("GET", "/healthz").send(&t.router).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), json!({"status": "Healthy"}));
    let r = req("GET", "/openapi.json").send(&t.router).await;
    assert_eq!(r.json()["openapi"], "3.1.0");
}

#[tokio::test]
async fn the_rpc_router_is_keyless_and_links_to_the_public_listener() {
    let t = start().await;
    let rpc = t.host.rpc_router();
    let r = req("POST", &format!("{M}/orchestrators/hello"))
        .header("host", "127.0.0.1:17071")
        .json(r#""rpc""#)
        .send(&rpc)
        .await;
    assert_eq!(
        r.status,
        StatusCode::ACCEPTED,
        "no key needed: {}",
        r.text()
    );
    let links = r.json();
    let status = links["statusQueryGetUri"].as_str().unwrap();
    assert!(
        !status.contains("17071") && status.contains(&format!("code={}", t.system)),
        "links point at the public listener with its key: {status}"
    );
    let id = links["id"].as_str().unwrap();
    wait_for(&t, id, "Completed").await;
    let r = req("GET", &format!("{M}/instances/{id}")).send(&rpc).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["output"], "Hello rpc!");
    // Only the management and entity routes are there.
    for path in ["/admin/functions", "/metrics", "/api/anon", "/openapi.json"] {
        let r = req("GET", path).key(&t.master).send(&rpc).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
    }
}
