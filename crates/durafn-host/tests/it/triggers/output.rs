//! Queue output from an HTTP function, a queue function and an activity, through Azurite.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use durafn_azure::queue::MessageEncoding;
use durafn_core::{
    ActivityContext, FunctionError, OrchestrationContext, activity_fn, orchestrator_fn,
};
use durafn_host::{ActivityQueues, App, AuthLevel, HttpFunction, HttpResponse, QueueFunction};
use tower::ServiceExt;

use crate::triggers::common::{azurite_queue, queue_name, until};
use crate::triggers::queues::start;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_functions_queue_functions_and_activities_send_messages() {
    if !durafn_testenv::azurite() {
        return;
    }
    let (inbox, outbox) = (queue_name("inbox"), queue_name("outbox"));
    let out = azurite_queue(&outbox, MessageEncoding::Base64).await;
    let (inbox2, outbox2) = (inbox.clone(), outbox.clone());
    let outbox3 = outbox.clone();
    let app =
        App::new()
            .function(
                HttpFunction::new("enqueue")
                    .route("enqueue/{word}")
                    .methods(["POST"])
                    .auth(AuthLevel::Anonymous)
                    .handler(move |req, client| {
                        let inbox = inbox2.clone();
                        async move {
                            let word = req.route_param("word").unwrap_or_default().to_string();
                            client
                                .queue(&inbox)?
                                .send(&serde_json::json!({ "word": word }))
                                .await?;
                            Ok::<_, durafn_host::HandlerError>(HttpResponse::new(202))
                        }
                    }),
            )
            .queue_function(QueueFunction::new("forward").queue(&inbox).handler(
                move |item, client| {
                    let outbox = outbox2.clone();
                    async move {
                        let job: serde_json::Value = item.json()?;
                        let word = job["word"].as_str().unwrap_or_default().to_string();
                        client
                            .queue(&outbox)?
                            .send_text(&format!("from the queue function: {word}"))
                            .await?;
                        client.start_new("shout", None, &word).await?;
                        Ok::<(), durafn_host::HandlerError>(())
                    }
                },
            ))
            .orchestrator(orchestrator_fn(
                "shout",
                |ctx: OrchestrationContext, word: String| async move {
                    ctx.call_activity::<()>("send-shout", &word).await?;
                    Ok::<_, FunctionError>(())
                },
            ))
            .activity(activity_fn(
                "send-shout",
                move |ctx: ActivityContext, word: String| {
                    let outbox = outbox3.clone();
                    async move {
                        ctx.queue(&outbox)
                            .map_err(|e| FunctionError::msg(e.to_string()))?
                            .send_text(&format!("from the activity: {}", word.to_uppercase()))
                            .await
                            .map_err(|e| FunctionError::msg(e.to_string()))?;
                        Ok::<_, FunctionError>(())
                    }
                },
            ));
    let root = tempfile::tempdir().unwrap();
    let host = start(app, r#"{"maxPollingInterval":"00:00:00.5"}"#, root.path()).await;
    let response = host
        .router()
        .oneshot(
            axum::http::Request::post("/api/enqueue/hello")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let texts: Arc<Mutex<Vec<String>>> = Arc::default();
    until(30, "two messages in the outbox", || {
        let out = out.clone();
        let texts = texts.clone();
        async move {
            for m in out.receive(32, Duration::from_secs(60)).await.ok()? {
                let text = String::from_utf8(m.body().ok()?.to_vec()).ok()?;
                texts.lock().unwrap().push(text);
                out.delete_message(&m.id, &m.pop_receipt).await.ok()?;
            }
            (texts.lock().unwrap().len() >= 2).then_some(())
        }
    })
    .await;
    let mut texts = texts.lock().unwrap().clone();
    texts.sort();
    assert_eq!(
        texts,
        vec!["from the activity: HELLO", "from the queue function: hello"]
    );
    host.shutdown().await;
    out.delete().await.unwrap();
    azurite_queue(&inbox, MessageEncoding::Base64)
        .await
        .delete()
        .await
        .unwrap();
}
