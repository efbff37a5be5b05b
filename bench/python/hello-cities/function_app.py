"""The benchmarks' workloads as a Python app (v2 model), the same as bench's Rust ones.

`hello_cities` calls `say_hello` for five cities one after another (the throughput workload);
`sequential` calls `step` n times one after another, so its history grows by three events per
call (the per-turn cost workload).
"""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def hello_cities(context: df.DurableOrchestrationContext):
    greetings = []
    for city in ["Tokyo", "Seattle", "London", "Cairo", "Lima"]:
        greetings.append((yield context.call_activity("say_hello", city)))
    return greetings


@app.orchestration_trigger(context_name="context")
def sequential(context: df.DurableOrchestrationContext):
    total = 0
    for i in range(context.get_input()):
        total += yield context.call_activity("step", i)
    return total


@app.activity_trigger(input_name="city")
def say_hello(city: str) -> str:
    return f"Hello {city}!"


@app.activity_trigger(input_name="i")
def step(i: int) -> int:
    return 1
