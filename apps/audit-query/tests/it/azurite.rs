//! The article's Test section against the Azure Table Storage emulator:
//! `load-demo` writes the rows through the REST client, and the app queries
//! them there.
//!
//! Runs only when `DURAFN_TEST_AZURITE` is set: to `1` for the emulator's
//! default endpoint (`UseDevelopmentStorage=true`), or to a table endpoint
//! URL of the emulator's well-known account (for example
//! `http://127.0.0.1:10002/devstoreaccount1`). Unset, the test says it was
//! skipped and passes, except under `CI=true`, where it fails. To run the
//! emulator locally (Node.js):
//!
//! ```text
//! npm install --prefix "$DIR" azurite
//! "$DIR/node_modules/.bin/azurite-table" --tableHost 127.0.0.1 --tablePort 10002 \
//!     --inMemoryPersistence --skipApiVersionCheck --disableTelemetry --silent &
//! DURAFN_TEST_AZURITE=1 cargo test -p audit-query --test it azurite
//! ```

use crate::common;

use std::time::{SystemTime, UNIX_EPOCH};

use audit_query::demo;
use chrono::NaiveDate;
use common::{RunningApp, command, replay_test_section};
use durafn_tables::Entity;
use durafn_tables::demo::count_distinct_ids;
use durafn_tables::store::azure::{DEV_ACCOUNT_KEY, DEV_ACCOUNT_NAME};

/// The emulator's connection string, or `None` when the test is skipped.
fn emulator() -> Option<String> {
    let setting = durafn_testenv::service(durafn_testenv::AZURITE, "Azurite")?;
    let setting = setting.trim();
    Some(if setting == "1" {
        "UseDevelopmentStorage=true".to_owned()
    } else {
        format!(
            "DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT_NAME};AccountKey={DEV_ACCOUNT_KEY};TableEndpoint={setting}"
        )
    })
}

/// A table name no other run uses (letters and digits, as tables need).
fn unique_table() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("audit{nanos:x}{}", std::process::id())
}

#[test]
fn the_articles_test_section_against_azurite() {
    let Some(connection) = emulator() else { return };
    let table = unique_table();
    let root = tempfile::tempdir().expect("temp dir");
    let env = [
        ("AuditTableConnection", connection.as_str()),
        ("AuditTableName", table.as_str()),
        ("AuditQueryDelayMs", "3000"),
    ];
    let loaded = command(
        root.path(),
        &["load-demo", "--rows", "3000", "--seed", "7"],
        &env,
    )
    .output()
    .expect("load-demo runs");
    let stdout = String::from_utf8_lossy(&loaded.stdout);
    assert!(
        loaded.status.success(),
        "is the emulator running?\n{stdout}\n{}",
        String::from_utf8_lossy(&loaded.stderr)
    );
    assert!(stdout.contains("loaded 3000 demo rows"), "{stdout}");

    let app = RunningApp::start(root.path(), &env);
    assert!(
        app.output().contains("local storage emulator") || app.output().contains("Azure"),
        "{}",
        app.output()
    );
    let rows: Vec<Entity> = demo::rows(7, 3000).collect();
    let day = |m, d| NaiveDate::from_ymd_opt(2020, m, d).expect("valid date");
    let expected = count_distinct_ids(&rows, day(1, 10), day(4, 10));
    assert!(expected > 0);
    replay_test_section(&app, "10/01/2020", "10/04/2020", expected);
}
