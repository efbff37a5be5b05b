//! Queue triggers in real host processes: two hosts polling one queue over a shared
//! PostgreSQL task hub run every message's orchestration exactly once; a host killed with
//! SIGKILL while it holds messages runs them once restarted.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use durafn_azure::queue::{MessageEncoding, SendOptions};
use durafn_core::RuntimeStatus;
use durafn_host::KeyScope;
use durafn_store::InstanceFilter;

use crate::process::{AppProcess, command, http, key};
use crate::triggers::common::{azurite_queue, message_count, queue_name, until};

/// One line of the test app's queue log: `begin|done n message-id dequeue-count pid`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    what: String,
    n: u64,
    id: String,
    dequeue_count: u64,
    pid: u32,
}

fn read_log(path: &Path) -> Vec<Line> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            Some(Line {
                what: f.first()?.to_string(),
                n: f.get(1)?.parse().ok()?,
                id: f.get(2)?.to_string(),
                dequeue_count: f.get(3)?.parse().ok()?,
                pid: f.get(4)?.parse().ok()?,
            })
        })
        .collect()
}

fn write_root(root: &Path, host_json: &str) {
    std::fs::create_dir_all(root).unwrap();
    std::fs::write(root.join("host.json"), host_json).unwrap();
}

async fn send_jobs(queue: &durafn_azure::queue::Queue, jobs: std::ops::Range<u64>) {
    let mut sends = tokio::task::JoinSet::new();
    let jobs: Vec<u64> = jobs.collect();
    for chunk in jobs.chunks(50) {
        let queue = queue.clone();
        let chunk = chunk.to_vec();
        sends.spawn(async move {
            for n in chunk {
                let body = format!("{{\"n\":{n}}}");
                queue
                    .send(body.as_bytes(), &SendOptions::default())
                    .await
                    .unwrap();
            }
        });
    }
    while let Some(r) = sends.join_next().await {
        r.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hosts_on_one_postgres_hub_run_a_thousand_messages_exactly_once() {
    if !durafn_testenv::azurite() {
        return;
    }
    let Some(url) = durafn_testenv::postgres_url() else {
        return;
    };
    const MESSAGES: u64 = 1000;
    let name = queue_name("twohosts");
    let queue = azurite_queue(&name, MessageEncoding::Base64).await;
    let hub = format!("Queues{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("queue.log");
    let host_json = format!(
        r#"{{"version":"2.0","extensions":{{"durableTask":{{"hubName":"{hub}","storageProvider":{{"type":"postgres","connectionStringName":"TaskHubConnection"}}}},"queues":{{"maxPollingInterval":"00:00:00.5"}}}}}}"#
    );
    let start = |i: usize| {
        let root = dir.path().join(format!("host{i}"));
        write_root(&root, &host_json);
        let mut cmd = command(&root, &root.join("data"));
        cmd.env("TaskHubConnection", &url)
            .env("AzureWebJobsStorage", "UseDevelopmentStorage=true")
            .env("TESTAPP_QUEUE", &name)
            .env("TESTAPP_QUEUE_LOG", &log);
        AppProcess::spawn(cmd)
    };
    let hosts = [start(0), start(1)];
    send_jobs(&queue, 0..MESSAGES).await;

    let store = durafn_postgres::PostgresStore::connect(
        &url,
        durafn_postgres::PostgresOptions {
            schema: hub.to_lowercase(),
            ..durafn_postgres::PostgresOptions::default()
        },
    )
    .await
    .unwrap();
    let client = durafn_runtime::DurableClient::detached(std::sync::Arc::new(store), None);
    let filter = InstanceFilter {
        instance_id_prefix: Some("q-".into()),
        statuses: vec![RuntimeStatus::Completed],
        ..InstanceFilter::default()
    };
    until(300, "every orchestration completed", || {
        let client = client.clone();
        let filter = filter.clone();
        async move {
            let page = client.list(&filter, 2000, None).await.ok()?;
            (page.instances.len() as u64 == MESSAGES).then_some(())
        }
    })
    .await;
    until(60, "every message deleted", || async {
        (message_count(&queue).await == 0).then_some(())
    })
    .await;

    let lines = read_log(&log);
    let mut begun: HashMap<u64, u32> = HashMap::new();
    let mut done: HashMap<u64, u32> = HashMap::new();
    let mut pids = HashSet::new();
    for l in &lines {
        let counts = if l.what == "begin" {
            &mut begun
        } else {
            &mut done
        };
        *counts.entry(l.n).or_default() += 1;
        pids.insert(l.pid);
        assert_eq!(l.dequeue_count, 1, "no message was delivered twice: {l:?}");
    }
    assert_eq!(begun.len() as u64, MESSAGES);
    assert!(begun.values().all(|c| *c == 1), "each message ran once");
    assert!(done.values().all(|c| *c == 1) && done.len() as u64 == MESSAGES);
    assert_eq!(pids.len(), 2, "both hosts took messages");
    let poison = queue.poison_queue().unwrap();
    assert!(poison.peek(1).await.map(|p| p.is_empty()).unwrap_or(true));
    drop(hosts);
    queue.delete().await.unwrap();
    durafn_postgres::drop_task_hub(&url, &hub.to_lowercase())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_held_by_a_killed_host_run_once_it_is_back() {
    if !durafn_testenv::azurite() {
        return;
    }
    const MESSAGES: u64 = 5;
    let name = queue_name("sigkill");
    let queue = azurite_queue(&name, MessageEncoding::Base64).await;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("app");
    write_root(
        &root,
        r#"{"version":"2.0","extensions":{"queues":{"maxPollingInterval":"00:00:00.2"}}}"#,
    );
    let data = root.join("data");
    let (log, gate) = (dir.path().join("queue.log"), dir.path().join("gate"));
    let start = || {
        let mut cmd = command(&root, &data);
        cmd.env("AzureWebJobsStorage", "UseDevelopmentStorage=true")
            .env("TESTAPP_QUEUE", &name)
            .env("TESTAPP_QUEUE_LOG", &log)
            .env("TESTAPP_QUEUE_GATE", &gate)
            .env("DURAFN_LEASE_SECONDS", "2");
        AppProcess::spawn(cmd)
    };
    let first = start();
    send_jobs(&queue, 0..MESSAGES).await;
    until(30, "the host holding every message", || async {
        let begun = read_log(&log).iter().filter(|l| l.what == "begin").count() as u64;
        (begun == MESSAGES).then_some(())
    })
    .await;
    let killed = first.pid();
    drop(first); // SIGKILL: the messages are neither deleted nor released.
    assert_eq!(
        message_count(&queue).await,
        MESSAGES,
        "the messages are still there"
    );
    std::fs::write(&gate, "open").unwrap();
    let second = start();
    let lines = until(60, "every message run again", || async {
        let lines = read_log(&log);
        let done = lines.iter().filter(|l| l.what == "done").count() as u64;
        (done == MESSAGES).then_some(lines)
    })
    .await;
    for n in 0..MESSAGES {
        let runs: Vec<&Line> = lines.iter().filter(|l| l.n == n).collect();
        assert_eq!(
            runs.len(),
            3,
            "begun on the killed host, begun and done on the new one: {runs:?}"
        );
        assert_eq!((runs[0].pid, runs[0].dequeue_count), (killed, 1));
        assert_eq!(runs[2].what, "done");
        assert_eq!(runs[2].dequeue_count, 2);
    }
    until(30, "the messages deleted", || async {
        (message_count(&queue).await == 0).then_some(())
    })
    .await;
    let system = key(&data, KeyScope::System, "durabletask_extension");
    for n in 0..MESSAGES {
        let target = format!("/runtime/webhooks/durabletask/instances/q-{n}");
        until(30, "the orchestration completed", || {
            let (target, system) = (target.clone(), system.clone());
            let addr = second.addr;
            async move {
                let r = http(addr, "GET", &target, &[("x-functions-key", &system)], b"").await;
                (r.status == 200 && r.json()["runtimeStatus"] == "Completed").then_some(())
            }
        })
        .await;
    }
    drop(second);
    queue.delete().await.unwrap();
}
