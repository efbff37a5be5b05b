"""Shared by the Python workers: arguments, timing summaries, memory and the result line.

Every worker is run as `worker.py <w1|w2|w3|w4|w5> <size>` and prints one line
`RESULT {json}` on stdout (see README.md); progress goes to stderr.
"""

import asyncio
import json
import os
import sys
import time

CITIES = ["Tokyo", "Seattle", "London", "Cairo", "Lima"]
WARMUP = 10


def args():
    """The workload and its size."""
    return sys.argv[1], int(sys.argv[2])


def progress(message):
    print(f"  {message}", file=sys.stderr, flush=True)


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


def server_rss_mb():
    pid = os.environ.get("BENCH_SERVER_PID")
    return rss_mb(pid) if pid else None


def deadline():
    """When the measurement stops waiting (`BENCH_DEADLINE` seconds from now): W1 counts the
    instances completed by then, W3 stops sampling, W4 summarizes the steps run, W5 reads memory."""
    return time.monotonic() + float(os.environ.get("BENCH_DEADLINE", "300"))


async def throughput(started_at, results, done, activities, n, end):
    """W1's finish, timed from the first start; `end` is the cap, counted from there too (the
    starts stop at it). Waits until `done` (the set of instances whose workflow has returned,
    filled by the workflow code) holds all `n` or `end` passes. When all returned, the results
    are awaited too, so the rate counts completions the system acknowledged. Otherwise the rate
    is the work done by `end`: activities run ÷ 5 per second (`activities()` counts them), since
    instances that all progress together finish together."""
    while len(done) < n and time.monotonic() < end:
        await asyncio.sleep(0.01)
    if len(done) < n:
        secs = time.perf_counter() - started_at
        ran = activities()
        return {"secs": secs, "per_sec": ran / 5 / secs, "completed": len(done), "activities": ran}
    completed = await wait_in_order(results(), end + 60)
    secs = time.perf_counter() - started_at
    return {"secs": secs, "per_sec": completed / secs, "completed": completed}


async def wait_in_order(awaitables, end):
    """Awaits the results in start order, 64 at a time, until `end`; returns how many completed."""
    completed = 0
    for i in range(0, len(awaitables), 64):
        chunk = awaitables[i : i + 64]
        try:
            await asyncio.wait_for(asyncio.gather(*chunk), max(0.0, end - time.monotonic()))
        except asyncio.TimeoutError:
            break
        completed += len(chunk)
    return completed


async def latencies(one, n):
    """Start-to-completed times of `n` runs of `one()` one at a time, after a warm-up, until the
    deadline."""
    end = deadline()
    ms = []
    for i in range(n + WARMUP):
        if i > WARMUP + 5 and time.monotonic() > end:
            break
        started = time.perf_counter()
        await one()
        if i >= WARMUP:
            ms.append((time.perf_counter() - started) * 1000)
    return percentiles(ms)


async def until_deadline(awaitable):
    """Awaits `awaitable` until the deadline; W4 then summarizes the steps run so far."""
    try:
        await asyncio.wait_for(awaitable, max(0.0, deadline() - time.monotonic()))
    except asyncio.TimeoutError:
        pass


async def start_until(start_one, n, end=None):
    """Starts `n` instances with `start_one()`, 512 at a time, stopping early once `end` has
    passed; returns what the starts returned."""
    started = []
    for i in range(0, n, 512):
        if end is not None and i and time.monotonic() > end:
            break
        started += await asyncio.gather(*(start_one(k) for k in range(i, min(n, i + 512))))
    return started


async def parked(start_one, waiting, n):
    """W5: starts instances until `n` or the deadline, waits up to 15 s more for the started ones
    to reach their wait (`waiting` is the set the workflow code fills), and reads memory."""
    before = rss_mb()
    started_at = time.perf_counter()
    end = deadline()
    started = len(await start_until(start_one, n, end))
    settle = max(end, time.monotonic()) + 15
    while len(waiting) < started and time.monotonic() < settle:
        await asyncio.sleep(0.05)
    return {
        "started": started,
        "reached": len(waiting),
        "secs": time.perf_counter() - started_at,
        "worker_rss_mb": rss_mb(),
        "worker_rss_before_mb": before,
        "server_rss_mb": server_rss_mb(),
    }


def percentiles(ms):
    ms = sorted(ms)
    pick = lambda q: ms[round((len(ms) - 1) * q)]
    return {"p50_ms": pick(0.5), "p99_ms": pick(0.99), "samples": len(ms)}


def step_summary(times, secs):
    """Time per step over the first and the last k steps run in W4 (k = n/10, at most 100)."""
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


def emit(result):
    print("RESULT " + json.dumps(result), flush=True)
