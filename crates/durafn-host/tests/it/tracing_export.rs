//! The span exporter against real collectors: OTLP over gRPC, a collector that never answers
//! (spans the export queue cannot take are dropped and counted, the app does not slow down), and
//! the JSON log lines of a traced job, each naming its instance, execution, function and trace.

use std::time::{Duration, Instant};

use durafn_core::RuntimeStatus;
use durafn_host::{AppSettings, Host, HostArgs, HostConfig, KeyScope};
use durafn_testenv::otlp::{OtlpReceiver, kind};

use crate::process::{AppProcess, M, command, http, key, poll};

/// A host on its SQLite task hub with tracing on and the given settings, running `fan`, which
/// calls `square` `n` times.
async fn traced_host(root: &std::path::Path, settings: AppSettings) -> Host {
    let host_json = r#"{"version":"2.0","extensions":{"durableTask":{"hubName":"Exported","tracing":{"distributedTracingEnabled":true}}}}"#;
    let args = HostArgs {
        data_dir: Some(root.join("data")),
        port: Some(0),
        ..HostArgs::default()
    };
    let config = HostConfig::from_parts(root.to_path_buf(), &args, settings, Some(host_json))
        .expect("config");
    crate::apps::fan()
        .config(config)
        .start()
        .await
        .expect("the host starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_export_over_grpc() {
    let collector = OtlpReceiver::start_grpc();
    let root = tempfile::tempdir().unwrap();
    let settings = AppSettings::new()
        .with("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint())
        .with("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        .with("OTEL_SERVICE_NAME", "over-grpc");
    let host = traced_host(root.path(), settings).await;
    let client = host.client();
    let id = client.start_new("fan", None, &3).await.unwrap();
    let done = client
        .wait_for_completion(id.as_str(), Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(done.runtime_status, RuntimeStatus::Completed);
    host.shutdown().await; // flushes the exporter
    let spans = collector.wait_for(Duration::from_secs(30), |spans| {
        spans.iter().any(|s| s.name == "orchestration:fan")
    });
    let orchestration = spans
        .iter()
        .find(|s| s.name == "orchestration:fan" && s.kind == kind::SERVER)
        .unwrap_or_else(|| panic!("the orchestration span over gRPC: {spans:#?}"));
    assert_eq!(orchestration.service, "over-grpc");
    assert_eq!(
        orchestration.attr("durabletask.task.instance_id"),
        Some(id.as_str())
    );
    let attempts = spans
        .iter()
        .filter(|s| s.name == "activity:square" && s.kind == kind::SERVER)
        .count();
    assert_eq!(attempts, 3, "{spans:#?}");
}

/// A collector that accepts connections and never answers holds the first batch; the queue
/// (8 spans here) fills and every span after it is dropped and counted at once, long before
/// the exporter's 10-second timeout could count a failed export. The job is not slowed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_the_export_queue_cannot_take_are_counted() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let held = std::thread::spawn(move || {
        // Keep every connection open without reading or answering.
        silent.incoming().flatten().collect::<Vec<_>>()
    });
    let root = tempfile::tempdir().unwrap();
    let settings = AppSettings::new()
        .with("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        .with("OTEL_BSP_MAX_QUEUE_SIZE", "8");
    let host = traced_host(root.path(), settings).await;
    let master = host.keys().master_key();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = host.router();
    let server = tokio::spawn(async move { axum::serve(listener, router).await });

    let started = Instant::now();
    let client = host.client();
    let id = client.start_new("fan", None, &40).await.unwrap();
    let done = client
        .wait_for_completion(id.as_str(), Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(done.runtime_status, RuntimeStatus::Completed);
    let ran = started.elapsed();
    let r = http(
        addr,
        "GET",
        "/metrics",
        &[("x-functions-key", &master)],
        b"",
    )
    .await;
    let text = r.text();
    let dropped: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("durafn_spans_dropped_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no span-drop counter in\n{text}"));
    let elapsed = started.elapsed();
    println!("job ran in {ran:?}; {dropped} spans dropped after {elapsed:?}");
    assert!(
        elapsed < Duration::from_secs(8),
        "checked before an export timeout could count: {elapsed:?}"
    );
    // 40 calls and 40 attempts alone are 80 spans; at most 8 wait in the queue.
    assert!(dropped >= 80 - 8, "{dropped} dropped");
    server.abort();
    drop(held);
}

/// With `DURAFN_LOG_FORMAT=json` each line is one JSON object; those logged inside a turn, an
/// activity and an HTTP function carry its function name and the trace id, and a turn's and an
/// activity's its instance and execution.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_log_lines_name_instance_execution_function_and_trace() {
    const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    std::fs::write(
        root.join("host.json"),
        r#"{"version":"2.0","extensions":{"durableTask":{"hubName":"LogHub"}}}"#,
    )
    .unwrap();
    let data = root.join("data");
    let collector = OtlpReceiver::start();
    let mut cmd = command(&root, &data);
    cmd.env("DURAFN_TRACING", "true")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint())
        .env("DURAFN_LOG", "info")
        .env("DURAFN_LOG_FORMAT", "json");
    let app = AppProcess::spawn(cmd);
    let master = key(&data, KeyScope::Master, "_master");
    let auth = [
        ("x-functions-key", master.as_str()),
        ("content-type", "application/json"),
    ];
    let parent = format!("00-{TRACE}-b7ad6b7169203331-01");
    let r = http(
        app.addr,
        "POST",
        &format!("{M}/orchestrators/traced-job/logged-1"),
        &[auth[0], auth[1], ("traceparent", &parent)],
        b"1",
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text());
    let r = http(
        app.addr,
        "GET",
        "/api/nap?ms=1",
        &[("traceparent", &parent)],
        b"",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = http(
        app.addr,
        "POST",
        &format!("{M}/instances/logged-1/raiseEvent/go"),
        &auth,
        br#""go""#,
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text());
    poll(app.addr, &format!("{M}/instances/logged-1"), &auth, |r| {
        r.status == 200
    })
    .await;

    // The lines are read off the app's stderr by a thread: wait for each with a deadline.
    let logged = |message: &str| -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let lines: Vec<serde_json::Value> = app
                .stderr_lines()
                .iter()
                .map(|l| {
                    serde_json::from_str(l)
                        .unwrap_or_else(|e| panic!("not one JSON object ({e}): {l}"))
                })
                .collect();
            let found = lines
                .iter()
                .find(|l| l["message"].as_str().is_some_and(|m| m.contains(message)));
            if let Some(line) = found {
                return line.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no line {message:?} in {lines:#?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let turn = logged("traced-job waits for go");
    assert_eq!(turn["span"]["function"], "traced-job", "{turn}");
    assert_eq!(turn["span"]["instance_id"], "logged-1");
    assert!(
        turn["span"]["execution_id"]
            .as_str()
            .is_some_and(|e| !e.is_empty())
    );
    assert_eq!(turn["span"]["trace_id"], TRACE);
    let activity = logged("fails-once runs");
    assert_eq!(activity["span"]["function"], "fails-once", "{activity}");
    assert_eq!(activity["span"]["instance_id"], "logged-1");
    assert_eq!(
        activity["span"]["execution_id"], turn["span"]["execution_id"],
        "{activity}"
    );
    assert_eq!(activity["span"]["trace_id"], TRACE);
    let function = logged("nap handler");
    assert_eq!(function["span"]["function"], "nap", "{function}");
    assert_eq!(function["span"]["trace_id"], TRACE);
}
