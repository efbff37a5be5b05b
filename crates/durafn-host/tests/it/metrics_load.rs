//! `/metrics` under load: a host on its SQLite task hub, served on a socket, runs a few thousand
//! orchestrations while the test scrapes it; every scrape is parsed by the Prometheus project's
//! own parser (`prometheus_client.parser` of the Python client, from the test venv), and the
//! histograms and gauges tell a plausible story: ready work rises while the orchestrations are
//! started faster than the activities run, and is back to 0 at the end.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use durafn_core::{FunctionError, OrchestrationContext, RuntimeStatus, orchestrator_fn};
use durafn_host::{App, AppSettings, HostArgs, HostConfig};
use serde::Deserialize;

use crate::process::http;

const JOBS: usize = 3000;

/// Parses a JSON array of scrapes (texts) with the Prometheus Python client's text-format
/// parser, which raises on anything that is not the format, and prints each scrape's families
/// as JSON.
const PARSER: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for text in json.load(sys.stdin):
    out.append([
        {"name": f.name, "type": f.type,
         "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples]}
        for f in text_string_to_metric_families(text)
    ])
json.dump(out, sys.stdout)
"#;

#[derive(Debug, Deserialize)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

#[derive(Debug, Deserialize)]
struct Family {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    samples: Vec<Sample>,
}

/// One parsed scrape.
struct Metrics(Vec<Family>);

/// Parses every scrape in one run of the parser; a scrape it refuses fails the test.
fn parse_all(python: &Path, texts: &[String]) -> Vec<Metrics> {
    let mut child = Command::new(python)
        .args(["-c", PARSER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the test Python starts");
    let input = serde_json::to_vec(texts).unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the Prometheus parser refused a scrape: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed: Vec<Vec<Family>> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(parsed.len(), texts.len());
    parsed.into_iter().map(Metrics).collect()
}

impl Metrics {
    /// The family of `name` (a counter's family name drops its `_total`) and its sample with
    /// that name and the given labels.
    fn sample(&self, name: &str, labels: &[(&str, &str)]) -> (&Family, &Sample) {
        self.0
            .iter()
            .flat_map(|f| f.samples.iter().map(move |s| (f, s)))
            .find(|(_, s)| {
                s.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .unwrap_or_else(|| panic!("no {name} {labels:?}"))
    }

    /// A gauge's value for the given labels.
    fn gauge(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let (family, sample) = self.sample(name, labels);
        assert_eq!(family.kind, "gauge", "{name}");
        sample.value
    }

    /// A counter's value, or a histogram's `_sum` or `_count`.
    fn number(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.sample(name, labels).1.value
    }

    /// A histogram's buckets (upper bound, cumulative count), checked to be one: bounds rising,
    /// counts never falling, `+Inf` last and equal to `_count`. Returns (count, sum, buckets).
    fn histogram(&self, name: &str, labels: &[(&str, &str)]) -> (f64, f64, Vec<(f64, f64)>) {
        let family = self
            .0
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("no histogram {name}"));
        assert_eq!(family.kind, "histogram", "{name}");
        let bucket = format!("{name}_bucket");
        let mut buckets: Vec<(f64, f64)> = family
            .samples
            .iter()
            .filter(|s| {
                s.name == bucket
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| {
                let le = &s.labels["le"];
                let bound = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().unwrap()
                };
                (bound, s.value)
            })
            .collect();
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert!(buckets.len() > 3, "{name}: {buckets:?}");
        assert!(
            buckets.windows(2).all(|w| w[0].1 <= w[1].1),
            "{name}: cumulative counts: {buckets:?}"
        );
        let last = buckets.last().copied().unwrap_or_default();
        assert!(last.0.is_infinite(), "{name}: +Inf last: {buckets:?}");
        let count = self.number(&format!("{name}_count"), labels);
        let sum = self.number(&format!("{name}_sum"), labels);
        assert_eq!(last.1, count, "{name}: +Inf is the count");
        (count, sum, buckets)
    }
}

/// The value at which `share` of a histogram's observations lie (a bucket bound).
fn quantile(buckets: &[(f64, f64)], share: f64) -> f64 {
    let total = buckets.last().map_or(0.0, |b| b.1);
    buckets
        .iter()
        .find(|(_, c)| *c >= total * share)
        .map_or(f64::INFINITY, |b| b.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_under_load_are_plausible_and_parse() {
    let Some(python) = durafn_testenv::python() else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let host_json = r#"{"version":"2.0","extensions":{"durableTask":{"hubName":"LoadHub","maxConcurrentActivityFunctions":4}}}"#;
    let args = HostArgs {
        data_dir: Some(root.path().join("data")),
        port: Some(0),
        ..HostArgs::default()
    };
    let config = HostConfig::from_parts(
        root.path().to_path_buf(),
        &args,
        AppSettings::new(),
        Some(host_json),
    )
    .unwrap();
    let host = App::new()
        .orchestrator(orchestrator_fn(
            "load",
            |ctx: OrchestrationContext, n: u64| async move {
                let done: u64 = ctx.call_activity("work", &n).await?;
                Ok::<_, FunctionError>(done)
            },
        ))
        .activity(durafn_core::activity_fn(
            "work",
            |_ctx, n: u64| async move {
                tokio::time::sleep(Duration::from_millis(1)).await;
                Ok::<_, FunctionError>(n + 1)
            },
        ))
        .config(config)
        .start()
        .await
        .unwrap();
    let master = host.keys().master_key();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = host.router();
    let server = tokio::spawn(async move { axum::serve(listener, router).await });

    let scrape = move || {
        let master = master.clone();
        async move {
            let r = http(
                addr,
                "GET",
                "/metrics",
                &[("x-functions-key", &master)],
                b"",
            )
            .await;
            assert_eq!(r.status, 200, "{}", r.text());
            r.text()
        }
    };
    let before = parse_all(&python, &[scrape().await]).remove(0);
    assert_eq!(
        before.gauge("durafn_work_ready", &[("queue", "activities")]),
        0.0
    );

    // Scrape every 50 ms while the load runs; the peaks of the gauges are read afterwards.
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = tokio::spawn({
        let stop = stop.clone();
        let scrape = scrape.clone();
        async move {
            let mut texts = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                texts.push(scrape().await);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            texts
        }
    });

    let client = host.client();
    let started = Instant::now();
    let mut ids = Vec::with_capacity(JOBS);
    for n in 0..JOBS as u64 {
        ids.push(client.start_new("load", None, &n).await.unwrap());
    }
    let submitted = started.elapsed();
    for id in &ids {
        let status = client
            .wait_for_completion(id.as_str(), Duration::from_secs(120))
            .await
            .unwrap();
        assert_eq!(status.runtime_status, RuntimeStatus::Completed);
    }
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let texts = sampler.await.unwrap();
    let scrapes = u32::try_from(texts.len()).unwrap();
    let mut peaks: BTreeMap<&'static str, f64> = BTreeMap::new();
    for m in parse_all(&python, &texts) {
        for (key, name, queue) in [
            (
                "ready orchestrations",
                "durafn_work_ready",
                "orchestrations",
            ),
            ("ready activities", "durafn_work_ready", "activities"),
            (
                "oldest ready activity",
                "durafn_work_oldest_ready_age_seconds",
                "activities",
            ),
            ("leased activities", "durafn_work_leased", "activities"),
            ("leases held", "durafn_leases_held", "activities"),
        ] {
            let v = m.gauge(name, &[("queue", queue)]);
            let peak = peaks.entry(key).or_insert(0.0);
            *peak = peak.max(v);
        }
        let running = m.gauge("durafn_instances", &[("runtime_status", "Running")]);
        let peak = peaks.entry("running instances").or_insert(0.0);
        *peak = peak.max(running);
    }
    println!(
        "{JOBS} orchestrations: submitted in {submitted:?}, done in {elapsed:?}; {scrapes} scrapes; peaks {peaks:?}"
    );
    assert!(
        peaks["ready activities"] > 0.0,
        "ready work rose: {peaks:?}"
    );
    assert!(peaks["oldest ready activity"] > 0.0, "{peaks:?}");
    assert!(
        peaks["leases held"] <= 4.0,
        "at most the activity limit: {peaks:?}"
    );
    assert!(peaks["running instances"] > 0.0, "{peaks:?}");

    // Once everything is done the queues are empty again; the work items' rows go with their
    // commits, so the gauges read 0 at once.
    let after = parse_all(&python, &[scrape().await]).remove(0);
    for queue in ["orchestrations", "activities"] {
        assert_eq!(
            after.gauge("durafn_work_ready", &[("queue", queue)]),
            0.0,
            "{queue}"
        );
        assert_eq!(
            after.gauge("durafn_work_oldest_ready_age_seconds", &[("queue", queue)]),
            0.0
        );
    }
    assert_eq!(
        after.gauge("durafn_instances", &[("runtime_status", "Completed")]),
        JOBS as f64
    );
    assert_eq!(
        after.gauge("durafn_instances", &[("runtime_status", "Running")]),
        0.0
    );
    let entries = after.gauge("durafn_instance_cache_entries", &[]);
    let ratio = after.gauge("durafn_instance_cache_hit_ratio", &[]);
    assert!((0.0..=1.0).contains(&ratio), "hit ratio {ratio}");

    let mut report = Vec::new();
    let (turns, turn_sum, turn_buckets) = after.histogram("durafn_turn_duration_seconds", &[]);
    assert!(
        turns >= 2.0 * JOBS as f64,
        "two turns a job at least: {turns}"
    );
    report.push(format!(
        "turn p50 <= {}s p99 <= {}s",
        quantile(&turn_buckets, 0.5),
        quantile(&turn_buckets, 0.99)
    ));
    assert!(
        turn_sum / turns < 0.1,
        "a turn of this code is fast: mean {}",
        turn_sum / turns
    );
    let (commits, commit_sum, _) = after.histogram("durafn_commit_duration_seconds", &[]);
    let (batches, turns_committed, batch_buckets) =
        after.histogram("durafn_commit_batch_size", &[]);
    assert_eq!(batches, commits, "one batch size per commit");
    assert!(turns_committed >= 2.0 * JOBS as f64, "{turns_committed}");
    assert!(
        turns_committed / batches > 1.0,
        "under load commits group several turns: mean {}",
        turns_committed / batches
    );
    report.push(format!(
        "commits {commits} mean {:.4}s; batch mean {:.1} p99 <= {}",
        commit_sum / commits,
        turns_committed / batches,
        quantile(&batch_buckets, 0.99)
    ));
    let (runs, run_sum, _) =
        after.histogram("durafn_activity_duration_seconds", &[("activity", "work")]);
    assert_eq!(runs, JOBS as f64);
    let mean = run_sum / runs;
    assert!((0.001..0.5).contains(&mean), "a 1 ms activity: mean {mean}");
    let (ends, end_sum, end_buckets) = after.histogram(
        "durafn_orchestration_duration_seconds",
        &[("orchestration", "load")],
    );
    assert_eq!(ends, JOBS as f64);
    assert!(
        end_sum / ends <= elapsed.as_secs_f64(),
        "no job took longer than the run: mean {}",
        end_sum / ends
    );
    report.push(format!(
        "start-to-end mean {:.3}s p99 <= {}s",
        end_sum / ends,
        quantile(&end_buckets, 0.99)
    ));
    let (requests, _, _) = after.histogram(
        "durafn_http_request_duration_seconds",
        &[("route", "GET /metrics")],
    );
    assert!(requests >= f64::from(scrapes), "{requests} of {scrapes}");
    assert_eq!(after.number("durafn_activities_total", &[]), JOBS as f64);
    println!(
        "{}; cache entries {entries}, hit ratio {ratio:.3}",
        report.join("; ")
    );

    server.abort();
    host.shutdown().await;
}
