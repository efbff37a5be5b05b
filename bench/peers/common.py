"""The five workloads of README.md for the Python workers, the same as bench/src/workload.rs is
for the Rust ones: a worker gives `run` a driver for its system, with two coroutines used the way
the system's users call it:

    start(flow, key, n)  starts instance `key` of `flow` and returns once the system accepted it
    call(flow, key, n)   starts it and returns its output

`flow` is one of FLOWS; `n` is the input of "fan_out" and "long_chain". The W4 activity calls
`step_ran(i)`, the W5 workflow `reached_wait(id)` before it waits. Every worker is run as
`worker.py <w1|w2|w3|w4|w5> <size>` and prints one line `RESULT {json}` on stdout (see
README.md); progress goes to stderr.
"""

import asyncio
import json
import os
import sys
import time

CITIES = ["Tokyo", "Seattle", "London", "Cairo", "Lima"]
FLOWS = ["hello_cities", "fan_out", "one_activity", "long_chain", "waiter"]
WITH_INPUT = {"fan_out", "long_chain"}
WARMUP = 10
SETTLE = 15  # seconds W5 waits after its last start for the instances to reach their wait

STEP_TIMES = []  # when each W4 step ran, by step
WAITING = set()  # W5 instances that reached their wait


def args():
    """The workload and its size."""
    return sys.argv[1], int(sys.argv[2])


def step_ran(i):
    if i < len(STEP_TIMES):
        STEP_TIMES[i] = time.monotonic()


def reached_wait(key):
    WAITING.add(key)


def rss_mb(pid="self"):
    """Resident memory of a process in MB, or None if it cannot be read."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def deadline():
    """When the measurement stops waiting: `BENCH_DEADLINE` seconds from now (the cap)."""
    return time.monotonic() + float(os.environ.get("BENCH_DEADLINE", "300"))


def in_flight():
    """Client requests in flight at once (`BENCH_IN_FLIGHT`) in W1 and W5."""
    return max(1, int(os.environ.get("BENCH_IN_FLIGHT", "200")))


def key(workload, i):
    return f"{workload}-{os.getpid()}-{i}"


async def bounded(n, limit, stop_starting, stop_waiting, job):
    """Runs `job(i)` for i in range(n) with at most `limit` running at once, as a client with a
    bounded number of requests in flight does; none starts after `stop_starting`, none is waited
    for past `stop_waiting`. Returns (finished, when the last finished, capped)."""
    state = {"next": 0, "finished": 0, "last": time.monotonic()}

    async def client():
        while True:
            i = state["next"]
            state["next"] += 1
            if i >= n or time.monotonic() > stop_starting:
                return
            await job(i)
            state["finished"] += 1
            state["last"] = time.monotonic()

    tasks = [asyncio.create_task(client()) for _ in range(min(limit, n))]
    timeout = max(0.0, stop_waiting - time.monotonic())
    done, pending = await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_EXCEPTION)
    for task in pending:
        task.cancel()
    for task in done:
        task.result()  # a failed request fails the workload
    finished = state["finished"]
    return finished, state["last"], bool(pending) or finished < n


async def throughput(driver, n):
    """W1: `n` "hello cities", each started and awaited by one of `in_flight()` clients;
    instances completed per second, from the first start to the last completion (or the cap)."""
    limit, end = in_flight(), deadline()
    started = time.monotonic()
    job = lambda i: driver.call("hello_cities", key("w1", i), 0)
    finished, last, capped = await bounded(n, limit, end, end, job)
    secs = (time.monotonic() if capped else last) - started
    return {"per_sec": finished / secs, "secs": secs, "completed": finished, "in_flight": limit}


async def fan_out(driver, n):
    started = time.monotonic()
    out = await driver.call("fan_out", key("w2", 0), n)
    secs = time.monotonic() - started
    assert str(out).strip().strip('"') == str(n), f"fan-out returned {out!r}"
    return {"secs": secs}


async def latency(driver, n):
    """W3: one-activity workflows one at a time after a warm-up, until `n` samples or the cap."""
    end = deadline()
    ms = []
    for i in range(n + WARMUP):
        if i > WARMUP + 5 and time.monotonic() > end:
            break
        started = time.perf_counter()
        await driver.call("one_activity", key("w3", i), 0)
        if i >= WARMUP:
            ms.append((time.perf_counter() - started) * 1000)
    ms.sort()
    pick = lambda q: ms[round((len(ms) - 1) * q)]
    return {"p50_ms": pick(0.5), "p99_ms": pick(0.99), "samples": len(ms)}


async def chain(driver, n):
    """W4: one workflow of `n` sequential steps, awaited until the cap; time per step."""
    STEP_TIMES[:] = [None] * n
    started = time.monotonic()
    try:
        await asyncio.wait_for(
            driver.call("long_chain", key("w4", 0), n), max(0.0, deadline() - time.monotonic())
        )
    except asyncio.TimeoutError:
        pass
    return step_summary(STEP_TIMES, time.monotonic() - started)


def step_summary(times, secs):
    """Time per step over the first and the last k steps run (k = n/10, at most 100)."""
    ran = []
    for t in times:
        if t is None:
            break
        ran.append(t)
    n = len(ran)
    if n < 3:
        return {"secs": secs, "steps": n}
    k = min(max(len(times) // 10, 1), 100, n // 2)
    first = (ran[k] - ran[0]) * 1000 / k
    last = (ran[n - 1] - ran[n - 1 - k]) * 1000 / k
    return {"secs": secs, "first_ms": first, "last_ms": last, "steps": n}


async def parked(driver, n):
    """W5: starts `n` waiting workflows (`in_flight()` starts at once, none after the cap), waits
    for them to reach their wait, and reads the memory of this worker and of the peer's server."""
    before = rss_mb()
    limit, end = in_flight(), deadline()
    started_at = time.monotonic()
    job = lambda i: driver.start("waiter", key("w5", i), 0)
    started, _, _ = await bounded(n, limit, end, end + SETTLE, job)
    settle = max(end, time.monotonic()) + SETTLE
    while len(WAITING) < started and time.monotonic() < settle:
        await asyncio.sleep(0.05)
    server = os.environ.get("BENCH_SERVER_PID")
    return {
        "started": started,
        "reached": len(WAITING),
        "secs": time.monotonic() - started_at,
        "in_flight": limit,
        "worker_rss_mb": rss_mb(),
        "worker_rss_before_mb": before,
        "server_rss_mb": rss_mb(server) if server else None,
    }


WORKLOADS = {"w1": throughput, "w2": fan_out, "w3": latency, "w4": chain, "w5": parked}


async def run(driver, workload, n):
    """Runs workload `w1`..`w5` of size `n` on `driver`; returns its numbers."""
    if workload not in WORKLOADS:
        raise SystemExit(f"unknown workload {workload}")
    return await WORKLOADS[workload](driver, n)


def inputs(flow, n):
    """The arguments a flow is started with."""
    return (n,) if flow in WITH_INPUT else ()


def emit(result):
    print("RESULT " + json.dumps(result), flush=True)
