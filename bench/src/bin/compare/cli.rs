//! The command line: `compare [--smoke|--full] [--runs N] [--only ID,..] [--no-install]
//! [--strict]`, or `compare durafn <store> <workload> <size>` (durafn's worker).

use clap::{Arg, ArgAction, Command, value_parser};

use crate::plan::FULL_RUNS;
use crate::systems::SYSTEMS;

/// How to run the comparison.
pub(crate) struct Options {
    pub(crate) smoke: bool,
    pub(crate) runs: Option<usize>,
    /// The systems to run; empty: all of them.
    pub(crate) only: Vec<String>,
    pub(crate) no_install: bool,
    pub(crate) strict: bool,
}

/// What this invocation is.
pub(crate) enum Invocation {
    /// The comparison.
    Compare(Options),
    /// durafn's worker for one workload.
    Worker {
        store: String,
        workload: String,
        size: usize,
    },
}

fn command() -> Command {
    let ids: Vec<&str> = SYSTEMS.iter().map(|s| s.id).collect();
    Command::new("compare")
        .about(
            "durafn side by side with duroxide, DBOS, Temporal and Restate (bench/peers/README.md)",
        )
        .args_conflicts_with_subcommands(true)
        .arg(
            Arg::new("smoke")
                .long("smoke")
                .action(ArgAction::SetTrue)
                .overrides_with("full")
                .help("tiny sizes and short caps: checks that every system runs (writes smoke.*)"),
        )
        .arg(
            Arg::new("full")
                .long("full")
                .action(ArgAction::SetTrue)
                .overrides_with("smoke")
                .help("the full sizes (the default; writes latest.*)"),
        )
        .arg(
            Arg::new("runs")
                .long("runs")
                .value_name("N")
                .value_parser(value_parser!(u16).range(1..))
                .help(format!(
                    "runs of every workload on every system; the report gives medians \
                     (default: {FULL_RUNS} in a full run, 1 in a smoke run)"
                )),
        )
        .arg(
            Arg::new("only")
                .long("only")
                .value_name("ID,..")
                .value_delimiter(',')
                .value_parser(ids.clone())
                .help("only these systems"),
        )
        .arg(
            Arg::new("no-install")
                .long("no-install")
                .action(ArgAction::SetTrue)
                .help("use only the peers already installed in the cache"),
        )
        .arg(
            Arg::new("strict")
                .long("strict")
                .action(ArgAction::SetTrue)
                .help("fail unless every system installs and measures every workload (CI)"),
        )
        .subcommand(
            Command::new("durafn")
                .about("durafn's worker: runs one workload and prints its RESULT line")
                .arg(Arg::new("store").required(true).value_parser([
                    "sqlite",
                    "sqlite-nofsync",
                    "postgres",
                ]))
                .arg(
                    Arg::new("workload")
                        .required(true)
                        .value_parser(["w1", "w2", "w3", "w4", "w5"]),
                )
                .arg(
                    Arg::new("size")
                        .required(true)
                        .value_parser(value_parser!(usize)),
                ),
        )
}

/// Parses the command line (exits with usage on a bad one).
pub(crate) fn parse() -> Invocation {
    let m = command().get_matches();
    if let Some(w) = m.subcommand_matches("durafn") {
        let text = |name: &str| w.get_one::<String>(name).cloned().expect("required");
        return Invocation::Worker {
            store: text("store"),
            workload: text("workload"),
            size: *w.get_one::<usize>("size").expect("required"),
        };
    }
    Invocation::Compare(Options {
        smoke: m.get_flag("smoke"),
        runs: m.get_one::<u16>("runs").map(|n| usize::from(*n)),
        only: m
            .get_many::<String>("only")
            .map(|v| v.cloned().collect())
            .unwrap_or_default(),
        no_install: m.get_flag("no-install"),
        strict: m.get_flag("strict"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        command().debug_assert();
    }
}
