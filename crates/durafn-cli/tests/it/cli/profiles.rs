//! Named profiles in `~/.config/durafn/config.toml` (or under `XDG_CONFIG_HOME`).

use crate::cli::common::{App, bare_cmd, run_with_stdin};

#[test]
fn profiles_add_use_list_and_pick_the_connection() {
    let app = App::start();
    let home = app.home();
    let durafn = |args: &[&str]| {
        let out = bare_cmd(&home).args(args).output().unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    app.start_instance("quick", &["--input", "1"]);

    // Without a profile or variables, the default URL (nothing listens there in tests, or a
    // host that refuses this key) is not this app.
    let (code, out, _) = durafn(&["profile", "list"]);
    assert_eq!((code, out.as_str()), (0, ""));

    let (code, _, err) = durafn(&[
        "profile", "add", "local", "--url", &app.url, "--key", &app.key,
    ]);
    assert_eq!(code, 0, "{err}");
    let file = home.join(".config/durafn/config.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains(&app.url), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the file holds keys");
    }
    // The first profile becomes the current one.
    let (code, out, err) = durafn(&["instances", "count"]);
    assert_eq!((code, out.trim()), (0, "1"), "{err}");

    // A second profile pointing nowhere; using it fails, naming it explicitly works.
    let (code, _, _) = durafn(&[
        "profile",
        "add",
        "dead",
        "--url",
        "http://127.0.0.1:9",
        "--use",
    ]);
    assert_eq!(code, 0);
    let (code, _, err) = durafn(&["instances", "count"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("could not reach the host at http://127.0.0.1:9"),
        "{err}"
    );
    let (code, out, _) = durafn(&["--profile", "local", "instances", "count"]);
    assert_eq!((code, out.trim()), (0, "1"));
    let (code, out, _) = durafn(&["instances", "count", "--profile", "local"]);
    assert_eq!((code, out.trim()), (0, "1"));

    // The list shows every profile and which is current, never a key.
    let (_, list, _) = durafn(&["profile", "list"]);
    let dead = list.lines().find(|l| l.contains("dead")).unwrap();
    let local = list.lines().find(|l| l.contains("local")).unwrap();
    assert!(dead.starts_with('*') && dead.contains("none"), "{list}");
    assert!(!local.starts_with('*') && local.contains("set"), "{list}");
    assert!(!list.contains(&app.key));
    let (_, json, _) = durafn(&["profile", "list", "-o", "json"]);
    assert!(
        !json.contains(&app.key) && json.contains("\"hasKey\":true"),
        "{json}"
    );

    let (code, _, _) = durafn(&["profile", "use", "local"]);
    assert_eq!(code, 0);
    let (code, out, _) = durafn(&["instances", "count"]);
    assert_eq!((code, out.trim()), (0, "1"));
    let (code, _, err) = durafn(&["profile", "use", "missing"]);
    assert_eq!(code, 3, "{err}");

    // Flags beat the profile; the environment beats the current profile, a named one beats
    // the environment.
    let (code, _, err) = durafn(&["--url", "http://127.0.0.1:9", "instances", "count"]);
    assert_eq!(code, 1, "{err}");
    let out = bare_cmd(&home)
        .env("DURAFN_URL", "http://127.0.0.1:9")
        .args(["instances", "count"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let out = bare_cmd(&home)
        .env("DURAFN_URL", "http://127.0.0.1:9")
        .env("DURAFN_PROFILE", "local")
        .args(["instances", "count"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));

    // --key-stdin keeps the key off the command line; remove drops a profile.
    let run = run_with_stdin(
        bare_cmd(&home).args(["profile", "add", "piped", "--url", &app.url, "--key-stdin"]),
        &format!("{}\n", app.key),
    );
    assert_eq!(run.code, 0, "{run:?}");
    let (code, out, _) = durafn(&["--profile", "piped", "instances", "count"]);
    assert_eq!((code, out.trim()), (0, "1"));
    let (code, _, _) = durafn(&["profile", "remove", "piped"]);
    assert_eq!(code, 0);
    let (code, _, _) = durafn(&["--profile", "piped", "instances", "count"]);
    assert_eq!(code, 3);
}

#[test]
fn xdg_config_home_is_respected() {
    let app = App::start();
    let xdg = app.dir.path().join("xdg");
    let out = bare_cmd(&app.home())
        .env("XDG_CONFIG_HOME", &xdg)
        .args(["profile", "add", "x", "--url", &app.url, "--key", &app.key])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(xdg.join("durafn/config.toml").exists());
    assert!(!app.home().join(".config/durafn/config.toml").exists());
    let out = bare_cmd(&app.home())
        .env("XDG_CONFIG_HOME", &xdg)
        .args(["instances", "count"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
}
