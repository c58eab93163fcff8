"""Fan-out benchmark: a committed command's event to every connected tablet, beside Node's socket.io.

    phonghop bench fanout [--json] [--tablets 1000,4000] [--rounds 20] [--client-processes 4]
                          [--no-peer] [--no-write] [--profile OUT]

For each hall size N: a meeting of N delegates written into a fresh database, a real
`phonghop serve` process, and N Node socket.io-client tablets (websocket) in several
processes, every one connected and joined (with `since`, as tablets that already hold
the meeting). Then, `--rounds` times, a secretariat account sends `agenda.set_current`
over REST; its committed event (`meeting.updated`, some 350 bytes) goes to every tablet.
Each tablet notes when it got each event (the client rule of docs/protocol.md applied);
a delivery's time runs from the command's sending to the tablet's receipt, on the one
clock of the machine. Figures per N: p50 / p95 / p99 / max of the deliveries, those
missing, the server's CPU µs per delivery (user + system, all threads, through the
rounds), the server's memory per idle joined connection (RSS growth from start to all
joined, over N), the time to connect and join them all, the machine's load average.

The peer: Node's socket.io server (bench/node/peer.cjs) doing the same broadcast to the
same tablets in the same run, right after ours: POST /emit appends the event to a file
and fsyncs it (a committed command), then emits it to the room.
Prints one JSON object as the last line and records a row under "## Fan-out" in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import hall as H  # noqa: E402
from bench import report  # noqa: E402

SECTION = "## Fan-out"
TARGETS = ("p99 ≤ 50 ms at 1,000 tablets and ≤ 200 ms at 4,000, no slower than Node's socket.io in the same run; "
           "≤ 40 KB per idle connection")


async def _rounds(tablets: H.Tablets, send, rounds: int, gap: float, server_pid: int, expected: int,
                  metrics_url: str | None = None) -> dict:
    """`rounds` events, `gap` seconds apart; each tablet's receipt times against the sending."""
    await tablets.ask({"cmd": "mark"})
    before = H.metrics(metrics_url) if metrics_url else None
    cpu0, clients0 = H.cpu_seconds(server_pid), tablets.cpu_seconds()
    sent: dict[int, float] = {}
    load_before = H.load()
    acks_ms: list[float] = []
    for r in range(rounds):
        t0 = time.time() * 1000
        seq = await send(r)
        acks_ms.append(time.time() * 1000 - t0)
        sent[seq] = t0
        await asyncio.sleep(gap)
    await asyncio.sleep(1.0)  # the last stragglers
    cpu = H.cpu_seconds(server_pid) - cpu0
    client_cpu = tablets.cpu_seconds() - clients0
    inside = {}
    if before is not None:  # our server's own figure: from the commit to the last write of the event
        after = H.metrics(metrics_url)
        p99 = H.histogram_quantile(before, after, "phonghop_fanout_seconds", 0.99)
        inside["server_fanout_p99_ms"] = None if p99 is None else round(1000 * p99, 1)
        inside["command_ack_p50_ms"] = _r(H.percentile(acks_ms, 50))
    latencies: list[float] = []
    for answer in await tablets.ask({"cmd": "arrivals"}):
        for seq, times in answer["arrivals"].items():
            if int(seq) in sent:
                latencies += [t - sent[int(seq)] for t in times]
    delivered = len(latencies)
    return {
        "rounds": rounds, "delivered": delivered, "missing": expected * rounds - delivered,
        "p50_ms": _r(H.percentile(latencies, 50)), "p95_ms": _r(H.percentile(latencies, 95)),
        "p99_ms": _r(H.percentile(latencies, 99)), "max_ms": _r(max(latencies) if latencies else None),
        "server_cpu_s": round(cpu, 2), "cpu_us_per_delivery": round(1e6 * cpu / delivered, 1) if delivered else None,
        "client_cpu_s": round(client_cpu, 2), "load_before": load_before, "load_after": H.load(), **inside,
    }


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


async def ours(workdir: Path, n: int, *, rounds: int, processes: int, profile: str | None = None) -> dict:
    hall = await H.seed_hall(workdir, n)
    async with H.server(workdir) as (url, proc):
        await asyncio.sleep(1.0)  # started and settled
        rss0 = H.rss_kb(proc.pid)
        tablets = H.Tablets(workdir, url, hall.meeting_id, hall.tablets, processes=processes, since=0)
        try:
            setup = await tablets.ready()
            await asyncio.sleep(2.0)
            idle_kb = (H.rss_kb(proc.pid) - rss0) / n
            spy = None
            if profile:
                spy = subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record", "--nonblocking",
                                        "-r", "200", "-p", str(proc.pid), "-f", "raw", "-o", profile],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                await asyncio.sleep(1.0)
            async with H.Api(url, hall.staff) as api:
                async def send(r: int) -> int:
                    answer = await api.command("agenda.set_current", meeting_id=hall.meeting_id,
                                               item_id=hall.item_ids[r % 2])
                    return answer["seq"]

                figures = await _rounds(tablets, send, rounds, _gap(n), proc.pid, n, metrics_url=url)
            if spy is not None:
                spy.send_signal(2)
                spy.wait(60)
        finally:
            await tablets.close()
    return {"tablets": n, "setup_s": round(setup, 1), "kb_per_connection": round(idle_kb, 1), **figures}


async def peer(workdir: Path, n: int, *, rounds: int, processes: int) -> dict:
    import secrets

    tokens = [secrets.token_urlsafe(32) for _ in range(n)]
    async with H.node_peer(workdir, tokens, 1) as (url, proc):
        await asyncio.sleep(1.0)
        rss0 = H.rss_kb(proc.pid)
        tablets = H.Tablets(workdir, url, 1, tokens, processes=processes, since=0)
        try:
            setup = await tablets.ready()
            await asyncio.sleep(2.0)
            idle_kb = (H.rss_kb(proc.pid) - rss0) / n
            async with H.Api(url) as api:
                meeting = {"id": 1, "title": "Hội nghị đo tải", "status": "in_session"}

                async def send(r: int) -> int:
                    return (await api.post("/emit", {"type": "meeting.updated",
                                                     "data": {"meeting": {**meeting, "current_item_id": r % 2}}}))["seq"]

                figures = await _rounds(tablets, send, rounds, _gap(n), proc.pid, n)
        finally:
            await tablets.close()
    return {"tablets": n, "setup_s": round(setup, 1), "kb_per_connection": round(idle_kb, 1), **figures}


def _gap(n: int) -> float:
    return 0.3 * max(1.0, n / 2000)  # rounds apart: each broadcast done before the next


async def run(args: argparse.Namespace) -> dict:
    if not H.node_ready():
        raise SystemExit(f"phonghop bench fanout needs {H.NODE_HELP}")
    sizes = [int(x) for x in str(args.tablets).split(",") if x]
    out: dict = {"date": datetime.date.today().isoformat(), "machine": report.machine(), "runs": []}
    with tempfile.TemporaryDirectory(prefix="phonghop-fanout-") as tmp:
        for n in sizes:
            run_ = await ours(Path(tmp) / f"ours-{n}", n, rounds=args.rounds, processes=args.client_processes,
                              profile=args.profile if n == sizes[0] else None)
            if not args.no_peer and H.peer_ready():
                (Path(tmp) / f"peer-{n}").mkdir()
                run_["peer"] = await peer(Path(tmp) / f"peer-{n}", n, rounds=args.rounds,
                                          processes=args.client_processes)
            else:
                run_["peer"] = None
                if not args.no_peer:
                    print(f"no socket.io peer: node or its package is missing ({H.PEER_HELP})", file=sys.stderr)
            out["runs"].append(run_)
    first = next((r for r in out["runs"] if r["tablets"] == 1000), out["runs"][0])
    out.update(p99_ms=first["p99_ms"], peer_p99_ms=(first["peer"] or {}).get("p99_ms"),
               kb_per_connection=first["kb_per_connection"], cpu_us_per_delivery=first["cpu_us_per_delivery"],
               client_processes=args.client_processes,
               **{f"p99_ms_{r['tablets']}": r["p99_ms"] for r in out["runs"]},
               **{f"peer_p99_ms_{r['tablets']}": (r["peer"] or {}).get("p99_ms") for r in out["runs"]})
    return out


HEADER = (f"Reproduce: `phonghop bench fanout --json`.\nTargets (issue \"Realtime at scale\"): {TARGETS}.\n"
          "A `phonghop serve` process (SQLite) and N Node socket.io-client tablets (websocket, in several "
          "processes), each connected and joined; a secretariat account sends `agenda.set_current` over REST "
          "20 times, and its committed event (`meeting.updated`, ~350 bytes) goes to every tablet. A delivery's "
          "time: from the command's sending to a tablet's receipt (the client rule of docs/protocol.md applied), "
          "one clock. CPU µs / delivery: the server's user + system seconds through the rounds over the "
          "deliveries. KB / connection: the server's RSS growth from start to all joined, over N. Peer: Node's "
          "socket.io server (npm `socket.io` 4.8.1, bench/node/peer.cjs) doing the same broadcast (after an "
          "fsync'd append, as a commit) to the same tablets, right after ours. Load avg: the machine's at the "
          "rounds (2 cores, shared with the tablets: figures are of a loopback run, tablets included).\n\n"
          "| date | machine | command | tablets | p50 / p95 / p99 / max | missing | CPU µs / delivery | KB / "
          "connection | join all | peer p50 / p99 / max | peer CPU µs / delivery | peer KB / connection | "
          "load avg |\n"
          "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")


def record(out: dict, command: str) -> None:
    for r in out["runs"]:
        p = r["peer"] or {}
        row = (f"| {out['date']} | {out['machine']} | `{command}` | {r['tablets']:,} | {r['p50_ms']} / "
               f"{r['p95_ms']} / **{r['p99_ms']}** / {r['max_ms']} ms | {r['missing']} | {r['cpu_us_per_delivery']} | "
               f"{r['kb_per_connection']} | {r['setup_s']} s | "
               + (f"{p['p50_ms']} / **{p['p99_ms']}** / {p['max_ms']} ms | {p['cpu_us_per_delivery']} | "
                  f"{p['kb_per_connection']} | " if p else "— | — | — | ")
               + f"{r['load_before']} → {r['load_after']} |\n")
        report.add_row(SECTION, HEADER, row)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="phonghop bench fanout", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    parser.add_argument("--tablets", default="1000,4000", help="hall sizes, comma-separated")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--client-processes", type=int, default=4, help="Node processes simulating the tablets")
    parser.add_argument("--no-peer", action="store_true", help="skip Node's socket.io server beside ours")
    parser.add_argument("--no-write", action="store_true", help="do not record the rows in BENCHMARKS.md")
    parser.add_argument("--profile", help="py-spy raw stacks of our server through the first size's rounds")
    args = parser.parse_args(argv)
    out = asyncio.run(run(args))
    report.finish("fanout", out, args, argv, record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
