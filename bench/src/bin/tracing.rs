//! What distributed tracing costs: W1 ("hello cities", `bench/peers/README.md`) on an
//! in-process host on the SQLite task hub, with tracing off and on (exporting over OTLP/HTTP to
//! a collector in this process), runs alternating off/on so drift hits both alike.
//!
//! ```text
//! cargo run --release -p durafn-bench --bin tracing -- [--instances 2000] [--runs 5] [--no-fsync]
//! ```
//!
//! Prints each run's orchestrations/s, the medians, and the median on/off ratio of the pairs.
//! `BENCH_IN_FLIGHT` sets the clients in flight (200).

use durafn_bench::workload;
use durafn_bench::{arg, flag, median};
use durafn_core::Registry;
use durafn_host::{App, AppSettings, HostArgs, HostConfig};
use durafn_testenv::otlp::OtlpReceiver;

fn registry() -> Registry {
    durafn_bench::hello_cities(Registry::builder())
        .build()
        .expect("unique names")
}

/// One W1 run on a fresh task hub; orchestrations/s, and the spans the collector received.
async fn one_run(instances: usize, fsync: bool, collector: Option<&OtlpReceiver>) -> (f64, usize) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let durability = if fsync { "fsync" } else { "processCrashSafe" };
    let host_json = format!(
        r#"{{"version":"2.0","extensions":{{"durableTask":{{"storageProvider":{{"type":"sqlite","durability":"{durability}"}},"tracing":{{"distributedTracingEnabled":{}}}}}}}}}"#,
        collector.is_some()
    );
    let mut settings = AppSettings::new();
    if let Some(c) = collector {
        settings = settings
            .with("OTEL_EXPORTER_OTLP_ENDPOINT", c.endpoint())
            .with("OTEL_SERVICE_NAME", "bench");
    }
    let args = HostArgs {
        data_dir: Some(dir.path().join("data")),
        ..HostArgs::default()
    };
    let config =
        HostConfig::from_parts(dir.path().to_path_buf(), &args, settings, Some(&host_json))
            .expect("config");
    let before = collector.map_or(0, |c| c.spans().len());
    let host = App::new()
        .registry(&registry())
        .config(config)
        .start()
        .await
        .expect("the host starts");
    let measured = workload::run(&durafn_bench::InProcess(host.client()), "w1", instances).await;
    host.shutdown().await; // flushes the exporter
    let spans = collector.map_or(0, |c| c.spans().len() - before);
    let per_sec = measured_value(&measured.json(), "per_sec");
    (per_sec, spans)
}

/// A number of a `Measured` JSON object.
fn measured_value(json: &str, key: &str) -> f64 {
    let value: serde_json::Value = serde_json::from_str(json).expect("measured JSON");
    value[key].as_f64().unwrap_or(f64::NAN)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let instances: usize = arg("--instances", 2000);
    let runs: usize = arg("--runs", 5);
    let fsync = !flag("--no-fsync");
    let collector = OtlpReceiver::start();
    println!(
        "W1, {instances} instances, SQLite {}, tracing off vs on (OTLP/HTTP to a local collector), {runs} pairs",
        if fsync { "fsync" } else { "no fsync" }
    );
    let (mut off, mut on, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for run in 1..=runs {
        let (a, _) = one_run(instances, fsync, None).await;
        let (b, spans) = one_run(instances, fsync, Some(&collector)).await;
        println!(
            "pair {run}: off {a:.0}/s, on {b:.0}/s ({spans} spans exported), on/off {:.3}",
            b / a
        );
        off.push(a);
        on.push(b);
        ratios.push(b / a);
    }
    println!(
        "median: off {:.0}/s, on {:.0}/s; median on/off ratio {:.3}",
        median(off),
        median(on),
        median(ratios)
    );
}
