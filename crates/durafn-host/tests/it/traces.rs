//! Distributed tracing of the test app as a real process, killed with SIGKILL while an activity
//! runs and started again on the same task hub: the job (a retried activity, a timer, the killed
//! activity, a sub-orchestration, an external event) is still one trace with one orchestration
//! span, and the killed attempt shows as a server span of its own, reported by the next delivery.

use std::time::Duration;

use durafn_host::KeyScope;
use durafn_testenv::otlp::{OtlpReceiver, ReceivedSpan, kind};

use crate::process::{AppProcess, M, command, http, key, poll};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const STARTER: &str = "00f067aa0ba902b7";
const RAISER: &str = "53995c3f42cd8ad8";

fn named<'a>(spans: &'a [ReceivedSpan], name: &str, kind: i32) -> Vec<&'a ReceivedSpan> {
    spans
        .iter()
        .filter(|s| s.name == name && s.kind == kind)
        .collect()
}

fn start(root: &std::path::Path, data: &std::path::Path, collector: &OtlpReceiver) -> AppProcess {
    let mut cmd = command(root, data);
    cmd.env("DURAFN_TRACING", "true")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint())
        .env("OTEL_SERVICE_NAME", "traced")
        .env("OTEL_BSP_SCHEDULE_DELAY", "20")
        .env("DURAFN_LEASE_SECONDS", "2");
    AppProcess::spawn(cmd)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_killed_mid_activity_is_one_trace_with_the_lost_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    std::fs::write(
        root.join("host.json"),
        r#"{"version":"2.0","extensions":{"durableTask":{"hubName":"TracedHub"}}}"#,
    )
    .unwrap();
    let data = root.join("data");
    let collector = OtlpReceiver::start();
    let app = start(&root, &data, &collector);
    let master = key(&data, KeyScope::Master, "_master");
    let starter = format!("00-{TRACE}-{STARTER}-01");
    let auth = [
        ("x-functions-key", master.as_str()),
        ("content-type", "application/json"),
    ];
    let r = http(
        app.addr,
        "POST",
        &format!("{M}/orchestrators/traced-job/traced-1"),
        &[auth[0], auth[1], ("traceparent", &starter)],
        b"3000",
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text());

    // Kill the host while the 3-second nap runs (its work item is leased), once the spans that
    // ended before it (the retried activity's, the timers') are at the collector.
    let diagnosis = format!("{M}/durafn/instances/traced-1/diagnosis");
    poll(app.addr, &diagnosis, &auth, |r| {
        r.status == 200
            && r.json()["activities"].as_array().is_some_and(|a| {
                a.iter()
                    .any(|a| a["name"] == "nap-activity" && a["lease"].is_object())
            })
    })
    .await;
    collector.wait_for(Duration::from_secs(30), |spans| {
        named(spans, "activity:fails-once", kind::SERVER).len() == 2
            && named(spans, "orchestration:traced-job:timer", kind::INTERNAL).len() == 2
    });
    let killed_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    drop(app); // SIGKILL

    let app = start(&root, &data, &collector);
    // The nap runs again once the dead host's lease has run out, then the child runs; the job
    // then waits for its event.
    collector.wait_for(Duration::from_secs(60), |spans| {
        !named(spans, "orchestration:sleeper", kind::SERVER).is_empty()
    });
    let raiser = format!("00-{TRACE}-{RAISER}-01");
    let r = http(
        app.addr,
        "POST",
        &format!("{M}/instances/traced-1/raiseEvent/go"),
        &[auth[0], auth[1], ("traceparent", &raiser)],
        br#""go""#,
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text());
    let done = poll(app.addr, &format!("{M}/instances/traced-1"), &auth, |r| {
        r.status == 200
    })
    .await;
    assert_eq!(done.json()["output"], "ok rested rested go");

    let spans = collector.wait_for(Duration::from_secs(30), |spans| {
        !named(spans, "orchestration:traced-job", kind::SERVER).is_empty()
    });
    let ours: Vec<ReceivedSpan> = spans.into_iter().filter(|s| s.trace_id == TRACE).collect();
    let names: Vec<&str> = ours.iter().map(|s| s.name.as_str()).collect();
    let ids: std::collections::HashSet<&str> = ours.iter().map(|s| s.span_id.as_str()).collect();
    assert_eq!(ids.len(), ours.len(), "no span twice: {ours:#?}");

    let create = named(&ours, "create_orchestration:traced-job", kind::PRODUCER);
    assert_eq!(create.len(), 1, "{names:?}");
    assert_eq!(create[0].parent_span_id, STARTER);
    let orchestration = named(&ours, "orchestration:traced-job", kind::SERVER);
    assert_eq!(orchestration.len(), 1, "one orchestration span: {names:?}");
    let orchestration = orchestration[0];
    assert_eq!(orchestration.parent_span_id, create[0].span_id);
    assert!(
        orchestration.start_ns < killed_at,
        "one start: the first turn's, before the kill"
    );
    assert_eq!(
        orchestration.attr("durabletask.task.status"),
        Some("Completed")
    );

    // The retry: two calls, each with its attempt, the first failed.
    let calls = named(&ours, "activity:fails-once", kind::CLIENT);
    let attempts = named(&ours, "activity:fails-once", kind::SERVER);
    assert_eq!((calls.len(), attempts.len()), (2, 2), "{names:?}");
    assert!(
        calls
            .iter()
            .all(|c| c.parent_span_id == orchestration.span_id)
    );
    assert!(
        attempts
            .iter()
            .all(|a| calls.iter().any(|c| c.span_id == a.parent_span_id))
    );
    assert_eq!(attempts.iter().filter(|a| a.error).count(), 1);
    let timers = named(&ours, "orchestration:traced-job:timer", kind::INTERNAL);
    assert_eq!(timers.len(), 2, "the retry's wait and the sleep: {names:?}");

    // The killed nap: one call, two attempts; the first is the lost one, reported on delivery 2.
    let naps: Vec<&ReceivedSpan> = named(&ours, "activity:nap-activity", kind::CLIENT)
        .into_iter()
        .filter(|c| c.parent_span_id == orchestration.span_id)
        .collect();
    assert_eq!(naps.len(), 1, "{names:?}");
    let nap = naps[0];
    let mut runs: Vec<&ReceivedSpan> = named(&ours, "activity:nap-activity", kind::SERVER)
        .into_iter()
        .filter(|s| s.parent_span_id == nap.span_id)
        .collect();
    runs.sort_by_key(|s| s.attr("durafn.delivery").map(str::to_string));
    assert_eq!(runs.len(), 2, "the lost attempt and the re-run: {ours:#?}");
    let (lost, rerun) = (runs[0], runs[1]);
    assert_eq!(lost.attr("durafn.delivery"), Some("1"));
    assert!(lost.error, "{lost:#?}");
    assert_eq!(lost.message, "attempt abandoned: host lost its lease");
    assert!(nap.start_ns <= lost.start_ns && lost.start_ns <= lost.end_ns);
    assert!(lost.start_ns < killed_at, "{lost:#?}");
    assert_eq!(rerun.attr("durafn.delivery"), Some("2"));
    assert!(!rerun.error);
    assert!(lost.end_ns <= rerun.start_ns && rerun.end_ns <= nap.end_ns);

    // The sub-orchestration and its activity, and the event from the raise's caller.
    let child_call = named(&ours, "orchestration:sleeper", kind::CLIENT);
    assert_eq!(child_call.len(), 1, "{names:?}");
    assert_eq!(child_call[0].parent_span_id, orchestration.span_id);
    let child = named(&ours, "orchestration:sleeper", kind::SERVER);
    assert_eq!(child.len(), 1, "{names:?}");
    assert_eq!(child[0].parent_span_id, child_call[0].span_id);
    let event = named(&ours, "orchestration_event:go", kind::PRODUCER);
    assert_eq!(event.len(), 1, "{names:?}");
    assert_eq!(event[0].parent_span_id, RAISER);
    assert_eq!(
        event[0].attr("durabletask.event.target_instance_id"),
        Some("traced-1")
    );
    // create, orchestration, 2+2 fails-once, 2 timers, nap call + 2 attempts, child call, child,
    // the child's nap call + attempt, event: nothing else.
    assert_eq!(ours.len(), 16, "{names:?}");
}
