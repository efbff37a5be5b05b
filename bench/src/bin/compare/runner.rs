//! The comparison: finds out what can run (PostgreSQL, installed peers), runs every workload on
//! every system `--runs` times, one at a time, and writes the report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use durafn_postgres::drop_task_hub;

use crate::cli::Options;
use crate::format::fmt_num;
use crate::paths::{anonymize, bench_dir, cache_dir, git_commit};
use crate::peers::peer;
use crate::plan::{Plan, WORKLOADS};
use crate::process::run_worker;
use crate::report::{Record, Report};
use crate::systems::{Backend, Engine, IN_FLIGHT, SYSTEMS, System};

/// The PostgreSQL every PostgreSQL-backed system uses when nothing is configured (full runs).
const LOCAL_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The variables that name the PostgreSQL to use, in order.
const POSTGRES_VARS: [&str; 2] = ["DURAFN_BENCH_POSTGRES_URL", "DURAFN_TEST_POSTGRES_URL"];

fn configured_postgres() -> Option<String> {
    POSTGRES_VARS
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.trim().is_empty()))
}

/// The PostgreSQL to use, checked by connecting: the configured one, else (full runs only)
/// the local default.
fn postgres_url(smoke: bool, tokio: &tokio::runtime::Runtime) -> Result<String, String> {
    let url = match configured_postgres() {
        Some(url) => url,
        None if smoke => return Err("DURAFN_TEST_POSTGRES_URL is not set".into()),
        None => LOCAL_POSTGRES.into(),
    };
    tokio
        .block_on(drop_task_hub(&url, "durafn_bench_probe"))
        .map_err(|e| format!("PostgreSQL at the configured URL is unavailable: {e}"))?;
    Ok(url)
}

/// The run's context: where things go and what is available.
struct Harness {
    plan: Plan,
    /// The PostgreSQL to use, or why there is none.
    pg: Result<String, String>,
    logs: PathBuf,
    tokio: tokio::runtime::Runtime,
}

/// What can run, and why the rest cannot.
struct Availability {
    ran: Vec<&'static System>,
    skipped: Vec<(&'static System, String)>,
    /// durafn systems that were asked for but cannot run (a configured PostgreSQL that is down).
    durafn_unavailable: Vec<String>,
}

impl Harness {
    /// Installs (or checks) each wanted system's peer, once per component.
    fn availability(&self, wanted: Vec<&'static System>, install: bool) -> Availability {
        let mut installed: BTreeMap<&str, Result<(), String>> = BTreeMap::new();
        let mut a = Availability {
            ran: Vec::new(),
            skipped: Vec::new(),
            durafn_unavailable: Vec::new(),
        };
        for s in wanted {
            if s.backend == Backend::Postgres
                && let Err(why) = &self.pg
            {
                // A database that was named but cannot be reached fails durafn's own run.
                if s.engine == Engine::Durafn && configured_postgres().is_some() {
                    a.durafn_unavailable.push(format!("{}: {why}", s.id));
                }
                a.skipped.push((s, anonymize(why)));
                continue;
            }
            let driver = peer(s.engine);
            if let Some(c) = driver.component {
                let state = installed.entry(c).or_insert_with(|| {
                    eprintln!(
                        "{} {c} ...",
                        if install { "installing" } else { "checking" }
                    );
                    let r = driver.install(!install, &self.logs.join(format!("setup-{c}.log")));
                    match &r {
                        Ok(()) => eprintln!("  {c}: ready"),
                        Err(e) => eprintln!("  {c}: not available: {e}"),
                    }
                    r
                });
                if let Err(e) = state {
                    let why = if install {
                        format!("could not be installed: {e}")
                    } else {
                        format!("not installed (--no-install): {e}")
                    };
                    a.skipped.push((s, anonymize(&why)));
                    continue;
                }
            }
            a.ran.push(s);
        }
        a
    }

    fn run_one(&self, run: usize, system: &'static System, workload: &'static str) -> Record {
        let size = self.plan.size(workload);
        let stem = format!("{}-{workload}-run{run}", system.id);
        let log = self.logs.join(format!("{stem}.log"));
        let outcome = self
            .measure(system, workload, size, &stem, &log)
            .map_err(|e| anonymize(&e));
        Record {
            run,
            system,
            workload,
            size,
            outcome,
        }
    }

    /// One measurement in a fresh directory, schema and server.
    fn measure(
        &self,
        system: &'static System,
        workload: &str,
        size: usize,
        stem: &str,
        log: &Path,
    ) -> Result<BTreeMap<String, f64>, String> {
        let tmp = cache_dir().join("tmp");
        std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
        let dir = tempfile::Builder::new()
            .prefix("run-")
            .tempdir_in(&tmp)
            .map_err(|e| e.to_string())?;
        let driver = peer(system.engine);
        let mut cmd = driver.worker_command(system, workload, size);
        cmd.current_dir(dir.path())
            .env("BENCH_DIR", dir.path())
            .env("BENCH_DEADLINE", self.plan.deadline(workload).to_string())
            .env("BENCH_IN_FLIGHT", IN_FLIGHT.to_string());
        let mut schema = None;
        if system.backend == Backend::Postgres {
            let url = self.pg.clone()?;
            let name = format!(
                "durafn_bench_{}_{}",
                stem.replace('-', "_"),
                std::process::id()
            );
            cmd.env("BENCH_PG_URL", &url).env("BENCH_PG_SCHEMA", &name);
            schema = Some((url, name));
        }
        let _server = match driver.server {
            Some(start) => {
                let started = start(dir.path(), &log.with_extension("server.log"))?;
                cmd.envs(started.env);
                Some(started.server)
            }
            None => None,
        };
        let timeout = Duration::from_secs(self.plan.timeout(workload));
        let result = run_worker(cmd, timeout, log);
        if let Some((url, name)) = schema
            && let Err(e) = self.tokio.block_on(drop_task_hub(&url, &name))
        {
            eprintln!("    (could not drop schema {name}: {e})");
        }
        derived(workload, result?)
    }
}

/// A worker's numbers, with the ones the report derives from them.
fn derived(workload: &str, value: serde_json::Value) -> Result<BTreeMap<String, f64>, String> {
    let mut map: BTreeMap<String, f64> = value
        .as_object()
        .ok_or("the result is not an object")?
        .iter()
        .filter_map(|(k, v)| v.as_f64().map(|v| (k.clone(), v)))
        .collect();
    if workload == "w2"
        && let Some(secs) = map.get("secs").copied()
    {
        map.insert("ms".into(), secs * 1000.0);
    }
    // Memory per parked instance, so that systems that parked different numbers compare.
    if let (Some(rss), Some(before), Some(reached)) = (
        map.get("worker_rss_mb").copied(),
        map.get("worker_rss_before_mb").copied(),
        map.get("reached").copied(),
    ) && reached > 0.0
    {
        map.insert(
            "worker_kb_per_instance".into(),
            (rss - before) * 1024.0 / reached,
        );
    }
    Ok(map)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// Runs the comparison; returns the exit status.
pub(crate) fn run(options: Options) -> i32 {
    let plan = Plan::new(options.smoke, options.runs);
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let started = chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now());
    let load = load_average();
    let logs = cache_dir()
        .join("logs")
        .join(started.format("%Y%m%d-%H%M%S").to_string());
    std::fs::create_dir_all(&logs).expect("create the log directory");
    eprintln!(
        "durafn comparison, {} run, {} run(s) of each workload; peers in {}, logs in {}",
        if plan.smoke { "smoke" } else { "full" },
        plan.runs,
        cache_dir().display(),
        logs.display()
    );

    let wanted: Vec<&'static System> = SYSTEMS
        .iter()
        .filter(|s| options.only.is_empty() || options.only.iter().any(|id| id == s.id))
        .collect();
    let wanted_durafn = wanted.iter().any(|s| s.engine == Engine::Durafn);
    let pg = if wanted.iter().any(|s| s.backend == Backend::Postgres) {
        postgres_url(plan.smoke, &tokio)
    } else {
        Err("not asked for".into())
    };
    let harness = Harness {
        plan,
        pg,
        logs,
        tokio,
    };
    let available = harness.availability(wanted, !options.no_install);

    let mut records = Vec::new();
    let total = harness.plan.runs * available.ran.len() * WORKLOADS.len();
    let clock = Instant::now();
    for run in 1..=harness.plan.runs {
        for s in &available.ran {
            for w in WORKLOADS {
                eprint!(
                    "[{}/{total} {:>4.0}s] run {run}: {:<22} {} (size {}) ... ",
                    records.len() + 1,
                    clock.elapsed().as_secs_f64(),
                    s.id,
                    w.to_uppercase(),
                    harness.plan.size(w)
                );
                let record = harness.run_one(run, s, w);
                match &record.outcome {
                    Ok(map) => eprintln!(
                        "{}",
                        map.iter()
                            .map(|(k, v)| format!("{k}={}", fmt_num(*v)))
                            .collect::<Vec<_>>()
                            .join(" ")
                    ),
                    Err(e) => eprintln!("FAILED: {e}"),
                }
                records.push(record);
            }
        }
    }

    let report = Report {
        plan: &harness.plan,
        records: &records,
        ran: available.ran.clone(),
        skipped: available.skipped,
        started,
        load,
        commit: git_commit(),
    };
    let dir = bench_dir().join("results");
    std::fs::create_dir_all(&dir).expect("create bench/results");
    let stem = harness.plan.stem();
    let md = report.markdown();
    std::fs::write(dir.join(format!("{stem}.md")), &md).expect("write the table");
    std::fs::write(dir.join(format!("{stem}.csv")), report.csv()).expect("write the CSV");
    std::fs::write(dir.join(format!("{stem}.svg")), report.svg()).expect("write the chart");
    println!("{md}");
    eprintln!(
        "wrote bench/results/{stem}.md, .csv and .svg in {:.0} s",
        clock.elapsed().as_secs_f64()
    );
    exit_status(
        &report,
        available.durafn_unavailable,
        wanted_durafn,
        options.strict,
    )
}

/// 1 when durafn failed or did not run; with `strict`, also when any system did not run or any
/// measurement failed.
fn exit_status(
    report: &Report<'_>,
    mut durafn_failed: Vec<String>,
    wanted_durafn: bool,
    strict: bool,
) -> i32 {
    let (ours, peers): (Vec<_>, Vec<_>) = report
        .failures()
        .into_iter()
        .partition(|(s, _)| s.engine == Engine::Durafn);
    durafn_failed.extend(ours.into_iter().map(|(_, f)| f));
    let mut status = 0;
    if !durafn_failed.is_empty() {
        eprintln!("durafn failed: {}", durafn_failed.join("; "));
        status = 1;
    }
    if wanted_durafn && !report.ran.iter().any(|s| s.engine == Engine::Durafn) {
        eprintln!("durafn did not run");
        status = 1;
    }
    if strict {
        for (s, why) in &report.skipped {
            eprintln!("--strict: {} did not run: {why}", s.id);
            status = 1;
        }
        for (_, f) in &peers {
            eprintln!("--strict: {f}");
            status = 1;
        }
    }
    status
}
