//! Large payloads through the management API: 1 MB in and out, and the payload limit's 413.

use axum::http::StatusCode;

use crate::api::common::{M, req, start_instance, start_with, wait_for};

#[tokio::test]
async fn a_megabyte_goes_through_and_a_payload_over_the_limit_gets_413() {
    const LIMIT: usize = 2 * 1024 * 1024;
    let t = start_with(|mut c| {
        c.max_request_body_bytes = 10 * 1024 * 1024;
        c.runtime.max_payload_bytes = LIMIT;
        c
    })
    .await;
    // 1 MB in as the input, 1 MB out of the activity, read back as the output.
    let name = "n".repeat(1_000_000);
    let id = start_instance(&t, "hello", None, &format!("\"{name}\"")).await;
    let status = wait_for(&t, &id, "Completed").await;
    assert_eq!(status["output"], format!("Hello {name}!"));
    assert_eq!(status["input"], name);

    // Over the payload limit but within the body limit: 413 with a JSON message naming it.
    let big = format!("\"{}\"", "b".repeat(LIMIT + 1));
    let r = req("POST", &format!("{M}/orchestrators/hello"))
        .key(&t.system)
        .json(&big)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
    let message = r.json()["Message"].as_str().unwrap().to_string();
    assert!(message.contains(&LIMIT.to_string()), "{message}");
    assert!(message.contains("maxPayloadSize"), "{message}");

    // So is an event's data.
    let waiting = start_instance(&t, "wait", None, "null").await;
    wait_for(&t, &waiting, "Running").await;
    let r = req("POST", &format!("{M}/instances/{waiting}/raiseEvent/go"))
        .key(&t.system)
        .json(&big)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
    assert!(
        r.json()["Message"]
            .as_str()
            .unwrap()
            .contains(&LIMIT.to_string())
    );
}
