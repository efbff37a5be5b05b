"""What the other test apps leave out: durable HTTP, a retried sub-orchestration, an entity
signalled and read by a client, continue-as-new, and output the app prints and logs."""

import logging
import os
import sys

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def fetch(context: df.DurableOrchestrationContext):
    """A durable HTTP request to the URL in the input."""
    response = yield context.call_http("GET", context.get_input(), headers={"X-Test": "yes"})
    return response


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):
    """A sub-orchestration that fails once, retried."""
    retry = df.RetryOptions(first_retry_interval_in_milliseconds=200, max_number_of_attempts=3)
    result = yield context.call_sub_orchestrator_with_retry("child", retry, context.get_input())
    return result


@app.orchestration_trigger(context_name="context")
def child(context: df.DurableOrchestrationContext):
    result = yield context.call_activity("fails_once", context.get_input())
    return result


@app.activity_trigger(input_name="path")
def fails_once(path: str) -> str:
    if not os.path.exists(path):
        open(path, "w").close()
        raise ValueError("the first call fails")
    return "second call"


@app.orchestration_trigger(context_name="context")
def countdown(context: df.DurableOrchestrationContext):
    """Continues as new until its input reaches 0, logging each execution once."""
    n = context.get_input()
    if not context.is_replaying:
        logging.info("countdown at %s", n)
    if n == 0:
        return "liftoff"
    yield context.call_activity("shout", n)
    context.continue_as_new(n - 1)


@app.activity_trigger(input_name="n")
def shout(n: int) -> int:
    print(f"shout {n}")
    sys.stderr.write(f"shout to stderr {n}\n")
    os.write(1, f"shout past sys.stdout {n}\n".encode())
    return n


@app.entity_trigger(context_name="context")
def tally(context: df.DurableEntityContext):
    value = context.get_state(lambda: 0)
    if context.operation_name == "add":
        value += context.get_input()
    context.set_state(value)
    context.set_result(value)


@app.route(route="tally/{key}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def signal_tally(req: func.HttpRequest, client) -> func.HttpResponse:
    """Signals `add` with the body's number, from the durable client."""
    entity = df.EntityId("tally", req.route_params["key"])
    await client.signal_entity(entity, "add", req.get_json())
    return func.HttpResponse(status_code=202)


@app.route(route="tally/{key}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def read_tally(req: func.HttpRequest, client) -> func.HttpResponse:
    state = await client.read_entity_state(df.EntityId("tally", req.route_params["key"]))
    return func.HttpResponse(str(state.entity_state if state.entity_exists else None))
