//! HTTP-triggered functions: routes, parameters, failures, and the durable client helpers.

use axum::http::StatusCode;
use serde_json::json;

use crate::api::common::{M, req, start, start_with, wait_for};

#[tokio::test]
async fn routes_parameters_and_constraints() {
    let t = start().await;
    let r = req("GET", "/api/anon").send(&t.router).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), json!({"ok": true}));
    assert_eq!(
        r.header("content-type"),
        Some("application/json; charset=utf-8")
    );

    let r = req("GET", "/api/func/42?q=Yes")
        .key(&t.func_key)
        .send(&t.router)
        .await;
    assert_eq!(r.json(), json!({"id": "42", "q": "Yes"}));
    let r = req("POST", "/api/func/42")
        .key(&t.func_key)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = req("GET", "/api/func/abc")
        .key(&t.func_key)
        .send(&t.router)
        .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "the int constraint does not match"
    );
    assert!(r.body.is_empty());
    let r = req("DELETE", "/api/func/42")
        .key(&t.func_key)
        .send(&t.router)
        .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "methods outside the trigger are not routed"
    );

    let r = req("GET", "/api/items").send(&t.router).await;
    assert_eq!(r.json(), json!({"id": null}));
    let r = req("GET", "/api/items/7").send(&t.router).await;
    assert_eq!(r.json(), json!({"id": "7"}));
    let r = req("GET", "/api/files/a/b%20c.txt").send(&t.router).await;
    assert_eq!(r.json(), json!({"path": "a/b c.txt"}));
}

#[tokio::test]
async fn bodies_errors_and_panics() {
    let t = start_with(|mut c| {
        c.max_request_body_bytes = 100;
        c
    })
    .await;
    let r = req("POST", "/api/echo")
        .json(r#"{"a":[1,2]}"#)
        .send(&t.router)
        .await;
    assert_eq!(r.json(), json!({"a": [1, 2]}));
    let r = req("POST", "/api/echo").json("{nope").send(&t.router).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = req("POST", "/api/echo")
        .json(&"1".repeat(101))
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.json()["Message"].is_string());

    for path in ["/api/fails", "/api/panics"] {
        let r = req("GET", path).send(&t.router).await;
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        let text = r.text();
        assert!(!text.contains("secret"), "{path} leaked: {text}");
        assert_eq!(
            r.json()["Message"],
            "The function failed; see the host log."
        );
    }
    // The host still serves after a panic.
    let r = req("GET", "/api/anon").send(&t.router).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn check_status_response_uses_the_callers_origin() {
    let t = start().await;
    let r = req("POST", "/api/start/hello")
        .header("host", "inner:7071")
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "api.example.com")
        .json(r#""Lima""#)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(r.header("retry-after"), Some("10"));
    let body = r.json();
    let id = body["id"].as_str().unwrap().to_string();
    let uri = body["statusQueryGetUri"].as_str().unwrap();
    assert!(
        uri.starts_with(&format!(
            "https://api.example.com{M}/instances/{id}?taskHub=TestHubName"
        )),
        "{uri}"
    );
    assert!(uri.ends_with(&format!("code={}", t.system)));
    assert_eq!(r.header("location"), Some(uri));
    wait_for(&t, &id, "Completed").await;

    let r = req("GET", "/api/payload/some%20id")
        .header("host", "h:9")
        .send(&t.router)
        .await;
    let p = r.json();
    assert_eq!(p["id"], "some id");
    assert!(
        p["purgeHistoryDeleteUri"]
            .as_str()
            .unwrap()
            .starts_with(&format!("http://h:9{M}/instances/some%20id?"))
    );
}

#[tokio::test]
async fn wait_for_completion_or_check_status() {
    let t = start().await;
    let r = req("POST", "/api/wait-start/hello")
        .json(r#""Kyiv""#)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), json!("Hello Kyiv!"));

    let r = req("POST", "/api/wait-start/wait?timeoutMs=50")
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert!(r.json()["statusQueryGetUri"].is_string());

    let r = req("POST", "/api/wait-start/flaky").send(&t.router).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    let v = r.json();
    assert_eq!(v["runtimeStatus"], "Failed");
    assert!(v["output"].as_str().unwrap().contains("the step failed"));
}
