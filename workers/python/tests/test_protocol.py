"""The frame protocol itself: hello, init, ping, errors, shutdown, the two ways to connect."""

import json

from conftest import APPS
from host import Gate, WorkerProcess


def test_hello_names_the_protocol_and_the_sdk(worker):
    hello = worker.hello
    assert hello["type"] == "hello"
    assert hello["protocolVersion"] == 1
    assert hello["pid"] == worker.proc.pid
    assert hello["packages"]["azure-functions-durable"].startswith("1.")
    assert hello["packages"]["azure-functions"]


def test_ping_is_answered_before_init(worker):
    reply = worker.request({"type": "ping"})
    assert reply == {"type": "pong", "id": reply["id"], "inFlight": 0}


def test_invoke_before_init_fails_and_the_worker_goes_on(worker):
    reply = worker.invoke("anything", "activity", input="1")
    assert reply["ok"] is False
    assert reply["error"]["type"] == "WorkerUnavailable"
    assert worker.request({"type": "ping"})["type"] == "pong"


def test_a_second_init_is_refused(worker):
    assert worker.init(APPS / "probe")["error"] is None
    again = worker.init(APPS / "probe")
    assert again["type"] == "protocolError"


def test_unknown_frames_and_bad_json_are_protocol_errors_not_crashes(worker):
    reply = worker.request({"type": "teleport"})
    assert reply["type"] == "protocolError" and "teleport" in reply["message"]
    body = b"{not json"
    worker.send_raw(len(body).to_bytes(4, "big") + body)
    worker.wait_for(lambda: any(f["type"] == "protocolError" and f["id"] is None
                                for f in worker.unsolicited), "a protocolError frame")
    assert worker.request({"type": "ping"})["type"] == "pong"


def test_a_protocol_version_the_worker_does_not_speak_is_an_init_error(worker):
    reply = worker.request({"type": "init", "protocolVersion": 99, "scriptRoot": str(APPS),
                            "functions": [], "appSettings": {}})
    assert reply["type"] == "initResult"
    assert reply["error"]["field"] == "protocolVersion"
    assert reply["functions"] == []


def test_app_settings_are_exported_and_the_script_root_is_the_working_directory(worker):
    result = worker.init(APPS / "probe", app_settings={"PROBE_SETTING": "hej"})
    assert result["error"] is None
    reply = worker.invoke("context-activity", "activity", input="1")
    output = json.loads(reply["output"])
    assert (output["setting"], output["cwd"]) == ("hej", "probe")


def test_shutdown_waits_for_invocations_in_flight(worker):
    worker.init(APPS / "probe")
    gate = Gate(worker.dir)
    first = worker.start({"type": "invoke", "function": "gate-sync", "kind": "activity",
                          "input": gate.job()})
    gate.accept(1)  # the invocation is running
    shutdown = worker.start({"type": "shutdown", "graceMs": 60000})
    # While it drains, the worker answers pings and refuses new invocations.
    refused = worker.invoke("echo-activity", "activity", input="1")
    assert refused["ok"] is False and "shutting down" in refused["error"]["message"]
    assert worker.request({"type": "ping"})["inFlight"] == 1
    assert shutdown not in worker.replies and first not in worker.replies
    gate.open("done")
    assert json.loads(worker.reply(first)["output"])["word"] == "done"
    assert worker.reply(shutdown)["abandoned"] == 0
    worker.wait_closed()
    assert worker.wait_exit() == 0
    gate.close()


def test_shutdown_with_nothing_in_flight_closes_and_exits_zero(worker):
    worker.init(APPS / "probe")
    reply = worker.request({"type": "shutdown", "graceMs": 1000})
    assert reply == {"type": "shutdownComplete", "id": reply["id"], "abandoned": 0}
    worker.wait_closed()
    assert worker.wait_exit() == 0


def test_shutdown_reports_invocations_it_gave_up_on(worker):
    worker.init(APPS / "probe")
    gate = Gate(worker.dir)
    worker.start({"type": "invoke", "function": "gate-sync", "kind": "activity",
                  "input": gate.job()})
    gate.accept(1)
    reply = worker.request({"type": "shutdown", "graceMs": 0})
    assert reply["abandoned"] == 1
    worker.wait_closed()
    # The thread stuck in the gate does not hold the process: it exits at once.
    assert worker.wait_exit() == 0
    gate.close()


def test_closing_the_socket_ends_the_worker(worker):
    worker.init(APPS / "probe")
    worker.hang_up()
    assert worker.wait_exit() == 0


def test_an_inherited_socket_works_like_a_socket_path():
    process = WorkerProcess(use_fd=True)
    try:
        assert process.hello["type"] == "hello"
        assert process.init(APPS / "probe")["error"] is None
        reply = process.invoke("echo-activity", "activity", input="[1, 2]")
        assert reply["output"] == "[1, 2]"
    finally:
        process.stop()


def test_frames_of_several_megabytes_pass(probe):
    big = json.dumps("x" * (3 << 20))
    reply = probe.invoke("echo-activity", "activity", input=big)
    assert reply["ok"] and reply["output"] == big
