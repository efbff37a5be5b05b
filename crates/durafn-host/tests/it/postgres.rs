//! A host on a PostgreSQL task hub named in host.json, with its connection string behind a Key
//! Vault reference. Runs when `DURAFN_TEST_POSTGRES_URL` is set (and must, under `CI=true`).

use std::time::Duration;

use durafn_core::{FunctionError, OrchestrationContext, RuntimeStatus, orchestrator_fn};
use durafn_host::{App, AppSettings, HostArgs, HostConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_opens_the_postgres_hub_named_in_host_json() {
    let Some(url) = durafn_testenv::postgres_url() else {
        return;
    };
    let root = tempfile::tempdir().expect("temp dir");
    // The connection string is a secret in the local secrets directory.
    let secret_dir = root.path().join(durafn_host::SECRETS_DIR).join("vault1");
    std::fs::create_dir_all(&secret_dir).expect("secrets dir");
    std::fs::write(secret_dir.join("pg"), &url).expect("secret");
    let hub = format!("HostPg{}", std::process::id());
    let host_json = format!(
        r#"{{"version":"2.0","extensions":{{"durableTask":{{"hubName":"{hub}","storageProvider":{{"type":"postgres","connectionStringName":"TaskHubConnection"}}}}}}}}"#
    );
    let settings = AppSettings::new().with(
        "TaskHubConnection",
        "@Microsoft.KeyVault(VaultName=vault1;SecretName=pg)",
    );
    let args = HostArgs {
        data_dir: Some(root.path().join("data")),
        port: Some(0),
        ..HostArgs::default()
    };
    let config =
        HostConfig::from_parts(root.path().to_path_buf(), &args, settings, Some(&host_json))
            .expect("config");
    let host = App::new()
        .orchestrator(orchestrator_fn(
            "double",
            |_ctx: OrchestrationContext, n: i64| async move { Ok::<_, FunctionError>(n * 2) },
        ))
        .config(config)
        .start()
        .await
        .expect("the host opens the PostgreSQL hub");
    let client = host.client();
    let id = client.start_new("double", None, &21).await.expect("start");
    let status = client
        .wait_for_completion(id.as_str(), Duration::from_secs(30))
        .await
        .expect("done");
    assert_eq!(status.runtime_status, RuntimeStatus::Completed);
    assert_eq!(
        status.output.expect("output").to_value(),
        serde_json::json!(42)
    );
    host.shutdown().await;
    durafn_postgres::drop_task_hub(&url, &hub.to_lowercase())
        .await
        .expect("drop the test hub");
}

/// Three hosts share a PostgreSQL task hub, one running orchestrations and two running
/// activities: the spans of one orchestration come from more than one host and are one trace,
/// each activity attempt under its call, each call under the orchestration span.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_hosts_on_postgres_make_one_trace() {
    let Some(url) = durafn_testenv::postgres_url() else {
        return;
    };
    let collector = durafn_testenv::otlp::OtlpReceiver::start();
    let root = tempfile::tempdir().expect("temp dir");
    let hub = format!("Traced{}", std::process::id());
    let host_json = format!(
        r#"{{"version":"2.0","extensions":{{"durableTask":{{"hubName":"{hub}","storageProvider":{{"type":"postgres","connectionStringName":"TaskHubConnection"}},"tracing":{{"distributedTracingEnabled":true}}}}}}}}"#
    );
    let mut hosts = Vec::new();
    for (i, (orchestrations, activities)) in [(true, false), (false, true), (false, true)]
        .into_iter()
        .enumerate()
    {
        let settings = AppSettings::new()
            .with("TaskHubConnection", &url)
            .with("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint())
            .with("OTEL_SERVICE_NAME", "three-hosts");
        let args = HostArgs {
            data_dir: Some(root.path().join(format!("data{i}"))),
            port: Some(0),
            ..HostArgs::default()
        };
        let mut config =
            HostConfig::from_parts(root.path().to_path_buf(), &args, settings, Some(&host_json))
                .expect("config");
        config.runtime.run_orchestrations = orchestrations;
        config.runtime.run_activities = activities;
        config.runtime.host_id = format!("host{i}");
        let host = crate::apps::fan()
            .config(config)
            .start()
            .await
            .expect("the host opens the PostgreSQL hub");
        hosts.push(host);
    }
    let client = hosts[0].client();
    let id = client.start_new("fan", None, &12).await.expect("start");
    let status = client
        .wait_for_completion(id.as_str(), Duration::from_secs(60))
        .await
        .expect("done");
    assert_eq!(status.runtime_status, RuntimeStatus::Completed);
    // Stopping a host flushes its exporter.
    for host in hosts {
        host.shutdown().await;
    }
    let spans = collector.wait_for(Duration::from_secs(30), |spans| {
        spans.iter().any(|s| s.name == "orchestration:fan")
            && spans.iter().filter(|s| s.name == "activity:square").count() >= 24
    });
    let orchestration = spans
        .iter()
        .find(|s| s.name == "orchestration:fan" && s.kind == durafn_testenv::otlp::kind::SERVER)
        .unwrap_or_else(|| {
            let names: Vec<(&str, i32, &str)> = spans
                .iter()
                .map(|s| (s.name.as_str(), s.kind, s.service.as_str()))
                .collect();
            panic!("the orchestration span, among {names:?}")
        });
    let trace: Vec<_> = spans
        .iter()
        .filter(|s| s.trace_id == orchestration.trace_id)
        .collect();
    let calls: Vec<_> = trace
        .iter()
        .filter(|s| s.name == "activity:square" && s.kind == durafn_testenv::otlp::kind::CLIENT)
        .collect();
    let attempts: Vec<_> = trace
        .iter()
        .filter(|s| s.name == "activity:square" && s.kind == durafn_testenv::otlp::kind::SERVER)
        .collect();
    assert_eq!((calls.len(), attempts.len()), (12, 12), "{trace:#?}");
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
    let hosts: std::collections::BTreeSet<&str> =
        trace.iter().map(|s| s.instance.as_str()).collect();
    assert!(hosts.len() > 1, "spans from more than one host: {hosts:?}");
    assert!(hosts.contains("host0"), "{hosts:?}");
    println!("hosts in the trace: {hosts:?}");
    durafn_postgres::drop_task_hub(&url, &hub.to_lowercase())
        .await
        .expect("drop the test hub");
}
