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
