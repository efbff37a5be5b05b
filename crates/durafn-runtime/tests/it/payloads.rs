//! Large payloads and the payload limit, on every backend (see `backends.rs`): 1 MB through a
//! start, an activity and the output; and what the limit refuses or fails, each naming it.

use std::sync::Arc;

use durafn_core::{RuntimeStatus, SystemFailure};
use durafn_runtime::{ClientError, DEFAULT_MAX_PAYLOAD_BYTES, RuntimeOptions};
use durafn_store::Store;
use serde_json::json;

use crate::app::{done, start};

const MB: usize = 1_000_000;

/// A megabyte in as the input (handed on to the activity), a megabyte out of the activity,
/// read back as the output; under the default limit.
pub(crate) async fn a_megabyte_in_and_out(store: Arc<dyn Store>) {
    const { assert!(DEFAULT_MAX_PAYLOAD_BYTES > MB + 2) };
    let h = start(store, RuntimeOptions::default());
    let c = &h.client;
    let input = ("i".repeat(MB), 1, MB, 1);
    c.start_new("big", Some("mb"), &input).await.expect("start");
    let s = done(c, "mb").await;
    assert_eq!(
        s.runtime_status,
        RuntimeStatus::Completed,
        "{:?}",
        s.failure
    );
    assert_eq!(s.output.expect("output").to_value(), json!("o".repeat(MB)));
    assert_eq!(
        s.input.expect("input").len(),
        "[\"".len() + MB + "\",1,1000000,1]".len()
    );
    h.runtime.shutdown().await;
}

/// Over the limit: a start is refused, an activity's result fails its task, an orchestration's
/// output or an activity input it schedules fails the instance; every message names the limit.
pub(crate) async fn the_payload_limit_refuses_and_fails_with_its_code(store: Arc<dyn Store>) {
    const LIMIT: usize = 64 * 1024;
    let options = RuntimeOptions {
        max_payload_bytes: LIMIT,
        ..Default::default()
    };
    let h = start(store, options);
    let c = &h.client;
    let refused = c
        .start_new("big", Some("in"), &("i".repeat(LIMIT), 1, 1, 1))
        .await;
    match refused {
        Err(ClientError::PayloadTooLarge { size, limit, .. }) => {
            assert_eq!(limit, LIMIT);
            assert!(size > LIMIT);
            let message = refused.unwrap_err().to_string();
            assert!(message.contains("65536"), "{message}");
        }
        other => panic!("expected PayloadTooLarge, got {other:?}"),
    }
    assert!(
        c.get_status("in", Default::default())
            .await
            .unwrap()
            .is_none()
    );

    // The activity returns more than the limit: its task fails, the orchestration sees why.
    c.start_new("big", Some("result"), &("i", 1, LIMIT + 1, 1))
        .await
        .expect("start");
    let s = done(c, "result").await;
    assert_eq!(
        s.runtime_status,
        RuntimeStatus::Completed,
        "{:?}",
        s.failure
    );
    let out = s.output.expect("output").to_value();
    assert_eq!(out["code"], SystemFailure::PayloadTooLarge.code(), "{out}");
    let message = out["message"].as_str().unwrap();
    assert!(
        message.contains("activity 'blob'") && message.contains("65536"),
        "{message}"
    );

    // The orchestration's output is over the limit: the instance fails with the code.
    c.start_new("big", Some("output"), &("i", 1, LIMIT / 2, 3))
        .await
        .expect("start");
    let s = done(c, "output").await;
    assert_eq!(s.runtime_status, RuntimeStatus::Failed);
    let failure = s.failure.expect("failure");
    assert!(failure.is(SystemFailure::PayloadTooLarge), "{failure:?}");
    assert!(
        failure.message.contains("its output") && failure.message.contains("65536"),
        "{}",
        failure.message
    );
    assert!(s.output.is_none());

    // An activity input it schedules is over the limit (its own input was not): it fails too.
    c.start_new("big", Some("scheduled"), &("i".repeat(LIMIT / 2), 2, 1, 1))
        .await
        .expect("start");
    let s = done(c, "scheduled").await;
    assert_eq!(s.runtime_status, RuntimeStatus::Failed);
    let failure = s.failure.expect("failure");
    assert!(failure.is(SystemFailure::PayloadTooLarge), "{failure:?}");
    assert!(
        failure.message.contains("the input of activity 'blob'"),
        "{}",
        failure.message
    );
    h.runtime.shutdown().await;
}
