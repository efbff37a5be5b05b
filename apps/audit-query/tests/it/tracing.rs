//! Distributed tracing of the seed app's job, end to end: the app binary exports over OTLP/HTTP
//! to a test collector, and a job submitted with a `traceparent` is one trace holding the HTTP
//! trigger's span, the start, the orchestration and the activity's call and attempt, each under
//! the span that caused it.

use crate::common;

use std::time::Duration;

use common::{RunningApp, get_with, poll};
use durafn_testenv::otlp::{OtlpReceiver, ReceivedSpan, kind};

const CALLER_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const CALLER_SPAN: &str = "b7ad6b7169203331";

fn one<'a>(spans: &'a [ReceivedSpan], name: &str, kind: i32) -> &'a ReceivedSpan {
    let found: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|s| s.name == name && s.kind == kind)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one {name} span (kind {kind}) in {spans:#?}"
    );
    found[0]
}

#[test]
fn a_submitted_job_is_one_trace() {
    let collector = OtlpReceiver::start();
    let endpoint = collector.endpoint();
    let root = tempfile::tempdir().expect("temp dir");
    let app = RunningApp::start(
        root.path(),
        &[
            ("DURAFN_TRACING", "true"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_SERVICE_NAME", "audit-query"),
            ("OTEL_BSP_SCHEDULE_DELAY", "50"),
            ("AuditQueryDelayMs", "200"),
        ],
    );
    let traceparent = format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01");
    let submitted = get_with(
        app.port,
        "/api/submit/query?s=10/10/2021&e=10/12/2021",
        &[("traceparent", &traceparent)],
    );
    assert_eq!(submitted.status, 200, "{}", submitted.body);
    let status = submitted
        .body
        .split("/api/status/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a status URI")
        .to_string();
    poll(Duration::from_secs(60), || {
        let r = app.get(&format!("/api/status/{status}"));
        r.body.contains("Completed").then_some(())
    })
    .unwrap_or_else(|| panic!("the job did not complete:\n{}", app.output()));

    let spans = collector.wait_for(Duration::from_secs(30), |spans| {
        spans
            .iter()
            .any(|s| s.name == "orchestration:orchestrator-function")
            && spans
                .iter()
                .filter(|s| s.name.starts_with("activity:"))
                .count()
                >= 2
    });
    let ours: Vec<ReceivedSpan> = spans
        .iter()
        .filter(|s| s.trace_id == CALLER_TRACE)
        .cloned()
        .collect();
    assert!(ours.iter().all(|s| s.service == "audit-query"), "{ours:#?}");

    let trigger = one(&ours, "GET /api/submit/query", kind::SERVER);
    assert_eq!(trigger.parent_span_id, CALLER_SPAN);
    assert_eq!(trigger.attr("http.response.status_code"), Some("200"));
    let create = one(
        &ours,
        "create_orchestration:orchestrator-function",
        kind::PRODUCER,
    );
    assert_eq!(create.parent_span_id, trigger.span_id);
    let orchestration = one(&ours, "orchestration:orchestrator-function", kind::SERVER);
    assert_eq!(orchestration.parent_span_id, create.span_id);
    assert_eq!(
        orchestration.attr("durabletask.type"),
        Some("orchestration")
    );
    assert_eq!(
        orchestration.attr("durabletask.task.instance_id"),
        Some(status.as_str())
    );
    assert_eq!(
        orchestration.attr("durabletask.task.status"),
        Some("Completed")
    );
    let activity = "activity:query-storage-account-activity-function";
    let call = one(&ours, activity, kind::CLIENT);
    assert_eq!(call.parent_span_id, orchestration.span_id);
    assert_eq!(call.attr("durabletask.task.task_id"), Some("0"));
    let attempt = one(&ours, activity, kind::SERVER);
    assert_eq!(attempt.parent_span_id, call.span_id);
    assert!(call.start_ns <= attempt.start_ns && attempt.end_ns <= call.end_ns);
    assert!(orchestration.start_ns <= call.start_ns && call.end_ns <= orchestration.end_ns);
    assert_eq!(ours.len(), 5, "nothing else, nothing twice: {ours:#?}");
}

/// The app is killed with SIGKILL while the activity runs and started again on the same task
/// hub: the job is still one trace with one orchestration span (one start, recorded by the first
/// turn before the crash), one call of the activity, and two attempts under it: the killed one
/// (delivery 1, an error, reported by the next delivery since its host died) and the re-run.
#[test]
fn a_job_killed_mid_way_is_still_one_trace() {
    let collector = OtlpReceiver::start();
    let endpoint = collector.endpoint();
    let root = tempfile::tempdir().expect("temp dir");
    let env = [
        ("DURAFN_TRACING", "true"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_SERVICE_NAME", "audit-query"),
        ("OTEL_BSP_SCHEDULE_DELAY", "50"),
        ("AuditQueryDelayMs", "3000"),
        ("DURAFN_LEASE_SECONDS", "2"),
    ];
    let app = RunningApp::start(root.path(), &env);
    let keys = std::fs::read_to_string(root.path().join("data/keys.json")).expect("keys file");
    let keys: serde_json::Value = serde_json::from_str(&keys).expect("keys json");
    let master = keys["masterKey"]
        .as_str()
        .expect("a master key")
        .to_string();
    let traceparent = format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01");
    let submitted = get_with(
        app.port,
        "/api/submit/query?s=10/10/2021&e=10/12/2021",
        &[("traceparent", &traceparent)],
    );
    assert_eq!(submitted.status, 200, "{}", submitted.body);
    let id = submitted
        .body
        .split("/api/status/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a status URI")
        .to_string();
    // Wait until the activity runs (its work item is leased), then kill the host.
    let diagnosis = format!("/runtime/webhooks/durabletask/durafn/instances/{id}/diagnosis");
    poll(Duration::from_secs(30), || {
        let r = get_with(app.port, &diagnosis, &[("x-functions-key", &master)]);
        let v: serde_json::Value = serde_json::from_str(&r.body).ok()?;
        v["activities"][0]["lease"].is_object().then_some(())
    })
    .unwrap_or_else(|| panic!("the activity did not start:\n{}", app.output()));
    // The spans that ended before the crash (the request's, the start's) are exported first.
    collector.wait_for(Duration::from_secs(30), |spans| {
        spans
            .iter()
            .any(|s| s.name == "create_orchestration:orchestrator-function")
    });
    drop(app);

    let app = RunningApp::start(root.path(), &env);
    poll(Duration::from_secs(60), || {
        let r = app.get(&format!("/api/status/{id}"));
        r.body.contains("Completed").then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "the job did not complete after the restart:\n{}",
            app.output()
        )
    });
    let spans = collector.wait_for(Duration::from_secs(30), |spans| {
        spans
            .iter()
            .any(|s| s.name == "orchestration:orchestrator-function")
    });
    let ours: Vec<ReceivedSpan> = spans
        .into_iter()
        .filter(|s| s.trace_id == CALLER_TRACE)
        .collect();
    let trigger = one(&ours, "GET /api/submit/query", kind::SERVER);
    let create = one(
        &ours,
        "create_orchestration:orchestrator-function",
        kind::PRODUCER,
    );
    assert_eq!(create.parent_span_id, trigger.span_id);
    let orchestration = one(&ours, "orchestration:orchestrator-function", kind::SERVER);
    assert_eq!(orchestration.parent_span_id, create.span_id);
    assert!(
        orchestration.start_ns < trigger.end_ns + 1_000_000_000,
        "the span starts with the first turn, before the crash"
    );
    let activity = "activity:query-storage-account-activity-function";
    let call = one(&ours, activity, kind::CLIENT);
    assert_eq!(call.parent_span_id, orchestration.span_id);
    let mut attempts: Vec<&ReceivedSpan> = ours
        .iter()
        .filter(|s| s.name == activity && s.kind == kind::SERVER)
        .collect();
    attempts.sort_by_key(|s| s.attr("durafn.delivery").map(str::to_string));
    assert_eq!(
        attempts.len(),
        2,
        "the lost attempt and the re-run: {ours:#?}"
    );
    assert!(attempts.iter().all(|a| a.parent_span_id == call.span_id));
    let (lost, rerun) = (attempts[0], attempts[1]);
    assert_eq!(lost.attr("durafn.delivery"), Some("1"));
    assert!(lost.error);
    assert_eq!(lost.message, "attempt abandoned: host lost its lease");
    assert_eq!(rerun.attr("durafn.delivery"), Some("2"), "the re-run");
    assert!(!rerun.error);
    assert!(call.start_ns <= lost.start_ns && lost.end_ns <= rerun.start_ns);
    assert_eq!(ours.len(), 6, "nothing twice: {ours:#?}");
}
