//! `durafn entities …`: signal, list, show and delete the `counter` entity.

use serde_json::{Value, json};

use crate::cli::common::{App, eventually};

#[test]
fn entities_signal_list_show_delete() {
    let app = App::start();
    let run = app.run(&["entities", "signal", "counter", "alice", "add", "5"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains("signalled add on @counter@alice"),
        "{}",
        run.stderr
    );
    app.ok(&["entities", "signal", "counter", "alice", "add", "2"]);
    app.ok(&["entities", "signal", "counter", "bob", "add", "1"]);
    let state = eventually(30, "both signals to apply", || {
        let r = app.run(&["entities", "show", "counter", "alice"]);
        (r.code == 0 && r.stdout.trim() == "7").then_some(r.stdout)
    });
    assert_eq!(state.trim(), app.api("/entities/counter/alice").body);
    eventually(30, "bob's state", || {
        (app.run(&["entities", "show", "counter", "bob"])
            .stdout
            .trim()
            == "1")
            .then_some(())
    });

    // The listing: the API's JSON, and a table with states on request.
    let listed = app.ok(&["entities", "list", "--state", "-o", "json"]);
    assert_eq!(
        listed.trim_end(),
        app.api("/entities?top=100&fetchState=true").body
    );
    let v: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(v[0]["entityId"], json!({"name": "counter", "key": "alice"}));
    let table = app.ok(&["entities", "list", "counter", "--state"]);
    let alice = table.lines().find(|l| l.contains("alice")).unwrap();
    assert!(
        alice.starts_with("counter") && alice.trim_end().ends_with('7'),
        "{alice}"
    );
    assert_eq!(
        app.ok(&["entities", "list", "--top", "1"]).lines().count(),
        2
    );
    assert!(
        app.json(&["entities", "list", "--to", "1h"])
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        app.json(&["entities", "list", "--from", "1h"])
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Delete signals the entity's delete operation; then it holds no state (exit 3).
    let run = app.run(&["entities", "delete", "counter", "alice"]);
    assert_eq!(run.code, 0, "{run:?}");
    let err = eventually(30, "the deletion", || {
        let r = app.run(&["entities", "show", "counter", "alice"]);
        (r.code == 3).then_some(r.stderr)
    });
    assert!(err.contains("holds no state"), "{err}");
    let err = app
        .run(&["entities", "signal", "counter", "bob", "add", "one"])
        .fails(2);
    assert!(err.contains("not JSON"), "{err}");
}
