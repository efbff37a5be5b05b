//! Distributed tracing: one orchestration with a retried activity, a timer, a sub-orchestration
//! and an external event gives one trace, parented as the Durable Task tools parent it, with no
//! span emitted twice, also when every turn replays the whole history.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use durafn_core::trace::{TraceParent, hex};
use durafn_core::{
    EventKind, FunctionError, OrchestrationContext, Registry, RetryOptions, TraceContext,
    activity_fn, orchestrator_fn,
};
use durafn_runtime::{
    Runtime, RuntimeOptions, SpanKind, SpanRecord, SpanSink, SpanValue, StartOptions, StatusOptions,
};
use durafn_store::Store;
use durafn_store::memory::MemoryStore;

const WAIT: Duration = Duration::from_secs(20);
const CALLER: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[derive(Default)]
struct Collect(Mutex<Vec<SpanRecord>>);

impl SpanSink for Collect {
    fn emit(&self, spans: Vec<SpanRecord>) {
        self.0.lock().unwrap().extend(spans);
    }
}

fn registry(failures: Arc<AtomicU32>) -> Arc<Registry> {
    Arc::new(
        Registry::builder()
            .orchestrator(orchestrator_fn(
                "traced",
                |ctx: OrchestrationContext, _: ()| async move {
                    let retry = RetryOptions::new(Duration::from_millis(5), 3);
                    let a: String = ctx.call_activity_with_retry("flaky", &(), retry).await?;
                    ctx.sleep(Duration::from_millis(5)).await;
                    let child: u32 = ctx.call_sub_orchestrator("child", None, &20).await?;
                    let go: String = ctx.wait_for_external_event("go").await?;
                    Ok::<_, FunctionError>(format!("{a} {child} {go}"))
                },
            ))
            .orchestrator(orchestrator_fn(
                "child",
                |ctx: OrchestrationContext, n: u32| async move {
                    Ok::<_, FunctionError>(ctx.call_activity::<u32>("double", &n).await?)
                },
            ))
            .activity(activity_fn("flaky", move |_ctx, _: ()| {
                let failures = failures.clone();
                async move {
                    if failures.fetch_add(1, Ordering::SeqCst) == 0 {
                        return Err(FunctionError::msg("the first attempt fails"));
                    }
                    Ok::<_, FunctionError>("ok".to_string())
                }
            }))
            .activity(activity_fn("double", |_ctx, n: u32| async move {
                Ok::<_, FunctionError>(n * 2)
            }))
            .build()
            .expect("registry"),
    )
}

fn attr<'a>(span: &'a SpanRecord, key: &str) -> Option<&'a SpanValue> {
    span.attributes
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

fn named<'a>(spans: &'a [SpanRecord], name: &str, kind: SpanKind) -> Vec<&'a SpanRecord> {
    spans
        .iter()
        .filter(|s| s.name == name && s.kind == kind)
        .collect()
}

async fn run(cache: usize) {
    let sink = Arc::new(Collect::default());
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let runtime = Runtime::builder(store, registry(Arc::default()))
        .options(RuntimeOptions {
            instance_cache_size: cache,
            ..RuntimeOptions::default()
        })
        .span_sink(sink.clone())
        .start();
    let client = runtime.client();
    let id = client
        .start_new_with(
            "traced",
            &(),
            StartOptions {
                trace_context: Some(TraceContext::new(CALLER)),
                ..StartOptions::default()
            },
        )
        .await
        .expect("start");
    // Raised by the same caller (as the management API does with a request's `traceparent`).
    durafn_runtime::with_trace_context(
        Some(TraceContext::new(CALLER)),
        client.raise_event(id.as_str(), "go", &"go"),
    )
    .await
    .expect("raise");
    let done = tokio::time::timeout(WAIT, client.wait_for_completion(id.as_str(), WAIT))
        .await
        .expect("in time")
        .expect("status");
    assert_eq!(done.output.unwrap().as_json(), "\"ok 40 go\"");
    // The child's spans and the parent's are emitted after their commits; the parent finishing
    // means every span of the run has been handed over except the event's (emitted by the
    // client at once) — all are in by now.
    let history = client
        .get_status(
            id.as_str(),
            StatusOptions {
                show_history: true,
                show_input: false,
            },
        )
        .await
        .unwrap()
        .unwrap()
        .history
        .unwrap();
    runtime.shutdown().await;

    let spans = sink.0.lock().unwrap().clone();
    let caller = TraceParent::parse(CALLER).unwrap();
    assert!(
        spans.iter().all(|s| s.trace_id == caller.trace_id),
        "one trace"
    );
    let ids: HashSet<[u8; 8]> = spans.iter().map(|s| s.span_id).collect();
    assert_eq!(ids.len(), spans.len(), "no span twice: {spans:#?}");

    let create = named(&spans, "create_orchestration:traced", SpanKind::Producer);
    assert_eq!(create.len(), 1);
    assert_eq!(create[0].parent_span_id, Some(caller.span_id));

    let orchestration = named(&spans, "orchestration:traced", SpanKind::Server);
    assert_eq!(orchestration.len(), 1, "one orchestration span");
    let orchestration = orchestration[0];
    assert_eq!(orchestration.parent_span_id, Some(create[0].span_id));
    assert!(
        matches!(attr(orchestration, "durabletask.task.status"), Some(SpanValue::Str(s)) if s == "Completed")
    );
    // The span id and start recorded on ExecutionStarted are the span's.
    let Some(EventKind::ExecutionStarted {
        parent_trace_context: Some(recorded),
        ..
    }) = history
        .iter()
        .map(|e| &e.kind)
        .find(|k| matches!(k, EventKind::ExecutionStarted { .. }))
    else {
        panic!("history has ExecutionStarted");
    };
    assert_eq!(
        recorded.span_id.as_deref(),
        Some(hex(&orchestration.span_id).as_str())
    );
    assert_eq!(recorded.span_start_time, Some(orchestration.start));

    let clients = named(&spans, "activity:flaky", SpanKind::Client);
    let servers = named(&spans, "activity:flaky", SpanKind::Server);
    assert_eq!((clients.len(), servers.len()), (2, 2), "two attempts");
    for client in &clients {
        assert_eq!(client.parent_span_id, Some(orchestration.span_id));
    }
    for server in &servers {
        assert!(
            clients
                .iter()
                .any(|c| Some(c.span_id) == server.parent_span_id),
            "each attempt under its call"
        );
    }
    assert_eq!(servers.iter().filter(|s| s.error.is_some()).count(), 1);
    assert_eq!(clients.iter().filter(|s| s.error.is_some()).count(), 1);

    let timers = named(&spans, "orchestration:traced:timer", SpanKind::Internal);
    assert_eq!(timers.len(), 2, "the retry's wait and the sleep");
    assert!(
        timers
            .iter()
            .all(|t| attr(t, "durabletask.fire_at").is_some())
    );

    let call = named(&spans, "orchestration:child", SpanKind::Client);
    assert_eq!(call.len(), 1);
    assert_eq!(call[0].parent_span_id, Some(orchestration.span_id));
    let child = named(&spans, "orchestration:child", SpanKind::Server);
    assert_eq!(child.len(), 1);
    assert_eq!(child[0].parent_span_id, Some(call[0].span_id));
    let double = named(&spans, "activity:double", SpanKind::Server);
    assert_eq!(double.len(), 1);

    let event = named(&spans, "orchestration_event:go", SpanKind::Producer);
    assert_eq!(event.len(), 1);
    assert_eq!(event[0].parent_span_id, Some(caller.span_id));
    // create, orchestration, 2+2 flaky, 2 timers, child call + child + its 2 activity spans, event
    assert_eq!(
        spans.len(),
        13,
        "{:#?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_parented_as_durable_task_parents_it() {
    run(1024).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_every_turn_emits_nothing_twice() {
    run(0).await;
}

/// `call_http` sends the W3C `traceparent` of the HTTP activity's attempt on the durable HTTP
/// request, so the called service's spans are children of that attempt in the same trace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_http_sends_the_attempts_traceparent() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel::<String>();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = vec![0u8; 8192];
            let n = socket.read(&mut buf).await.unwrap_or(0);
            let _ = seen_tx.send(String::from_utf8_lossy(&buf[..n]).to_string());
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .await;
        }
    });
    let registry = Registry::builder()
        .orchestrator(orchestrator_fn(
            "caller",
            move |ctx: OrchestrationContext, _: ()| async move {
                let uri = format!("http://127.0.0.1:{port}/hook");
                let r = ctx
                    .call_http(durafn_core::DurableHttpRequest::get(uri))
                    .await?;
                Ok::<_, FunctionError>(r.status_code)
            },
        ))
        .build()
        .expect("registry");
    let sink = Arc::new(Collect::default());
    let runtime = Runtime::builder(Arc::new(MemoryStore::new()), Arc::new(registry))
        .span_sink(sink.clone())
        .start();
    let client = runtime.client();
    let id = client
        .start_new_with(
            "caller",
            &(),
            StartOptions {
                trace_context: Some(TraceContext::new(CALLER)),
                ..StartOptions::default()
            },
        )
        .await
        .expect("start");
    let done = client
        .wait_for_completion(id.as_str(), WAIT)
        .await
        .expect("done");
    assert_eq!(done.output.unwrap().as_json(), "200");
    runtime.shutdown().await;

    let request = seen.recv().await.expect("the request arrived");
    let header = request
        .lines()
        .find_map(|l| l.strip_prefix("traceparent: "))
        .unwrap_or_else(|| panic!("a traceparent header in {request:?}"));
    let sent = TraceParent::parse(header.trim()).expect("W3C trace context");
    let spans = sink.0.lock().unwrap().clone();
    let name = format!("activity:{}", durafn_core::context::HTTP_ACTIVITY_NAME);
    let attempt = named(&spans, &name, SpanKind::Server);
    assert_eq!(attempt.len(), 1, "{spans:#?}");
    let caller = TraceParent::parse(CALLER).unwrap();
    assert_eq!(sent.trace_id, caller.trace_id, "the caller's trace");
    assert_eq!(
        sent.span_id, attempt[0].span_id,
        "the attempt is the parent"
    );
    assert_eq!(sent.flags, 1);
}

/// A host that dies holding an activity never ends that attempt's span; the delivery that
/// re-runs it reports it: an error span under the same call, numbered 1, ending when the dead
/// host's lease ran out and one lease long. The re-run is delivery 2, and nothing is twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_attempt_is_reported_by_the_next_delivery() {
    let registry = Arc::new(
        Registry::builder()
            .orchestrator(orchestrator_fn(
                "doubler",
                |ctx: OrchestrationContext, n: u32| async move {
                    Ok::<_, FunctionError>(ctx.call_activity::<u32>("double", &n).await?)
                },
            ))
            .activity(activity_fn("double", |_ctx, n: u32| async move {
                Ok::<_, FunctionError>(n * 2)
            }))
            .build()
            .expect("registry"),
    );
    let sink = Arc::new(Collect::default());
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let lease = Duration::from_millis(300);
    let options = |orchestrations: bool| RuntimeOptions {
        lease,
        max_poll_interval: Duration::from_millis(20),
        run_orchestrations: orchestrations,
        run_activities: !orchestrations,
        ..RuntimeOptions::default()
    };
    let orchestrator = Runtime::builder(store.clone(), registry.clone())
        .options(options(true))
        .span_sink(sink.clone())
        .start();
    let client = orchestrator.client();
    let id = client
        .start_new_with(
            "doubler",
            &21,
            StartOptions {
                trace_context: Some(TraceContext::new(CALLER)),
                ..StartOptions::default()
            },
        )
        .await
        .expect("start");
    // The host that dies: it takes the activity's lease and is never heard of again.
    let deadline = std::time::Instant::now() + WAIT;
    let (taken, dead_until) = loop {
        let now = chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now());
        let request = durafn_store::FetchRequest {
            owner: "dead-host".into(),
            max_items: 1,
            lease: chrono::TimeDelta::from_std(lease).unwrap(),
            now,
        };
        let mut items = store.fetch_activity_work(request).await.expect("fetch");
        if let Some(item) = items.pop() {
            break (item, now + chrono::TimeDelta::from_std(lease).unwrap());
        }
        assert!(std::time::Instant::now() < deadline, "no activity work");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert_eq!((taken.delivery, taken.expired_lease), (1, None));
    let worker = Runtime::builder(store.clone(), registry)
        .options(options(false))
        .span_sink(sink.clone())
        .start();
    let done = client
        .wait_for_completion(id.as_str(), WAIT)
        .await
        .expect("done");
    assert_eq!(done.output.unwrap().as_json(), "42");
    worker.shutdown().await;
    orchestrator.shutdown().await;

    let spans = sink.0.lock().unwrap().clone();
    let ids: HashSet<[u8; 8]> = spans.iter().map(|s| s.span_id).collect();
    assert_eq!(ids.len(), spans.len(), "no span twice: {spans:#?}");
    let call = named(&spans, "activity:double", SpanKind::Client);
    assert_eq!(call.len(), 1, "one call");
    let mut attempts = named(&spans, "activity:double", SpanKind::Server);
    attempts.sort_by_key(|s| format!("{:?}", attr(s, "durafn.delivery")));
    assert_eq!(
        attempts.len(),
        2,
        "the lost attempt and the re-run: {spans:#?}"
    );
    let (lost, rerun) = (attempts[0], attempts[1]);
    assert!(
        attempts
            .iter()
            .all(|a| a.parent_span_id == Some(call[0].span_id))
    );
    assert_eq!(attr(lost, "durafn.delivery"), Some(&SpanValue::Int(1)));
    assert_eq!(
        lost.error.as_deref(),
        Some("attempt abandoned: host lost its lease")
    );
    assert_eq!(
        lost.end, dead_until,
        "it ends when the dead host's lease ran out"
    );
    assert_eq!(
        lost.start,
        dead_until - chrono::TimeDelta::from_std(lease).unwrap()
    );
    assert_eq!(attr(rerun, "durafn.delivery"), Some(&SpanValue::Int(2)));
    assert_eq!(rerun.error, None);
    assert!(lost.end <= rerun.start && rerun.end <= call[0].end);
    assert_eq!(
        named(&spans, "orchestration:doubler", SpanKind::Server).len(),
        1
    );
}
