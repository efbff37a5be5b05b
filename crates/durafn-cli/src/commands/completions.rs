//! `durafn completions SHELL`: a completion script for bash, zsh or fish (clap_complete).

use clap_complete::Shell;

use crate::error::CliResult;

/// `durafn completions`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  durafn completions bash > ~/.local/share/bash-completion/completions/durafn
  durafn completions zsh > ~/.zfunc/_durafn
  durafn completions fish > ~/.config/fish/completions/durafn.fish")]
pub(crate) struct Args {
    /// The shell
    #[arg(value_enum)]
    pub(crate) shell: CompletionShell,
}

/// The shells completions are written for.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum CompletionShell {
    /// Bash
    Bash,
    /// Zsh
    Zsh,
    /// Fish
    Fish,
}

/// Prints the script for the command tree it is given (the whole `durafn` command).
pub(crate) fn run(a: Args, mut command: clap::Command) -> CliResult {
    let shell = match a.shell {
        CompletionShell::Bash => Shell::Bash,
        CompletionShell::Zsh => Shell::Zsh,
        CompletionShell::Fish => Shell::Fish,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "durafn", &mut script);
    crate::output::print_stdout(&String::from_utf8_lossy(&script))
}
