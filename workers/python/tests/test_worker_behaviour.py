"""Concurrency, failures that must not kill the worker, one that must, and user output."""

import json

from conftest import APPS
from dtfx import History, state_of
from host import Gate


def overlapping(worker, function, count):
    """Starts ``count`` gate invocations, waits until all are inside at once, lets them out."""
    gate = Gate(worker.dir, f"{function}.sock")
    try:
        ids = [worker.start({"type": "invoke", "function": function, "kind": "activity",
                             "input": gate.job()}) for _ in range(count)]
        # All of them are inside the gate before any is let through: they overlap.
        gate.accept(count)
        in_flight = worker.request({"type": "ping"})["inFlight"]
        gate.open("go")
        outputs = [json.loads(worker.reply(i)["output"]) for i in ids]
    finally:
        gate.close()
    assert in_flight == count
    assert {o["word"] for o in outputs} == {"go"}
    return {o["thread"] for o in outputs}


def test_sync_invocations_overlap_up_to_the_thread_pool_size(probe):
    threads = overlapping(probe, "gate-sync", 8)
    assert len(threads) == 8 and all(t.startswith("durafn-sync") for t in threads)


def test_async_invocations_overlap_on_the_event_loop(probe):
    assert overlapping(probe, "gate-async", 30) == {"MainThread"}


def test_other_invocations_go_on_while_some_are_blocked(probe):
    gate = Gate(probe.dir, "blocked.sock")
    try:
        blocked = probe.start({"type": "invoke", "function": "gate-sync", "kind": "activity",
                               "input": gate.job()})
        gate.accept(1)
        assert probe.invoke("echo-activity", "activity", input="5")["output"] == "5"
        assert blocked not in probe.replies
        gate.open()
        assert probe.reply(blocked)["ok"]
    finally:
        gate.close()


def test_sys_exit_in_a_function_is_a_failed_invocation(probe):
    reply = probe.invoke("sysexit-activity", "activity", input="1")
    assert reply["ok"] is False and reply["error"]["type"] == "SystemExit"
    assert probe.request({"type": "ping"})["type"] == "pong"


def test_a_function_that_kills_the_process_drops_the_connection(worker):
    worker.init(APPS / "probe")
    gate = Gate(worker.dir)
    in_flight = worker.start({"type": "invoke", "function": "gate-sync", "kind": "activity",
                              "input": gate.job()})
    gate.accept(1)
    killer = worker.start({"type": "invoke", "function": "exit-activity", "kind": "activity",
                           "input": "1"})
    worker.wait_closed()
    assert worker.wait_exit() == 7
    # Neither invocation is answered: the host fails both and starts a new worker.
    assert in_flight not in worker.replies and killer not in worker.replies
    gate.close()


def test_print_and_logging_arrive_as_log_frames_of_the_invocation(probe):
    reply = probe.invoke("print-activity", "activity", input='"ada"')
    assert reply["ok"]
    logs = [(f["level"], f["category"], f["message"]) for f in probe.logs_of(reply["id"])]
    assert logs == [
        ("Information", "stdout", "hello from ada"),
        ("Information", "stdout", "two lines"),
        ("Information", "stdout", "in one call"),
        ("Error", "stderr", "to stderr ada"),
        ("Warning", "root", "a warning about ada"),
        # The last line had no newline; it is sent when the invocation ends.
        ("Information", "stdout", "no newline"),
    ]
    # Every log frame of an invocation comes before its result.
    order = [id(f) for f in probe.arrivals]
    result_at = order.index(id(probe.replies[reply["id"]]))
    assert all(order.index(id(f)) < result_at for f in probe.logs_of(reply["id"]))


def test_output_at_import_time_is_logged_without_an_invocation(probe):
    imported = [f for f in probe.logs if f["message"] == "echo-activity imported"]
    assert imported == [{"type": "log", "level": "Information", "category": "stdout",
                         "message": "echo-activity imported"}]
    loaded = [f for f in probe.logs if f["category"] == "durafn_worker"]
    assert loaded and "loaded" in loaded[0]["message"]


def test_debug_logging_is_an_app_setting(worker):
    worker.init(APPS / "probe", app_settings={"PYTHON_ENABLE_DEBUG_LOGGING": "1"})
    reply = worker.invoke("print-activity", "activity", input='"bo"')
    messages = [f["message"] for f in worker.logs_of(reply["id"])]
    assert "hidden at the default level" in messages


def test_orchestrator_turns_do_not_wait_behind_synchronous_activities(worker):
    worker.init(APPS / "probe", app_settings={"PYTHON_THREADPOOL_THREAD_COUNT": "1"})
    gate = Gate(worker.dir)
    try:
        blocked = worker.start({"type": "invoke", "function": "gate-sync", "kind": "activity",
                                "input": gate.job()})
        gate.accept(1)  # the app's only thread is taken
        turn = worker.invoke("eternal", "orchestrator",
                             context=History("eternal", "5").context())
        assert state_of(turn)["output"] == 5
        gate.open()
        assert worker.reply(blocked)["ok"]
    finally:
        gate.close()
