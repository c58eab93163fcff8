"""Reconnect storm: every tablet loses its connection at once while events keep coming.

    phonghop bench reconnect [--json] [--tablets 1000] [--rate 10] [--down 1.0] [--jitter 2.0]
                             [--client-processes 4] [--no-write] [--profile OUT]

A meeting of N delegates in a fresh database, a real `phonghop serve` process and N Node
socket.io-client tablets (bench/node/tablets.cjs, several processes), each connected and
joined, applying events by the client rule of docs/protocol.md. A secretariat account
sends `agenda.set_current` over REST `--rate` times a second from before the storm to
after it. Then every tablet's TCP connection is destroyed at once (no close frame: as when
the hall's access point reboots); each comes back after `--down` seconds plus a random
part of `--jitter`, connects again and joins with `since` = its lowest head, while the
events go on. Once the last tablet is current, a last event, and each tablet's applied
events are checked against the meeting's log: `lost_events` (logged after the tablets
first joined, never applied) and `duplicate_events` (applied twice) must both be 0;
`resync_s` is the time from the drop until the last tablet has applied its join's answer.
Also: the server's CPU seconds through the storm, the duplicates the rule dropped (a live
event that also came in a join's answer), the resyncs a gap caused, the load average.
Prints one JSON object as the last line and records a row under "## Reconnect storm" in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import hall as H  # noqa: E402
from bench import report  # noqa: E402

SECTION = "## Reconnect storm"
TARGETS = "a storm of 1,000 tablets loses and repeats nothing (lost_events = duplicate_events = 0)"


async def storm(workdir: Path, n: int, *, rate: float, down: float, jitter: float, processes: int,
                profile: str | None = None) -> dict:
    hall = await H.seed_hall(workdir, n)
    async with H.server(workdir) as (url, proc), H.Api(url, hall.staff) as api:
        tablets = H.Tablets(workdir, url, hall.meeting_id, hall.tablets, processes=processes, since=0)
        sent = 0
        stop = asyncio.Event()

        async def keep_sending() -> None:
            nonlocal sent
            while not stop.is_set():
                await api.command("agenda.set_current", meeting_id=hall.meeting_id, item_id=hall.item_ids[sent % 2])
                sent += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1 / rate)

        try:
            setup = await tablets.ready()
            spy = None
            if profile:
                spy = subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record", "--nonblocking",
                                        "-r", "200", "-p", str(proc.pid), "-f", "raw", "-o", profile],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            sender = asyncio.create_task(keep_sending())
            await asyncio.sleep(1.0)  # events flowing before the storm
            load_before, cpu0 = H.load(), H.cpu_seconds(proc.pid)
            tablets.send({"cmd": "drop", "down_ms": down * 1000, "jitter_ms": jitter * 1000})
            dropped = await asyncio.gather(*(tablets.read(p) for p in tablets.procs))
            dropped_at = min(d["dropped_at"] for d in dropped)
            current = await asyncio.gather(*(tablets.read(p) for p in tablets.procs))
            last_current = max(t for c in current for t in c["current"])
            cpu = H.cpu_seconds(proc.pid) - cpu0
            load_after = H.load()
            await asyncio.sleep(1.0)  # events still flowing after the storm
            stop.set()
            await sender
            await api.command("agenda.set_current", meeting_id=hall.meeting_id, item_id=hall.item_ids[2])
            await asyncio.sleep(2.0)  # the last event reaches everyone
            if spy is not None:
                spy.send_signal(2)
                spy.wait(60)
            expected = await H.meeting_events(workdir, hall.meeting_id, 0)
            checks = await tablets.ask({"cmd": "check", "expected": expected})
        finally:
            await tablets.close()
    total = {k: sum(c[k] for c in checks) for k in ("lost", "duplicate", "dropped_duplicates", "resyncs", "behind")}
    return {
        "tablets": n, "setup_s": round(setup, 1), "events": len(expected), "events_per_s": rate,
        "down_s": down, "jitter_s": jitter,
        "lost_events": total["lost"], "duplicate_events": total["duplicate"],
        "dropped_duplicates": total["dropped_duplicates"], "gap_resyncs": total["resyncs"],
        "behind_at_end": total["behind"],
        "resync_s": round((last_current - dropped_at) / 1000, 2),
        "resync_after_return_s": round((last_current - dropped_at) / 1000 - down - jitter, 2),
        "server_cpu_s": round(cpu, 2), "load_before": load_before, "load_after": load_after,
    }


async def run(args: argparse.Namespace) -> dict:
    if not H.node_ready():
        raise SystemExit(f"phonghop bench reconnect needs {H.NODE_HELP}")
    out: dict = {"date": datetime.date.today().isoformat(), "machine": report.machine(),
                 "client_processes": args.client_processes}
    with tempfile.TemporaryDirectory(prefix="phonghop-reconnect-") as tmp:
        out.update(await storm(Path(tmp), args.tablets, rate=args.rate, down=args.down, jitter=args.jitter,
                               processes=args.client_processes, profile=args.profile))
    return out


HEADER = (f"Reproduce: `phonghop bench reconnect --json`.\nTarget (issue \"Realtime at scale\"): {TARGETS}.\n"
          "A `phonghop serve` process (SQLite) and N Node socket.io-client tablets (websocket, several processes) "
          "applying events by the client rule of docs/protocol.md; a secretariat account sends `agenda.set_current` "
          "over REST 10 times a second throughout. Every tablet's TCP connection is destroyed at once (no close "
          "frame, as when the access point reboots); each returns after 1 s plus a random part of 2 s and joins "
          "with `since` = its lowest head while events go on. lost / duplicate: events logged after the first "
          "join never applied / applied twice, per tablet, checked against the log. resync: from the drop to the "
          "last tablet current (its join's answer applied), the 1–3 s of the access point's absence included. "
          "Dropped duplicates: live events that also came in a join's answer, dropped by the rule. Server CPU: "
          "through the storm. Load avg: the machine's before → after the storm (2 cores, shared with the tablets).\n\n"
          "| date | machine | command | tablets | events | lost | duplicate | resync (after return) | dropped "
          "duplicates | gap resyncs | server CPU | load avg |\n"
          "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")


def record(out: dict, command: str) -> None:
    row = (f"| {out['date']} | {out['machine']} | `{command}` | {out['tablets']:,} | {out['events']} | "
           f"**{out['lost_events']}** | **{out['duplicate_events']}** | {out['resync_s']} s "
           f"({out['resync_after_return_s']} s) | {out['dropped_duplicates']} | {out['gap_resyncs']} | "
           f"{out['server_cpu_s']} s | {out['load_before']} → {out['load_after']} |\n")
    report.add_row(SECTION, HEADER, row)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="phonghop bench reconnect", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    parser.add_argument("--tablets", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=10.0, help="events a second throughout")
    parser.add_argument("--down", type=float, default=1.0, help="seconds every tablet is away at least")
    parser.add_argument("--jitter", type=float, default=2.0, help="a random part of this many seconds more")
    parser.add_argument("--client-processes", type=int, default=4)
    parser.add_argument("--no-write", action="store_true", help="do not record the row in BENCHMARKS.md")
    parser.add_argument("--profile", help="py-spy raw stacks of the server through the storm")
    args = parser.parse_args(argv)
    out = asyncio.run(run(args))
    report.finish("reconnect", out, args, argv, record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
