//! `durafn functions` and `durafn keys …` through the admin API.

use serde_json::Value;

use crate::cli::common::App;

#[test]
fn functions_lists_every_function_and_its_trigger() {
    let app = App::start();
    let json = app.ok(&["functions", "-o", "json"]);
    let api = app.http("GET", "/admin/functions", None);
    assert_eq!(
        serde_json::from_str::<Value>(&json).unwrap(),
        api.json(),
        "the API's function list"
    );
    assert_eq!(json.trim_end(), api.body, "byte for byte");
    let table = app.ok(&["functions"]);
    let submit = table.lines().find(|l| l.starts_with("submit")).unwrap();
    for fact in ["httpTrigger", "GET", "function", "/api/submit"] {
        assert!(submit.contains(fact), "{fact} in {submit}");
    }
    for (name, trigger) in [
        ("tree", "orchestrationTrigger"),
        ("leaf", "activityTrigger"),
        ("counter", "entityTrigger"),
    ] {
        let row = table
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} in\n{table}"));
        assert!(row.contains(trigger), "{row}");
    }
}

#[test]
fn keys_list_create_use_and_delete() {
    let app = App::start();
    let listed = app.ok(&["keys", "list"]);
    for (scope, name) in [
        ("host", "default"),
        ("system", "durabletask_extension"),
        ("function submit", "default"),
    ] {
        assert!(
            listed
                .lines()
                .any(|l| l.starts_with(scope) && l.contains(name)),
            "{scope} {name} in\n{listed}"
        );
    }
    let system = app
        .http("GET", "/admin/host/systemkeys/durabletask_extension", None)
        .json();
    let system = system["value"].as_str().unwrap().to_string();
    assert!(
        !listed.contains(&system),
        "values are hidden without --reveal"
    );
    let revealed = app.ok(&["keys", "list", "--system", "--reveal"]);
    assert!(revealed.contains(&system), "{revealed}");

    // A generated function key lets a caller in; deleting it shuts them out.
    let value = app.ok(&["keys", "create", "partner", "--function", "submit"]);
    let value = value.trim();
    assert!(value.len() >= 16, "{value}");
    let call = |key: &str| app.get_without_key(&format!("/api/submit?name=x&code={key}"));
    assert_eq!(call(value), 202);
    let set = app.json(&[
        "keys",
        "create",
        "partner",
        "--function",
        "submit",
        "--value",
        "partner-key-0123456789",
    ]);
    assert_eq!(set["value"], "partner-key-0123456789");
    assert_eq!(call("partner-key-0123456789"), 202);
    let run = app.run(&["keys", "delete", "partner", "--function", "submit"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(call("partner-key-0123456789"), 401);
    let err = app
        .run(&["keys", "delete", "partner", "--function", "submit"])
        .fails(3);
    assert!(err.contains("There is no key named"), "{err}");

    // Host keys; the master key cannot be deleted (the host's message).
    let host = app.ok(&["keys", "create", "ci"]);
    assert!(
        app.ok(&["keys", "list", "--host", "--reveal"])
            .contains(host.trim())
    );
    app.ok(&["keys", "delete", "ci"]);
    let err = app.run(&["keys", "delete", "_master"]).fails(1);
    assert!(err.contains("The master key cannot be deleted"), "{err}");
    // The admin API needs the master key: the system key is refused.
    let err = app
        .run(&[&format!("--key={system}"), "keys", "list"])
        .fails(1);
    assert!(err.contains("refused"), "{err}");
}
