//! Queue triggers in an in-process host against Azurite: retries into the poison queue, both
//! message encodings, message metadata, and host.json's `extensions.queues`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use durafn_azure::queue::{MessageEncoding, SendOptions};
use durafn_host::{App, AppSettings, Host, HostArgs, HostConfig, QueueFunction, QueueItem};

use crate::triggers::common::{azurite_queue, message_count, queue_name, until};

/// A host on a memory task hub whose queue functions use Azurite, with host.json `extensions.queues`.
pub(crate) async fn start(app: App, queues_json: &str, root: &std::path::Path) -> Host {
    let host_json = format!(
        r#"{{"version":"2.0","extensions":{{"durableTask":{{"storageProvider":{{"type":"memory"}}}},"queues":{queues_json}}}}}"#
    );
    let settings = AppSettings::new().with("AzureWebJobsStorage", "UseDevelopmentStorage=true");
    let args = HostArgs {
        data_dir: Some(root.join("data")),
        port: Some(0),
        ..HostArgs::default()
    };
    let config = HostConfig::from_parts(root.to_path_buf(), &args, settings, Some(&host_json))
        .expect("config");
    app.config(config).start().await.expect("the host starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_function_moves_its_message_to_the_poison_queue_after_five_tries() {
    if !durafn_testenv::azurite() {
        return;
    }
    let name = queue_name("poison");
    let queue = azurite_queue(&name, MessageEncoding::Base64).await;
    let poison = queue.poison_queue().unwrap();
    let tries: Arc<Mutex<Vec<u64>>> = Arc::default();
    let seen = tries.clone();
    let root = tempfile::tempdir().unwrap();
    let app = App::new().queue_function(QueueFunction::new("always-fails").queue(&name).handler(
        move |item: QueueItem, _client| {
            seen.lock().unwrap().push(item.dequeue_count);
            async move { Err::<(), _>("this function always fails") }
        },
    ));
    let host = start(
        app,
        r#"{"maxPollingInterval":"00:00:00.2","visibilityTimeout":"00:00:00"}"#,
        root.path(),
    )
    .await;
    queue
        .send(br#"{"n":1}"#, &SendOptions::default())
        .await
        .unwrap();
    let moved = until(60, "the message in the poison queue", || async {
        let peeked = poison.peek(1).await.ok()?;
        peeked.into_iter().next()
    })
    .await;
    assert_eq!(moved.text, queue.encoding().encode(br#"{"n":1}"#).unwrap());
    assert_eq!(*tries.lock().unwrap(), vec![1, 2, 3, 4, 5]);
    until(10, "the original message deleted", || async {
        (message_count(&queue).await == 0).then_some(())
    })
    .await;
    host.shutdown().await;
    queue.delete().await.unwrap();
    poison.delete().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_are_read_in_either_encoding_with_their_metadata() {
    if !durafn_testenv::azurite() {
        return;
    }
    for (encoding, setting) in [
        (MessageEncoding::Base64, "base64"),
        (MessageEncoding::None, "none"),
    ] {
        let name = queue_name(setting);
        let queue = azurite_queue(&name, encoding).await;
        let got: Arc<Mutex<Vec<QueueItem>>> = Arc::default();
        let sink = got.clone();
        let root = tempfile::tempdir().unwrap();
        let app =
            App::new().queue_function(QueueFunction::new("reader").queue("%ReaderQueue%").handler(
                move |item: QueueItem, _client| {
                    sink.lock().unwrap().push(item);
                    async { Ok::<(), durafn_host::HandlerError>(()) }
                },
            ));
        let host_json = format!(
            r#"{{"version":"2.0","extensions":{{"durableTask":{{"storageProvider":{{"type":"memory"}}}},"queues":{{"maxPollingInterval":"00:00:00.2","messageEncoding":"{setting}"}}}}}}"#
        );
        let settings = AppSettings::new()
            .with("AzureWebJobsStorage", "UseDevelopmentStorage=true")
            .with("ReaderQueue", &name);
        let args = HostArgs {
            data_dir: Some(root.path().join("data")),
            ..HostArgs::default()
        };
        let config =
            HostConfig::from_parts(root.path().to_path_buf(), &args, settings, Some(&host_json))
                .unwrap();
        assert_eq!(config.queues.message_encoding, encoding);
        let host = App::config(app, config).start().await.unwrap();
        let sent = queue
            .send("{\"city\":\"Zürich\"}".as_bytes(), &SendOptions::default())
            .await
            .unwrap();
        // Text the encoding cannot carry is poison at once (base64 only: any text is text).
        if encoding == MessageEncoding::Base64 {
            queue
                .send_text("not base64 at all!", &SendOptions::default())
                .await
                .unwrap();
        }
        let item = until(30, "the message", || async {
            got.lock().unwrap().first().cloned()
        })
        .await;
        assert_eq!(item.id, sent.id);
        assert_eq!(item.queue, name);
        assert_eq!(item.dequeue_count, 1);
        assert_eq!(item.insertion_time, sent.insertion_time);
        assert!(item.next_visible_time > item.insertion_time);
        assert!(!item.pop_receipt.is_empty());
        assert_eq!(item.text().unwrap(), "{\"city\":\"Zürich\"}");
        let value: serde_json::Value = item.json().unwrap();
        assert_eq!(value["city"], "Zürich");
        if encoding == MessageEncoding::Base64 {
            let poison = queue.poison_queue().unwrap();
            let moved = until(
                30,
                "the undecodable message in the poison queue",
                || async { poison.peek(1).await.ok()?.into_iter().next() },
            )
            .await;
            assert_eq!(moved.text, "not base64 at all!");
            poison.delete().await.unwrap();
        }
        until(10, "the queue emptied", || async {
            (message_count(&queue).await == 0).then_some(())
        })
        .await;
        assert_eq!(
            got.lock().unwrap().len(),
            1,
            "only the decodable message ran"
        );
        host.shutdown().await;
        queue.delete().await.unwrap();
    }
}

#[tokio::test]
async fn bad_queue_functions_and_settings_are_refused_with_their_names() {
    let root = tempfile::tempdir().unwrap();
    let refused = |app: App, settings: AppSettings, queues: &'static str| {
        let root = root.path().to_path_buf();
        async move {
            let host_json = format!(r#"{{"version":"2.0","extensions":{{"queues":{queues}}}}}"#);
            let args = HostArgs {
                data_dir: Some(root.join("data")),
                ..HostArgs::default()
            };
            match HostConfig::from_parts(root.clone(), &args, settings, Some(&host_json)) {
                Err(e) => e.to_string(),
                Ok(mut config) => {
                    config.storage = durafn_host::StorageProvider::Memory;
                    match app.config(config).start().await {
                        Ok(_) => "started".to_string(),
                        Err(e) => e.to_string(),
                    }
                }
            }
        }
    };
    let dev = || AppSettings::new().with("AzureWebJobsStorage", "UseDevelopmentStorage=true");
    let ok = |q: &str| QueueFunction::new("q").queue(q).handler(|_i, _c| async {});
    for (app, settings, queues, expected) in [
        (
            App::new().queue_function(ok("jobs")),
            AppSettings::new(),
            "{}",
            "the app setting AzureWebJobsStorage (the storage connection string) is not set",
        ),
        (
            App::new().queue_function(ok("jobs").connection("Other")),
            dev(),
            "{}",
            "the app setting Other or AzureWebJobsOther",
        ),
        (
            App::new().queue_function(ok("Bad_Name")),
            dev(),
            "{}",
            "queue function 'q': queue \"Bad_Name\"",
        ),
        (
            App::new().queue_function(QueueFunction::new("q").queue("jobs")),
            dev(),
            "{}",
            "queue function 'q' has no handler",
        ),
        (
            App::new().queue_function(ok("")),
            dev(),
            "{}",
            "queue function 'q' names no queue",
        ),
        (
            App::new().queue_function(ok("%Missing%")),
            dev(),
            "{}",
            "Missing",
        ),
        (
            App::new(),
            dev(),
            r#"{"messageEncoding":"utf8"}"#,
            "extensions.queues.messageEncoding: expected \"base64\" or \"none\"",
        ),
        (
            App::new(),
            dev(),
            r#"{"batchSize":64}"#,
            "extensions.queues.batchSize: expected 1 to 32",
        ),
        (
            App::new(),
            dev(),
            r#"{"maxDequeueCount":0}"#,
            "extensions.queues.maxDequeueCount",
        ),
        (
            App::new(),
            dev(),
            r#"{"batchSiz":4}"#,
            "did you mean extensions.queues.batchSize",
        ),
        (
            App::new().queue_function(ok("jobs")).function(
                durafn_host::HttpFunction::new("Q")
                    .handler(|_r, _c| async { durafn_host::HttpResponse::ok() }),
            ),
            dev(),
            "{}",
            "two functions are named",
        ),
    ] {
        let e = refused(app, settings, queues).await;
        assert!(e.contains(expected), "expected {expected:?}, got {e:?}");
    }
    // The defaults are the Functions host's.
    let c = HostConfig::from_parts(
        root.path().to_path_buf(),
        &HostArgs::default(),
        AppSettings::new(),
        None,
    )
    .unwrap();
    assert_eq!(c.queues, durafn_host::QueueOptions::default());
    assert_eq!(c.queues.max_dequeue_count, 5);
    assert_eq!(c.queues.batch_size, 16);
    assert_eq!(c.queues.new_batch_threshold, 8);
    assert_eq!(c.queues.max_polling_interval, Duration::from_secs(60));
    let c = HostConfig::from_parts(
        root.path().to_path_buf(),
        &HostArgs::default(),
        AppSettings::new(),
        Some(r#"{"version":"2.0","extensions":{"queues":{"batchSize":"4","maxDequeueCount":2,"visibilityTimeout":"00:00:30","messageEncoding":"None"}}}"#),
    )
    .unwrap();
    assert_eq!(
        (
            c.queues.batch_size,
            c.queues.new_batch_threshold,
            c.queues.max_dequeue_count
        ),
        (4, 2, 2)
    );
    assert_eq!(c.queues.visibility_timeout, Duration::from_secs(30));
    assert_eq!(c.queues.message_encoding, MessageEncoding::None);
}
