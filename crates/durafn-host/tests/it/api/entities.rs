//! The entity routes of the management API, unknown routes, and the body limit.

use axum::http::StatusCode;

use crate::api::common::{M, entity_until, req, start_with};

#[tokio::test]
async fn entities_unknown_routes_and_limits() {
    let t = start_with(|mut c| {
        c.max_request_body_bytes = 1024;
        c
    })
    .await;
    // Entities: signal, read, list, delete.
    let r = req("POST", &format!("{M}/entities/counter/k?op=add"))
        .key(&t.system)
        .json("5")
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let r = entity_until(&t, "counter", "k", |r| r.status == StatusCode::OK).await;
    assert_eq!(r.json(), serde_json::json!(5));
    for path in ["/entities", "/entities/counter"] {
        let r = req("GET", &format!("{M}{path}?fetchState=true"))
            .key(&t.system)
            .send(&t.router)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        let list = r.json();
        assert_eq!(
            list[0]["entityId"],
            serde_json::json!({"name": "counter", "key": "k"}),
            "{path}"
        );
        assert_eq!(list[0]["state"], serde_json::json!(5));
    }
    let r = req("GET", &format!("{M}/instances"))
        .key(&t.system)
        .send(&t.router)
        .await;
    assert!(
        r.json()
            .as_array()
            .expect("array")
            .iter()
            .all(|i| !i["instanceId"].as_str().unwrap_or("").starts_with('@')),
        "entities are not listed as instances"
    );
    let r = req("POST", &format!("{M}/entities/counter/k"))
        .key(&t.system)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "op is required");
    // A body that is not JSON is the operation's input as a string; the entity takes a
    // number, so a string holding one works (the payload decoding rule).
    let r = req("POST", &format!("{M}/entities/counter/k?op=add"))
        .key(&t.system)
        .header("content-type", "text/plain")
        .body(b"2".to_vec())
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    entity_until(&t, "counter", "k", |r| {
        r.status == StatusCode::OK && r.json() == serde_json::json!(7)
    })
    .await;
    let r = req("GET", &format!("{M}/entities/counter@x/k"))
        .key(&t.system)
        .send(&t.router)
        .await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "an entity name may not contain @"
    );
    let r = req("DELETE", &format!("{M}/entities/counter/k"))
        .key(&t.system)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let r = entity_until(&t, "counter", "k", |r| r.status == StatusCode::NOT_FOUND).await;
    assert!(
        r.json()["Message"]
            .as_str()
            .expect("message")
            .contains("holds no state")
    );
    // Clean entity storage removes the record of the deleted entity.
    let r = req("DELETE", &format!("{M}/entities"))
        .key(&t.system)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.json(),
        serde_json::json!({"emptyEntitiesRemoved": 1, "orphanedLocksReleased": 0})
    );
    let r = req("GET", &format!("{M}/entities"))
        .key(&t.system)
        .send(&t.router)
        .await;
    assert_eq!(r.json(), serde_json::json!([]), "no record is left");
    for (method, path) in [
        ("GET", format!("{M}/nope")),
        ("GET", format!("{M}/orchestrators/hello")),
        ("PUT", format!("{M}/instances/x")),
        ("GET", "/nowhere".to_string()),
        ("POST", "/admin/functions".to_string()),
    ] {
        let r = req(method, &path).key(&t.master).send(&t.router).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{method} {path}");
        assert!(r.body.is_empty(), "{method} {path}");
    }
    let big = format!("\"{}\"", "x".repeat(2000));
    let r = req("POST", &format!("{M}/orchestrators/hello"))
        .key(&t.system)
        .json(&big)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.json()["Message"].as_str().unwrap().contains("1024"));
}
