"""The DBOS side of the comparison: the five workloads of bench/peers/README.md as DBOS async
workflows and steps, on SQLite (`BENCH_STORE=sqlite`, file under `BENCH_DIR`) or PostgreSQL
(`BENCH_STORE=postgres`, database `BENCH_PG_URL`, schema `BENCH_PG_SCHEMA`)."""

import asyncio
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import common  # noqa: E402

from dbos import DBOS, DBOSConfig  # noqa: E402


@DBOS.step()
async def say_hello(city: str) -> str:
    return f"Hello {city}!"


@DBOS.step()
async def step(i: int) -> int:
    common.step_ran(i)
    return i


@DBOS.workflow()
async def hello_cities() -> list:
    return [await say_hello(city) for city in common.CITIES]


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
    common.reached_wait(DBOS.workflow_id)
    return await DBOS.recv_async("go", timeout_seconds=3600)


FLOWS = {
    "hello_cities": hello_cities,
    "fan_out": fan_out,
    "one_activity": one_activity,
    "long_chain": long_chain,
    "waiter": waiter,
}


class Driver:
    """DBOS as the workloads use it: workflows started in this process, results awaited on their
    handles (DBOS picks the workflow ids)."""

    async def start(self, flow, key, n):
        return await DBOS.start_workflow_async(FLOWS[flow], *common.inputs(flow, n))

    async def call(self, flow, key, n):
        return await (await self.start(flow, key, n)).get_result()


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
    result = asyncio.run(common.run(Driver(), workload, n))
    common.emit(result)
    DBOS.destroy(destroy_registry=True)


if __name__ == "__main__":
    main()
