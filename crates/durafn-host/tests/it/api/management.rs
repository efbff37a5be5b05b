//! Every management route and status code of the Durable Functions HTTP API.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;

use axum::http::StatusCode;
use serde_json::json;

use crate::api::common::{M, req, start, start_instance, start_with, wait_for};

#[tokio::test]
async fn start_answers_with_check_status_links() {
    let t = start().await;
    let r = req("POST", &format!("{M}/orchestrators/hello"))
        .key(&t.system)
        .header("host", "example.test:8080")
        .json(r#""Tokyo""#)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(r.header("retry-after"), Some("10"));
    let body = r.json();
    let id = body["id"].as_str().unwrap();
    assert_eq!(id.len(), 32);
    let status_uri = body["statusQueryGetUri"].as_str().unwrap();
    assert_eq!(r.header("location"), Some(status_uri));
    let code = format!("code={}", t.system);
    assert_eq!(
        status_uri,
        format!(
            "http://example.test:8080{M}/instances/{id}?taskHub=TestHubName&connection=Storage&{code}"
        )
    );
    for (key, fragment) in [
        ("sendEventPostUri", "/raiseEvent/{eventName}?taskHub="),
        ("terminatePostUri", "/terminate?reason={text}&taskHub="),
        ("rewindPostUri", "/rewind?reason={text}&taskHub="),
        ("purgeHistoryDeleteUri", "?taskHub="),
        ("restartPostUri", "/restart?taskHub="),
        ("suspendPostUri", "/suspend?reason={text}&taskHub="),
        ("resumePostUri", "/resume?reason={text}&taskHub="),
    ] {
        let uri = body[key].as_str().unwrap();
        assert!(
            uri.contains(fragment) && uri.ends_with(&code),
            "{key}: {uri}"
        );
    }
    let done = wait_for(&t, id, "Completed").await;
    assert_eq!(done["output"], "Hello Tokyo!");
    assert_eq!(done["input"], "Tokyo");
    assert_eq!(done["name"], "hello");
    assert!(done["createdTime"].as_str().unwrap().ends_with('Z'));
    assert!(done["lastUpdatedTime"].as_str().unwrap().ends_with('Z'));
    assert!(done.get("historyEvents").is_none());
}

#[tokio::test]
async fn start_with_id_input_rules_and_conflicts() {
    let t = start().await;
    let id = start_instance(&t, "wait", Some("order%2042"), "").await;
    assert_eq!(id, "order 42");
    let v = wait_for(&t, "order%2042", "Running").await;
    assert_eq!(v["input"], json!(null), "an empty body is a null input");

    let again = req("POST", &format!("{M}/orchestrators/wait/order%2042"))
        .key(&t.system)
        .send(&t.router)
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(
        again.json()["Message"]
            .as_str()
            .unwrap()
            .contains("already exists")
    );

    let unknown = req("POST", &format!("{M}/orchestrators/nope"))
        .key(&t.system)
        .send(&t.router)
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    let body = unknown.json();
    assert_eq!(
        body["Message"],
        "One or more of the arguments submitted is incorrect"
    );
    assert!(body["ExceptionMessage"].as_str().unwrap().contains("nope"));

    let long = "x".repeat(300);
    let bad_id = req("POST", &format!("{M}/orchestrators/hello/{long}"))
        .key(&t.system)
        .send(&t.router)
        .await;
    assert_eq!(bad_id.status, StatusCode::BAD_REQUEST);
    assert!(
        bad_id.json()["ExceptionMessage"]
            .as_str()
            .unwrap()
            .contains("256")
    );

    let control = req("POST", &format!("{M}/orchestrators/hello/a%01b"))
        .key(&t.system)
        .send(&t.router)
        .await;
    assert_eq!(control.status, StatusCode::BAD_REQUEST);
    control.assert_empty_or_json();

    let bad_json = req("POST", &format!("{M}/orchestrators/hello"))
        .key(&t.system)
        .json("{not json")
        .send(&t.router)
        .await;
    assert_eq!(bad_json.status, StatusCode::BAD_REQUEST);
    assert!(
        bad_json.json()["Message"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );

    let verbatim = start_instance(&t, "wait", None, r#"{"b": 1,  "a": [1, 2]}"#).await;
    let r = req("GET", &format!("{M}/instances/{verbatim}"))
        .key(&t.system)
        .send(&t.router)
        .await;
    assert!(
        r.text().contains(r#""input":{"b": 1,  "a": [1, 2]}"#),
        "{}",
        r.text()
    );
}

#[tokio::test]
async fn start_and_wait() {
    let t = start().await;
    let r = req(
        "POST",
        &format!("{M}/orchestrators/hello?timeout=10&pollingInterval=1"),
    )
    .key(&t.system)
    .json(r#""Paris""#)
    .send(&t.router)
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), json!("Hello Paris!"));

    let r = req(
        "POST",
        &format!("{M}/orchestrators/wait?timeout=0&pollingInterval=0"),
    )
    .key(&t.system)
    .send(&t.router)
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert!(r.json()["statusQueryGetUri"].is_string());

    // Polling less often than the whole wait is refused, as Durable Functions does.
    let r = req(
        "POST",
        &format!("{M}/orchestrators/wait?timeout=1&pollingInterval=5"),
    )
    .key(&t.system)
    .send(&t.router)
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.json()["ExceptionMessage"]
            .as_str()
            .unwrap()
            .contains("should be bigger than retry timeout")
    );

    let r = req(
        "POST",
        &format!("{M}/orchestrators/hello?timeout=soon&pollingInterval=1"),
    )
    .key(&t.system)
    .send(&t.router)
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn status_codes_of_get_status() {
    let t = start().await;
    let running = start_instance(&t, "wait", Some("running-1"), r#"{"secret":1}"#).await;
    wait_for(&t, &running, "Running").await;
    let r = req(
        "GET",
        &format!("{M}/instances/{running}?taskHub=TestHubName&connection=Storage"),
    )
    .key(&t.system)
    .header("host", "h:1")
    .send(&t.router)
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(r.header("retry-after"), Some("5"));
    assert_eq!(
        r.header("location"),
        Some(
            format!("http://h:1{M}/instances/running-1?taskHub=TestHubName&connection=Storage")
                .as_str()
        )
    );
    assert_eq!(r.json()["input"], json!({"secret": 1}));

    let r = req("GET", &format!("{M}/instances/{running}?SHOWINPUT=False"))
        .key(&t.system)
        .send(&t.router)
        .await;
    assert_eq!(r.json()["input"], json!(null));

    let r = req("GET", &format!("{M}/instances/unknown-id"))
        .key(&t.system)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.is_empty());

    let r = req("GET", &format!("{M}/instances/{running}?showHistory=maybe"))
        .key(&t.system)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.json()["Message"]
            .as_str()
            .unwrap()
            .contains("showHistory")
    );

    let done = start_instance(&t, "hello", Some("done-1"), r#""Oslo""#).await;
    wait_for(&t, &done, "Completed").await;
    let r = req("GET", &format!("{M}/instances/{done}?showHistory=True"))
        .key(&t.system)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    let events = v["historyEvents"].as_array().unwrap();
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["EventType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["ExecutionStarted", "TaskCompleted", "ExecutionCompleted"]
    );
    assert_eq!(events[0]["FunctionName"], "hello");
    assert_eq!(events[1]["FunctionName"], "greet");
    assert!(events[1]["ScheduledTime"].as_str().unwrap().ends_with('Z'));
    assert!(
        events[1].get("Result").is_none(),
        "results need showHistoryOutput"
    );
    let r = req(
        "GET",
        &format!("{M}/instances/{done}?showHistory=TRUE&showHistoryOutput=true"),
    )
    .key(&t.system)
    .send(&t.router)
    .await;
    let v = r.json();
    assert_eq!(v["historyEvents"][1]["Result"], "Hello Oslo!");
    assert_eq!(v["historyEvents"][2]["Result"], "Hello Oslo!");
    assert_eq!(v["historyEvents"][2]["OrchestrationStatus"], "Completed");

    let failed = start_instance(&t, "flaky", Some("failed-1"), "").await;
    let v = wait_for(&t, &failed, "Failed").await;
    assert!(
        v["output"].as_str().unwrap().contains("the step failed"),
        "{v}"
    );
    let r = req("GET", &format!("{M}/instances/{failed}"))
        .key(&t.system)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = req(
        "GET",
        &format!("{M}/instances/{failed}?returnInternalServerErrorOnFailure=true"),
    )
    .key(&t.system)
    .send(&t.router)
    .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.json()["runtimeStatus"], "Failed");

    let r = req("GET", &format!("{M}/instances/{done}?taskHub=OtherHub"))
        .key(&t.system)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(
        r.body.is_empty(),
        "another task hub is an empty 404 where no such instance is"
    );
    let r = req("GET", &format!("{M}/instances?taskHub=OtherHub"))
        .key(&t.system)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.json()["Message"].as_str().unwrap().contains("OtherHub"));
    let r = req("GET", &format!("{M}/instances/{done}?taskhub=testhubname"))
        .key(&t.system)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn listing_pages_with_the_continuation_token() {
    listing(start().await).await;
}

#[tokio::test]
async fn listing_pages_on_sqlite() {
    let t = start_with(|mut c| {
        c.storage = durafn_host::StorageProvider::Sqlite {
            path: None,
            durability: Default::default(),
        };
        c
    })
    .await;
    assert!(t.host.config().sqlite_path().unwrap().exists());
    listing(t).await;
}

async fn listing(t: crate::api::common::TestHost) {
    let mut ids = BTreeSet::new();
    for i in 0..5 {
        let id = start_instance(&t, "hello", Some(&format!("page-{i}")), r#""x""#).await;
        wait_for(&t, &id, "Completed").await;
        ids.insert(id);
    }
    let waiting = start_instance(&t, "wait", Some("other-1"), "").await;
    wait_for(&t, &waiting, "Running").await;

    let mut seen = BTreeSet::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut r = req(
            "GET",
            &format!("{M}/instances/?instanceIdPrefix=page-&top=2"),
        );
        r = r.key(&t.system);
        if let Some(tok) = &token {
            r = r.header("x-ms-continuation-token", tok);
        }
        let r = r.send(&t.router).await;
        assert_eq!(r.status, StatusCode::OK);
        let page = r.json();
        let page = page.as_array().unwrap();
        assert!(page.len() <= 2);
        for s in page {
            assert_eq!(
                s["input"],
                json!("x"),
                "listings show inputs by default, as Durable Functions does"
            );
            seen.insert(s["instanceId"].as_str().unwrap().to_string());
        }
        pages += 1;
        match r.header("x-ms-continuation-token") {
            Some(next) => token = Some(next.to_string()),
            None => break,
        }
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(seen, ids);
    assert!(pages >= 3);

    let r = req(
        "GET",
        &format!("{M}/instances?runtimeStatus=Running&showInput=false"),
    )
    .key(&t.system)
    .send(&t.router)
    .await;
    let v = r.json();
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["instanceId"], "other-1");
    assert_eq!(v[0]["input"], json!(null), "showInput=false hides it");
    let r = req(
        "GET",
        &format!("{M}/instances?runtimeStatus=running,completed"),
    )
    .key(&t.system)
    .send(&t.router)
    .await;
    assert_eq!(r.json().as_array().unwrap().len(), 6);
    let r = req(
        "GET",
        &format!("{M}/instances?runtimeStatus=Running&runtimeStatus=Completed"),
    )
    .key(&t.system)
    .send(&t.router)
    .await;
    assert_eq!(r.json().as_array().unwrap().len(), 6);
    let r = req(
        "GET",
        &format!("{M}/instances?createdTimeFrom=2999-01-01T00:00:00Z"),
    )
    .key(&t.system)
    .send(&t.router)
    .await;
    assert_eq!(r.json(), json!([]));
    let r = req("GET", &format!("{M}/instances?createdTimeTo=2000-01-01"))
        .key(&t.system)
        .send(&t.router)
        .await;
    assert_eq!(r.json(), json!([]));

    for bad in [
        "createdTimeFrom=yesterday",
        "createdTimeTo=2021-13-01",
        "runtimeStatus=Sleeping",
        "top=0",
        "top=-1",
        "showInput=yes",
    ] {
        let r = req("GET", &format!("{M}/instances?{bad}"))
            .key(&t.system)
            .send(&t.router)
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(r.json()["Message"].is_string(), "{bad}");
    }
    let r = req("GET", &format!("{M}/instances"))
        .key(&t.system)
        .header("x-ms-continuation-token", "garbage")
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json()["Message"].is_string());
}

#[tokio::test]
async fn purge_by_filter_and_one() {
    let t = start().await;
    for i in 0..3 {
        let id = start_instance(&t, "hello", Some(&format!("purge-{i}")), r#""x""#).await;
        wait_for(&t, &id, "Completed").await;
    }
    let running = start_instance(&t, "wait", Some("keep-running"), "").await;
    wait_for(&t, &running, "Running").await;

    let r = req("DELETE", &format!("{M}/instances/"))
        .key(&t.system)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.json()["Message"]
            .as_str()
            .unwrap()
            .contains("createdTimeFrom")
    );
    let r = req(
        "DELETE",
        &format!("{M}/instances?createdTimeFrom=2999-01-01T00:00:00Z"),
    )
    .key(&t.system)
    .send(&t.router)
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.is_empty());
    let r = req(
        "DELETE",
        &format!("{M}/instances?createdTimeFrom=not-a-date"),
    )
    .key(&t.system)
    .send(&t.router)
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // One purged alone first.
    let r = req("DELETE", &format!("{M}/instances/purge-0"))
        .key(&t.system)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), json!({"instancesDeleted": 1}));
    let r = req("DELETE", &format!("{M}/instances/purge-0"))
        .key(&t.system)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.is_empty());
    let r = req("DELETE", &format!("{M}/instances/keep-running"))
        .key(&t.system)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.json()["Message"].is_string());

    let r = req(
        "DELETE",
        &format!(
            "{M}/instances/?createdTimeFrom=2000-01-01T00:00:00Z&runtimeStatus=Completed,Running"
        ),
    )
    .key(&t.system)
    .send(&t.router)
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json(),
        json!({"instancesDeleted": 2}),
        "only finished instances are purged"
    );
    let r = req("GET", &format!("{M}/instances/purge-1"))
        .key(&t.system)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    wait_for(&t, "keep-running", "Running").await;
}

#[tokio::test]
async fn terminate_suspend_resume() {
    let t = start().await;
    let id = start_instance(&t, "wait", Some("ops-1"), "").await;
    wait_for(&t, &id, "Running").await;

    let r = req("POST", &format!("{M}/instances/{id}/suspend?reason=pause"))
        .key(&t.system)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert!(r.body.is_empty());
    wait_for(&t, &id, "Suspended").await;
    let r = req("GET", &format!("{M}/instances/{id}"))
        .key(&t.system)
        .send(&t.router)
        .await;
    assert_eq!(
        r.status,
        StatusCode::ACCEPTED,
        "a suspended instance is not finished"
    );
    let r = req("POST", &format!("{M}/instances/{id}/resume?reason=go"))
        .key(&t.system)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    wait_for(&t, &id, "Running").await;

    let r = req(
        "POST",
        &format!("{M}/instances/{id}/terminate?reason=enough"),
    )
    .key(&t.system)
    .send(&t.router)
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let v = wait_for(&t, &id, "Terminated").await;
    assert_eq!(v["output"], "enough");
    let r = req("GET", &format!("{M}/instances/{id}"))
        .key(&t.system)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::OK);

    for op in ["terminate", "suspend", "resume"] {
        let r = req("POST", &format!("{M}/instances/{id}/{op}"))
            .key(&t.system)
            .send(&t.router)
            .await;
        assert_eq!(r.status, StatusCode::GONE, "{op} on a terminated instance");
        assert!(r.body.is_empty());
        let r = req("POST", &format!("{M}/instances/missing/{op}"))
            .key(&t.system)
            .send(&t.router)
            .await;
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "{op} on an unknown instance"
        );
        assert!(r.body.is_empty());
    }
}

#[tokio::test]
async fn rewind_rules() {
    let t = start().await;
    let failed = start_instance(&t, "flaky", Some("rewind-1"), "").await;
    wait_for(&t, &failed, "Failed").await;
    let done = start_instance(&t, "hello", Some("rewind-done"), r#""x""#).await;
    wait_for(&t, &done, "Completed").await;
    let running = start_instance(&t, "wait", Some("rewind-running"), "").await;
    wait_for(&t, &running, "Running").await;

    let r = req("POST", &format!("{M}/instances/{done}/rewind"))
        .key(&t.system)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::GONE);
    let r = req("POST", &format!("{M}/instances/{running}/rewind"))
        .key(&t.system)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    wait_for(&t, &running, "Running").await;
    let r = req("POST", &format!("{M}/instances/nope/rewind"))
        .key(&t.system)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    t.flaky.0.store(false, Ordering::SeqCst);
    let r = req(
        "POST",
        &format!("{M}/instances/{failed}/rewind?reason=fixed"),
    )
    .key(&t.system)
    .send(&t.router)
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let v = wait_for(&t, &failed, "Completed").await;
    assert_eq!(v["output"], "fixed");
}

#[tokio::test]
async fn restart_rules() {
    let t = start().await;
    let done = start_instance(&t, "hello", Some("restart-1"), r#""Rome""#).await;
    wait_for(&t, &done, "Completed").await;

    let r = req("POST", &format!("{M}/instances/{done}/restart"))
        .key(&t.system)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let new_id = r.json()["id"].as_str().unwrap().to_string();
    assert_ne!(new_id, done);
    assert!(r.header("location").unwrap().contains(&new_id));
    let v = wait_for(&t, &new_id, "Completed").await;
    assert_eq!(v["output"], "Hello Rome!");

    let r = req(
        "POST",
        &format!("{M}/instances/{done}/restart?restartWithNewInstanceId=false"),
    )
    .key(&t.system)
    .send(&t.router)
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(r.json()["id"], done);
    wait_for(&t, &done, "Completed").await;

    let running = start_instance(&t, "wait", Some("restart-running"), "").await;
    wait_for(&t, &running, "Running").await;
    let r = req(
        "POST",
        &format!("{M}/instances/{running}/restart?restartWithNewInstanceId=false"),
    )
    .key(&t.system)
    .send(&t.router)
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = req("POST", &format!("{M}/instances/nope/restart"))
        .key(&t.system)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn raise_event_rules() {
    let t = start().await;
    let id = start_instance(&t, "wait", Some("event-1"), "").await;
    wait_for(&t, &id, "Running").await;
    let path = format!("{M}/instances/{id}/raiseEvent/go");

    let r = req("POST", &path)
        .key(&t.system)
        .header("content-type", "text/plain")
        .body(b"1".to_vec())
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.json()["Message"]
            .as_str()
            .unwrap()
            .contains("application/json")
    );
    let r = req("POST", &path)
        .key(&t.system)
        .body(b"1".to_vec())
        .send(&t.router)
        .await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "a missing content type is refused"
    );
    let r = req("POST", &path)
        .key(&t.system)
        .json("{oops")
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = req("POST", &format!("{M}/instances/nope/raiseEvent/go"))
        .key(&t.system)
        .json("1")
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let r = req("POST", &path)
        .key(&t.system)
        .header("content-type", "application/json; charset=utf-8")
        .body(br#"{"approved": true}"#.to_vec())
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert!(r.body.is_empty());
    let v = wait_for(&t, &id, "Completed").await;
    assert_eq!(v["output"], json!({"approved": true}));
    let r = req("POST", &path)
        .key(&t.system)
        .json("1")
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::GONE);
}
