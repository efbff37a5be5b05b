//! `ctx.call_http` end to end: the orchestrator follows a 202 + Location with durable timers
//! against a real local HTTP server.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use durafn_core::{
    DurableHttpRequest, FunctionError, OrchestrationContext, Registry, RuntimeStatus,
    orchestrator_fn,
};
use durafn_runtime::Runtime;
use durafn_store::memory::MemoryStore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Answers `/start` with 202 + Location `/status`, and `/status` with 202 twice, then 200.
async fn server(listener: TcpListener, polls: Arc<AtomicUsize>) {
    loop {
        let Ok((mut socket, _)) = listener.accept().await else {
            return;
        };
        let polls = polls.clone();
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            let n = socket.read(&mut buf).await.unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]).to_string();
            let response = if request.starts_with("POST /start") {
                assert!(
                    request.contains("x-test: yes"),
                    "headers are sent: {request}"
                );
                format!(
                    "HTTP/1.1 202 Accepted\r\nLocation: http://127.0.0.1:{port}/status\r\nRetry-After: 0\r\nContent-Length: 0\r\n\r\n"
                )
            } else if polls.fetch_add(1, Ordering::SeqCst) < 2 {
                format!(
                    "HTTP/1.1 202 Accepted\r\nLocation: http://127.0.0.1:{port}/status\r\nRetry-After: 0\r\nContent-Length: 0\r\n\r\n"
                )
            } else {
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n2\r\n1}\r\n0\r\n\r\n".to_string()
            };
            let _ = socket.write_all(response.as_bytes()).await;
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_http_polls_until_done() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let polls = Arc::new(AtomicUsize::new(0));
    tokio::spawn(server(listener, polls.clone()));
    let registry = Registry::builder()
        .orchestrator(orchestrator_fn(
            "http",
            move |ctx: OrchestrationContext, _: ()| async move {
                let request =
                    DurableHttpRequest::new("POST", format!("http://127.0.0.1:{port}/start"))
                        .header("x-test", "yes")
                        .content("{}");
                let response = ctx.call_http(request).await?;
                Ok::<_, FunctionError>((response.status_code, response.content))
            },
        ))
        .orchestrator(orchestrator_fn(
            "https",
            |ctx: OrchestrationContext, _: ()| async move {
                Ok::<_, FunctionError>(
                    ctx.call_http(DurableHttpRequest::get("https://example.invalid/"))
                        .await?
                        .status_code,
                )
            },
        ))
        .build()
        .expect("registry");
    let runtime = Runtime::builder(Arc::new(MemoryStore::new()), Arc::new(registry)).start();
    let client = runtime.client();
    client
        .start_new("http", Some("h"), &())
        .await
        .expect("start");
    let status = client
        .wait_for_completion("h", Duration::from_secs(20))
        .await
        .expect("done");
    assert_eq!(
        status.runtime_status,
        RuntimeStatus::Completed,
        "{status:?}"
    );
    assert_eq!(
        status.output.expect("output").to_value(),
        serde_json::json!([200, "{\"a\":1}"])
    );
    assert_eq!(
        polls.load(Ordering::SeqCst),
        3,
        "two 202 polls, then the 200"
    );
    client
        .start_new("https", Some("s"), &())
        .await
        .expect("start");
    let status = client
        .wait_for_completion("s", Duration::from_secs(20))
        .await
        .expect("done");
    assert_eq!(status.runtime_status, RuntimeStatus::Failed);
    assert!(
        status
            .failure
            .expect("failure")
            .message
            .contains("https is not supported")
    );
    runtime.shutdown().await;
}

/// Answers every request itself, saying what it was sent, and keeps the requests.
struct Recorder(std::sync::Mutex<Vec<(String, Option<String>)>>);

impl durafn_runtime::HttpSender for Recorder {
    fn send<'a>(
        &'a self,
        request: &'a DurableHttpRequest,
        trace_parent: Option<&'a str>,
    ) -> durafn_runtime::HttpFuture<'a> {
        Box::pin(async move {
            self.0
                .lock()
                .expect("lock")
                .push((request.uri.clone(), trace_parent.map(str::to_string)));
            Ok(durafn_core::DurableHttpResponse {
                status_code: 201,
                headers: Default::default(),
                content: Some(format!("{} {}", request.method, request.uri)),
            })
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_set_on_the_builder_sends_every_request() {
    let registry = Registry::builder()
        .orchestrator(orchestrator_fn(
            "http",
            |ctx: OrchestrationContext, _: ()| async move {
                // No such host: only the sender can answer.
                let response = ctx
                    .call_http(DurableHttpRequest::get("http://nowhere.invalid/x"))
                    .await?;
                Ok::<_, FunctionError>((response.status_code, response.content))
            },
        ))
        .build()
        .expect("registry");
    let recorder = Arc::new(Recorder(Default::default()));
    let runtime = Runtime::builder(Arc::new(MemoryStore::new()), Arc::new(registry))
        .http_sender(recorder.clone())
        .start();
    let client = runtime.client();
    client
        .start_new("http", Some("r"), &())
        .await
        .expect("start");
    let status = client
        .wait_for_completion("r", Duration::from_secs(20))
        .await
        .expect("done");
    assert_eq!(
        status.output.expect("output").to_value(),
        serde_json::json!([201, "GET http://nowhere.invalid/x"]),
        "{:?}",
        status.failure
    );
    let sent = recorder.0.lock().expect("lock").clone();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0, "http://nowhere.invalid/x");
    runtime.shutdown().await;
}
