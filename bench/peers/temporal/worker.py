"""The Temporal side of the comparison: the five workloads of bench/peers/README.md as Temporal
workflows and activities with the Python SDK, worker and client in this process, against the
server at `BENCH_TEMPORAL` (the dev server, started by the runner).

Workflows run unsandboxed (faster, and it lets the W5 workflow count itself in this process);
the workflow cache holds 10,000 workflows, like durafn's instance cache."""

import asyncio
import os
import sys
from datetime import timedelta

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import common  # noqa: E402

from temporalio import activity, workflow  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.worker import UnsandboxedWorkflowRunner, Worker  # noqa: E402

QUEUE = "bench"
TIMEOUT = timedelta(minutes=5)


@activity.defn
async def say_hello(city: str) -> str:
    return f"Hello {city}!"


@activity.defn
async def step(i: int) -> int:
    common.step_ran(i)
    return i


def call(fn, arg):
    return workflow.execute_activity(fn, arg, start_to_close_timeout=TIMEOUT)


@workflow.defn
class HelloCities:
    @workflow.run
    async def run(self) -> list:
        return [await call(say_hello, city) for city in common.CITIES]


@workflow.defn
class FanOut:
    @workflow.run
    async def run(self, n: int) -> int:
        return len(await asyncio.gather(*(call(say_hello, str(i)) for i in range(n))))


@workflow.defn
class OneActivity:
    @workflow.run
    async def run(self) -> str:
        return await call(say_hello, "you")


@workflow.defn
class LongChain:
    @workflow.run
    async def run(self, n: int) -> int:
        for i in range(n):
            await call(step, i)
        return n


@workflow.defn
class Waiter:
    def __init__(self) -> None:
        self.value = None

    @workflow.run
    async def run(self) -> int:
        common.reached_wait(workflow.info().workflow_id)
        await workflow.wait_condition(lambda: self.value is not None)
        return self.value

    @workflow.signal
    def go(self, value: int) -> None:
        self.value = value


FLOWS = {
    "hello_cities": HelloCities,
    "fan_out": FanOut,
    "one_activity": OneActivity,
    "long_chain": LongChain,
    "waiter": Waiter,
}


class Driver:
    """Temporal as the workloads use it: the SDK client of the worker in this process."""

    def __init__(self, client):
        self.client = client

    async def start(self, flow, key, n):
        args = common.inputs(flow, n)
        await self.client.start_workflow(FLOWS[flow].run, *args, id=key, task_queue=QUEUE)

    async def call(self, flow, key, n):
        args = common.inputs(flow, n)
        return await self.client.execute_workflow(FLOWS[flow].run, *args, id=key, task_queue=QUEUE)


async def main():
    workload, n = common.args()
    client = await Client.connect(os.environ.get("BENCH_TEMPORAL", "127.0.0.1:7233"))
    async with Worker(
        client,
        task_queue=QUEUE,
        workflows=[HelloCities, FanOut, OneActivity, LongChain, Waiter],
        activities=[say_hello, step],
        workflow_runner=UnsandboxedWorkflowRunner(),
        max_cached_workflows=10_000,
    ):
        result = await common.run(Driver(client), workload, n)
    common.emit(result)


if __name__ == "__main__":
    asyncio.run(main())
