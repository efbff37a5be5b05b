//! Side-by-side comparison of durafn with other durable-execution systems.
//!
//! ```text
//! bench/peers/run.sh [--smoke|--full] [--runs N] [--only ID,ID..] [--no-install] [--strict]
//! cargo run --release -p durafn-bench --bin compare -- [same options]
//! ```
//!
//! Runs the five workloads of `bench/peers/README.md` on durafn (SQLite with and without fsync,
//! PostgreSQL) and on each peer (duroxide, DBOS, Temporal, Restate), installing the peers into a
//! cache directory first, and writes `bench/results/latest.{md,csv,svg}` (`smoke.*` in smoke
//! mode). Every system runs in its own worker process, which prints one `RESULT {json}` line;
//! `compare durafn <store> <workload> <size>` is durafn's worker. The process fails when a durafn
//! measurement fails (with `--strict`, when any system fails or does not run); otherwise a peer
//! that cannot be installed or run is reported, not fatal.

mod cli;
mod durafn;
mod format;
mod paths;
mod peers;
mod plan;
mod process;
mod report;
mod runner;
mod systems;

fn main() {
    match cli::parse() {
        cli::Invocation::Worker {
            store,
            workload,
            size,
        } => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime");
            rt.block_on(durafn::worker(&store, &workload, size));
        }
        cli::Invocation::Compare(options) => std::process::exit(runner::run(options)),
    }
}
