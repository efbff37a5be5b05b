"""The Temporal side of the comparison: the five workloads of bench/peers/README.md as Temporal
workflows and activities with the Python SDK, worker and client in this process, against the
server at `BENCH_TEMPORAL` (the dev server, started by the runner).

Workflows run unsandboxed (faster, and it lets the W5 workflow count itself in this process);
the workflow cache holds 10,000 workflows, like durafn's instance cache."""

import asyncio
import os
import sys
import time
import uuid
from datetime import timedelta

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import common  # noqa: E402

from temporalio import activity, workflow  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.worker import UnsandboxedWorkflowRunner, Worker  # noqa: E402

QUEUE = "bench"
TIMEOUT = timedelta(minutes=5)
STEP_TIMES = []
ACTIVITIES = [0]  # activities run (W1)
DONE = set()
WAITING = set()


@activity.defn
async def say_hello(city: str) -> str:
    ACTIVITIES[0] += 1
    return f"Hello {city}!"


@activity.defn
async def step(i: int) -> int:
    STEP_TIMES[i] = time.perf_counter()
    return i


def call(fn, arg):
    return workflow.execute_activity(fn, arg, start_to_close_timeout=TIMEOUT)


@workflow.defn
class HelloCities:
    @workflow.run
    async def run(self) -> list:
        out = [await call(say_hello, city) for city in common.CITIES]
        DONE.add(workflow.info().workflow_id)
        return out


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
        WAITING.add(workflow.info().workflow_id)
        await workflow.wait_condition(lambda: self.value is not None)
        return self.value

    @workflow.signal
    def go(self, value: int) -> None:
        self.value = value


def starter(client, wf):
    """Starts one workflow of type `wf` by number."""
    run = uuid.uuid4().hex[:8]
    return lambda k: client.start_workflow(wf.run, id=f"{run}-{k}", task_queue=QUEUE)


async def run(client, workload, n):
    one = lambda wf, *a: client.execute_workflow(wf.run, *a, id=uuid.uuid4().hex, task_queue=QUEUE)
    if workload == "w1":
        started = time.perf_counter()
        end = common.deadline()
        handles = await common.start_until(starter(client, HelloCities), n, end)
        results = lambda: [h.result() for h in handles]
        return await common.throughput(started, results, DONE, lambda: ACTIVITIES[0], n, end)
    if workload == "w2":
        started = time.perf_counter()
        assert await one(FanOut, n) == n
        return {"secs": time.perf_counter() - started}
    if workload == "w3":
        return await common.latencies(lambda: one(OneActivity), n)
    if workload == "w4":
        STEP_TIMES.extend([None] * n)
        started = time.perf_counter()
        await common.until_deadline(one(LongChain, n))
        return common.step_summary(STEP_TIMES, time.perf_counter() - started)
    if workload == "w5":
        return await common.parked(starter(client, Waiter), WAITING, n)
    raise SystemExit(f"unknown workload {workload}")


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
        result = await run(client, workload, n)
    common.emit(result)


if __name__ == "__main__":
    asyncio.run(main())
