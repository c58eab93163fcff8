"""What the realtime benchmarks share: a hall written into a fresh database, a real
`phonghop serve` process, Node tablets in several processes, and the server's figures
(CPU seconds, memory, its own metrics) read from outside.

Used by bench/fanout.py, bench/reconnect.py and bench/mixed.py (bench/votes.py came
first and keeps its own).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NODE_DIR = Path(__file__).resolve().parent / "node"
NODE_MODULES = ROOT / "clients" / "web" / "node_modules"
# Node's socket.io server, the peer: bench/node/package.json, installed by `./dev setup`.
PEER_MODULES = Path(os.environ.get("PHONGHOP_BENCH_NODE_MODULES", ROOT / "bench" / "node" / "node_modules"))
PEER_HELP = "./dev setup (npm ci in bench/node)"
NODE_HELP = "node and clients/web/node_modules (`./dev setup`, or `npm ci` in clients/web)"


def node_ready() -> bool:
    return bool(shutil.which("node")) and (NODE_MODULES / "socket.io-client").is_dir()


def peer_ready() -> bool:
    return bool(shutil.which("node")) and (PEER_MODULES / "socket.io").is_dir()


# --- figures ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def load() -> float:
    return round(os.getloadavg()[0], 2)


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def metrics(url: str) -> dict[str, float]:
    """The server's /metrics as {sample line name with labels: value}."""
    import urllib.request

    text = urllib.request.urlopen(f"{url}/metrics", timeout=30).read().decode()
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            with contextlib.suppress(ValueError):
                values[name] = float(value)
    return values


def histogram_quantile(before: dict, after: dict, name: str, q: float) -> float | None:
    """The q-quantile of a Prometheus histogram's observations between two reads, from its
    buckets (linear within the bucket, as Prometheus does)."""
    buckets = []
    for key, value in after.items():
        if key.startswith(f"{name}_bucket{{") and 'le="' in key:
            le = key.split('le="', 1)[1].split('"', 1)[0]
            bound = float("inf") if le == "+Inf" else float(le)
            buckets.append((bound, value - before.get(key, 0.0)))
    buckets.sort()
    if not buckets or buckets[-1][1] <= 0:
        return None
    total = buckets[-1][1]
    rank = q * total
    lower, below = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if bound == float("inf"):
                return lower
            inside = count - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = bound, count
    return lower


# --- a hall in the database ----------------------------------------------------------------


@dataclass
class Hall:
    meeting_id: int
    tablets: list[str]  # session tokens of the delegates, one per tablet
    staff: str  # a secretariat account's token
    item_ids: list[int]
    points: list[dict] = field(default_factory=list)  # {"token", "point": unit code}
    user_ids: list[int] = field(default_factory=list)  # the tablets' accounts, in the same order


async def seed_hall(data_dir: Path, tablets: int, points: int = 0, *, status: str = "in_session",
                    database_url: str | None = None) -> Hall:
    """A meeting with `tablets` voting delegates and `points` bridge points (an operator
    each), written straight into a fresh database with a session per account: signing a
    thousand accounts in (argon2, slow on purpose) would measure the login, not the hall."""
    from server.auth.sessions import digest
    from server.config import Settings
    from server.store.db import Database
    from server.store.migrate import upgrade
    from server.store.tables import AgendaItem, Meeting, Participant, Session, Unit, User, utcnow

    settings = Settings(data_dir=Path(data_dir), database_url=database_url)
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(upgrade, settings)
    db = Database(settings)
    tag = uuid.uuid4().hex[:6]
    try:
        async with db.write() as s:
            province = Unit(code=f"T{tag}", name="Tỉnh Thử", level="Tỉnh")
            s.add(province)
            await s.flush()
            units = [Unit(code=f"T{tag}-X{i:04d}", name=f"Xã Thử {i}", level="Xã", parent_id=province.id)
                     for i in range(points)]
            s.add_all(units)
            meeting = Meeting(title="Hội nghị đo tải", unit_id=province.id, status=status, quorum="1/2")
            s.add(meeting)
            await s.flush()
            items = [AgendaItem(meeting_id=meeting.id, position=i, title=title)
                     for i, title in enumerate(("Khai mạc", "Báo cáo chính trị", "Thảo luận", "Bế mạc"))]
            s.add_all(items)
            staff = User(username=f"vp{tag}", full_name="Văn phòng", password_hash="x", roles=["secretariat"],
                         unit_id=province.id)
            delegates = [User(username=f"db{tag}{i:05d}", full_name=f"Đại biểu {i:05d}", password_hash="x",
                              roles=[], unit_id=province.id) for i in range(tablets)]
            operators = [User(username=f"dc{tag}{i:04d}", full_name=f"Kỹ thuật {i:04d}", password_hash="x",
                              roles=[], unit_id=u.id) for i, u in enumerate(units)]
            s.add_all([staff, *delegates, *operators])
            await s.flush()
            s.add_all([Participant(meeting_id=meeting.id, user_id=u.id, full_name=u.full_name, role="delegate",
                                   voting=True, unit_id=province.id) for u in delegates])
            s.add_all([Participant(meeting_id=meeting.id, user_id=u.id, full_name=u.full_name, role="operator",
                                   voting=False, unit_id=u.unit_id) for u in operators])
            tokens: dict[int, str] = {}
            expires = utcnow().replace(year=utcnow().year + 1)
            for u in [staff, *delegates, *operators]:
                tokens[u.id] = secrets.token_urlsafe(32)
                s.add(Session(token_hash=digest(tokens[u.id]), user_id=u.id, expires_at=expires))
            await s.flush()
            return Hall(meeting_id=meeting.id, tablets=[tokens[u.id] for u in delegates], staff=tokens[staff.id],
                        item_ids=[i.id for i in items],
                        points=[{"token": tokens[o.id], "point": u.code} for o, u in zip(operators, units, strict=True)],
                        user_ids=[u.id for u in delegates])
    finally:
        await db.close()


async def meeting_events(data_dir: Path, meeting_id: int, after: int, audience: str = "meeting") -> list[int]:
    """The sequence numbers of the meeting's logged events of `audience` after `after`."""
    from sqlalchemy import select

    from server.config import Settings
    from server.store.db import Database
    from server.store.tables import Event

    db = Database(Settings(data_dir=Path(data_dir)))
    try:
        async with db.read() as s:
            rows = await s.scalars(select(Event.seq).where(Event.meeting_id == meeting_id, Event.seq > after,
                                                          Event.audience == audience).order_by(Event.seq))
            return list(rows.all())
    finally:
        await db.close()


# --- processes -------------------------------------------------------------------------------


async def wait_port(port: int, process: subprocess.Popen, what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited before listening")
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on port {port}")


@contextlib.asynccontextmanager
async def server(data_dir: Path, env: dict | None = None):
    """`phonghop serve` on a free port over `data_dir`; yields (url, process)."""
    port = free_port()
    log = open(Path(data_dir) / "server.log", "ab")  # noqa: SIM115  (closed below)
    process = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--data-dir",
                                str(data_dir)], cwd=ROOT, env={**os.environ, **(env or {})}, stdout=log,
                               stderr=subprocess.STDOUT)
    try:
        await wait_port(port, process, "the server")
        yield f"http://127.0.0.1:{port}", process
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        log.close()


@contextlib.asynccontextmanager
async def node_peer(workdir: Path, tokens: list[str], meeting_id: int):
    """Node's socket.io server (bench/node/peer.cjs) on a free port; yields (url, process)."""
    port = free_port()
    spec = Path(workdir) / "peer.json"
    spec.write_text(json.dumps({"port": port, "tokens": tokens, "meeting_id": meeting_id,
                                "socketio_server": str(PEER_MODULES / "socket.io"),
                                "log": str(Path(workdir) / "peer-events.jsonl")}))
    log = open(Path(workdir) / "peer.log", "ab")  # noqa: SIM115  (closed below)
    process = subprocess.Popen(["node", str(NODE_DIR / "peer.cjs"), str(spec)], stdout=log, stderr=subprocess.STDOUT)
    try:
        await wait_port(port, process, "the socket.io peer")
        yield f"http://127.0.0.1:{port}", process
    finally:
        process.terminate()
        process.wait(30)
        log.close()


class Tablets:
    """Node tablets (bench/node/tablets.cjs) in `processes` processes, spoken to in JSON lines."""

    def __init__(self, workdir: Path, url: str, meeting_id: int, tokens: list[str], *, processes: int,
                 since: int | None, concurrency: int = 20) -> None:
        self.procs: list[subprocess.Popen] = []
        share = -(-len(tokens) // processes)
        for n in range(processes):
            part = tokens[n * share:(n + 1) * share]
            if not part:
                continue
            spec = Path(workdir) / f"tablets-{n}.json"
            spec.write_text(json.dumps({"url": url, "meeting_id": meeting_id, "since": since, "tokens": part,
                                        "concurrency": concurrency,
                                        "socketio_client": str(NODE_MODULES / "socket.io-client")}))
            self.procs.append(subprocess.Popen(["node", str(NODE_DIR / "tablets.cjs"), str(spec)],
                                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))

    async def read(self, proc: subprocess.Popen) -> dict:
        line = await asyncio.to_thread(proc.stdout.readline)
        if not line:
            raise RuntimeError(f"a tablet process ended (exit {proc.wait()})")
        return json.loads(line)

    async def ready(self) -> float:
        started = time.perf_counter()
        await asyncio.gather(*(self.read(p) for p in self.procs))
        return time.perf_counter() - started

    def send(self, message: dict) -> None:
        for p in self.procs:
            p.stdin.write(json.dumps(message) + "\n")
            p.stdin.flush()

    async def ask(self, message: dict) -> list[dict]:
        self.send(message)
        return list(await asyncio.gather(*(self.read(p) for p in self.procs)))

    def cpu_seconds(self) -> float:
        total = 0.0
        for p in self.procs:
            with contextlib.suppress(OSError):
                total += cpu_seconds(p.pid)
        return total

    async def close(self) -> None:
        for p in self.procs:
            with contextlib.suppress(OSError):
                p.stdin.write(json.dumps({"cmd": "bye"}) + "\n")
                p.stdin.flush()
        for p in self.procs:
            try:
                await asyncio.to_thread(p.wait, 60)
            except subprocess.TimeoutExpired:
                p.kill()


class Api:
    """REST calls to one server as one account, over one kept HTTP connection."""

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url, self.token, self.http = url, token, None

    async def __aenter__(self) -> Api:
        import aiohttp

        self.http = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.http.close()

    async def post(self, path: str, body: dict | None = None, key: str | None = None) -> dict:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        if key:
            headers["Idempotency-Key"] = key
        async with self.http.post(self.url + path, json=body or {}, headers=headers) as resp:
            answer = await resp.json(content_type=None)
            if resp.status != 200:
                raise RuntimeError(f"{path}: {resp.status} {answer}")
            return answer

    async def command(self, name: str, **data) -> dict:
        return await self.post(f"/api/commands/{name}", data, key=secrets.token_hex(8))
