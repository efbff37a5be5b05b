//! `durafn-sim`: runs seeds through the simulator and reports the failing ones.

use std::io::Write;
use std::time::Instant;

use clap::Parser;
use durafn_sim::{Faults, check_seed, oracle, reproduce_command, run, workload};

/// Deterministic simulation of durafn: the real runtime under seeded faults.
#[derive(Debug, Parser)]
#[command(name = "durafn-sim")]
struct Args {
    /// How many seeds to run.
    #[arg(long, default_value_t = 100)]
    seeds: u64,
    /// The first seed.
    #[arg(long, default_value_t = 0)]
    from: u64,
    /// Runs this one seed only (with --trace, prints its event log).
    #[arg(long)]
    seed: Option<u64>,
    /// Prints the event log of the seed given with --seed.
    #[arg(long)]
    trace: bool,
    /// Fault rates, `name=value,...` over the defaults (`none` clears them), e.g.
    /// `none,crash=0.01,hosts=2`.
    #[arg(long, default_value = "")]
    faults: String,
    /// Plants a bug (only in a build with `--cfg durafn_mutation`).
    #[arg(long)]
    mutation: Option<String>,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let faults = match Faults::default().apply(&args.faults) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("durafn-sim: --faults: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    if let Some(name) = &args.mutation {
        #[cfg(durafn_mutation)]
        durafn_sim::plant(Some(name));
        #[cfg(not(durafn_mutation))]
        {
            eprintln!(
                "durafn-sim: --mutation {name} needs a build with RUSTFLAGS='--cfg durafn_mutation'"
            );
            return std::process::ExitCode::from(2);
        }
    }
    if let Some(seed) = args.seed {
        let record = run(seed, &faults, args.trace);
        let mut out = std::io::stdout().lock();
        for line in &record.trace {
            // A reader that stopped reading (`| head`) ends the log, not the program.
            if writeln!(out, "{line}").is_err() {
                return std::process::ExitCode::SUCCESS;
            }
        }
        drop(out);
        let failures = oracle::check(&record, &workload::registry());
        println!(
            "seed {seed}: {} jobs, {} hosts, {} events, {:.1} h virtual, {}",
            record.jobs.len(),
            record.hosts,
            record.events,
            record.virtual_time.as_secs_f64() / 3600.0,
            if failures.is_empty() {
                "clean"
            } else {
                "FAILED"
            }
        );
        for f in &failures {
            println!("  {f}");
        }
        return if failures.is_empty() {
            std::process::ExitCode::SUCCESS
        } else {
            std::process::ExitCode::FAILURE
        };
    }
    let started = Instant::now();
    let (mut failed, mut events) = (0u64, 0u64);
    let mut stderr = std::io::stderr();
    for seed in args.from..args.from + args.seeds {
        let report = check_seed(seed, &faults);
        events += report.events;
        if !report.failures.is_empty() {
            failed += 1;
            println!(
                "seed {seed} FAILED: {} (reproduce: {})",
                report.failures.join("; "),
                reproduce_command(seed, &args.faults)
            );
        }
        let done = seed - args.from + 1;
        if done % 100 == 0 || done == args.seeds {
            let _ = write!(
                stderr,
                "\r{done}/{} seeds, {failed} failed, {:.0} s",
                args.seeds,
                started.elapsed().as_secs_f64()
            );
        }
    }
    let _ = writeln!(stderr);
    println!(
        "{} seeds, {failed} failed, {events} events simulated, {:.1} s",
        args.seeds,
        started.elapsed().as_secs_f64()
    );
    if failed == 0 {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
