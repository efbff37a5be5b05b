//! Jobs submitted on a queue (Azurite's queue service): a message `{"s": …, "e": …}` starts the
//! same orchestration as the client function, with the same result. Runs when
//! `DURAFN_TEST_AZURITE` is set (and must, under `CI=true`).

use crate::common;

use std::time::Duration;

use common::{RunningApp, instance_id, poll};
use durafn_azure::queue::{QueueService, SendOptions};

#[test]
fn a_queue_message_submits_the_same_job_as_the_client_function() {
    let setting = std::env::var("DURAFN_TEST_AZURITE").unwrap_or_default();
    if setting.trim().is_empty() {
        assert!(
            std::env::var("CI").map_or(true, |ci| ci != "true"),
            "CI=true but DURAFN_TEST_AZURITE is not set: the Azurite tests must run in CI"
        );
        println!("skipped: set DURAFN_TEST_AZURITE to run against Azurite");
        return;
    }
    let queue_name = format!("audit-jobs-{}", std::process::id());
    let root = tempfile::tempdir().expect("temp dir");
    let app = RunningApp::start(
        root.path(),
        &[
            ("AzureWebJobsStorage", "UseDevelopmentStorage=true"),
            ("AuditJobsQueue", queue_name.as_str()),
        ],
    );
    // The same job by HTTP, for the expected result.
    let submitted = app.get("/api/submit/query?s=10/10/2021&e=10/12/2021");
    assert_eq!(submitted.status, 200, "{}", submitted.body);
    let body: serde_json::Value = serde_json::from_str(&submitted.body).unwrap();
    let by_http = instance_id(body["statusUri"].as_str().unwrap()).to_string();
    let result = |id: &str| {
        poll(Duration::from_secs(60), || {
            let r = app.get(&format!("/api/status/{id}"));
            let v: serde_json::Value = serde_json::from_str(&r.body).ok()?;
            (v["status"] == "Completed").then(|| v["result"].clone())
        })
        .unwrap_or_else(|| panic!("job {id} did not complete:\n{}", app.output()))
    };
    let expected = result(&by_http);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let queue = QueueService::from_connection_string("UseDevelopmentStorage=true")
        .unwrap()
        .queue(&queue_name)
        .unwrap();
    let sent = runtime.block_on(async {
        queue.create().await.unwrap();
        queue
            .send(
                br#"{"s":"10/10/2021","e":"10/12/2021"}"#,
                &SendOptions::default(),
            )
            .await
            .unwrap()
    });
    assert_eq!(result(&format!("queue-{}", sent.id)), expected);
    runtime.block_on(async {
        queue.delete().await.unwrap();
        let _ = queue.poison_queue().unwrap().delete().await;
    });
}
