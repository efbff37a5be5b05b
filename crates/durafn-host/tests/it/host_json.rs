//! host.json files of real Azure apps: the quickstart files as `func init` writes them, one
//! with every Durable Functions key, and a test per kind of key: honoured (functionTimeout on
//! a running app), ignored (named once at start-up), misspelt (refused with a suggestion) and
//! malformed (refused with the expected form).

use crate::process;

use std::path::{Path, PathBuf};
use std::time::Duration;

use durafn_host::{AppSettings, HostArgs, HostConfig, StorageProvider};

use process::{AppProcess, M, command, http, key, poll};

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/host_json")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn load(text: &str) -> Result<HostConfig, durafn_host::ConfigError> {
    HostConfig::from_parts(
        PathBuf::from("app"),
        &HostArgs::default(),
        AppSettings::new(),
        Some(text),
    )
}

#[test]
fn the_quickstart_files_load() {
    for name in ["python-quickstart.json", "dotnet-quickstart.json"] {
        let c = load(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            c.host_json.ignored.iter().any(|k| k == "logging"),
            "{name}: {:?}",
            c.host_json
        );
        assert!(c.host_json.unknown.is_empty(), "{name}: {:?}", c.host_json);
        assert_eq!(c.route_prefix, "api");
        assert_eq!(
            c.function_timeout,
            Some(Duration::from_secs(30 * 60)),
            "Azure's default"
        );
    }
    let c = load(&fixture("python-quickstart.json")).unwrap();
    assert_eq!(c.host_json.ignored, ["extensionBundle", "logging"]);
}

#[test]
fn a_file_with_every_durable_task_key_loads_and_what_durafn_implements_is_applied() {
    let c = load(&fixture("every-durabletask-key.json")).expect("loads");
    assert_eq!(c.hub_name, "MyTaskHub");
    assert_eq!(c.function_timeout, Some(Duration::from_secs(600)));
    assert_eq!(c.default_version.as_deref(), Some("1.0"));
    assert!(c.local_rpc_enabled);
    assert_eq!(c.runtime.max_concurrent_activities, 10);
    assert_eq!(c.runtime.max_concurrent_orchestrations, 10);
    assert!(
        c.tracing.enabled,
        "distributedTracingEnabled turns tracing on"
    );
    assert!(
        matches!(c.storage, StorageProvider::Sqlite { path: None, .. }),
        "an Azure Storage configuration is served from SQLite: {:?}",
        c.storage
    );
    let ignored = &c.host_json.ignored;
    for k in [
        "logging",
        "extensionBundle",
        "extensions.http.maxConcurrentRequests",
        "extensions.durableTask.tracing.traceReplayEvents",
        "extensions.durableTask.tracing.distributedTracingProtocol",
        "extensions.durableTask.notifications",
        "extensions.durableTask.httpSettings",
        "extensions.durableTask.extendedSessionsEnabled",
        "extensions.durableTask.appLeaseOptions",
        "extensions.durableTask.storeInputsInOrchestrationHistory",
        "extensions.durableTask.storageProvider.partitionCount",
        "extensions.durableTask.storageProvider.fetchLargeMessagesAutomatically",
        "extensions.durableTask.storageProvider.connectionStringName",
    ] {
        assert!(ignored.iter().any(|i| i == k), "{k} in {ignored:?}");
    }
    for honoured in [
        "functionTimeout",
        "extensions.durableTask.hubName",
        "extensions.durableTask.defaultVersion",
        "extensions.durableTask.versionMatchStrategy",
        "extensions.durableTask.versionFailureStrategy",
        "extensions.durableTask.localRpcEndpointEnabled",
        "extensions.durableTask.maxConcurrentActivityFunctions",
        "extensions.durableTask.tracing",
        "extensions.durableTask.tracing.distributedTracingEnabled",
    ] {
        assert!(!ignored.iter().any(|i| i == honoured), "{honoured} is used");
    }
    assert!(c.host_json.unknown.is_empty(), "{:?}", c.host_json.unknown);
}

#[test]
fn version_strategies_are_read_and_a_bad_one_is_refused_with_the_choices() {
    use durafn_core::{VersionFailureStrategy, VersionMatchStrategy};
    let c = load(r#"{"extensions":{"durableTask":{"defaultVersion":"2.0","versionMatchStrategy":"Strict","versionFailureStrategy":"fail"}}}"#).unwrap();
    assert_eq!(c.default_version.as_deref(), Some("2.0"));
    assert_eq!(c.runtime.version_match, VersionMatchStrategy::Strict);
    assert_eq!(c.runtime.version_failure, VersionFailureStrategy::Fail);
    let c = load(r#"{"version": "2.0"}"#).unwrap();
    assert_eq!(
        c.runtime.version_match,
        VersionMatchStrategy::CurrentOrOlder
    );
    assert_eq!(c.runtime.version_failure, VersionFailureStrategy::Reject);
    let e = load(r#"{"extensions":{"durableTask":{"versionMatchStrategy":"Newest"}}}"#)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("extensions.durableTask.versionMatchStrategy")
            && e.contains("\"CurrentOrOlder\"")
            && e.contains("\"Newest\""),
        "{e}"
    );
}

#[test]
fn function_timeout_has_azures_default_and_minus_one_for_none() {
    let c = load(r#"{"version": "2.0", "functionTimeout": "-1"}"#).unwrap();
    assert_eq!(c.function_timeout, None);
    let c = load(r#"{"version": "2.0", "functionTimeout": "1.00:00:00"}"#).unwrap();
    assert_eq!(c.function_timeout, Some(Duration::from_secs(86_400)));
    let c = load(r#"{"version": "2.0", "functionTimeout": null}"#).unwrap();
    assert_eq!(c.function_timeout, Some(Duration::from_secs(1800)));
}

#[test]
fn a_key_close_to_a_known_one_is_refused_with_the_suggestion() {
    for (json, expected) in [
        (
            r#"{"extensions":{"durableTask":{"maxConcurrentActivityFunctionz":1}}}"#,
            "host.json: unknown key extensions.durableTask.maxConcurrentActivityFunctionz; did you mean extensions.durableTask.maxConcurrentActivityFunctions?",
        ),
        (
            r#"{"functionTimout":"00:10:00"}"#,
            "host.json: unknown key functionTimout; did you mean functionTimeout?",
        ),
        (
            r#"{"extensions":{"durableTask":{"tracing":{"traceReplayEvent":true}}}}"#,
            "host.json: unknown key extensions.durableTask.tracing.traceReplayEvent; did you mean extensions.durableTask.tracing.traceReplayEvents?",
        ),
    ] {
        assert_eq!(load(json).unwrap_err().to_string(), expected);
    }
    // Far from every key it knows: reported, not refused (a newer host's key).
    let c = load(r#"{"extensions":{"webPubSub":{"hub":"x"}},"someFutureSetting":1}"#).unwrap();
    assert_eq!(
        c.host_json.unknown,
        ["extensions.webPubSub", "someFutureSetting"]
    );
    assert!(
        c.host_json
            .message()
            .unwrap()
            .contains("not known to durafn, ignored: extensions.webPubSub, someFutureSetting")
    );
}

#[test]
fn a_known_key_with_a_malformed_value_names_file_key_and_form() {
    for (json, expected) in [
        (
            r#"{"functionTimeout":"10 minutes"}"#,
            "host.json: functionTimeout: expected a time span such as \"00:10:00\" ([d.]hh:mm:ss) or \"-1\" for no limit, found \"10 minutes\"",
        ),
        (
            r#"{"extensions":{"durableTask":{"extendedSessionsEnabled":"yes"}}}"#,
            "host.json: extensions.durableTask.extendedSessionsEnabled: expected true or false, found \"yes\"",
        ),
        (
            r#"{"healthMonitor":{"healthCheckInterval":"often"}}"#,
            "host.json: healthMonitor.healthCheckInterval: expected a time span such as \"00:05:00\" ([d.]hh:mm:ss), found \"often\"",
        ),
        (
            r#"{"logging":{"logLevel":{"default":"Loud"}}}"#,
            "host.json: logging.logLevel.default: expected a log level (Trace, Debug, Information, Warning, Error, Critical, None), found \"Loud\"",
        ),
        (
            r#"{"watchDirectories":"shared"}"#,
            "host.json: watchDirectories: expected an array of strings, found \"shared\"",
        ),
        (
            r#"{"extensions":{"durableTask":{"storageProvider":{"type":"mssql"}}}}"#,
            "host.json: extensions.durableTask.storageProvider.type: unknown storage provider \"mssql\"",
        ),
    ] {
        let e = load(json).unwrap_err().to_string();
        assert!(e.starts_with(expected), "{json}:\n{e}");
    }
    // .NET configuration reads strings: "10" and "true" are the same as 10 and true.
    let c = load(r#"{"extensions":{"durableTask":{"maxConcurrentActivityFunctions":"7","localRpcEndpointEnabled":"false"}}}"#).unwrap();
    assert_eq!(c.runtime.max_concurrent_activities, 7);
    assert!(!c.local_rpc_enabled);
}

fn app_with(host_json: &str) -> (tempfile::TempDir, AppProcess, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("host.json"), host_json).unwrap();
    let data = dir.path().join("data");
    let app = AppProcess::spawn(command(dir.path(), &data));
    (dir, app, data)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ignored_keys_are_named_once_at_start_up() {
    let (_dir, app, _) = app_with(&fixture("every-durabletask-key.json"));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let reports = loop {
        let lines: Vec<String> = app
            .stderr_lines()
            .into_iter()
            .filter(|l| l.contains("host.json: accepted but not used by durafn"))
            .collect();
        if !lines.is_empty() || std::time::Instant::now() > deadline {
            break lines;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(reports.len(), 1, "{:?}", app.stderr_lines());
    for name in [
        "logging",
        "extensions.durableTask.tracing",
        "extensions.durableTask.extendedSessionsEnabled",
        "extensions.durableTask.storageProvider.partitionCount",
    ] {
        assert!(reports[0].contains(name), "{name} in {}", reports[0]);
    }
    assert!(!reports[0].contains("hubName"), "{}", reports[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn function_timeout_stops_activities_and_http_functions() {
    let (_dir, app, data) = app_with(r#"{"version": "2.0", "functionTimeout": "00:00:01"}"#);
    // An HTTP function over the limit is answered with 500 and a message.
    let r = http(app.addr, "GET", "/api/nap?ms=60000", &[], b"").await;
    assert_eq!(r.status, 500, "{}", r.text());
    assert!(r.text().contains("functionTimeout"), "{}", r.text());
    assert_eq!(
        http(app.addr, "GET", "/api/nap?ms=1", &[], b"")
            .await
            .status,
        200
    );
    // An activity over the limit fails as a task, and its orchestration sees why.
    let system = key(
        &data,
        durafn_host::KeyScope::System,
        "durabletask_extension",
    );
    let auth = [
        ("x-functions-key", system.as_str()),
        ("content-type", "application/json"),
    ];
    let r = http(
        app.addr,
        "POST",
        &format!("{M}/orchestrators/sleeper/slow-1"),
        &auth,
        b"60000",
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text());
    let done = poll(app.addr, &format!("{M}/instances/slow-1"), &auth, |r| {
        r.status == 200
    })
    .await;
    let output = done.json()["output"].as_str().unwrap_or("").to_string();
    assert!(
        output.starts_with("failed: ")
            && output.contains("activity 'nap-activity' was stopped")
            && output.contains("function timeout of 00:00:01"),
        "{output}"
    );
}

/// The export queue's length is the standard `OTEL_BSP_MAX_QUEUE_SIZE`, read as an app setting
/// like the other `OTEL_*` variables; a value that is not a positive number is refused by name.
#[test]
fn the_export_queue_length_is_an_app_setting() {
    let with = |value: &str| {
        HostConfig::from_parts(
            PathBuf::from("app"),
            &HostArgs::default(),
            AppSettings::new().with("OTEL_BSP_MAX_QUEUE_SIZE", value),
            Some(r#"{"version":"2.0"}"#),
        )
    };
    assert_eq!(with("64").unwrap().tracing.queue_size, Some(64));
    assert_eq!(
        load(r#"{"version":"2.0"}"#).unwrap().tracing.queue_size,
        None
    );
    for bad in ["0", "many"] {
        let e = with(bad).expect_err(bad).to_string();
        assert!(e.contains("OTEL_BSP_MAX_QUEUE_SIZE"), "{bad}: {e}");
    }
}
