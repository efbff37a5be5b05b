//! Key Vault references in app settings: an unresolvable one stops the app
//! at start-up with a message naming the setting, and a resolved secret
//! shows up in no log line and no response.

use crate::common;

use std::time::Duration;

use common::{RunningApp, command, poll};

#[test]
fn an_unresolvable_reference_stops_start_up() {
    let root = tempfile::tempdir().expect("temp dir");
    let output = command(
        root.path(),
        &["--port", "0"],
        &[(
            "AuditTableConnection",
            "@Microsoft.KeyVault(SecretUri=https://audit-kv.vault.azure.net/secrets/table-conn/)",
        )],
    )
    .output()
    .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("AuditTableConnection"), "{stderr}");
    assert!(stderr.contains("table-conn"), "{stderr}");
    assert!(
        stderr.contains("DURAFN_SECRET_AUDIT_KV_TABLE_CONN"),
        "says where it looked: {stderr}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!stdout.contains("listening"), "{stdout}");
}

#[test]
fn a_malformed_reference_is_named_without_its_value() {
    let root = tempfile::tempdir().expect("temp dir");
    let output = command(
        root.path(),
        &["--port", "0"],
        &[(
            "AuditTableConnection",
            "@Microsoft.KeyVault(AccountKey=c2VjcmV0LXZhbHVl)",
        )],
    )
    .output()
    .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("AuditTableConnection"), "{stderr}");
    assert!(!stderr.contains("c2VjcmV0LXZhbHVl"), "{stderr}");
}

/// An account key no one could mistake for anything else (base64, as
/// account keys are).
const KEY: &str = "U0VDUkVULU1BUktFUi1kby1ub3QtbG9nLW1lLTQyNDI0Mg==";

#[test]
fn a_resolved_secret_appears_in_no_log_line_or_response() {
    let root = tempfile::tempdir().expect("temp dir");
    // The reference lives in local.settings.json, the secret in the local
    // secrets directory: a storage account on a port nothing listens on, so
    // the query fails and its error is reported.
    let connection = format!(
        "DefaultEndpointsProtocol=http;AccountName=auditacct;AccountKey={KEY};TableEndpoint=http://127.0.0.1:1/auditacct"
    );
    std::fs::create_dir_all(root.path().join("secrets/audit-kv")).expect("mkdir");
    std::fs::write(
        root.path().join("secrets/audit-kv/table-conn"),
        format!("{connection}\n"),
    )
    .expect("write secret");
    std::fs::write(
        root.path().join("local.settings.json"),
        r#"{"IsEncrypted": false, "Values": {
            "AuditTableConnection": "@Microsoft.KeyVault(VaultName=audit-kv;SecretName=table-conn)"
        }}"#,
    )
    .expect("write settings");

    let app = RunningApp::start(root.path(), &[("DURAFN_LOG", "trace")]);
    let submitted = app.get("/api/submit/query?s=10/10/2021&e=10/12/2021");
    assert_eq!(submitted.status, 200, "{}", submitted.body);
    let id = common::instance_id(
        submitted
            .body
            .trim_end_matches("\"}")
            .trim_start_matches("{\"statusUri\": \""),
    )
    .to_owned();
    let failed = poll(Duration::from_secs(120), || {
        let r = app.get(&format!("/api/status/{id}"));
        r.body.contains(r#""status": "Failed""#).then_some(r)
    })
    .unwrap_or_else(|| panic!("the job should fail:\n{}", app.output()));
    assert!(
        failed.body.contains("could not reach the table service"),
        "the failure is reported: {}",
        failed.body
    );

    // The loader reports the same failure, also without the key.
    let data = root.path().join("data");
    let loader = command(
        root.path(),
        &[
            "load-demo",
            "--rows",
            "10",
            "--data-dir",
            data.to_str().expect("utf-8"),
        ],
        &[("DURAFN_LOG", "trace")],
    )
    .output()
    .expect("load-demo runs");
    assert!(!loader.status.success());
    let loader_output = format!(
        "{}{}",
        String::from_utf8_lossy(&loader.stdout),
        String::from_utf8_lossy(&loader.stderr)
    );
    assert!(loader_output.contains("could not reach"), "{loader_output}");

    let everything = format!("{}\n{}\n{}", app.output(), failed.body, loader_output);
    for fragment in [KEY, &KEY[..24], "SECRET-MARKER", connection.as_str()] {
        assert!(
            !everything.contains(fragment),
            "{fragment:?} leaked:\n{everything}"
        );
    }
}
