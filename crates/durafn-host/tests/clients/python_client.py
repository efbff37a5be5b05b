"""Drives a running durafn function app with the unmodified PyPI Durable Functions client.

The client (azure-functions-durable 1.7) is built from the app's durable client binding, as the
Functions host hands it to a Python function, and sends every call to the binding's rpcBaseUrl
without a key. Run by crates/durafn-host/tests/it/clients.rs against the host's test app:

    python python_client.py all     # every management operation, one check after another
    python python_client.py seed    # the seed app's orchestrator-function with a dict input

Environment: DURAFN_BINDING (the binding's JSON text), DURAFN_ORIGIN (the app's public origin),
TESTAPP_FIXED_MARKER (the file whose existence fixes the flaky activity), and for `seed`
DURAFN_SEED_FROM (an instance the app's own client function started). Every check raises on
failure; the last line is a JSON summary.
"""

import asyncio
import datetime
import json
import os
import sys
import time

import aiohttp
import azure.durable_functions as df
import azure.functions as func
from azure.durable_functions.models.OrchestrationRuntimeStatus import OrchestrationRuntimeStatus
from azure.durable_functions.models.utils.entity_utils import EntityId
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

DEADLINE = 30.0
CHECKS = []


def ok(name):
    CHECKS.append(name)
    print(f"ok: {name}", flush=True)


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


async def wait_status(client, instance_id, wanted, **options):
    """Polls get_status until the instance has one of the wanted statuses."""
    wanted = {wanted} if isinstance(wanted, str) else set(wanted)
    deadline = time.monotonic() + DEADLINE
    while True:
        status = await client.get_status(instance_id, **options)
        current = status.runtime_status.value if status.runtime_status else None
        if current in wanted:
            return status
        expect(time.monotonic() < deadline,
               f"{instance_id} never became {sorted(wanted)}: {current}")
        await asyncio.sleep(0.02)


def request(origin, path="/api/client"):
    """The HTTP request a Python client function would have been called with."""
    return func.HttpRequest(method="GET", url=f"{origin}{path}", body=b"")


async def starts(client):
    generated = await client.start_new("approval-workflow", None, {"item": "book"})
    expect(isinstance(generated, str) and len(generated) >= 16, f"a generated id: {generated!r}")
    named = await client.start_new("approval-workflow", "py-approval-2", {"item": "pen"})
    expect(named == "py-approval-2", f"the given id: {named!r}")
    versioned = await client.start_new(
        "orchestrator-function", "py-versioned",
        {"start": "2021-10-10", "end": "2021-10-12"}, version="2.1")
    status = await wait_status(client, versioned, "Completed")
    expect(status.output == 2, f"the doubly encoded dict input was decoded: {status.output!r}")
    expect(getattr(status, "version", None) == "2.1", f"the version: {status.to_json()}")
    try:
        await client.start_new("no-such-orchestrator", None, None)
        raise AssertionError("starting an unknown orchestrator must fail")
    except AssertionError:
        raise
    except Exception as e:  # the client raises the 400's ExceptionMessage
        expect("no-such-orchestrator" in str(e), f"ExceptionMessage names it: {e}")
    ok("start_new without id, with id, with version; unknown orchestrator")
    return generated, named


async def statuses(client):
    tracer = trace.get_tracer("durafn-client-test")
    with tracer.start_as_current_span("start") as span:
        trace_id = format(span.get_span_context().trace_id, "032x")
        instance = await client.start_new(
            "orchestrator-function", None, {"start": "2021-01-01", "end": "2021-01-31"})
    plain = await wait_status(client, instance, "Completed")
    expect(plain.output == 30 and plain.name == "orchestrator-function", plain.to_json())
    expect(json.loads(plain.input_) == {"start": "2021-01-01", "end": "2021-01-31"},
           f"the input as the client sent it: {plain.input_!r}")
    expect(plain.created_time is not None and plain.last_updated_time is not None, "times")
    history = await client.get_status(instance, show_history=True, show_history_output=True)
    events = history.historyEvents
    kinds = [e["EventType"] for e in events]
    expect(kinds == ["ExecutionStarted", "TaskCompleted", "ExecutionCompleted"], kinds)
    expect(events[1]["Result"] == 30, events[1])
    parent = events[0].get("ParentTraceContext", {}).get("TraceParent", "")
    expect(trace_id in parent, f"the traceparent is kept with the instance: {events[0]}")
    # The client leaves showInput=False out of the URL (it only sends true values), so the
    # host's default applies and the input is shown, as it is in Azure.
    no_input = await client.get_status(instance, show_input=False)
    expect(no_input.input_ is not None, "show_input=False is not sent by the client")
    missing = await client.get_status("py-never-started")
    expect(not missing, "an unknown instance is a falsy status")
    ok("get_status plain, show_history with output, show_input=False; trace context kept")


async def listings(client, started_after):
    ids = [f"py-page-{i:03}" for i in range(105)]
    await asyncio.gather(*[
        client.start_new("orchestrator-function", i, {"start": "2021-10-10", "end": "2021-10-11"})
        for i in ids])
    for i in ids:
        await wait_status(client, i, "Completed")
    everything = await client.get_status_all()
    expect(len(everything) == 100,
           f"get_status_all reads the first page of 100 (it sends no continuation token): {len(everything)}")
    expect(len({s.instance_id for s in everything}) == 100, "each instance once in a page")
    completed = await client.get_status_by(
        created_time_from=started_after,
        runtime_status=[OrchestrationRuntimeStatus.Completed])
    expect(len(completed) == 100, f"get_status_by, first page: {len(completed)}")
    expect(all(s.runtime_status == OrchestrationRuntimeStatus.Completed for s in completed),
           "only Completed ones")
    narrow = await client.get_status_by(instance_id_prefix="py-page-10")
    expect(sorted(s.instance_id for s in narrow) == [f"py-page-10{i}" for i in range(5)],
           [s.instance_id for s in narrow])
    ok("get_status_all and get_status_by over more than one page of instances (first page)")


async def events_and_control(client, waiting, suspended):
    await wait_status(client, waiting, "Running")
    await client.raise_event(waiting, "approval", {"approved": True, "by": "ops"})
    done = await wait_status(client, waiting, "Completed")
    expect(done.output == {"approved": True, "by": "ops"},
           f"completes with the event's data: {done.output!r}")
    ok("raise_event into a waiting orchestration that completes with the event's data")

    await wait_status(client, suspended, "Running")
    await client.suspend(suspended, "maintenance window")
    await wait_status(client, suspended, "Suspended")
    await client.resume(suspended, "maintenance over")
    await wait_status(client, suspended, "Running")
    ok("suspend -> Suspended -> resume -> Running")

    await client.terminate(suspended, "no longer needed")
    gone = await wait_status(client, suspended, "Terminated")
    expect(gone.output == "no longer needed", f"the reason is the output: {gone.output!r}")
    await client.terminate(suspended, "again")  # 410 is accepted by the client
    ok("terminate a running instance (reason in output; terminating again is accepted)")


async def rewind_and_restart(client, marker):
    failing = await client.start_new("flaky", "py-flaky", 7)
    failed = await wait_status(client, failing, "Failed")
    expect("the step is broken" in json.dumps(failed.output), failed.to_json())
    with open(marker, "w") as f:
        f.write("fixed")
    await client.rewind(failing, "the step is fixed")
    fixed = await wait_status(client, failing, "Completed")
    expect(fixed.output == "fixed 7", f"rewound to completion: {fixed.output!r}")
    ok("rewind a failed instance to completion")

    original = await client.start_new(
        "orchestrator-function", "py-restart", {"start": "2021-10-10", "end": "2021-10-15"})
    await wait_status(client, original, "Completed")
    # The route answers with the check-status payload (as Durable Functions does), and the
    # 1.7 client hands that body back as it is.
    payload = await client.restart(original, True)
    expect(isinstance(payload, dict) and "statusQueryGetUri" in payload, payload)
    renewed = payload["id"]
    expect(renewed != original, f"a new id: {renewed!r}")
    again = await wait_status(client, renewed, "Completed")
    expect(again.output == 5, again.to_json())
    same = (await client.restart(original, False))["id"]
    expect(same == original, f"the same id: {same!r}")
    await wait_status(client, original, "Completed")
    ok("restart with a new id and with the same id")
    return renewed


async def purges(client, started_after, renewed):
    result = await client.purge_instance_history(renewed)
    expect(result.instances_deleted == 1, result.__dict__)
    expect(not await client.get_status(renewed), "purged")
    none = await client.purge_instance_history("py-never-started")
    expect(none.instances_deleted == 0, none.__dict__)
    by_filter = await client.purge_instance_history_by(
        created_time_from=started_after,
        runtime_status=[OrchestrationRuntimeStatus.Terminated])
    expect(by_filter.instances_deleted >= 1, by_filter.__dict__)
    ok("purge one instance and by filter")


async def check_status_links(client, origin):
    instance = await client.start_new("approval-workflow", None, {"item": "lamp"})
    await wait_status(client, instance, "Running")
    response = client.create_check_status_response(request(origin), instance)
    expect(response.status_code == 202, response.status_code)
    payload = json.loads(response.get_body())
    expect(response.headers["Location"] == payload["statusQueryGetUri"], response.headers)
    expect(set(payload) == {"id", "statusQueryGetUri", "sendEventPostUri", "terminatePostUri",
                            "rewindPostUri", "purgeHistoryDeleteUri", "restartPostUri",
                            "suspendPostUri", "resumePostUri"}, sorted(payload))
    for key, url in payload.items():
        if key != "id":
            expect(url.startswith(origin), f"{key} points at the app: {url}")
    async with aiohttp.ClientSession() as http:
        async def call(method, url, data=None):
            headers = {"Content-Type": "application/json"} if data is not None else {}
            async with http.request(method, url, data=data, headers=headers) as r:
                text = await r.text()
                return r.status, (json.loads(text) if text else None)

        status, body = await call("GET", payload["statusQueryGetUri"])
        expect(status == 202 and body["runtimeStatus"] == "Running", (status, body))
        status, _ = await call("POST", payload["suspendPostUri"].replace("{text}", "pause"))
        expect(status == 202, status)
        await wait_status(client, instance, "Suspended")
        status, _ = await call("POST", payload["resumePostUri"].replace("{text}", "go"))
        expect(status == 202, status)
        await wait_status(client, instance, "Running")
        status, _ = await call(
            "POST", payload["sendEventPostUri"].replace("{eventName}", "approval"),
            json.dumps({"approved": False, "by": "links"}))
        expect(status == 202, status)
        await wait_status(client, instance, "Completed")
        status, body = await call("GET", payload["statusQueryGetUri"])
        expect(status == 200 and body["output"] == {"approved": False, "by": "links"}, body)
        status, _ = await call("POST", payload["terminatePostUri"].replace("{text}", "late"))
        expect(status == 410, f"terminating a finished instance: {status}")
        status, _ = await call("POST", payload["rewindPostUri"].replace("{text}", "late"))
        expect(status == 410, f"rewinding a completed instance: {status}")
        status, body = await call("POST", payload["restartPostUri"])
        expect(status == 202 and body["id"] != instance, (status, body))
        status, body = await call("DELETE", payload["purgeHistoryDeleteUri"])
        expect(status == 200 and body == {"instancesDeleted": 1}, (status, body))
        status, _ = await call("GET", payload["statusQueryGetUri"])
        expect(status == 404, status)
    ok("create_check_status_response, every URL of its payload followed as given")


async def wait_or_check_status(client, origin):
    waiting = await client.start_new("approval-workflow", None, {"item": "mug"})
    pending = await client.wait_for_completion_or_create_check_status_response(
        request(origin), waiting, timeout_in_milliseconds=300, retry_interval_in_milliseconds=100)
    expect(pending.status_code == 202, pending.status_code)
    expect(json.loads(pending.get_body())["id"] == waiting, pending.get_body())
    await client.terminate(waiting, "done waiting")
    quick = await client.start_new(
        "orchestrator-function", None, {"start": "2021-10-10", "end": "2021-10-13"})
    finished = await client.wait_for_completion_or_create_check_status_response(
        request(origin), quick, timeout_in_milliseconds=10000, retry_interval_in_milliseconds=50)
    expect(finished.status_code == 200, finished.status_code)
    expect(json.loads(finished.get_body()) == 3, finished.get_body())
    ok("wait_for_completion_or_create_check_status_response: 202 while running, 200 + output when done")


async def entities(client):
    counter = EntityId("counter", "py")
    missing = await client.read_entity_state(counter)
    expect(not missing.entity_exists, "no state before the first signal")
    await client.signal_entity(counter, "add", 5)
    await client.signal_entity(counter, "add", 3)
    deadline = time.monotonic() + DEADLINE
    while True:
        state = await client.read_entity_state(counter)
        if state.entity_exists and state.entity_state == 8:
            break
        expect(time.monotonic() < deadline, f"the signals were never applied: {state.__dict__}")
        await asyncio.sleep(0.02)
    ok("signal_entity then read_entity_state")


async def everything():
    binding = os.environ["DURAFN_BINDING"]
    origin = os.environ["DURAFN_ORIGIN"]
    marker = os.environ["TESTAPP_FIXED_MARKER"]
    expect(json.loads(binding).get("rpcBaseUrl", "").endswith("/"), "rpcBaseUrl ends in /")
    trace.set_tracer_provider(TracerProvider())
    client = df.DurableOrchestrationClient(binding)
    started_after = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=1)
    _, waiting = await starts(client)
    generated = (await client.get_status_by(instance_id_prefix="py-approval"))
    expect(len(generated) == 1, [s.instance_id for s in generated])
    suspended = await client.start_new("approval-workflow", "py-suspend", {"item": "cup"})
    await statuses(client)
    await listings(client, started_after)
    await events_and_control(client, waiting, suspended)
    renewed = await rewind_and_restart(client, marker)
    await purges(client, started_after, renewed)
    await check_status_links(client, origin)
    await wait_or_check_status(client, origin)
    await entities(client)
    print(json.dumps({"checks": len(CHECKS)}), flush=True)


async def seed():
    """Starts orchestrator-function with the dict input the app's own client function gave the
    instance DURAFN_SEED_FROM, and prints both results."""
    client = df.DurableOrchestrationClient(os.environ["DURAFN_BINDING"])
    original = await wait_status(client, os.environ["DURAFN_SEED_FROM"], "Completed")
    query = original.input_
    expect(isinstance(query, dict) and set(query) == {"start", "end"}, f"a dict: {query!r}")
    instance = await client.start_new("orchestrator-function", None, query)
    status = await wait_status(client, instance, ["Completed", "Failed"])
    print(json.dumps({"input": query, "status": status.runtime_status.value,
                      "output": status.output, "original": original.output}), flush=True)


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "all"
    asyncio.run(everything() if mode == "all" else seed())
