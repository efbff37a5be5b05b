"""Durable Functions patterns in the Python v2 programming model, for durafn.

Every function here is plain ``azure-functions`` / ``azure-functions-durable`` code: it runs
unchanged on Azure Functions and on ``durafn start``.
"""

import os
from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


# --- HTTP starter and event sender -------------------------------------------------------------

@app.route(route="orchestrators/{functionName}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client) -> func.HttpResponse:
    """Starts any orchestrator of this app with the request body as its input."""
    function_name = req.route_params["functionName"]
    payload = req.get_json() if req.get_body() else None
    instance_id = await client.start_new(function_name, None, payload)
    return client.create_check_status_response(req, instance_id)


@app.route(route="approvals/{instanceId}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def approve(req: func.HttpRequest, client) -> func.HttpResponse:
    """Raises the ``Approval`` event a waiting ``approval_workflow`` instance listens for."""
    await client.raise_event(req.route_params["instanceId"], "Approval", req.get_json())
    return func.HttpResponse(status_code=202)


# --- Fan-out/fan-in ----------------------------------------------------------------------------

@app.orchestration_trigger(context_name="context")
def fan_out_fan_in(context: df.DurableOrchestrationContext):
    """Greets every city in parallel and returns the greetings in input order."""
    cities = context.get_input() or ["Tokyo", "Seattle", "London"]
    greetings = yield context.task_all([context.call_activity("say_hello", city)
                                        for city in cities])
    return greetings


@app.activity_trigger(input_name="city")
def say_hello(city: str) -> str:
    return f"Hello {city}!"


# --- Human interaction: an approval or a timeout, whichever comes first ------------------------

@app.orchestration_trigger(context_name="context")
def approval_workflow(context: df.DurableOrchestrationContext):
    """Waits for an ``Approval`` event; escalates when none arrives before the deadline."""
    request = context.get_input() or {}
    context.set_custom_status("waiting for approval")
    deadline = context.current_utc_datetime + timedelta(hours=request.get("timeoutHours", 24))
    timeout = context.create_timer(deadline)
    approval = context.wait_for_external_event("Approval")
    winner = yield context.task_any([approval, timeout])
    if winner == approval:
        timeout.cancel()
        context.set_custom_status("approved")
        return {"approved": True, "by": approval.result.get("by")}
    context.set_custom_status("escalated")
    escalation = yield context.call_activity("escalate", request)
    return {"approved": False, "escalation": escalation}


@app.activity_trigger(input_name="request")
def escalate(request: dict) -> str:
    return f"escalated to {request.get('manager', 'the manager')}"


# --- A retrying activity -----------------------------------------------------------------------

@app.orchestration_trigger(context_name="context")
def flaky_workflow(context: df.DurableOrchestrationContext):
    """Calls ``flaky`` with up to three attempts, a second apart."""
    retry = df.RetryOptions(first_retry_interval_in_milliseconds=1000, max_number_of_attempts=3)
    result = yield context.call_activity_with_retry("flaky", retry, context.get_input())
    return result


@app.activity_trigger(input_name="job")
def flaky(job: dict) -> str:
    """Fails the first ``job["failures"]`` calls, counting calls in the file ``job["counter"]``.

    The count lives in a file so that it survives a restart of the worker.
    """
    path = job["counter"]
    calls = int(open(path).read()) + 1 if os.path.exists(path) else 1
    with open(path, "w") as f:
        f.write(str(calls))
    if calls <= job.get("failures", 0):
        raise RuntimeError(f"attempt {calls} failed")
    return f"succeeded on attempt {calls}"


# --- Sub-orchestrations ------------------------------------------------------------------------

@app.orchestration_trigger(context_name="context")
def tour(context: df.DurableOrchestrationContext):
    """Runs ``fan_out_fan_in`` once per leg of a tour, each as a sub-orchestration."""
    legs = context.get_input() or [["Tokyo", "Osaka"], ["Seattle"]]
    results = []
    for index, leg in enumerate(legs):
        child_id = f"{context.instance_id}:leg{index}"
        results.append((yield context.call_sub_orchestrator("fan_out_fan_in", leg, child_id)))
    return results


# --- A counter entity, called and signalled from an orchestration ------------------------------

@app.entity_trigger(context_name="context")
def counter(context: df.DurableEntityContext):
    value = context.get_state(lambda: 0)
    operation = context.operation_name
    if operation == "add":
        value += context.get_input()
        context.set_result(value)
    elif operation == "reset":
        value = 0
    elif operation == "get":
        context.set_result(value)
    elif operation == "delete":
        context.destruct_on_exit()
        return
    else:
        raise ValueError(f"unknown operation {operation!r}")
    context.set_state(value)


@app.orchestration_trigger(context_name="context")
def counter_workflow(context: df.DurableOrchestrationContext):
    """Signals ``add 5`` (one-way), then calls ``add 1`` and ``get`` on the counter."""
    entity = df.EntityId("counter", context.get_input() or "default")
    context.signal_entity(entity, "add", 5)
    after_add = yield context.call_entity(entity, "add", 1)
    value = yield context.call_entity(entity, "get")
    return {"afterAdd": after_add, "value": value}


# --- What the orchestration context offers -----------------------------------------------------

@app.orchestration_trigger(context_name="context")
def context_facts(context: df.DurableOrchestrationContext):
    """Reports the deterministic time, ids and replay flag across two turns."""
    first = {"time": context.current_utc_datetime.isoformat(), "uuid": context.new_uuid(),
             "replaying": context.is_replaying}
    yield context.call_activity("say_hello", "again")
    second = {"time": context.current_utc_datetime.isoformat(), "uuid": context.new_uuid(),
              "replaying": context.is_replaying}
    return {"first": first, "second": second, "instanceId": context.instance_id,
            "parent": context.parent_instance_id}
