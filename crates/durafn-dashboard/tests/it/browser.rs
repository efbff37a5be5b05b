//! The dashboard in headless Chromium, driven through chromedriver (WebDriver): what an
//! operator does, click by click. Chromium is found through `DURAFN_TEST_CHROMIUM` (and
//! chromedriver beside it, or through `DURAFN_TEST_CHROMEDRIVER`); without it the tests say so
//! and pass, and under `CI=true` they fail. Each test saves a screenshot under
//! `target/tmp/dashboard-screenshots/`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use durafn_core::RuntimeStatus;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::common::{TestHost, request};

/// A headless Chromium with its chromedriver, for one test.
struct Browser {
    client: Client,
    _driver: tokio::process::Child,
    _profile: tempfile::TempDir,
    name: &'static str,
}

fn chromium() -> Option<PathBuf> {
    durafn_testenv::service("DURAFN_TEST_CHROMIUM", "dashboard's browser").map(PathBuf::from)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Browser {
    async fn start(name: &'static str) -> Option<Browser> {
        let binary = chromium()?;
        let driver_path = std::env::var("DURAFN_TEST_CHROMEDRIVER")
            .map(PathBuf::from)
            .unwrap_or_else(|_| binary.with_file_name("chromedriver"));
        let port = free_port();
        let driver = tokio::process::Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("chromedriver ({}) starts: {e}", driver_path.display()));
        let profile = tempfile::tempdir().expect("a profile directory");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": binary,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1440,1000",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let client = loop {
            match ClientBuilder::new(connector.clone())
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(c) => break c,
                Err(e) if tokio::time::Instant::now() < deadline => {
                    // chromedriver is still starting: poll it until the deadline.
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("chromedriver did not start a session: {e}"),
            }
        };
        Some(Browser {
            client,
            _driver: driver,
            _profile: profile,
            name,
        })
    }

    async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigates");
    }

    async fn css(&self, selector: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("{selector} appears: {e}"))
    }

    async fn text(&self, selector: &str) -> String {
        // The page can be replaced between finding the element and reading it (a navigation
        // finishing, a page that refreshes itself): then it is found again, up to a deadline.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            match self.css(selector).await.text().await {
                Ok(text) => return text,
                Err(e)
                    if e.is_stale_element_reference() && std::time::Instant::now() < deadline => {}
                Err(e) => panic!("text of {selector}: {e}"),
            }
        }
    }

    async fn count(&self, selector: &str) -> usize {
        self.client
            .find_all(Locator::Css(selector))
            .await
            .map(|v| v.len())
            .unwrap_or(0)
    }

    async fn fill(&self, selector: &str, text: &str) {
        let e = self.css(selector).await;
        e.clear().await.expect("clear");
        e.send_keys(text).await.expect("type");
    }

    async fn click(&self, selector: &str) {
        self.css(selector).await.click().await.expect("click");
    }

    async fn link(&self, text: &str) {
        self.client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::LinkText(text))
            .await
            .unwrap_or_else(|e| panic!("a link {text:?}: {e}"))
            .click()
            .await
            .expect("click");
    }

    async fn page(&self) -> String {
        self.client.source().await.expect("page source")
    }

    /// Reloads the page until `check` holds for its source (deadline 30 s).
    async fn reload_until(&self, what: &str, check: impl Fn(&str) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if check(&self.page().await) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the page never showed {what}"
            );
            tokio::time::sleep(Duration::from_millis(150)).await;
            self.client.refresh().await.expect("reload");
        }
    }

    /// Waits (without reloading: the page updates itself) until `check` holds.
    async fn until(&self, what: &str, check: impl Fn(&str) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while !check(&self.page().await) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the page never showed {what}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Saves a screenshot as `<dir>/<test>.png` and returns its path.
    async fn screenshot(&self) -> PathBuf {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard-screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot directory");
        let png = self.client.screenshot().await.expect("screenshot");
        let path = dir.join(format!("{}.png", self.name));
        std::fs::write(&path, png).expect("screenshot written");
        path
    }

    async fn sign_in(&self, host: &TestHost, key: &str) {
        self.goto(&host.url("/dashboard")).await;
        self.css("#key").await;
        assert!(
            self.client
                .current_url()
                .await
                .expect("url")
                .path()
                .ends_with("/login")
        );
        self.fill("#key", key).await;
        self.click("section.login button[type=submit]").await;
        // The login page stays until the browser has followed the redirect: wait for the next.
        self.until("the instance list after signing in", |page| {
            page.contains("<h1>Instances</h1>")
        })
        .await;
        assert_eq!(self.text("h1").await, "Instances");
    }

    /// A browser and a fresh host for one test, or `None` when the browser tests are skipped.
    async fn with_host(name: &'static str) -> Option<(Browser, TestHost)> {
        let browser = Browser::start(name).await?;
        Some((browser, TestHost::start().await))
    }

    /// Closes the browser, then stops the host.
    async fn end(self, host: TestHost) {
        let _ = self.client.close().await;
        host.stop().await;
    }
}

/// Submits the seed app's example query through its own HTTP function; returns the job's id.
async fn submit_job(host: &TestHost) -> String {
    let (status, _, body) = request(
        "GET",
        &host.url("/api/submit/query?s=10/10/2021&e=10/12/2021"),
        &[],
        "",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    let uri = v["statusUri"].as_str().expect("a status uri");
    uri.rsplit('/').next().expect("an id").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signs_in_and_filters_by_status_and_time() {
    let Some((b, host)) = Browser::with_host("list-filtered").await else {
        return;
    };
    let mut done = Vec::new();
    for _ in 0..3 {
        done.push(submit_job(&host).await);
    }
    for id in &done {
        host.finished(id).await;
    }
    let mut sleeping = Vec::new();
    for _ in 0..2 {
        let id = host.running("sleeper", None, &json!(null)).await;
        sleeping.push(id.to_string());
    }
    b.sign_in(&host, &host.master).await;
    b.until("the counts", |p| p.contains("class=\"total\""))
        .await;
    let page = b.page().await;
    for id in done.iter().chain(&sleeping) {
        assert!(page.contains(id.as_str()), "{id} listed");
    }

    b.click("input[name=status][value=Running]").await;
    b.css("select[name=range]")
        .await
        .select_by_value("15m")
        .await
        .expect("preset");
    b.click("form.filters button[type=submit]").await;
    b.until("the filtered list", |p| p.contains("aria-pressed=\"true\""))
        .await;
    let url = b.client.current_url().await.expect("url");
    let query = url.query().unwrap_or("");
    assert!(
        query.contains("status=Running") && query.contains("range=15m"),
        "{query}"
    );
    assert_eq!(b.count("table.instances tbody tr").await, 2);
    let page = b.page().await;
    for id in &sleeping {
        assert!(page.contains(id.as_str()));
    }
    for id in &done {
        assert!(
            !page.contains(id.as_str()),
            "completed {id} is filtered out"
        );
    }
    b.until("the counts of the filter", |p| {
        p.contains("<strong>2</strong> matching")
    })
    .await;
    b.screenshot().await;

    // Auto-refresh: the list updates itself (htmx polls it) with an instance started meanwhile.
    b.link("Auto-refresh: off").await;
    b.css("#results[hx-trigger]").await;
    assert!(
        b.client
            .current_url()
            .await
            .expect("url")
            .query()
            .unwrap_or("")
            .contains("refresh=1")
    );
    let late = host.running("sleeper", None, &json!(null)).await;
    b.until("the new instance without a reload", |p| {
        p.contains(late.as_str())
    })
    .await;

    // A range in the future matches nothing; the address keeps the filter.
    b.goto(&host.url("/dashboard/instances?status=Running&range=custom&from=2999-01-01T00%3A00"))
        .await;
    assert!(b.text("#results").await.contains("No instance matches"));
    b.end(host).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completed_seed_job_shows_its_history_and_timeline() {
    let Some((b, host)) = Browser::with_host("seed-job").await else {
        return;
    };
    let id = submit_job(&host).await;
    let status = host.finished(&id).await;
    assert_eq!(status.runtime_status, RuntimeStatus::Completed);
    b.sign_in(&host, &host.operator).await;
    b.link(&id).await;
    b.css("#history").await;
    assert!(b.text("h1 .status").await.contains("Completed"));
    let rows = b
        .client
        .find_all(Locator::Css("table.history tbody tr"))
        .await
        .expect("rows");
    let mut activity_row = None;
    for r in &rows {
        let t = r.text().await.expect("row text");
        if t.contains("query-storage-account-activity-function") {
            activity_row = Some(t);
        }
    }
    let row = activity_row.expect("the activity's row");
    assert!(
        row.contains("activity") && row.contains("Completed"),
        "{row}"
    );
    assert!(
        row.contains("ms") || row.contains("µs") || row.contains('s'),
        "a duration: {row}"
    );
    assert!(
        b.count("table.history tbody tr").await >= 3,
        "start, activity, end"
    );
    assert!(
        b.count("figure.timeline svg rect.bar").await >= 1,
        "a bar for the activity"
    );
    assert!(b.text("#timeline").await.contains("query-storage"));
    assert!(
        b.page().await.contains("616"),
        "the article's answer is the output"
    );
    b.screenshot().await;
    b.link("Raw events").await;
    assert!(b.text("table.events").await.contains("TaskCompleted"));
    b.end(host).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raises_the_event_a_waiting_instance_waits_for() {
    let Some((b, host)) = Browser::with_host("raise-event").await else {
        return;
    };
    let id = host
        .running("approval-flow", None, &json!({"order": 42}))
        .await;
    b.sign_in(&host, &host.master).await;
    b.goto(&host.url(&format!("/dashboard/instances/{id}")))
        .await;
    b.reload_until("the awaited event", |p| p.contains("waits for the event"))
        .await;
    assert!(b.text("#why").await.contains("approval"));
    assert!(b.text("#pending").await.contains("approval"));
    b.link("Raise event…").await;
    assert_eq!(
        b.css("#event")
            .await
            .prop("value")
            .await
            .expect("value")
            .as_deref(),
        Some("approval"),
        "the form names the event the instance waits for"
    );
    b.fill("#data", "{\"by\": ").await;
    b.click("section.confirm button[type=submit]").await;
    b.until("the JSON error", |p| p.contains("Not valid JSON"))
        .await;
    assert!(
        b.client
            .current_url()
            .await
            .expect("url")
            .path()
            .ends_with("/do/raise"),
        "invalid JSON is not sent"
    );
    b.fill("#data", "{\"by\": \"ops\"}").await;
    b.click("section.confirm button[type=submit]").await;
    b.css("#history").await;
    b.reload_until("completion", |p| p.contains("status status-completed"))
        .await;
    assert!(b.page().await.contains("approved by ops"));
    b.screenshot().await;
    b.end(host).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminates_rewinds_and_purges_from_the_page() {
    let Some((b, host)) = Browser::with_host("terminate-rewind-purge").await else {
        return;
    };
    let sleeper = host
        .client
        .start_new("sleeper", None, &json!(null))
        .await
        .expect("start");
    let flaky = host
        .client
        .start_new("flaky-flow", None, &())
        .await
        .expect("start");
    host.until_status(sleeper.as_str(), |s| s == RuntimeStatus::Running)
        .await;
    assert_eq!(
        host.finished(flaky.as_str()).await.runtime_status,
        RuntimeStatus::Failed
    );
    b.sign_in(&host, &host.master).await;

    b.goto(&host.url(&format!("/dashboard/instances/{sleeper}")))
        .await;
    b.link("Suspend…").await;
    b.click("section.confirm button[type=submit]").await;
    b.reload_until("Suspended", |p| p.contains("status status-suspended"))
        .await;
    assert!(b.text("#why").await.contains("suspended"));
    b.link("Resume…").await;
    b.click("section.confirm button[type=submit]").await;
    b.reload_until("Running again", |p| p.contains("status status-running"))
        .await;
    b.link("Terminate…").await;
    b.fill("#reason", "not needed").await;
    b.click("section.confirm button[type=submit]").await;
    b.reload_until("Terminated", |p| p.contains("status status-terminated"))
        .await;

    b.goto(&host.url(&format!("/dashboard/instances/{flaky}")))
        .await;
    assert!(
        b.text("#history")
            .await
            .contains("the warehouse did not answer")
    );
    b.link("Rewind…").await;
    b.click("section.confirm button[type=submit]").await;
    b.reload_until("the rewound instance completing", |p| {
        p.contains("status status-completed")
    })
    .await;
    assert!(b.page().await.contains("second time lucky"));
    b.screenshot().await;
    b.link("Restart with a new id…").await;
    b.click("section.confirm button[type=submit]").await;
    b.css("#history").await;
    let restarted = b
        .client
        .current_url()
        .await
        .expect("url")
        .path()
        .to_string();
    assert!(
        restarted.starts_with("/dashboard/instances/") && !restarted.ends_with(flaky.as_str()),
        "a new instance: {restarted}"
    );

    b.goto(&host.url(&format!("/dashboard/instances/{sleeper}")))
        .await;
    b.link("Purge…").await;
    b.click("section.confirm button[type=submit]").await;
    b.css("#results").await;
    assert!(
        !b.page().await.contains(sleeper.as_str()),
        "purged from the list"
    );
    let gone = host
        .client
        .get_status(sleeper.as_str(), Default::default())
        .await
        .expect("status");
    assert!(gone.is_none(), "purged from the task hub");
    b.end(host).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_terminates_500_matching_instances_with_progress() {
    let Some((b, host)) = Browser::with_host("bulk-terminate").await else {
        return;
    };
    for i in 0..500 {
        host.client
            .start_new("sleeper", Some(&format!("bulk-{i:03}")), &json!(i))
            .await
            .expect("start");
    }
    let other = host
        .client
        .start_new("sleeper", Some("keep-1"), &json!(null))
        .await
        .expect("start");
    b.sign_in(&host, &host.master).await;
    b.goto(&host.url("/dashboard/instances?prefix=bulk-")).await;
    b.link("Terminate all matching…").await;
    assert_eq!(b.text("h1").await, "Terminate 500 instances");
    b.click("section.confirm button[type=submit]").await;
    b.css("#job-progress").await;
    assert!(b.page().await.contains("<progress"));
    b.until("the final count", |p| {
        p.contains("Terminated 500 instances")
    })
    .await;
    b.screenshot().await;
    let query = durafn_store::inspect::InstanceQuery {
        filter: durafn_store::InstanceFilter {
            instance_id_prefix: Some("bulk-".into()),
            statuses: vec![RuntimeStatus::Terminated],
            ..Default::default()
        },
        ..Default::default()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let n: u64 = host
            .client
            .count(&query)
            .await
            .expect("count")
            .iter()
            .map(|(_, n)| n)
            .sum();
        if n == 500 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{n} of 500 terminated"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let kept = host
        .client
        .get_status(other.as_str(), Default::default())
        .await
        .expect("status");
    assert!(
        kept.is_some_and(|s| !s.runtime_status.is_terminal()),
        "outside the filter"
    );
    b.end(host).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_key_gets_no_controls_and_no_changes() {
    let Some((b, host)) = Browser::with_host("read-only").await else {
        return;
    };
    let id = host.running("sleeper", None, &json!(null)).await;
    b.sign_in(&host, &host.viewer).await;
    assert!(b.page().await.contains("read-only"));
    assert_eq!(b.count("a[href*='/bulk']").await, 0, "no bulk operations");
    assert_eq!(b.count("a[href$='/start']").await, 0, "no start");
    b.goto(&host.url(&format!("/dashboard/instances/{id}")))
        .await;
    b.css("#why").await;
    assert_eq!(b.count("nav.actions").await, 0, "no operations");
    b.goto(&host.url(&format!("/dashboard/instances/{id}/do/terminate")))
        .await;
    assert!(b.text("main").await.contains("can only read"));
    b.screenshot().await;
    b.goto(&host.url("/dashboard/entities/counter/k")).await;
    assert_eq!(
        b.count("form[action$='/signal']").await,
        0,
        "no signal form"
    );
    let still = host
        .client
        .get_status(id.as_str(), Default::default())
        .await
        .expect("status");
    assert_eq!(
        still.map(|s| s.runtime_status),
        Some(RuntimeStatus::Running)
    );
    b.end(host).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entity_state_is_shown_and_signalled() {
    let Some((b, host)) = Browser::with_host("entity").await else {
        return;
    };
    let counter = durafn_core::EntityId::new("counter", "k");
    host.client
        .signal_entity(&counter, "add", &5)
        .await
        .expect("signal");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while host
        .client
        .read_entity_state::<i64>(&counter)
        .await
        .expect("state")
        != Some(5)
    {
        assert!(tokio::time::Instant::now() < deadline, "the entity holds 5");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    b.sign_in(&host, &host.master).await;
    b.link("Entities").await;
    b.css("table").await;
    b.link("k").await;
    assert_eq!(b.text("#entity-state pre").await.trim(), "5");
    b.fill("#op", "add").await;
    b.fill("#input", "2").await;
    b.click("form[action$='/signal'] button[type=submit]").await;
    b.reload_until("the new state", |p| p.contains("<code>7</code>"))
        .await;
    b.screenshot().await;
    b.end(host).await;
}

/// The README's pictures: the list of a hub with a bit of everything, and the timeline of an
/// order that ran activities, a timer, a sub-orchestration and an entity call. With
/// `DURAFN_UPDATE_DOCS=1` they are written to `docs/` too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screenshots_for_the_readme() {
    let Some((b, host)) = Browser::with_host("docs-list").await else {
        return;
    };
    let c = &host.client;
    let mut orders = Vec::new();
    for n in [1017, 1018, 1019] {
        orders.push(
            c.start_new(
                "fulfil-order",
                Some(&format!("order-{n}")),
                &json!({"order": n, "items": 3}),
            )
            .await
            .expect("start"),
        );
    }
    for _ in 0..2 {
        submit_job(&host).await;
    }
    c.start_new(
        "approval-flow",
        Some("refund-2291"),
        &json!({"refund": 2291}),
    )
    .await
    .expect("start");
    c.start_new(
        "approval-flow",
        Some("refund-2292"),
        &json!({"refund": 2292}),
    )
    .await
    .expect("start");
    let failed = c
        .start_new("flaky-flow", Some("sync-warehouse-7"), &())
        .await
        .expect("start");
    c.start_new("sleeper", Some("nightly-report"), &json!(null))
        .await
        .expect("start");
    let stopped = c
        .start_new("sleeper", Some("cleanup-old-carts"), &json!(null))
        .await
        .expect("start");
    for id in &orders {
        assert_eq!(
            host.finished(id.as_str()).await.runtime_status,
            RuntimeStatus::Completed
        );
    }
    host.finished(failed.as_str()).await;
    host.until_status(stopped.as_str(), |s| s == RuntimeStatus::Running)
        .await;
    c.terminate(stopped.as_str(), "superseded")
        .await
        .expect("terminate");
    host.finished(stopped.as_str()).await;
    host.until_status("refund-2292", |s| s == RuntimeStatus::Running)
        .await;

    b.client.set_window_size(1440, 1000).await.expect("size");
    b.sign_in(&host, &host.master).await;
    b.until("the counts", |p| p.contains("class=\"total\""))
        .await;
    let list = b.screenshot().await;

    let timeline = Browser {
        name: "docs-timeline",
        ..b
    };
    timeline
        .client
        .set_window_size(1440, 1180)
        .await
        .expect("size");
    timeline
        .goto(&host.url("/dashboard/instances/order-1018"))
        .await;
    timeline.css("figure.timeline svg").await;
    assert!(timeline.count("figure.timeline rect.bar.k-sub").await >= 1);
    assert!(timeline.count("figure.timeline rect.bar.k-timer").await >= 1);
    assert!(timeline.count("figure.timeline rect.bar.k-entity").await >= 1);
    assert!(timeline.text("#tree").await.contains("ship-order"));
    let chart = timeline.screenshot().await;
    if std::env::var("DURAFN_UPDATE_DOCS").as_deref() == Ok("1") {
        let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs");
        std::fs::create_dir_all(&docs).expect("docs");
        std::fs::copy(&list, docs.join("dashboard-instances.png")).expect("copy");
        std::fs::copy(&chart, docs.join("dashboard-timeline.png")).expect("copy");
    }
    timeline.end(host).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_an_instance_with_json_input() {
    let Some((b, host)) = Browser::with_host("start-instance").await else {
        return;
    };
    b.sign_in(&host, &host.operator).await;
    b.link("Start an instance").await;
    b.css("#name")
        .await
        .select_by_value("approval-flow")
        .await
        .expect("orchestrator");
    b.fill("#id", "refund-77").await;
    b.fill("#input", "{\"refund\": ").await;
    b.click("section.confirm button[type=submit]").await;
    b.until("the JSON error", |p| p.contains("Not valid JSON"))
        .await;
    b.fill("#input", "{\"refund\": 77}").await;
    b.click("section.confirm button[type=submit]").await;
    b.css("#history").await;
    assert!(
        b.client
            .current_url()
            .await
            .expect("url")
            .path()
            .ends_with("/instances/refund-77")
    );
    b.reload_until("the awaited event", |p| p.contains("waits for the event"))
        .await;
    assert!(b.text("main").await.contains("\"refund\": 77"));
    b.screenshot().await;
    b.end(host).await;
}
