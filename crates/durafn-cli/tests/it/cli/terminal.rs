//! The command line in a real terminal (a tmux pane): `instances list --watch` redraws in place
//! and leaves the terminal as it found it on q and on Ctrl-C; colours appear on a terminal and
//! not with NO_COLOR; `trace --follow` redraws its tree in place.

use std::process::Command;

use crate::cli::common::{App, DURAFN, eventually, have, unique};

/// A tmux server of its own (its own socket) with one pane running a plain shell.
pub(crate) struct Tmux {
    socket: String,
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

impl Tmux {
    /// A 120×40 pane with a shell whose environment points `durafn` at `app`.
    pub(crate) fn start(app: &App, extra_env: &[(&str, &str)]) -> Self {
        let tmux = Self {
            socket: unique("durafn-cli-test-"),
        };
        let home = app.home();
        std::fs::create_dir_all(&home).unwrap();
        let mut args: Vec<String> = vec![
            "-L".into(),
            tmux.socket.clone(),
            "-f".into(),
            "/dev/null".into(),
            "new-session".into(),
            "-d".into(),
            "-x".into(),
            "120".into(),
            "-y".into(),
            "40".into(),
            "env".into(),
            "-u".into(),
            "NO_COLOR".into(),
            "-u".into(),
            "XDG_CONFIG_HOME".into(),
            format!("HOME={}", home.display()),
            format!("DURAFN_URL={}", app.url),
            format!("DURAFN_KEY={}", app.key),
            format!("PATH={}", std::env::var("PATH").unwrap_or_default()),
            "TERM=xterm-256color".into(),
            "PS1=$ ".into(),
        ];
        for (k, v) in extra_env {
            args.push(format!("{k}={v}"));
        }
        args.extend(["bash".into(), "--norc".into(), "--noprofile".into()]);
        let status = Command::new("tmux").args(&args).status().unwrap();
        assert!(status.success(), "tmux starts");
        eventually(10, "the shell prompt", || {
            tmux.screen().contains('$').then_some(())
        });
        tmux
    }

    /// Types `keys` (tmux key names, such as `q`, `C-c`, `Enter`).
    pub(crate) fn keys(&self, keys: &[&str]) {
        let mut args = vec!["-L", &self.socket, "send-keys", "-t", "0"];
        args.extend_from_slice(keys);
        assert!(Command::new("tmux").args(&args).status().unwrap().success());
    }

    /// Types a command line and Enter.
    pub(crate) fn type_line(&self, line: &str) {
        let mut args = vec!["-L", &self.socket, "send-keys", "-t", "0", "-l", line];
        assert!(Command::new("tmux").args(&args).status().unwrap().success());
        args.truncate(5);
        args.push("Enter");
        assert!(Command::new("tmux").args(&args).status().unwrap().success());
    }

    fn capture(&self, escapes: bool) -> String {
        let mut args = vec!["-L", &self.socket, "capture-pane", "-p", "-t", "0"];
        if escapes {
            args.push("-e");
        }
        let out = Command::new("tmux").args(&args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// What the pane shows.
    pub(crate) fn screen(&self) -> String {
        self.capture(false)
    }

    /// What the pane shows, with its colour codes.
    pub(crate) fn screen_with_colours(&self) -> String {
        self.capture(true)
    }

    /// Waits until the screen satisfies `check`; returns it.
    pub(crate) fn wait_for(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        eventually(60, what, || {
            let s = self.screen();
            check(&s).then_some(s)
        })
    }

    /// Runs a shell command line in the pane and waits for it to finish; returns the pane and
    /// the command's exit code.
    pub(crate) fn run(&self, line: &str) -> (String, i32) {
        let marker = unique("done-");
        self.type_line(&format!("{line}; echo {marker}=$?"));
        let screen = self.wait_for(&marker, |s| exited(s, &marker).is_some());
        let code = exited(&screen, &marker).unwrap_or(-1);
        (screen, code)
    }

    /// The terminal's line discipline as `stty -a` shows it in the pane.
    pub(crate) fn stty(&self) -> String {
        self.type_line("clear");
        let (screen, code) = self.run("stty -a");
        assert_eq!(code, 0);
        screen
    }
}

/// The terminal is back in its normal (cooked) mode, echoing, with a visible cursor.
fn assert_cooked(tmux: &Tmux) {
    let stty = tmux.stty();
    let words: Vec<&str> = stty.split_whitespace().collect();
    for on in ["icanon", "echo", "isig", "icrnl", "opost"] {
        assert!(words.contains(&on), "{on} is off after durafn: {stty}");
    }
    let cursor = Command::new("tmux")
        .args([
            "-L",
            &tmux.socket,
            "display-message",
            "-p",
            "-t",
            "0",
            "#{cursor_flag}",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&cursor.stdout).trim(),
        "1",
        "the cursor is visible"
    );
}

/// The exit code a command line ending in `; echo MARKER=$?` printed, once it has.
fn exited(screen: &str, marker: &str) -> Option<i32> {
    let prefix = format!("{marker}=");
    screen
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|c| c.trim().parse().ok())
}

fn headers(screen: &str, header: &str) -> usize {
    screen.lines().filter(|l| l.starts_with(header)).count()
}

fn watch_and_quit(quit: &str, expected_code: i32) {
    if !have("tmux") {
        return;
    }
    let app = App::start();
    let first = app.start_instance("slow", &["--id", "watched-1"]);
    let tmux = Tmux::start(&app, &[]);
    let marker = unique("watch-exit-");
    tmux.type_line(&format!(
        "{DURAFN} instances list --watch --interval 0.2; echo {marker}=$?"
    ));
    tmux.wait_for("the first frame", |s| {
        s.contains(&first) && s.contains("q quits")
    });
    // A new instance shows up in a later frame, drawn over the first one.
    app.start_instance("quick", &["--id", "watched-2", "--input", "1"]);
    let screen = tmux.wait_for("a redraw with the new instance", |s| {
        s.contains("watched-2") && s.contains("Completed")
    });
    let clock = |s: &str| {
        s.lines()
            .find(|l| l.contains("q quits"))
            .map(str::to_string)
            .unwrap()
    };
    let before = clock(&screen);
    let later = tmux.wait_for("another frame", |s| clock(s) != before);
    assert_eq!(headers(&later, "INSTANCE"), 1, "redrawn in place:\n{later}");
    assert_eq!(
        later.matches("q quits").count(),
        1,
        "redrawn in place:\n{later}"
    );
    tmux.keys(&[quit]);
    let done = tmux.wait_for("durafn to exit", |s| exited(s, &marker).is_some());
    assert_eq!(exited(&done, &marker), Some(expected_code), "{done}");
    assert_cooked(&tmux);
}

#[test]
fn watch_redraws_in_place_and_quits_on_q() {
    watch_and_quit("q", 0);
}

#[test]
fn watch_quits_on_ctrl_c_and_restores_the_terminal() {
    watch_and_quit("C-c", 130);
}

#[test]
fn colours_on_a_terminal_unless_no_color() {
    if !have("tmux") {
        return;
    }
    let app = App::start();
    let id = app.start_instance("quick", &["--input", "1"]);
    app.wait_done(&id);
    let tmux = Tmux::start(&app, &[]);
    let (_, code) = tmux.run(&format!("{DURAFN} instances list"));
    assert_eq!(code, 0);
    let coloured = tmux.screen_with_colours();
    assert!(
        coloured.contains("\u{1b}["),
        "colours on a terminal:\n{coloured:?}"
    );
    let plain = Tmux::start(&app, &[("NO_COLOR", "1")]);
    let (_, code) = plain.run(&format!("{DURAFN} instances list"));
    assert_eq!(code, 0);
    let screen = plain.screen_with_colours();
    assert!(screen.contains("Completed"));
    assert!(
        !screen.contains("\u{1b}[3"),
        "no colours with NO_COLOR:\n{screen:?}"
    );
}

#[test]
fn trace_follow_redraws_the_tree_in_place() {
    if !have("tmux") {
        return;
    }
    let app = App::start();
    let id = app.start_instance("tree", &[]);
    let tmux = Tmux::start(&app, &[]);
    let marker = unique("trace-exit-");
    tmux.type_line(&format!(
        "{DURAFN} trace {id} --follow --interval 0.1; echo {marker}=$?"
    ));
    tmux.wait_for("the root while it waits", |s| {
        s.contains("Running") && s.contains(&id)
    });
    app.ok(&["instances", "raise", &id, "go"]);
    let done = tmux.wait_for("the end of the trace", |s| exited(s, &marker).is_some());
    assert_eq!(exited(&done, &marker), Some(0), "{done}");
    assert_eq!(headers(&done, "NODE"), 1, "redrawn in place:\n{done}");
    assert_eq!(done.matches("twig").count(), 2, "{done}");
    assert_eq!(done.matches("leaf").count(), 5, "{done}");
    assert!(!done.contains("Running"), "{done}");
}
