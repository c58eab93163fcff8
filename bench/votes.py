"""Votes benchmark: the ballot writer's durable throughput and a hall's burst of votes.

    phonghop bench votes [--json] [--ballots 20000] [--clients 1000] [--no-write]

(a) `votes_per_s`: ballots made durable per second by the group-commit writer, SQLite
    at synchronous=FULL on a real data folder, from many concurrent producers in process;
(b) `burst_ack_p99_ms`: a real `phonghop serve` process; `--clients` socket.io clients
    (websocket) in two client processes connect and join first, then all vote within
    2 s; p99 of the time from emit to ack;
(c) `lost` / `double_counted`: every acknowledged ballot recounted from the database;
(d) the same on PostgreSQL when one is reachable (PHONGHOP_TEST_POSTGRES_URL).
Prints one JSON object as the last line and records a row under "## Votes" in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import report  # noqa: E402  (after the path: run as a script or imported)

SECTION = "## Votes"
TARGETS = "≥ 5,000 votes/s durable (SQLite, synchronous=FULL); burst p99 ≤ 300 ms; lost = double_counted = 0"
POSTGRES_URL = os.environ.get("PHONGHOP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


# --- a meeting full of voters, written straight into the database -------------------------


async def _seed(db, voters: int, polls: int, sessions: bool = False) -> dict:
    from server.auth.sessions import open_session
    from server.domain.polls import Base, more_than_half
    from server.store.tables import Attendance, Meeting, Participant, Poll, Unit, User, utcnow

    tokens: list[str] = []
    async with db.write() as s:
        unit = Unit(code=f"B{uuid.uuid4().hex[:6]}", name="Tỉnh Thử", level="Tỉnh")
        s.add(unit)
        await s.flush()
        meeting = Meeting(title="Hội nghị đo tải", unit_id=unit.id, status="in_session")
        s.add(meeting)
        await s.flush()
        users = [User(username=f"db{uuid.uuid4().hex[:10]}", full_name=f"Đại biểu {i}", password_hash="x",
                      roles=[], unit_id=unit.id) for i in range(voters)]
        s.add_all(users)
        await s.flush()
        people = [Participant(meeting_id=meeting.id, user_id=u.id, full_name=u.full_name, role="delegate",
                              voting=True) for u in users]
        s.add_all(people)
        await s.flush()
        s.add_all(Attendance(participant_id=p.id, meeting_id=meeting.id, status="present") for p in people)
        rows = [Poll(meeting_id=meeting.id, kind="motion", title=f"Biểu quyết {n}", options=[],
                     majority=more_than_half(Base.MEMBERS).as_dict(), quorum="2/3", quorum_of="present",
                     state="open", opened_at=utcnow(), entitled=[p.id for p in people], points_present={},
                     members=voters) for n in range(polls)]
        s.add_all(rows)
        await s.flush()
        if sessions:
            for u in users:
                tokens.append((await open_session(s, u, hours=2))["token"])
    return {"meeting_id": meeting.id, "poll_ids": [r.id for r in rows],
            "participants": [(p.id, p.user_id) for p in people], "tokens": tokens}


async def _recount(db, poll_ids: list[int], acked: set[tuple[int, int]]) -> dict:
    """lost: acknowledged but absent; double_counted: more than one ballot for one voter."""
    from sqlalchemy import func, select

    from server.store.tables import NamedBallot, PollVoter

    async with db.read() as s:
        stored = set((await s.execute(
            select(PollVoter.poll_id, PollVoter.participant_id).where(PollVoter.poll_id.in_(poll_ids)))).all())
        ballots = (await s.execute(
            select(NamedBallot.poll_id, NamedBallot.participant_id, func.count())
            .where(NamedBallot.poll_id.in_(poll_ids))
            .group_by(NamedBallot.poll_id, NamedBallot.participant_id))).all()
    double = sum(n - 1 for _, _, n in ballots if n > 1) + abs(len(ballots) - len(stored))
    return {"stored": len(stored), "lost": len(acked - stored), "double_counted": double}


# --- (a) the writer alone ------------------------------------------------------------------


async def writer_throughput(data_dir: Path, *, ballots: int = 20_000, producers: int = 200, voters: int = 1000,
                            database_url: str | None = None) -> dict:
    from server.config import Settings
    from server.store.ballots import BallotWriter, Cast
    from server.store.db import Database
    from server.store.migrate import upgrade

    settings = Settings(data_dir=Path(data_dir), database_url=database_url)
    await asyncio.to_thread(upgrade, settings)
    db = Database(settings)
    try:
        world = await _seed(db, voters, -(-ballots // voters))
        # Poll after poll, as in a hall (one vote open at a time), voters in random order.
        work = []
        for n, poll_id in enumerate(world["poll_ids"]):
            hall = [(poll_id, *p) for p in world["participants"][: min(voters, ballots - n * voters)]]
            random.shuffle(hall)
            work += hall
        writer = BallotWriter(db)
        writer.start()
        acked: set[tuple[int, int]] = set()
        queue = iter(work)

        async def producer() -> None:
            for poll_id, participant_id, user_id in queue:
                cast = Cast(world["meeting_id"], poll_id, None, user_id, secrets.token_hex(8),
                            {"choice": random.choice(("yes", "no", "abstain"))})
                answer = await writer.submit(cast)
                if answer["result"].get("accepted") and not answer["result"].get("already_voted"):
                    acked.add((poll_id, participant_id))

        started = time.perf_counter()
        await asyncio.gather(*(producer() for _ in range(producers)))
        seconds = time.perf_counter() - started
        batches = writer.batches
        await writer.stop()
        counts = await _recount(db, world["poll_ids"], acked)
    finally:
        await db.close()
    return {"ballots": ballots, "producers": producers, "seconds": round(seconds, 3),
            "votes_per_s": round(ballots / seconds), "batches": batches, "acked": len(acked), **counts}


# --- (b) a hall's burst through a real server ----------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _client_main(spec_path: str) -> None:
    """A client process: connect and join everyone, say ready, wait for go, vote, report."""
    import socketio

    spec = json.loads(Path(spec_path).read_text())
    clients: list[socketio.AsyncClient] = []
    sem = asyncio.Semaphore(20)

    async def connect(token: str) -> socketio.AsyncClient:
        async with sem:
            for attempt in range(5):  # a thousand handshakes at once: retry the odd refused one
                c = socketio.AsyncClient(reconnection=False)
                try:
                    await c.connect(spec["url"], auth={"token": token}, transports=["websocket"], wait_timeout=30)
                    break
                except socketio.exceptions.ConnectionError:
                    await c.disconnect()
                    await asyncio.sleep(0.2 * (attempt + 1))
            else:
                raise RuntimeError("could not connect")
            answer = await c.call("join", {"meeting_id": spec["meeting_id"], "since": None}, timeout=60)
            assert answer["ok"], answer
            return c

    clients = list(await asyncio.gather(*(connect(t) for t in spec["tokens"])))
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    latencies: list[float | None] = [None] * len(clients)

    async def vote(i: int, c: socketio.AsyncClient) -> None:
        await asyncio.sleep(random.uniform(0, spec["window"]))
        message = {"name": "poll.vote", "key": secrets.token_hex(8),
                   "data": {"meeting_id": spec["meeting_id"], "poll_id": spec["poll_id"], "choice": "yes"}}
        t0 = time.perf_counter()
        with contextlib.suppress(Exception):
            ack = await c.call("command", message, timeout=30)
            if ack.get("ok") and ack["result"].get("accepted"):
                latencies[i] = time.perf_counter() - t0

    await asyncio.gather(*(vote(i, c) for i, c in enumerate(clients)))
    await asyncio.gather(*(c.disconnect() for c in clients), return_exceptions=True)
    print(json.dumps({"latencies": latencies}), flush=True)


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def burst(data_dir: Path, *, clients: int = 1000, processes: int = 2, window: float = 2.0,
                database_url: str | None = None) -> dict:
    from server.config import Settings
    from server.store.db import Database
    from server.store.migrate import upgrade

    Path(data_dir).mkdir(parents=True, exist_ok=True)
    settings = Settings(data_dir=Path(data_dir), database_url=database_url)
    await asyncio.to_thread(upgrade, settings)
    db = Database(settings)
    world = await _seed(db, clients, 1, sessions=True)
    port = _free_port()
    env = {**os.environ, **({"PHONGHOP_DATABASE_URL": database_url} if database_url else {})}
    log = open(Path(data_dir) / "server.log", "ab")  # noqa: SIM115  (closed below)
    server = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--port", str(port),
                               "--data-dir", str(data_dir)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    procs: list[subprocess.Popen] = []
    try:
        for _ in range(600):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            await asyncio.sleep(0.1)
        share = -(-clients // processes)
        for n in range(processes):
            spec = Path(data_dir) / f"clients-{n}.json"
            spec.write_text(json.dumps({"url": f"http://127.0.0.1:{port}", "meeting_id": world["meeting_id"],
                                        "poll_id": world["poll_ids"][0], "window": window,
                                        "tokens": world["tokens"][n * share:(n + 1) * share]}))
            procs.append(subprocess.Popen([sys.executable, __file__, "--client", str(spec)], cwd=ROOT,
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
        for p in procs:  # everyone connected and joined before anyone votes
            line = await asyncio.to_thread(p.stdout.readline)
            assert line.strip() == "ready", line
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        latencies: list[float | None] = []
        for p in procs:
            out, _ = await asyncio.to_thread(p.communicate, timeout=300)
            latencies += json.loads(out.strip().splitlines()[-1])["latencies"]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        server.terminate()
        server.wait(30)
        log.close()
    # Tokens were handed out in participant order, so latencies[i] is participant i's.
    acked = {(world["poll_ids"][0], world["participants"][i][0]) for i, t in enumerate(latencies) if t is not None}
    counts = await _recount(db, world["poll_ids"], acked)
    await db.close()
    done = [t * 1000 for t in latencies if t is not None]
    return {"clients": clients, "acked": len(done), "burst_ack_p50_ms": round(_percentile(done, 50), 1),
            "burst_ack_p99_ms": round(_percentile(done, 99), 1), "burst_ack_max_ms": round(max(done), 1), **counts}


# --- PostgreSQL, when there is one --------------------------------------------------------


@contextlib.asynccontextmanager
async def _postgres():
    import asyncpg

    name = f"phonghop_b_{uuid.uuid4().hex[:12]}"
    try:
        admin = await asyncpg.connect(POSTGRES_URL, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        yield None
        return
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield f"{POSTGRES_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        admin = await asyncpg.connect(POSTGRES_URL)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def run(args: argparse.Namespace) -> dict:
    out: dict = {"date": datetime.date.today().isoformat(), "machine": report.machine()}
    with tempfile.TemporaryDirectory(prefix="phonghop-bench-") as tmp:
        out["sqlite"] = {
            **await writer_throughput(Path(tmp) / "w", ballots=args.ballots, producers=args.producers),
            **{f"burst_{k}" if k in ("stored", "lost", "double_counted", "acked") else k: v
               for k, v in (await burst(Path(tmp) / "b", clients=args.clients)).items()},
        }
        if not args.no_postgres:
            for part in ("w", "b"):
                async with _postgres() as url:
                    if url is None:
                        out["postgres"] = None
                        break
                    figures = (await writer_throughput(Path(tmp) / f"pw{part}", ballots=args.ballots,
                                                       producers=args.producers, database_url=url) if part == "w"
                               else await burst(Path(tmp) / f"pb{part}", clients=args.clients, database_url=url))
                    if part == "b":
                        figures = {f"burst_{k}" if k in ("stored", "lost", "double_counted", "acked") else k: v
                                   for k, v in figures.items()}
                    out.setdefault("postgres", {}).update(figures)
    s = out["sqlite"]
    out.update(votes_per_s=s["votes_per_s"], burst_ack_p99_ms=s["burst_ack_p99_ms"],
               lost=s["lost"] + s["burst_lost"] + (out.get("postgres") or {}).get("lost", 0)
               + (out.get("postgres") or {}).get("burst_lost", 0),
               double_counted=s["double_counted"] + s["burst_double_counted"]
               + (out.get("postgres") or {}).get("double_counted", 0)
               + (out.get("postgres") or {}).get("burst_double_counted", 0))
    return out


def record(out: dict, command: str) -> None:
    header = (f"Reproduce: `phonghop bench votes --json`.\nTargets (issue \"Deliberation\"): {TARGETS}.\n"
              "votes/s: ballots durable per second through the group-commit writer, in process, SQLite "
              "synchronous=FULL on a real data folder. Burst: a `phonghop serve` process, every client connected and "
              "joined first, then all vote within 2 s over socket.io (websocket); ack time from emit to ack. "
              "lost / double counted: every acknowledged ballot recounted from the database.\n\n"
              "| date | machine | command | votes/s (SQLite) | batches | burst clients | p50 / p99 / max ack | "
              "votes/s (PostgreSQL) | burst p99 (PostgreSQL) | lost | double counted |\n"
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
    s, pg = out["sqlite"], out.get("postgres") or {}
    row = (f"| {out['date']} | {out['machine']} | `{command}` | {s['votes_per_s']:,} ({s['ballots']:,} ballots, "
           f"{s['producers']} producers) | {s['batches']} | {s['clients']} | {s['burst_ack_p50_ms']} / "
           f"{s['burst_ack_p99_ms']} / {s['burst_ack_max_ms']} ms | {pg.get('votes_per_s', '—')} | "
           f"{str(pg['burst_ack_p99_ms']) + ' ms' if 'burst_ack_p99_ms' in pg else '—'} | {out['lost']} | "
           f"{out['double_counted']} |\n")
    report.add_row(SECTION, header, row)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="phonghop bench votes", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    parser.add_argument("--ballots", type=int, default=20_000)
    parser.add_argument("--producers", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="do not record the row in BENCHMARKS.md")
    parser.add_argument("--client", help=argparse.SUPPRESS)  # internal: run as a client process
    args = parser.parse_args(argv)
    if args.client:
        asyncio.run(_client_main(args.client))
        return 0
    out = asyncio.run(run(args))
    if not args.no_write:
        record(out, "phonghop bench votes --json")
    if not args.json:
        print(json.dumps(out, indent=2, ensure_ascii=False))
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
