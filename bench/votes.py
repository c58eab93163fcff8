"""Votes benchmark: the ballot writer's durable throughput and a hall's burst of votes.

    phonghop bench votes [--json] [--ballots 20000] [--clients 1000] [--client-runtime node|python]
                         [--client-processes N] [--window 2] [--no-peer] [--no-postgres] [--no-write]

(a) `votes_per_s`: ballots made durable per second by the group-commit writer, SQLite
    at synchronous=FULL on a real data folder, from many concurrent producers in process;
(b) `burst_ack_p99_ms`: a real `phonghop serve` process; `--clients` socket.io clients
    (websocket; Node's socket.io-client in one process by default) connect and join first,
    then all vote within `--window` seconds; p99 of the time from emit to ack, with the CPU
    time the server and the clients spent on the burst and the server's own histograms of
    where a vote's time went (`server_*_mean_ms`);
(c) the peer: the same burst against Node's socket.io server doing the same work (NODE_PEER),
    when its package is installed (PEER_HELP);
(d) `lost` / `double_counted`: every acknowledged ballot recounted from the database;
(e) the same on PostgreSQL when one is reachable (PHONGHOP_TEST_POSTGRES_URL).
Prints one JSON object as the last line and records a row under "## Votes" in BENCHMARKS.md.
The machine is shared: read the load average beside the figures, and the CPU seconds first.
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
import shutil
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
#
# The load generator matters as much as the server here: a thousand python-socketio clients
# in two Python processes spend about a second of CPU per burst, and every `poll.progress`
# broadcast makes each process decode five hundred messages at once, which holds its own
# acknowledgements back (seen as a latency spike every half second). So the tablets are
# simulated by Node's socket.io-client (clients/web/node_modules, the one the web pages use;
# like a browser it offers permessage-deflate), one process by default; `--client-runtime
# python` keeps the older generator. The peer, when its package is installed (PEER_HELP), is
# Node's socket.io server answering the same messages with the same durability (a group
# commit to a file, fsync before the ack, progress twice a second), measured with the same
# clients in the same run.

NODE_MODULES = ROOT / "clients" / "web" / "node_modules"
# Node's socket.io server, the peer: bench/node/package.json, installed by `./dev setup`.
PEER_MODULES = Path(os.environ.get("PHONGHOP_BENCH_NODE_MODULES", ROOT / "bench" / "node" / "node_modules"))
PEER_HELP = "./dev setup (npm ci in bench/node)"

NODE_CLIENT = r"""
// A client process of `phonghop bench votes`: connect and join every token, say ready, then
// for each "go" vote within the window and report; "bye" hangs up.
"use strict";
const fs = require("fs");
const crypto = require("crypto");
const readline = require("readline");
const spec = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const { io } = require(spec.socketio_client);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const say = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

function connectOnce(token) {
  return new Promise((resolve, reject) => {
    // forceNew: one connection per tablet (io() would multiplex sockets of the same URL).
    const s = io(spec.url, { transports: ["websocket"], auth: { token }, reconnection: false, forceNew: true,
                             timeout: 60000 });
    s.once("connect", () => resolve(s));
    s.once("connect_error", (e) => { s.close(); reject(e); });
  });
}

async function connect(token) {
  for (let attempt = 0; ; attempt++) {  // a thousand handshakes at once: retry the odd refused one
    try {
      const s = await connectOnce(token);
      const answer = await s.timeout(60000).emitWithAck("join", { meeting_id: spec.meeting_id, since: null });
      if (!answer.ok) throw new Error(JSON.stringify(answer));
      return s;
    } catch (e) {
      if (attempt === 4) throw e;
      await sleep(200 * (attempt + 1));
    }
  }
}

async function main() {
  const started = performance.now();
  const sockets = new Array(spec.tokens.length);
  let next = 0;
  const worker = async () => {
    while (next < spec.tokens.length) { const i = next++; sockets[i] = await connect(spec.tokens[i]); }
  };
  await Promise.all(Array.from({ length: 20 }, worker));
  say({ ready: (performance.now() - started) / 1000 });
  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line.trim() !== "go") break;
    const cpu0 = process.cpuUsage();
    const latencies = new Array(sockets.length).fill(null);
    await Promise.all(sockets.map(async (s, i) => {
      await sleep(Math.random() * spec.window * 1000);
      const message = { name: "poll.vote", key: crypto.randomBytes(8).toString("hex"),
                        data: { meeting_id: spec.meeting_id, poll_id: spec.poll_id, choice: "yes" } };
      const t0 = performance.now();
      try {
        const ack = await s.timeout(30000).emitWithAck("command", message);
        if (ack.ok && ack.result && ack.result.accepted) latencies[i] = (performance.now() - t0) / 1000;
      } catch (e) { /* no answer within 30 s: not acknowledged */ }
    }));
    const cpu = process.cpuUsage(cpu0);
    say({ latencies, cpu_s: (cpu.user + cpu.system) / 1e6 });
  }
  for (const s of sockets) s.close();
  process.exit(0);
}

main().catch((e) => { console.error(e); process.exit(1); });
"""

NODE_PEER = r"""
// The peer of `phonghop bench votes`: Node's socket.io server answering the same messages
// as ours with the same durability. Ballots are checked (known token, one per voter, a
// retried key answered again), group-committed (append to a file, fsync) and acknowledged
// after the fsync; poll.progress goes to the meeting's room at most twice a second.
"use strict";
const fs = require("fs");
const http = require("http");
const spec = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const { Server } = require(spec.socketio_server);
const users = new Map(spec.tokens.map((t, i) => [t, i]));
const voted = new Set();
const answers = new Map();  // "user key" -> the first answer
let queue = [];
let writing = false;
let lastProgress = 0;
let progressTimer = null;
const file = fs.openSync(spec.ballots, "a");

const server = http.createServer();
const io = new Server(server, { transports: ["websocket"], pingInterval: 10000, pingTimeout: 10000 });
io.use((socket, next) => {
  const user = users.get(socket.handshake.auth && socket.handshake.auth.token);
  if (user === undefined) return next(new Error("unauthorized"));
  socket.data.user = user;
  next();
});

function progress() {
  progressTimer = null;
  lastProgress = Date.now();
  io.to("m:" + spec.meeting_id).emit("poll.progress", { meeting_id: spec.meeting_id, poll_id: spec.poll_id,
                                                      voted_count: voted.size, entitled_count: users.size });
}

async function write() {
  writing = true;
  while (queue.length) {
    const batch = queue;
    queue = [];
    const lines = batch.map((b) => JSON.stringify({ user: b.user, poll: b.poll, choice: b.choice, key: b.key }));
    await new Promise((ok, fail) => fs.write(file, lines.join("\n") + "\n", (e) => (e ? fail(e) : ok())));
    await new Promise((ok, fail) => fs.fsync(file, (e) => (e ? fail(e) : ok())));
    for (const b of batch) {
      const answer = { ok: true, result: { accepted: true, receipt: null, voted_count: b.count }, seq: null };
      answers.set(b.user + " " + b.key, answer);
      b.ack(answer);
    }
    if (!progressTimer) progressTimer = setTimeout(progress, Math.max(0, lastProgress + 500 - Date.now()));
  }
  writing = false;
}

io.on("connection", (socket) => {
  socket.on("join", (data, ack) => {
    socket.join("m:" + data.meeting_id);
    ack({ ok: true, head: 0, snapshot: {} });
  });
  socket.on("command", (message, ack) => {
    const data = (message && message.data) || {};
    if (message.name !== "poll.vote" || data.poll_id !== spec.poll_id || !["yes", "no", "abstain"].includes(data.choice)) {
      return ack({ ok: false, error: { code: "invalid", message: "not a ballot of this poll" } });
    }
    const user = socket.data.user;
    const again = answers.get(user + " " + message.key);
    if (again) return ack(again);
    if (voted.has(user)) {
      return ack({ ok: true, result: { accepted: true, already_voted: true, receipt: null, voted_count: voted.size } });
    }
    voted.add(user);
    queue.push({ user, poll: data.poll_id, choice: data.choice, key: message.key, count: voted.size, ack });
    if (!writing) write();
  });
});
server.listen(spec.port, "127.0.0.1", () => process.stdout.write("listening\n"));
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _client_main(spec_path: str) -> None:
    """A python-socketio client process (`--client-runtime python`); the protocol of NODE_CLIENT."""
    import socketio

    spec = json.loads(Path(spec_path).read_text())
    sem = asyncio.Semaphore(20)
    started = time.perf_counter()

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
    print(json.dumps({"ready": time.perf_counter() - started}), flush=True)
    loop = asyncio.get_running_loop()
    while (await loop.run_in_executor(None, sys.stdin.readline)).strip() == "go":
        cpu0 = time.process_time()
        latencies: list[float | None] = [None] * len(clients)

        async def vote(i: int, c: socketio.AsyncClient, latencies: list[float | None]) -> None:
            await asyncio.sleep(random.uniform(0, spec["window"]))
            message = {"name": "poll.vote", "key": secrets.token_hex(8),
                       "data": {"meeting_id": spec["meeting_id"], "poll_id": spec["poll_id"], "choice": "yes"}}
            t0 = time.perf_counter()
            with contextlib.suppress(Exception):
                ack = await c.call("command", message, timeout=30)
                if ack.get("ok") and ack["result"].get("accepted"):
                    latencies[i] = time.perf_counter() - t0

        await asyncio.gather(*(vote(i, c, latencies) for i, c in enumerate(clients)))
        print(json.dumps({"latencies": latencies, "cpu_s": time.process_time() - cpu0}), flush=True)
    await asyncio.gather(*(c.disconnect() for c in clients), return_exceptions=True)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process (all its threads), from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# The server's own histograms (server/store/ballots.py, server/realtime/sockets.py): where a
# vote's time went inside the server, as means over the burst.
SERVER_FIGURES = {
    "ballot_wait": 'phonghop_ballot_wait_seconds',
    "batch": 'phonghop_ballot_batch_seconds',
    "batch_ballots": 'phonghop_ballot_batch_ballots',
    "vote_handler": 'phonghop_socket_command_seconds{name="poll.vote"}',
    "session_check": 'phonghop_session_check_seconds',
}


def _server_metrics(port: int) -> dict[str, tuple[float, float]]:
    """(sum, count) of each histogram of SERVER_FIGURES, read from the server's /metrics."""
    import urllib.request

    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30).read().decode()
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    out = {}
    for key, metric in SERVER_FIGURES.items():
        base, _, labels = metric.partition("{")
        labels = "{" + labels if labels else ""
        out[key] = (values.get(f"{base}_sum{labels}", 0.0), values.get(f"{base}_count{labels}", 0.0))
    return out


def _server_means(before: dict, after: dict) -> dict:
    out: dict = {}
    for key in SERVER_FIGURES:
        total, n = after[key][0] - before[key][0], after[key][1] - before[key][1]
        if key == "batch_ballots":
            out["server_batches"] = int(n)
            out["server_batch_ballots_mean"] = round(total / n, 1) if n else None
        else:
            out[f"server_{key}_mean_ms"] = round(1000 * total / n, 1) if n else None
            if key == "session_check":
                out["server_session_checks"] = int(n)
    return out


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def _client_runtime(requested: str | None) -> str:
    if requested:
        return requested
    return "node" if shutil.which("node") and (NODE_MODULES / "socket.io-client").is_dir() else "python"


async def _wait_port(port: int, process: subprocess.Popen, what: str) -> None:
    for _ in range(600):
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited before listening")
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on port {port}")


async def _hall(workdir: Path, url: str, target: dict, tokens: list[str], *, runtime: str, processes: int,
                window: float, server_pid: int, metrics_port: int | None = None, profile: str | None = None) -> dict:
    """Connect and join every token from `processes` client processes, then one burst:
    every client votes once within `window` seconds. Latencies in token order, and the CPU
    time the server process and the clients spent on the burst alone."""
    share = -(-len(tokens) // processes)
    procs: list[subprocess.Popen] = []
    script = workdir / "votes_client.cjs"
    script.write_text(NODE_CLIENT)
    try:
        for n in range(processes):
            spec = workdir / f"clients-{n}.json"
            spec.write_text(json.dumps({"url": url, **target, "window": window,
                                        "socketio_client": str(NODE_MODULES / "socket.io-client"),
                                        "tokens": tokens[n * share:(n + 1) * share]}))
            argv = (["node", str(script), str(spec)] if runtime == "node"
                    else [sys.executable, __file__, "--client", str(spec)])
            procs.append(subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
        started = time.perf_counter()
        for p in procs:  # everyone connected and joined before anyone votes
            line = await asyncio.to_thread(p.stdout.readline)
            assert line.startswith('{"ready"'), line
        setup = time.perf_counter() - started
        spy = None
        if profile:  # py-spy (from PyPI) samples the server through the burst alone
            spy = subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record", "--nonblocking", "-r", "200",
                                    "-p", str(server_pid), "-f", "raw", "-o", profile],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            await asyncio.sleep(1.0)
        load_before, server_cpu0 = _load(), _cpu_seconds(server_pid)
        metrics0 = await asyncio.to_thread(_server_metrics, metrics_port) if metrics_port else None
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        latencies: list[float | None] = []
        client_cpu = 0.0
        for p in procs:
            report_ = json.loads(await asyncio.to_thread(p.stdout.readline))
            latencies += report_["latencies"]
            client_cpu += report_["cpu_s"]
        server_cpu = _cpu_seconds(server_pid) - server_cpu0
        load_after = _load()
        inside = _server_means(metrics0, await asyncio.to_thread(_server_metrics, metrics_port)) if metrics0 else {}
        if spy is not None:
            spy.send_signal(2)
            spy.wait(30)
        # Hang up only once every process has reported: one process closing its sockets
        # must not load the server while another still votes.
        for p in procs:
            await asyncio.to_thread(p.communicate, "bye\n", 120)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    done = [t * 1000 for t in latencies if t is not None]
    return {"latencies": latencies, "clients": len(tokens), "acked": len(done),
            "burst_ack_p50_ms": round(_percentile(done, 50), 1) if done else None,
            "burst_ack_p99_ms": round(_percentile(done, 99), 1) if done else None,
            "burst_ack_max_ms": round(max(done), 1) if done else None,
            "burst_server_cpu_s": round(server_cpu, 2), "burst_client_cpu_s": round(client_cpu, 2),
            "client_runtime": runtime, "client_processes": processes, "setup_s": round(setup, 1),
            "load_before": load_before, "load_after": load_after, **inside}


async def burst(data_dir: Path, *, clients: int = 1000, runtime: str | None = None, processes: int | None = None,
                window: float = 2.0, database_url: str | None = None, profile: str | None = None) -> dict:
    from server.config import Settings
    from server.store.db import Database
    from server.store.migrate import upgrade

    runtime = _client_runtime(runtime)
    processes = processes or (1 if runtime == "node" else 2)
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
    try:
        await _wait_port(port, server, "the server")
        out = await _hall(Path(data_dir), f"http://127.0.0.1:{port}",
                          {"meeting_id": world["meeting_id"], "poll_id": world["poll_ids"][0]}, world["tokens"],
                          runtime=runtime, processes=processes, window=window, server_pid=server.pid,
                          metrics_port=port, profile=profile)
    finally:
        server.terminate()
        server.wait(30)
        log.close()
    # Tokens were handed out in participant order, so latencies[i] is participant i's.
    latencies = out.pop("latencies")
    acked = {(world["poll_ids"][0], world["participants"][i][0]) for i, t in enumerate(latencies) if t is not None}
    counts = await _recount(db, world["poll_ids"], acked)
    await db.close()
    return {**out, **counts}


async def peer_burst(data_dir: Path, *, clients: int = 1000, runtime: str | None = None,
                     processes: int | None = None, window: float = 2.0) -> dict | None:
    """The same burst, the same clients, against Node's socket.io server (NODE_PEER); None
    when node or the socket.io package (PEER_HELP) is not there."""
    if not shutil.which("node") or not (PEER_MODULES / "socket.io").is_dir():
        return None
    runtime = _client_runtime(runtime)
    processes = processes or (1 if runtime == "node" else 2)
    workdir = Path(data_dir)
    workdir.mkdir(parents=True, exist_ok=True)
    tokens = [secrets.token_urlsafe(32) for _ in range(clients)]
    port = _free_port()
    spec = workdir / "peer.json"
    spec.write_text(json.dumps({"port": port, "tokens": tokens, "meeting_id": 1, "poll_id": 1,
                                "socketio_server": str(PEER_MODULES / "socket.io"),
                                "ballots": str(workdir / "ballots.jsonl")}))
    (workdir / "peer.cjs").write_text(NODE_PEER)
    log = open(workdir / "peer.log", "ab")  # noqa: SIM115  (closed below)
    peer = subprocess.Popen(["node", str(workdir / "peer.cjs"), str(spec)], stdout=log, stderr=subprocess.STDOUT)
    try:
        await _wait_port(port, peer, "the socket.io peer")
        out = await _hall(workdir, f"http://127.0.0.1:{port}", {"meeting_id": 1, "poll_id": 1}, tokens,
                          runtime=runtime, processes=processes, window=window, server_pid=peer.pid)
    finally:
        peer.terminate()
        peer.wait(30)
        log.close()
    latencies = out.pop("latencies")
    stored: dict[int, int] = {}
    for line in (workdir / "ballots.jsonl").read_text().splitlines():
        user = json.loads(line)["user"]
        stored[user] = stored.get(user, 0) + 1
    acked = {i for i, t in enumerate(latencies) if t is not None}
    return {**out, "stored": len(stored), "lost": len(acked - set(stored)),
            "double_counted": sum(n - 1 for n in stored.values())}


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


def _burst_keys(figures: dict) -> dict:
    return {f"burst_{k}" if k in ("stored", "lost", "double_counted", "acked") else k: v for k, v in figures.items()}


async def run(args: argparse.Namespace) -> dict:
    out: dict = {"date": datetime.date.today().isoformat(), "machine": report.machine()}
    hall = {"clients": args.clients, "runtime": args.client_runtime, "processes": args.client_processes,
            "window": args.window}
    with tempfile.TemporaryDirectory(prefix="phonghop-bench-") as tmp:
        out["sqlite"] = {
            **await writer_throughput(Path(tmp) / "w", ballots=args.ballots, producers=args.producers),
            **_burst_keys(await burst(Path(tmp) / "b", **hall)),
        }
        # The peer right after ours, with the same clients, so that both meet the same machine.
        out["peer"] = None if args.no_peer else await peer_burst(Path(tmp) / "peer", **hall)
        if out["peer"] is None and not args.no_peer:
            print(f"no socket.io peer: node or its package is missing ({PEER_HELP})", file=sys.stderr)
        if not args.no_postgres:
            for part in ("w", "b"):
                async with _postgres() as url:
                    if url is None:
                        out["postgres"] = None
                        break
                    figures = (await writer_throughput(Path(tmp) / f"pw{part}", ballots=args.ballots,
                                                       producers=args.producers, database_url=url) if part == "w"
                               else _burst_keys(await burst(Path(tmp) / f"pb{part}", database_url=url, **hall)))
                    out.setdefault("postgres", {}).update(figures)
    s, pg = out["sqlite"], out.get("postgres") or {}
    out.update(votes_per_s=s["votes_per_s"], burst_ack_p99_ms=s["burst_ack_p99_ms"],
               peer_burst_ack_p99_ms=(out["peer"] or {}).get("burst_ack_p99_ms"),
               lost=s["lost"] + s["burst_lost"] + pg.get("lost", 0) + pg.get("burst_lost", 0),
               double_counted=s["double_counted"] + s["burst_double_counted"] + pg.get("double_counted", 0)
               + pg.get("burst_double_counted", 0))
    return out


HEADER = (f"Reproduce: `phonghop bench votes --json`.\nTargets (issue \"Deliberation\"): {TARGETS}.\n"
          "votes/s: ballots durable per second through the group-commit writer, in process, SQLite "
          "synchronous=FULL on a real data folder. Burst: a `phonghop serve` process, every client connected and "
          "joined first, then all vote within 2 s over socket.io (websocket); ack time from emit to ack. "
          "lost / double counted: every acknowledged ballot recounted from the database. "
          "Load generator: who simulates the tablets (Node socket.io-client since 2026-11-23; python-socketio "
          "before). Server CPU: user + system seconds of the server process (all threads) through the burst. "
          "Peer: Node's socket.io server answering the same messages with the same durability (group commit to a "
          "file, fsync before the ack, progress twice a second), the same clients, right after ours. "
          "Load avg: the machine's 1-minute load average at the burst (2 cores, shared).\n\n"
          "| date | machine | command | votes/s (SQLite) | batches | burst clients | p50 / p99 / max ack | "
          "votes/s (PostgreSQL) | burst p99 (PostgreSQL) | lost | double counted | load generator | "
          "server CPU per burst | peer p50 / p99 (Node socket.io) | load avg |\n"
          "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")


def record(out: dict, command: str) -> None:
    s, pg, peer = out["sqlite"], out.get("postgres") or {}, out.get("peer") or {}
    generator = f"{s['client_runtime']} × {s['client_processes']} process{'es' if s['client_processes'] > 1 else ''}"
    row = (f"| {out['date']} | {out['machine']} | `{command}` | {s['votes_per_s']:,} ({s['ballots']:,} ballots, "
           f"{s['producers']} producers) | {s['batches']} | {s['clients']} | {s['burst_ack_p50_ms']} / "
           f"{s['burst_ack_p99_ms']} / {s['burst_ack_max_ms']} ms | {pg.get('votes_per_s', '—')} | "
           f"{str(pg['burst_ack_p99_ms']) + ' ms' if 'burst_ack_p99_ms' in pg else '—'} | {out['lost']} | "
           f"{out['double_counted']} | {generator} | {s['burst_server_cpu_s']} s "
           f"(PostgreSQL {pg.get('burst_server_cpu_s', '—')} s) | "
           f"{str(peer['burst_ack_p50_ms']) + ' / ' + str(peer['burst_ack_p99_ms']) + ' ms' if peer else '—'}"
           f"{' (CPU ' + str(peer['burst_server_cpu_s']) + ' s)' if peer else ''} | "
           f"{s['load_before']} → {s['load_after']} |\n")
    report.add_row(SECTION, HEADER, row)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="phonghop bench votes", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    parser.add_argument("--ballots", type=int, default=20_000)
    parser.add_argument("--producers", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--window", type=float, default=2.0, help="seconds within which every client votes")
    parser.add_argument("--client-runtime", choices=("node", "python"),
                        help="who simulates the tablets (default: node when it and socket.io-client are there)")
    parser.add_argument("--client-processes", type=int, help="client processes (default: 1 for node, 2 for python)")
    parser.add_argument("--no-peer", action="store_true", help="skip Node's socket.io server beside ours")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="do not record the row in BENCHMARKS.md")
    parser.add_argument("--profile", help=argparse.SUPPRESS)  # py-spy raw output of the SQLite burst
    parser.add_argument("--client", help=argparse.SUPPRESS)  # internal: run as a client process
    args = parser.parse_args(argv)
    if args.client:
        asyncio.run(_client_main(args.client))
        return 0
    out = asyncio.run(run(args))
    report.finish("votes", out, args, argv, record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
