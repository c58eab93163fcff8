"""How late the event loop runs: a timer that should fire every INTERVAL seconds notes how
much later it did. Everything the server does for a connection waits behind whatever
holds the loop, so this lag is what every tablet's answer and event may wait on top of
its own work. `phonghop_loop_lag_seconds` (a histogram with fine buckets below 100 ms)
and `phonghop_loop_lag_max_seconds` (the worst since start) are on /metrics;
`phonghop bench mixed` reads its p99 through a whole session.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from prometheus_client import Gauge, Histogram

INTERVAL = 0.02  # seconds: 50 samples a second, a negligible cost
LAG = Histogram("phonghop_loop_lag_seconds", "How late the event loop ran a timer due every 20 ms",
                buckets=(.001, .002, .003, .005, .0075, .01, .0125, .015, .0175, .02, .025, .03, .04, .05, .075, .1,
                         .15, .2, .3, .5, 1, 2, 5))
WORST = Gauge("phonghop_loop_lag_max_seconds", "The event loop's worst lag since the server started")


async def watch(interval: float = INTERVAL) -> None:
    worst = 0.0
    clock = time.perf_counter
    while True:
        due = clock() + interval
        await asyncio.sleep(interval)
        lag = max(0.0, clock() - due)
        LAG.observe(lag)
        if lag > worst:
            worst = lag
            WORST.set(lag)


def install(app) -> None:
    """Watch the loop while `app` runs."""
    running: list[asyncio.Task] = []

    async def start(app) -> None:
        running.append(asyncio.get_running_loop().create_task(watch(), name="loop-lag"))

    async def stop(app) -> None:
        while running:
            task = running.pop()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
