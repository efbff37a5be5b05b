//! The OpenAPI document against the router: every documented operation is served, every
//! served route is documented, and undocumented methods are not routed.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use serde_json::Value;

use crate::api::auth::fill;
use crate::api::common::{M, entity_until, req, start, start_instance, wait_for};

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

#[tokio::test]
async fn document_matches_the_router() {
    let t = start().await;
    let id = start_instance(&t, "hello", Some("doc-1"), r#""x""#).await;
    wait_for(&t, &id, "Completed").await;
    // The entity the filled-in paths name holds state, so its GET is a 200, not the empty 404
    // an unrouted path gets.
    let r = req("POST", &format!("{M}/entities/counter/k?op=add"))
        .key(&t.system)
        .json("1")
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    entity_until(&t, "counter", "k", |r| r.status == StatusCode::OK).await;

    let r = req("GET", "/openapi.json").send(&t.router).await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.json();
    assert_eq!(doc, t.host.openapi());
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();

    // Every route the router is built from is documented.
    let documented: BTreeSet<(String, String)> = paths
        .iter()
        .flat_map(|(p, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.to_uppercase(), p.clone()))
        })
        .collect();
    for route in t.host.routes() {
        let path = route.path.replace("{*", "{");
        assert!(
            documented.contains(&(route.method.clone(), path.clone())),
            "{} {path} is not documented",
            route.method
        );
    }
    assert_eq!(documented.len(), t.host.routes().len());

    // The management API of the reference, the admin API and the host routes are all there.
    for (method, path) in [
        ("POST", format!("{M}/orchestrators/{{functionName}}")),
        (
            "POST",
            format!("{M}/orchestrators/{{functionName}}/{{instanceId}}"),
        ),
        ("GET", format!("{M}/instances/")),
        ("DELETE", format!("{M}/instances/")),
        ("GET", format!("{M}/instances/{{instanceId}}")),
        ("DELETE", format!("{M}/instances/{{instanceId}}")),
        ("POST", format!("{M}/instances/{{instanceId}}/terminate")),
        ("POST", format!("{M}/instances/{{instanceId}}/suspend")),
        ("POST", format!("{M}/instances/{{instanceId}}/resume")),
        ("POST", format!("{M}/instances/{{instanceId}}/rewind")),
        ("POST", format!("{M}/instances/{{instanceId}}/restart")),
        (
            "POST",
            format!("{M}/instances/{{instanceId}}/raiseEvent/{{eventName}}"),
        ),
        ("GET", format!("{M}/entities/{{entityName}}/{{entityKey}}")),
        ("GET", format!("{M}/entities/{{entityName}}")),
        ("POST", format!("{M}/entities/{{entityName}}/{{entityKey}}")),
        (
            "DELETE",
            format!("{M}/entities/{{entityName}}/{{entityKey}}"),
        ),
        ("GET", "/admin/functions".to_string()),
        ("GET", "/admin/functions/{name}/keys".to_string()),
        ("PUT", "/admin/functions/{name}/keys/{keyName}".to_string()),
        ("GET", "/admin/host/{keyKind}".to_string()),
        ("POST", "/admin/host/{keyKind}/{keyName}".to_string()),
        ("GET", "/admin/host/status".to_string()),
        ("GET", "/admin/durabletask/binding".to_string()),
        ("GET", "/metrics".to_string()),
        ("GET", "/healthz".to_string()),
        ("GET", "/openapi.json".to_string()),
        ("GET", "/api/status/{id}".replace("status", "items")),
        ("GET", "/api/files/{path}".to_string()),
    ] {
        assert!(
            documented.contains(&(method.to_string(), path.clone())),
            "{method} {path}"
        );
    }

    // Every documented operation is served: it answers something other than the router's
    // "no such route" (404 with an empty body). Deletes go last so the instance and the keys
    // exist for the other calls.
    let mut operations: Vec<(String, String)> = documented.iter().cloned().collect();
    operations.sort_by_key(|(m, _)| m == "DELETE");
    for (method, path) in &operations {
        let r = req(method, &fill(path, &id))
            .key(&t.master)
            .send(&t.router)
            .await;
        assert!(
            !(r.status == StatusCode::NOT_FOUND && r.body.is_empty()),
            "{method} {path} is documented but not served"
        );
    }

    // Methods that are not documented for a path are not served.
    for (path, ops) in paths {
        let ops: &serde_json::Map<String, Value> = ops.as_object().unwrap();
        for m in METHODS.iter().filter(|m| !ops.contains_key(**m)) {
            let r = req(&m.to_uppercase(), &fill(path, &id))
                .key(&t.master)
                .send(&t.router)
                .await;
            assert_eq!(
                r.status,
                StatusCode::NOT_FOUND,
                "{m} {path} is served but not documented"
            );
            assert!(r.body.is_empty(), "{m} {path}");
        }
    }

    // Every JSON body has a schema; the codes every management route shares are listed.
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for (path, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            for (code, response) in responses {
                if let Some(content) = response.get("content") {
                    let media = content.as_object().unwrap();
                    for (_, m) in media {
                        let schema = &m["schema"];
                        if let Some(r) = schema["$ref"].as_str() {
                            let name = r.trim_start_matches("#/components/schemas/");
                            assert!(schemas.contains_key(name), "{method} {path} {code}: {r}");
                        }
                    }
                }
            }
            if path.starts_with(M) {
                for code in ["400", "401", "404", "413", "500", "503"] {
                    assert!(responses.contains_key(code), "{method} {path} lacks {code}");
                }
            }
        }
    }
    let status_ok = &paths[&format!("{M}/instances/{{instanceId}}")]["get"]["responses"]["200"];
    assert_eq!(
        status_ok["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Status"
    );
    let started = &paths[&format!("{M}/orchestrators/{{functionName}}")]["post"]["responses"];
    assert_eq!(
        started["202"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/CheckStatus"
    );
    assert!(started["202"]["headers"]["Location"].is_object());
    let status_404 = &paths[&format!("{M}/instances/{{instanceId}}")]["get"]["responses"]["404"];
    assert!(
        status_404.get("content").is_none(),
        "empty bodies have no content"
    );
    assert!(started["404"]["content"]["application/json"].is_object());

    // Each operation says who may call it.
    let status_op = &paths[&format!("{M}/instances/{{instanceId}}")]["get"];
    assert!(
        status_op["description"]
            .as_str()
            .unwrap()
            .contains("system key")
    );
    assert!(status_op["responses"]["401"].is_object());
    assert_eq!(paths["/healthz"]["get"]["security"], serde_json::json!([]));
}
