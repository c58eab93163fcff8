"""What each idle joined connection holds in the server: a profiling aid for `kb_per_connection`.

    python bench/conn_memory.py [--tablets 500] [--top 25] [--no-trace]

The server runs in this process (the app `phonghop serve` builds, on a loopback port), so
that its heap can be read; N Node socket.io-client tablets (bench/node/tablets.cjs, the
web client's library) connect over websocket and join, as in `phonghop bench fanout`.
Before the tablets and once they are all joined and idle: the process's RSS, a
tracemalloc snapshot (the growth, by the line that allocated it, per connection) and
the live objects by type (gc.get_objects: the growth per connection, objgraph-style).
tracemalloc costs memory of its own: `--no-trace` for the RSS figure alone.
Prints one JSON object as its last line; records nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import json
import sys
import tempfile
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import hall as H  # noqa: E402


def _types() -> collections.Counter:
    return collections.Counter(type(o).__qualname__ for o in gc.get_objects())


def _tasks() -> collections.Counter:
    out: collections.Counter = collections.Counter()
    for task in asyncio.all_tasks():
        coro = task.get_coro()
        out[getattr(coro, "__qualname__", repr(coro))] += 1
    return out


async def run(n: int, top: int, trace: bool) -> dict:
    from aiohttp import web

    from server.app import create_app
    from server.config import Settings
    from server.store.migrate import upgrade

    with tempfile.TemporaryDirectory(prefix="phonghop-connmem-") as tmp:
        workdir = Path(tmp)
        hall = await H.seed_hall(workdir, n)
        settings = Settings(data_dir=workdir)
        await asyncio.to_thread(upgrade, settings)
        app = create_app(settings)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        port = H.free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        url = f"http://127.0.0.1:{port}"
        try:
            await asyncio.sleep(1.0)
            gc.collect()
            rss0 = H.rss_kb(H.os.getpid())
            types0, tasks0 = _types(), _tasks()
            if trace:
                tracemalloc.start(8)
                snap0 = tracemalloc.take_snapshot()
            tablets = H.Tablets(workdir, url, hall.meeting_id, hall.tablets, processes=2, since=0)
            try:
                await tablets.ready()
                await asyncio.sleep(2.0)
                gc.collect()
                rss1 = H.rss_kb(H.os.getpid())
                types1, tasks1 = _types(), _tasks()
                out: dict = {"tablets": n, "kb_per_connection_rss": round((rss1 - rss0) / n, 1)}
                if trace:
                    snap1 = tracemalloc.take_snapshot()
                    stats = snap1.compare_to(snap0, "lineno")
                    grown = sum(s.size_diff for s in stats)
                    out["kb_per_connection_python"] = round(grown / n / 1024, 1)
                    out["by_line"] = [
                        {"where": f"{s.traceback[0].filename.split('site-packages/')[-1]}:{s.traceback[0].lineno}",
                         "bytes_per_connection": round(s.size_diff / n), "blocks_per_connection":
                         round(s.count_diff / n, 2)} for s in stats[:top]]
                    tracemalloc.stop()
                growth = types1 - types0
                out["objects_per_connection"] = round(sum(growth.values()) / n, 1)
                out["by_type"] = {k: round(v / n, 2) for k, v in growth.most_common(top)}
                out["tasks_per_connection"] = {k: round(v / n, 2) for k, v in (tasks1 - tasks0).most_common(10)}
            finally:
                await tablets.close()
        finally:
            await runner.cleanup()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/conn_memory.py", description=__doc__.splitlines()[0])
    parser.add_argument("--tablets", type=int, default=500)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--no-trace", action="store_true")
    args = parser.parse_args(argv)
    if not H.node_ready():
        raise SystemExit(f"bench/conn_memory.py needs {H.NODE_HELP}")
    out = asyncio.run(run(args.tablets, args.top, not args.no_trace))
    out["load_avg"] = H.load()
    for key in ("by_line", "by_type", "tasks_per_connection"):
        for row in out.get(key, []) if isinstance(out.get(key), list) else out.get(key, {}).items():
            print(key, row)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
