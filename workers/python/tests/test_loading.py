"""Loading apps of both programming models, and the errors a broken app gets."""

from conftest import APPS
from host import EXAMPLES


def by_name(result):
    return {f["name"]: f for f in result["functions"]}


def test_the_seed_app_loads_as_v1(audit):
    result = audit.init_result
    assert result["programmingModel"] == "v1"
    functions = by_name(result)
    assert sorted(functions) == ["client-function", "get-status-function",
                                 "orchestrator-function",
                                 "query-storage-account-activity-function"]
    client = functions["client-function"]
    assert client["kind"] == "http" and client["isAsync"] is True
    assert client["scriptFile"] == "client-function/__init__.py"
    assert client["entryPoint"] == "main"
    trigger = next(b for b in client["bindings"] if b["type"] == "httpTrigger")
    assert trigger["route"] == "submit/query" and trigger["methods"] == ["get"]
    assert functions["get-status-function"]["bindings"][0]["route"] == "status/{id}"
    assert functions["orchestrator-function"]["kind"] == "orchestrator"
    assert functions["orchestrator-function"]["isAsync"] is False
    assert functions["query-storage-account-activity-function"]["kind"] == "activity"
    assert all(f["error"] is None for f in functions.values())


def test_the_v2_app_reports_its_functions_in_the_shape_of_function_json(showcase):
    result = showcase.init_result
    assert result["programmingModel"] == "v2"
    functions = by_name(result)
    start = functions["http_start"]
    assert start["kind"] == "http" and start["scriptFile"] == "function_app.py"
    assert sorted(start["bindings"], key=lambda b: b["type"]) == [
        {"direction": "in", "type": "durableClient", "name": "client"},
        {"direction": "out", "type": "http", "name": "$return"},
        {"direction": "in", "type": "httpTrigger", "name": "req", "methods": ["post"],
         "authLevel": "anonymous", "route": "orchestrators/{functionName}"},
    ]
    kinds = {name: f["kind"] for name, f in functions.items()}
    assert kinds["fan_out_fan_in"] == "orchestrator"
    assert kinds["say_hello"] == "activity"
    assert kinds["counter"] == "entity"
    assert functions["counter"]["bindings"] == [
        {"direction": "in", "type": "entityTrigger", "name": "context"}]
    assert functions["fan_out_fan_in"]["bindings"] == [
        {"direction": "in", "type": "orchestrationTrigger", "name": "context"}]
    assert all(f["error"] is None for f in functions.values())


def test_every_broken_function_is_reported_with_its_file_and_field(worker):
    result = worker.init(APPS / "broken")
    assert result["error"] is None
    functions = by_name(result)
    assert functions["good-one"]["error"] is None

    no_script = functions["no-script"]["error"]
    assert (no_script["file"], no_script["field"]) == ("no-script/function.json", "scriptFile")
    assert "missing.py" in no_script["message"]

    no_entry = functions["no-entry"]["error"]
    assert (no_entry["file"], no_entry["field"]) == ("no-entry/function.json", "entryPoint")
    assert "run()" in no_entry["message"]

    failed_import = functions["import-error"]["error"]
    assert failed_import["file"] == "import-error/__init__.py"
    assert failed_import["field"] is None
    assert failed_import["type"] == "ModuleNotFoundError"
    assert "module_that_is_not_installed" in failed_import["message"]
    assert "import module_that_is_not_installed" in failed_import["traceback"]

    mismatch = functions["param-mismatch"]["error"]
    assert (mismatch["file"], mismatch["field"]) == ("param-mismatch/function.json", "bindings")
    assert "'starter'" in mismatch["message"]

    unsupported = functions["unsupported"]["error"]
    assert unsupported["field"] == "bindings" and "queueTrigger" in unsupported["message"]

    # The functions that loaded are served.
    reply = worker.invoke("good-one", "activity", input='"still here"')
    assert reply["output"] == '"still here"'
    failed = worker.invoke("no-entry", "activity", input="1")
    assert failed["ok"] is False and "no function named" in failed["error"]["message"]


def test_a_v2_script_that_fails_to_import_is_an_app_error(worker):
    result = worker.init(APPS / "v2-broken")
    assert result["programmingModel"] is None and result["functions"] == []
    error = result["error"]
    assert error["file"] == "function_app.py" and error["type"] == "RuntimeError"
    assert "the app refuses to start" in error["message"]


def test_a_v2_function_whose_parameters_do_not_match_is_reported_alone(worker):
    result = worker.init(APPS / "v2-mismatch")
    functions = by_name(result)
    assert functions["fine"]["error"] is None
    error = functions["greet"]["error"]
    assert error["file"] == "function_app.py" and error["field"] == "bindings"
    assert "declared in Python but not in the bindings: ['name']" in error["message"]


def test_the_v2_script_wins_over_function_json_folders(worker):
    result = worker.init(EXAMPLES / "v2-showcase",
                         functions=[{"name": "ghost", "bindings": []}])
    assert result["programmingModel"] == "v2"
    assert "ghost" not in by_name(result)


def test_a_missing_script_root_is_an_init_error(worker):
    result = worker.init(APPS / "no-such-app", functions=[])
    assert result["error"]["field"] == "scriptRoot"
