//! Timer triggers against an injected clock the tests move (no waiting for wall-clock
//! minutes): a missed occurrence runs once, late, after a simulated downtime; three hosts on
//! one PostgreSQL task hub run each of 100 occurrences exactly once.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use chrono::{DateTime, TimeDelta, TimeZone as _, Utc};
use durafn_host::timers::schedule_instance_id;
use durafn_host::{
    App, AppSettings, Host, HostArgs, HostConfig, ScheduleStatus, TimerFunction, TimerInfo,
};
use durafn_runtime::{Clock, StatusOptions};
use tower::ServiceExt;

use crate::triggers::common::until;

/// A clock that stands still until the test moves it.
#[derive(Clone)]
struct TestClock(Arc<Mutex<DateTime<Utc>>>);

impl TestClock {
    fn new(at: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(at)))
    }

    fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap() = at;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

type Runs = Arc<Mutex<Vec<(usize, TimerInfo)>>>;

fn timer(host: usize, schedule: &str, runs: &Runs) -> TimerFunction {
    let runs = runs.clone();
    TimerFunction::new("report")
        .schedule(schedule)
        .handler(move |info: TimerInfo, _client| {
            runs.lock().unwrap().push((host, info));
            async { Ok::<(), durafn_host::HandlerError>(()) }
        })
}

fn config(root: &std::path::Path, host_json: &str, settings: AppSettings) -> HostConfig {
    let args = HostArgs {
        data_dir: Some(root.join("data")),
        ..HostArgs::default()
    };
    let mut config =
        HostConfig::from_parts(root.to_path_buf(), &args, settings, Some(host_json)).unwrap();
    // The clock jumps by minutes: leases must outlast the jumps, and idle dispatchers look
    // again often, since the clock does not wake them.
    config.runtime.lease = Duration::from_secs(86_400);
    config.runtime.max_poll_interval = Duration::from_millis(20);
    config
}

/// The schedule's record in the task hub, once it says `next`.
async fn recorded(host: &Host, next: DateTime<Utc>) -> ScheduleStatus {
    let client = host.client();
    until(30, &format!("the schedule's next run at {next}"), || {
        let client = client.clone();
        async move {
            let s = client
                .get_status(&schedule_instance_id("report"), StatusOptions::default())
                .await
                .ok()??;
            let status: ScheduleStatus = s.custom_status?.decode().ok()?;
            (status.next == Some(next)).then_some(status)
        }
    })
    .await
}

async fn runs_reach(runs: &Runs, n: usize) {
    until(30, &format!("{n} runs"), || async {
        (runs.lock().unwrap().len() >= n).then_some(())
    })
    .await;
}

fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, h, m, s).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missed_occurrence_runs_once_late_after_a_downtime() {
    let dir = tempfile::tempdir().unwrap();
    let host_json = r#"{"version":"2.0","extensions":{"durableTask":{"hubName":"TimerHub"}}}"#;
    let settings = AppSettings::new().with("ReportSchedule", "0 */5 * * * *");
    let clock = TestClock::new(at(10, 2, 30));
    let runs: Runs = Arc::default();
    let start = |host: usize| {
        App::new()
            .timer_function(timer(host, "%ReportSchedule%", &runs))
            .clock(Arc::new(clock.clone()))
            .config(config(dir.path(), host_json, settings.clone()))
            .start()
    };
    let first = start(0).await.unwrap();
    recorded(&first, at(10, 5, 0)).await;
    clock.set(at(10, 5, 0));
    runs_reach(&runs, 1).await;
    let status = recorded(&first, at(10, 10, 0)).await;
    assert_eq!(status.last, Some(at(10, 5, 0)));
    first.shutdown().await;

    // Down from 10:05 to 11:37:10: 10:10 to 11:35 are missed.
    clock.set(at(11, 37, 10));
    let second = start(1).await.unwrap();
    recorded(&second, at(11, 40, 0)).await;
    runs_reach(&runs, 2).await;
    clock.set(at(11, 40, 0));
    runs_reach(&runs, 3).await;
    let status = recorded(&second, at(11, 45, 0)).await;
    assert_eq!(status.last, Some(at(11, 40, 0)));
    let runs = runs.lock().unwrap().clone();
    let seen: Vec<(DateTime<Utc>, bool)> = runs
        .iter()
        .map(|(_, i)| (i.scheduled, i.is_past_due))
        .collect();
    assert_eq!(
        seen,
        vec![
            (at(10, 5, 0), false),
            (at(10, 10, 0), true),
            (at(11, 40, 0), false)
        ],
        "the missed occurrences ran once, past due"
    );
    let late = runs[1].1.schedule_status.expect("useMonitor is on");
    assert_eq!(
        (late.last, late.next),
        (Some(at(10, 5, 0)), Some(at(11, 40, 0)))
    );

    // The admin API names the trigger and its next run.
    let master = second.keys().master_key();
    let response = second
        .router()
        .oneshot(
            axum::http::Request::get("/admin/functions/report")
                .header("x-functions-key", master.as_str())
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let f: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(f["config"]["bindings"][0]["type"], "timerTrigger");
    assert_eq!(f["config"]["bindings"][0]["schedule"], "0 */5 * * * *");
    assert_eq!(f["schedule"]["next"], "2026-03-02T11:45:00Z");
    assert_eq!(f["schedule"]["timeZone"], "UTC");

    // The dashboard's functions list shows the same live record.
    let page = |path: &'static str| {
        let router = second.router();
        let master = master.clone();
        async move {
            let response = router
                .oneshot(
                    axum::http::Request::get(path)
                        .header("x-functions-key", master)
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "{path}");
            let body = axum::body::to_bytes(response.into_body(), 1 << 22)
                .await
                .unwrap();
            String::from_utf8(body.to_vec()).unwrap()
        }
    };
    let hub = page("/dashboard/hub").await;
    assert!(
        hub.contains("Next run <time datetime=\"2026-03-02T11:45:00.000000Z\">2026-03-02 11:45:00</time> UTC (in 5m 0s)"),
        "the hub page shows the next run: {hub}"
    );
    assert!(
        hub.contains(
            "last <time datetime=\"2026-03-02T11:40:00.000000Z\">2026-03-02 11:40:00</time> UTC"
        ),
        "the hub page shows the last run"
    );
    second.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hosts_on_postgres_run_each_of_a_hundred_occurrences_once() {
    let Some(url) = durafn_testenv::postgres_url() else {
        return;
    };
    const OCCURRENCES: i64 = 100;
    let hub = format!("Timers{}", std::process::id());
    let host_json = format!(
        r#"{{"version":"2.0","extensions":{{"durableTask":{{"hubName":"{hub}","storageProvider":{{"type":"postgres","connectionStringName":"TaskHubConnection"}}}}}}}}"#
    );
    let settings = AppSettings::new().with("TaskHubConnection", &url);
    let clock = TestClock::new(at(0, 0, 30));
    let runs: Runs = Arc::default();
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut hosts = Vec::new();
    for (i, dir) in dirs.iter().enumerate() {
        let host = App::new()
            .timer_function(timer(i, "0 * * * * *", &runs))
            .clock(Arc::new(clock.clone()))
            .config(config(dir.path(), &host_json, settings.clone()))
            .start()
            .await
            .unwrap();
        hosts.push(host);
    }
    let first = at(0, 1, 0);
    recorded(&hosts[0], first).await;
    for k in 0..OCCURRENCES {
        let occurrence = first + TimeDelta::minutes(k);
        clock.set(occurrence);
        runs_reach(&runs, k as usize + 1).await;
        recorded(&hosts[(k % 3) as usize], occurrence + TimeDelta::minutes(1)).await;
        assert_eq!(
            runs.lock().unwrap().len(),
            k as usize + 1,
            "no occurrence ran twice"
        );
    }
    let runs = runs.lock().unwrap().clone();
    let scheduled: Vec<DateTime<Utc>> = runs.iter().map(|(_, i)| i.scheduled).collect();
    let expected: Vec<DateTime<Utc>> = (0..OCCURRENCES)
        .map(|k| first + TimeDelta::minutes(k))
        .collect();
    assert_eq!(scheduled, expected, "each occurrence once, in order");
    assert!(runs.iter().all(|(_, i)| !i.is_past_due));
    let mut per_host = [0; 3];
    for (h, _) in &runs {
        per_host[*h] += 1;
    }
    println!("occurrences run per host: {per_host:?}");
    for host in hosts {
        host.shutdown().await;
    }
    durafn_postgres::drop_task_hub(&url, &hub.to_lowercase())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_run_in_the_apps_time_zone_and_on_startup_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let host_json =
        r#"{"version":"2.0","extensions":{"durableTask":{"storageProvider":{"type":"memory"}}}}"#;
    // 09:30 in London is 08:30 UTC in summer; WEBSITE_TIME_ZONE wins over TZ.
    let settings = AppSettings::new()
        .with("WEBSITE_TIME_ZONE", "Europe/London")
        .with("TZ", "Asia/Tokyo");
    let clock = TestClock::new(Utc.with_ymd_and_hms(2026, 6, 5, 7, 0, 0).unwrap());
    let runs: Runs = Arc::default();
    let host = App::new()
        .timer_function(timer(0, "0 30 9 * * *", &runs).run_on_startup(true))
        .clock(Arc::new(clock.clone()))
        .config(config(dir.path(), host_json, settings))
        .start()
        .await
        .unwrap();
    let nine_thirty = Utc.with_ymd_and_hms(2026, 6, 5, 8, 30, 0).unwrap();
    recorded(&host, nine_thirty).await;
    runs_reach(&runs, 1).await;
    let startup = runs.lock().unwrap()[0].1.clone();
    assert_eq!(
        startup.scheduled,
        Utc.with_ymd_and_hms(2026, 6, 5, 7, 0, 0).unwrap()
    );
    assert!(!startup.is_past_due && startup.schedule_status.is_none());
    clock.set(nine_thirty);
    runs_reach(&runs, 2).await;
    recorded(&host, nine_thirty + TimeDelta::days(1)).await;
    assert_eq!(runs.lock().unwrap()[1].1.scheduled, nine_thirty);
    assert_eq!(runs.lock().unwrap().len(), 2);
    host.shutdown().await;
}

#[tokio::test]
async fn bad_schedules_are_refused_with_the_function_and_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let runs: Runs = Arc::default();
    for (schedule, settings, expected) in [
        ("0 */5 * *", AppSettings::new(), "timer function 'report'"),
        ("%Missing%", AppSettings::new(), "Missing"),
        (
            "every minute",
            AppSettings::new(),
            "timer function 'report'",
        ),
        (
            "0 * * * * *",
            AppSettings::new().with("WEBSITE_TIME_ZONE", "Mars/Olympus"),
            "Mars/Olympus",
        ),
    ] {
        let mut config = config(dir.path(), r#"{"version":"2.0"}"#, settings);
        config.storage = durafn_host::StorageProvider::Memory;
        let e = App::new()
            .timer_function(timer(0, schedule, &runs))
            .config(config)
            .start()
            .await
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(expected),
            "{schedule}: expected {expected:?}, got {e:?}"
        );
    }
    let e = App::new()
        .timer_function(TimerFunction::new("report").schedule("0 * * * * *"))
        .config(config(dir.path(), r#"{"version":"2.0","extensions":{"durableTask":{"storageProvider":{"type":"memory"}}}}"#, AppSettings::new()))
        .start()
        .await
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(e.contains("timer function 'report' has no handler"), "{e}");
}
