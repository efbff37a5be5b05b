//! Queue-triggered throughput through Azurite: N messages, each starting "hello cities" (an
//! orchestrator calling 5 sequential activities) from a queue function of an in-process host
//! on the SQLite task hub.
//!
//! ```text
//! cargo run --release -p durafn-bench --bin queue -- [--messages 2000] [--runs 3] [--no-fsync]
//! ```
//!
//! Needs Azurite's queue service on 127.0.0.1:10001. Reports, per run and as the median,
//! messages/s through the trigger alone (all messages taken off the queue, each having started
//! its orchestration) and end to end (every orchestration completed).

use std::time::{Duration, Instant};

use durafn_bench::{arg, flag, median};
use durafn_core::{Registry, RuntimeStatus};
use durafn_host::{App, AppSettings, HostArgs, HostConfig, QueueFunction};
use durafn_store::InstanceFilter;

async fn one_run(messages: u64, fsync: bool) -> (f64, f64) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros());
    let name = format!("bench-{}-{micros}", std::process::id());
    let service =
        durafn_azure::queue::QueueService::from_connection_string("UseDevelopmentStorage=true")
            .expect("the development account");
    let queue = service.queue(&name).expect("a queue name");
    queue
        .create()
        .await
        .expect("Azurite's queue service on 127.0.0.1:10001");
    let mut sends = tokio::task::JoinSet::new();
    let all: Vec<u64> = (0..messages).collect();
    for chunk in all.chunks(64) {
        let queue = queue.clone();
        let chunk = chunk.to_vec();
        sends.spawn(async move {
            for n in chunk {
                let body = format!("{{\"n\":{n}}}");
                queue
                    .send(body.as_bytes(), &Default::default())
                    .await
                    .expect("send");
            }
        });
    }
    while sends.join_next().await.is_some() {}

    let durability = if fsync { "fsync" } else { "processCrashSafe" };
    let host_json = format!(
        r#"{{"version":"2.0","extensions":{{"durableTask":{{"storageProvider":{{"type":"sqlite","durability":"{durability}"}}}},"queues":{{"batchSize":32,"newBatchThreshold":32,"maxPollingInterval":"00:00:00.1"}}}}}}"#
    );
    let settings = AppSettings::new()
        .with("AzureWebJobsStorage", "UseDevelopmentStorage=true")
        .with("BenchQueue", &name);
    let args = HostArgs {
        data_dir: Some(dir.path().join("data")),
        ..HostArgs::default()
    };
    let config =
        HostConfig::from_parts(dir.path().to_path_buf(), &args, settings, Some(&host_json))
            .expect("config");
    let registry = durafn_bench::hello_cities(Registry::builder())
        .build()
        .expect("registry");
    let started = Instant::now();
    let host = App::new()
        .registry(&registry)
        .queue_function(
            QueueFunction::new("start-hello")
                .queue("%BenchQueue%")
                .handler(|item, client| async move {
                    let id = format!("m-{}", item.id);
                    match client.start_new("hello_cities", Some(&id), &()).await {
                        Ok(_) | Err(durafn_runtime::ClientError::InstanceExists { .. }) => Ok(()),
                        Err(e) => Err(durafn_host::HandlerError::from(e)),
                    }
                }),
        )
        .config(config)
        .start()
        .await
        .expect("the host starts");
    let client = host.client();
    let mut drained = None;
    let completed = loop {
        if drained.is_none() && queue.approximate_message_count().await.unwrap_or(1) == 0 {
            drained = Some(started.elapsed());
        }
        let filter = InstanceFilter {
            statuses: vec![RuntimeStatus::Completed],
            ..InstanceFilter::default()
        };
        let done = client
            .list(&filter, messages as usize + 1, None)
            .await
            .map(|p| p.instances.len() as u64)
            .unwrap_or(0);
        if done >= messages && drained.is_some() {
            break started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    host.shutdown().await;
    let _ = queue.delete().await;
    let drained = drained.unwrap_or(completed);
    (
        messages as f64 / drained.as_secs_f64(),
        messages as f64 / completed.as_secs_f64(),
    )
}

#[tokio::main]
async fn main() {
    let messages: u64 = arg("--messages", 2000);
    let runs: usize = arg("--runs", 3);
    let fsync = !flag("--no-fsync");
    let mut trigger = Vec::new();
    let mut end_to_end = Vec::new();
    for run in 1..=runs {
        let (t, e) = one_run(messages, fsync).await;
        println!(
            "run {run}: {messages} messages: {t:.0} messages/s taken off the queue, {e:.0} messages/s orchestrations completed"
        );
        trigger.push(t);
        end_to_end.push(e);
    }
    println!(
        "median over {runs} runs ({}): {:.0} messages/s through the queue trigger, {:.0} messages/s completed end to end",
        if fsync { "fsync" } else { "no fsync" },
        median(trigger),
        median(end_to_end)
    );
}
