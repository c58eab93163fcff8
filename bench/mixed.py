"""Mixed load: a whole session of 1,000 tablets and 200 bridge points, documents rendering
throughout; the server's event-loop lag.

    phonghop bench mixed [--json] [--tablets 1000] [--points 200] [--devices node|python] [--processes N]
                         [--seed 1] [--spread S] [--paper-pages 30] [--paper-every 15] [--no-write]
                         [--keep-data] [--profile OUT (and OUT.vote: the vote alone)]

A meeting of N delegates and M bridge points (an operator each) written into a fresh
database, a real `phonghop serve` process, and `phonghop sim`'s session scenario
(clients/sim/session.py) with a pack of session tokens. The scenario's coordinator (the
secretariat) runs here; its devices run in `--processes` processes: Node's socket.io-client
(bench/node/session.cjs, the web pages' client; 2 processes by default), or the sim's own
python-socketio workers (`--devices python`, 4 by default; at 1,200 devices on 2 cores they
cost ~100 µs of CPU per message received and miss pings, so the full-size run is Node's).
Every device joins (a snapshot each), the hall checks in and the
points report their head counts, the agenda moves, every tablet lists and fetches pages,
a motion is opened and every tablet votes within 2 s while the points enter their show of
hands, tablets ask to speak and comment, every device is dropped and rejoins, and the
session ends with an event all must reach. Meanwhile a secretariat account uploads and
publishes a paper of `--paper-pages` pages every `--paper-every` seconds (and one at the
moment the poll opens), so the server renders documents throughout, the vote included.

The lag: the server's own `phonghop_loop_lag_seconds` (server/realtime/looplag.py: how
late a timer due every 20 ms ran), read from /metrics at the end of each phase; p99 from
its buckets. `loop_lag_p99_ms` is the p99 through the vote (poll opened, ballots and hands
arriving, a paper rendering); `loop_lag_p99_ms_session` through the whole session. Also:
the sim's failures (must be 0) and its latencies, the server's CPU seconds, the load.
`--keep-data` keeps the data folder (the server's log, its database) and names it in the
JSON as `data_dir`.
Prints one JSON object as the last line and records a row under "## Mixed session" in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import hall as H  # noqa: E402
from bench import report  # noqa: E402

SECTION = "## Mixed session"
TARGETS = "event-loop lag p99 ≤ 20 ms while documents render and votes arrive (1,000 tablets, 200 bridge points)"
LAG = "phonghop_loop_lag_seconds"


def paper(pages: int, n: int) -> bytes:
    """A paper of text and ruled tables, different each time (its own hash)."""
    import pymupdf

    doc = pymupdf.open()
    for p in range(pages):
        page = doc.new_page()
        page.insert_text((72, 80), f"Tai lieu {n} - trang {p + 1}", fontsize=18)
        for line in range(30):
            y = 120 + line * 20
            page.insert_text((72, y), f"Muc {line + 1}. Noi dung bao cao so {n}.{p}.{line}: chi tieu, ket qua, "
                                      "giai phap.", fontsize=10)
        page.draw_rect(pymupdf.Rect(60, 110, 540, 730), color=(0.2, 0.2, 0.6), width=0.8)
    out = doc.tobytes()
    doc.close()
    return out


async def _publish_paper(api: H.Api, meeting_id: int, item_id: int, pages: int, n: int) -> None:
    content = await asyncio.to_thread(paper, pages, n)
    async with api.http.post(f"{api.url}/api/meetings/{meeting_id}/uploads", params={"filename": f"tai-lieu-{n}.pdf"},
                             data=content, headers={"Authorization": f"Bearer {api.token}"}) as resp:
        body = await resp.json(content_type=None)
        if resp.status >= 400:
            raise RuntimeError(f"upload: {resp.status} {body}")
    doc = (await api.command("document.add", meeting_id=meeting_id, upload_id=body["upload"]["id"],
                             agenda_item_id=item_id, title=f"Tài liệu {n}"))["result"]["document"]
    await api.command("document.publish", meeting_id=meeting_id, document_ids=[doc["id"]])


class NodeDevices:
    """The scenario's workers as Node processes (bench/node/session.cjs), spoken to in JSON
    lines: the phases, arguments and answers of clients/sim/session.py's `Workers`, whose
    place they take; each process's standard error goes to devices-N.log in `workdir`."""

    def __init__(self, url: str, tablets: list[dict], points: list[dict], *, processes: int, seed: int,
                 spread: float, check_in_spread: float, step_timeout: float, workdir: Path) -> None:
        processes = max(1, min(processes, len(tablets) + len(points)))
        self.procs: list[subprocess.Popen] = []
        self.logs = []
        self.cpu_s: float | None = None
        for n in range(processes):
            spec = Path(workdir) / f"devices-{n}.json"
            spec.write_text(json.dumps({
                "url": url, "socketio_client": str(H.NODE_MODULES / "socket.io-client"),
                "tablets": tablets[n::processes], "points": points[n::processes], "seed": seed, "index": n,
                "spread": spread, "check_in_spread": check_in_spread, "step_timeout": step_timeout}))
            log = open(Path(workdir) / f"devices-{n}.log", "ab")  # noqa: SIM115  (closed in stop)
            self.logs.append(log)
            self.procs.append(subprocess.Popen(["node", str(H.NODE_DIR / "session.cjs"), str(spec)],
                                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True))

    async def _answer(self, proc: subprocess.Popen) -> dict:
        line = await asyncio.to_thread(proc.stdout.readline)
        if not line:
            raise RuntimeError(f"a Node device process ended (exit {proc.wait()}; see devices-N.log)")
        return json.loads(line)

    async def phase(self, name: str, **args) -> list[dict]:
        if name == "finish":  # the devices' own cost, read while their processes live
            self.cpu_s = sum(H.cpu_seconds(proc.pid) for proc in self.procs if proc.poll() is None)
        for proc in self.procs:
            proc.stdin.write(json.dumps({"phase": name, "args": args}) + "\n")
            proc.stdin.flush()
        answers = await asyncio.gather(*(self._answer(proc) for proc in self.procs))
        for answer in answers:
            if not answer.get("ok"):
                raise RuntimeError(f"a worker failed in {name}: {answer.get('error')}")
        return answers

    def stop(self) -> None:
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        for log in self.logs:
            log.close()


def _scenario_devices(devices: str, workdir: Path):
    """What makes the scenario's devices (None: its python workers), and the list of the
    NodeDevices it made."""
    made: list[NodeDevices] = []
    if devices == "python":
        return None, made

    def node_devices(*args, **kwargs) -> NodeDevices:
        made.append(NodeDevices(*args, **kwargs, workdir=workdir))
        return made[-1]

    return node_devices, made


async def session_run(workdir: Path, *, tablets: int, points: int, devices: str, processes: int, seed: int,
                      spread: float, check_in_spread: float, paper_pages: int, paper_every: float,
                      profile: str | None = None) -> dict:
    from clients.sim.session import session

    hall = await H.seed_hall(workdir, tablets, points)
    async with H.server(workdir) as (url, proc), H.Api(url, hall.staff) as api:
        marks: list[tuple[str, float, dict]] = []
        vote_starts = asyncio.Event()
        done = asyncio.Event()
        papers = 0

        def mark(name: str) -> None:
            marks.append((name, time.time(), H.metrics(url)))

        async def keep_publishing() -> None:
            nonlocal papers
            while not done.is_set():
                await _publish_paper(api, hall.meeting_id, hall.item_ids[1], paper_pages, papers)
                papers += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(vote_starts.wait(), paper_every)
                if vote_starts.is_set():
                    vote_starts.clear()

        vote_spy: subprocess.Popen | None = None

        def spy_on(out: str, *args: str) -> subprocess.Popen:
            return subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record", "--nonblocking", "-r",
                                     "100", "-p", str(proc.pid), "-f", "raw", "-o", out, *args],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def progress(line: str) -> None:
            nonlocal vote_spy
            name = line.split(":", 1)[1].split(" done", 1)[0].strip() if " done" in line else line
            mark(name)
            if vote_spy is not None:  # the vote is over: py-spy writes its stacks on SIGINT
                vote_spy.send_signal(signal.SIGINT)
                vote_spy = None
            if name == "documents":  # the poll opens now: a paper renders through the vote
                vote_starts.set()
                if profile:
                    vote_spy = spy_on(profile + ".vote")

        await _publish_paper(api, hall.meeting_id, hall.item_ids[1], paper_pages, papers)
        papers += 1
        publisher = asyncio.create_task(keep_publishing())
        spy = None
        if profile:
            spy = spy_on(profile)
        load_before, cpu0 = H.load(), H.cpu_seconds(proc.pid)
        mark("start")
        try:
            make_devices, node_workers = _scenario_devices(devices, workdir)
            sim = await session(url, secretariat={"token": hall.staff}, tablets=[{"token": t} for t in hall.tablets],
                                points=[{"token": p["token"]} for p in hall.points], meeting_id=hall.meeting_id,
                                processes=processes, seed=seed, spread=spread, check_in_spread=check_in_spread,
                                vote_window=2.0, step_timeout=300, progress=progress, devices=make_devices)
        finally:
            mark("end")
            done.set()
            vote_starts.set()
            with contextlib.suppress(Exception):
                await publisher
        cpu = H.cpu_seconds(proc.pid) - cpu0
        load_after = H.load()
        if spy is not None:
            spy.send_signal(2)
            spy.wait(60)
        rendered = 0
        async with api.http.get(f"{url}/api/meetings/{hall.meeting_id}",
                                headers={"Authorization": f"Bearer {hall.staff}"}) as resp:
            for d in (await resp.json())["documents"]:
                rendered += (d.get("latest") or {}).get("status") == "ready"
        final = H.metrics(url)
    lag = {}
    for (name, _, after), (_, _, before) in zip(marks[1:], marks[:-1], strict=True):
        p99 = H.histogram_quantile(before, after, LAG, 0.99)
        lag[name] = None if p99 is None else round(1000 * p99, 1)
    whole = H.histogram_quantile(marks[0][2], marks[-1][2], LAG, 0.99)
    # Which side gave up when devices lost their connection: the server's count of ended
    # connections by socket.io's reason, per phase (server/realtime/sockets.py).
    disconnects: dict[str, dict[str, int]] = {}
    for (name, _, after), (_, _, before) in zip(marks[1:], marks[:-1], strict=True):
        for key, value in after.items():
            if key.startswith("phonghop_socket_disconnects_total{"):
                moved = int(value - before.get(key, 0.0))
                if moved:
                    reason = key.split('reason="', 1)[1].split('"', 1)[0]
                    disconnects.setdefault(name, {})[reason] = moved
    ops = sim["ops"]
    return {
        "tablets": tablets, "points": points, "devices": devices, "processes": sim["processes"], "seed": seed,
        "spread_s": spread,
        "check_in_spread_s": check_in_spread,
        "loop_lag_p99_ms": lag.get("vote"), "loop_lag_p99_ms_session": None if whole is None else round(1000 * whole, 1),
        "loop_lag_max_ms": round(1000 * final.get("phonghop_loop_lag_max_seconds", 0.0), 1),
        "loop_lag_p99_ms_by_phase": lag,
        "sim_failures": sim["failures"], "sim_operations": sim["operations"], "sim_seconds": sim["seconds"],
        "sim_failures_by_op": {op: row["errors"] for op, row in ops.items() if row.get("errors")},
        "sim_failure_examples": sim["failure_examples"][:5], "sim_checks": sim["checks"],
        "server_disconnects_by_phase": disconnects,
        "p99_ms": {op: ops[op].get("p99_ms") for op in ("join", "check_in", "vote", "hands", "page_image",
                                                         "rejoin", "see_event") if op in ops},
        "papers": papers, "papers_rendered": rendered, "paper_pages": paper_pages,
        "server_cpu_s": round(cpu, 1),
        "devices_cpu_s": round(sum(w.cpu_s or 0.0 for w in node_workers), 1) if node_workers else None,
        "load_before": load_before, "load_after": load_after,
    }


async def run(args: argparse.Namespace) -> dict:
    out: dict = {"date": datetime.date.today().isoformat(), "machine": report.machine()}
    spread = args.spread if args.spread is not None else max(2.0, args.tablets / 50)
    check_in_spread = args.check_in_spread if args.check_in_spread is not None else max(spread, args.tablets / 10)
    if args.devices == "node" and not H.node_ready():
        raise SystemExit(f"phonghop bench mixed --devices node needs {H.NODE_HELP}")
    processes = args.processes or (2 if args.devices == "node" else 4)
    workdir = Path(tempfile.mkdtemp(prefix="phonghop-mixed-"))
    try:
        out.update(await session_run(workdir, tablets=args.tablets, points=args.points, devices=args.devices,
                                     processes=processes, seed=args.seed, spread=spread,
                                     check_in_spread=check_in_spread, paper_pages=args.paper_pages,
                                     paper_every=args.paper_every, profile=args.profile))
    finally:
        if not args.keep_data:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.keep_data:
        out["data_dir"] = str(workdir)
    return out


HEADER = (f"Reproduce: `phonghop bench mixed --json`.\nTarget (issue \"Realtime at scale\"): {TARGETS}.\n"
          "A `phonghop serve` process (SQLite) and `phonghop sim`'s session scenario with a pack of session tokens "
          "(its devices: Node's socket.io-client in 2 processes, bench/node/session.cjs; "
          "before, and with `--devices python`, python-socketio in 4 worker processes; the command column says "
          "which): joins, check-ins and head counts, the agenda, page "
          "lists and images, a motion every tablet votes on within 2 s with the points' show of hands, requests "
          "to speak and comments, every device dropped and rejoining, spread over 20 s a step (the check-ins "
          "over 100 s: in a hall, a quarter of an hour); a secretariat "
          "account uploads and publishes a 30-page paper every 15 s and one as the poll opens, so documents render "
          "throughout. Lag: the server's `phonghop_loop_lag_seconds` (a timer due every 20 ms, how late it ran), "
          "p99 from its buckets, through the vote (with a paper rendering) and through the whole session. Load avg: "
          "the machine's before → after (2 cores, shared with the simulated devices).\n\n"
          "| date | machine | command | tablets / points | lag p99 vote | lag p99 session | lag max | sim "
          "failures | p99 vote / check-in / page / rejoin | papers (rendered) | server CPU | load avg |\n"
          "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")


def record(out: dict, command: str) -> None:
    p = out["p99_ms"]
    devices = "Node" if out["devices"] == "node" else "python-socketio"
    row = (f"| {out['date']} | {out['machine']} | `{command}` ({devices} devices, {out['processes']} processes) | "
           f"{out['tablets']:,} / {out['points']} | "
           f"**{out['loop_lag_p99_ms']} ms** | {out['loop_lag_p99_ms_session']} ms | {out['loop_lag_max_ms']} ms | "
           f"{out['sim_failures']} | {p.get('vote')} / {p.get('check_in')} / {p.get('page_image')} / "
           f"{p.get('rejoin')} ms | {out['papers']} ({out['papers_rendered']}) | {out['server_cpu_s']} s | "
           f"{out['load_before']} → {out['load_after']} |\n")
    report.add_row(SECTION, HEADER, row)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="phonghop bench mixed", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    parser.add_argument("--tablets", type=int, default=1000)
    parser.add_argument("--points", type=int, default=200)
    parser.add_argument("--devices", choices=["node", "python"], default="node",
                        help="the devices' client: Node's socket.io-client, or the sim's python-socketio")
    parser.add_argument("--processes", type=int, help="the devices' processes (default: 2 Node, 4 python)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--spread", type=float, help="seconds over which each step's actions start (default: N/50)")
    parser.add_argument("--check-in-spread", type=float,
                        help="seconds over which the hall checks in (default: N/10; in a real hall, a quarter hour)")
    parser.add_argument("--paper-pages", type=int, default=30)
    parser.add_argument("--paper-every", type=float, default=15.0, help="seconds between two papers uploaded")
    parser.add_argument("--no-write", action="store_true", help="do not record the row in BENCHMARKS.md")
    parser.add_argument("--keep-data", action="store_true",
                        help="keep the data folder (server log, database); its path is the JSON's data_dir")
    parser.add_argument("--profile", help="py-spy raw stacks of the server through the session (OUT), "
                        "and through the vote alone (OUT.vote)")
    args = parser.parse_args(argv)
    out = asyncio.run(run(args))
    report.finish("mixed", out, args, argv, record)
    return 0 if out["sim_failures"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
