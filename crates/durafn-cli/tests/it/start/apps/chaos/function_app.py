"""The app of the crash tests: each `chaos` instance runs ten sequential activities and two
durable timers; its output is a pure function of its input, so a test can check every
instance's output after any number of crashes."""

from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def chaos(context: df.DurableOrchestrationContext):
    n = context.get_input()
    acc = n
    for step in range(10):
        acc = yield context.call_activity("step", [acc, step])
        if step in (3, 6):
            yield context.create_timer(context.current_utc_datetime + timedelta(milliseconds=200))
    return acc + n


@app.activity_trigger(input_name="pair")
def step(pair: list) -> int:
    acc, step = pair
    return (acc * 3 + step + 1) % 1_000_000_007
