//! What every command shares: keys never shown, help with examples, exit codes for usage
//! errors, shell completions.

use std::process::Command;

use crate::cli::common::{App, Run, bare_cmd, have};

#[test]
fn the_key_never_appears_in_output_or_errors() {
    let app = App::start();
    let system = app
        .http("GET", "/admin/host/systemkeys/durabletask_extension", None)
        .json();
    let system = system["value"].as_str().unwrap().to_string();
    let wrong = "wrong-key-but-still-secret-0123";
    let id = app.start_instance("greet", &["--input", "\"x\""]);
    app.wait_done(&id);
    app.ok(&["profile", "add", "p", "--url", &app.url, "--key", &app.key]);

    let mut runs: Vec<(String, Run)> = Vec::new();
    let mut record = |label: &str, run: Run| runs.push((label.to_string(), run));
    for args in [
        vec!["instances", "list"],
        vec!["instances", "list", "-o", "json"],
        vec!["instances", "start", "greet", "-o", "json"],
        vec!["instances", "start", "greet"],
        vec!["instances", "restart", &id, "--new-id", "-o", "json"],
        vec!["instances", "start", "nope"],
        vec!["instances", "show", "missing"],
        vec!["instances", "show", &id, "--history"],
        vec!["history", "export", &id],
        vec!["trace", &id],
        vec!["functions", "-o", "json"],
        vec!["keys", "list"],
        vec!["keys", "list", "--reveal"],
        vec!["keys", "list", "--reveal", "-o", "json"],
        vec!["profile", "list"],
        vec!["profile", "list", "-o", "json"],
        vec!["instances", "list", "--from", "nonsense"],
        vec!["--key", wrong, "instances", "list"],
        vec!["--key", wrong, "instances", "list", "--frobnicate"],
        vec![
            "--key",
            wrong,
            "--url",
            "http://127.0.0.1:9",
            "instances",
            "list",
        ],
        vec!["--key", wrong, "--url", "not a url", "instances", "list"],
        vec!["--key", &system, "keys", "list", "--reveal"],
    ] {
        record(&args.join(" "), app.run(&args));
    }
    // The key on the command line with a usage error: clap's message must not echo it either.
    record("usage", app.run(&["--key", &app.key, "instances", "show"]));
    let mut codes = Vec::new();
    for (label, run) in &runs {
        // --reveal shows the values of keys other than the one in use, when asked to.
        let secrets: &[&str] = if label.contains("--reveal") {
            &[app.key.as_str(), wrong]
        } else {
            &[app.key.as_str(), system.as_str(), wrong]
        };
        for secret in secrets {
            assert!(
                !run.stdout.contains(secret) && !run.stderr.contains(secret),
                "{label}: a key was shown\n{run:?}"
            );
        }
        codes.push(run.code);
    }
    // The runs did fail and succeed as they should (so the check above saw real output).
    assert_eq!(codes[0], 0);
    assert_eq!(codes[5], 1);
    assert_eq!(codes[6], 3);
    assert!(runs[12].1.stdout.contains("VALUE"), "{:?}", runs[12]);
    assert!(runs[17].1.stderr.contains("refused"), "{:?}", runs[17]);
    assert!(
        runs[19].1.stderr.contains("could not reach"),
        "{:?}",
        runs[19]
    );
}

#[test]
fn help_has_examples_and_exit_codes() {
    let home = tempfile::tempdir().unwrap();
    let help = |args: &[&str]| {
        let out = bare_cmd(home.path()).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let top = help(&["--help"]);
    for fact in [
        "Examples:",
        "Exit codes:",
        "instances",
        "trace",
        "entities",
        "NO_COLOR",
        "DURAFN_KEY",
    ] {
        assert!(top.contains(fact), "{fact} in\n{top}");
    }
    for cmd in [
        vec!["instances", "list", "--help"],
        vec!["instances", "wait", "--help"],
        vec!["instances", "purge", "--help"],
        vec!["trace", "--help"],
        vec!["history", "export", "--help"],
        vec!["keys", "create", "--help"],
    ] {
        assert!(help(&cmd).contains("Example"), "{cmd:?}");
    }
    assert!(help(&["--version"]).starts_with("durafn "));
    let out = bare_cmd(home.path()).arg("instances").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "a missing subcommand is a usage error"
    );
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    let home = tempfile::tempdir().unwrap();
    let script = |shell: &str| {
        let out = bare_cmd(home.path())
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let bash = script("bash");
    assert!(bash.contains("complete -F _durafn"), "{bash}");
    assert!(script("zsh").starts_with("#compdef durafn"));
    let fish = script("fish");
    assert!(
        fish.contains("complete -c durafn") && fish.contains("instances"),
        "{fish}"
    );
    let err = bare_cmd(home.path())
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(err.status.code(), Some(2));

    // Bash loads the script and completes subcommands from it.
    if have("bash") {
        let path = home.path().join("durafn.bash");
        std::fs::write(&path, &bash).unwrap();
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source {}; COMP_WORDS=(durafn ins); COMP_CWORD=1; COMP_LINE='durafn ins'; COMP_POINT=10; _durafn durafn ins durafn; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
                path.display()
            ))
            .output()
            .unwrap();
        let words = String::from_utf8_lossy(&out.stdout);
        assert!(
            words.lines().any(|w| w == "instances"),
            "{words:?} {:?}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
