"""The DBOS side of the comparison: the five workloads of bench/peers/README.md as DBOS async
workflows and steps, on SQLite (`BENCH_STORE=sqlite`, file under `BENCH_DIR`) or PostgreSQL
(`BENCH_STORE=postgres`, database `BENCH_PG_URL`, schema `BENCH_PG_SCHEMA`)."""

import asyncio
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import common  # noqa: E402

from dbos import DBOS, DBOSConfig  # noqa: E402

STEP_TIMES = []
ACTIVITIES = [0]  # activities run (W1)
DONE = set()
WAITING = set()


@DBOS.step()
async def say_hello(city: str) -> str:
    ACTIVITIES[0] += 1
    return f"Hello {city}!"


@DBOS.step()
async def step(i: int) -> int:
    STEP_TIMES[i] = time.perf_counter()
    return i


@DBOS.workflow()
async def hello_cities() -> list:
    out = [await say_hello(city) for city in common.CITIES]
    DONE.add(DBOS.workflow_id)
    return out


@DBOS.workflow()
async def fan_out(n: int) -> int:
    return len(await asyncio.gather(*(say_hello(str(i)) for i in range(n))))


@DBOS.workflow()
async def one_activity() -> str:
    return await say_hello("you")


@DBOS.workflow()
async def long_chain(n: int) -> int:
    for i in range(n):
        await step(i)
    return n


@DBOS.workflow()
async def waiter() -> int:
    WAITING.add(DBOS.workflow_id)
    return await DBOS.recv_async("go", timeout_seconds=3600)


async def start_many(workflow, n, end=None):
    """Starts `n` workflows, 512 at a time (until `end`); returns their handles."""
    return await common.start_until(lambda _: DBOS.start_workflow_async(workflow), n, end)


async def run(workload, n):
    if workload == "w1":
        started = time.perf_counter()
        end = common.deadline()
        handles = await start_many(hello_cities, n, end)
        results = lambda: [h.get_result() for h in handles]
        return await common.throughput(started, results, DONE, lambda: ACTIVITIES[0], n, end)
    if workload == "w2":
        started = time.perf_counter()
        assert await (await DBOS.start_workflow_async(fan_out, n)).get_result() == n
        return {"secs": time.perf_counter() - started}
    if workload == "w3":
        async def one():
            await (await DBOS.start_workflow_async(one_activity)).get_result()

        return await common.latencies(one, n)
    if workload == "w4":
        STEP_TIMES.extend([None] * n)
        started = time.perf_counter()
        await common.until_deadline((await DBOS.start_workflow_async(long_chain, n)).get_result())
        return common.step_summary(STEP_TIMES, time.perf_counter() - started)
    if workload == "w5":
        return await common.parked(lambda _: DBOS.start_workflow_async(waiter), WAITING, n)
    raise SystemExit(f"unknown workload {workload}")


def main():
    workload, n = common.args()
    if os.environ.get("BENCH_STORE") == "postgres":
        url = os.environ["BENCH_PG_URL"].replace("postgres://", "postgresql://", 1)
        config: DBOSConfig = {
            "name": "bench",
            "system_database_url": url,
            "dbos_system_schema": os.environ.get("BENCH_PG_SCHEMA", "dbos_bench"),
        }
    else:
        config: DBOSConfig = {
            "name": "bench",
            "system_database_url": f"sqlite:///{os.environ['BENCH_DIR']}/dbos.sqlite",
        }
    config["log_level"] = "WARNING"
    DBOS(config=config)
    DBOS.launch()
    result = asyncio.run(run(workload, n))
    common.emit(result)
    DBOS.destroy(destroy_registry=True)


if __name__ == "__main__":
    main()
