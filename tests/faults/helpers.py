"""What the fault tests share: a small REST client of a live server, the client rule of
docs/protocol.md for a socket.io tablet, and the meeting's log read straight from the database."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import socketio
from sqlalchemy import select

from server.config import Settings
from server.store.db import Database
from server.store.tables import Event

# What a clean refusal looks like (docs/protocol.md, "Errors"): a typed code and a message for
# people, never a traceback.
TRACE_MARKERS = ("Traceback", 'File "', "Error:", "sqlalchemy", "asyncpg", "psycopg")


def clean_error(body) -> bool:
    """`{"error": {"code", "message"}}` (REST) or `{"ok": false, "error": {...}}` (socket.io),
    with nothing of a stack trace or a driver's message in it."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("code"), str):
        return False
    text = repr(body)
    return isinstance(error.get("message"), str) and not any(m in text for m in TRACE_MARKERS)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Api:
    """REST against a live server: `status, body = await api.call(...)`; no assertion inside."""

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url
        self.token = token
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))

    async def __aenter__(self) -> Api:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.http.close()

    async def call(self, method: str, path: str, body=None, *, token: str | None = None, key: str | None = None,
                   raw: bytes | None = None) -> tuple[int, object]:
        headers = {}
        if token or self.token:
            headers["Authorization"] = f"Bearer {token or self.token}"
        if key:
            headers["Idempotency-Key"] = key
        kwargs = {"data": raw} if raw is not None else {"json": body} if body is not None else {}
        async with self.http.request(method, self.url + path, headers=headers, **kwargs) as resp:
            text = await resp.text()
            try:
                import json

                return resp.status, json.loads(text) if text else None
            except ValueError:
                return resp.status, text

    async def ok(self, method: str, path: str, body=None, **kwargs) -> dict:
        status, answer = await self.call(method, path, body, **kwargs)
        assert 200 <= status < 300, (method, path, status, answer)
        return answer

    async def login(self, username: str, password: str) -> str:
        return (await self.ok("POST", "/api/auth/login", {"username": username, "password": password}))["token"]

    async def command(self, name: str, key: str | None = None, *, token: str | None = None, **data):
        return await self.call("POST", f"/api/commands/{name}", data, token=token, key=key)


@dataclass
class Tablet:
    """A socket.io client that applies events by the client rule of docs/protocol.md:
    heads per audience, duplicates dropped by `seq`, a gap answered by `resync`, and `join`
    with `since = min(heads)` on every (re)connect. `applied` is every sequence number it
    applied, in order; `dropped` counts duplicates the rule caught."""

    url: str
    token: str
    meeting_id: int
    heads: dict[str, int] = field(default_factory=dict)
    applied: list[int] = field(default_factory=list)
    dropped: int = 0
    resyncs: int = 0
    received: list[int] = field(default_factory=list)  # every live `event` that came, applied or not
    client: socketio.AsyncClient | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def since(self) -> int | None:
        return min(self.heads.values()) if self.heads else None

    async def connect(self, **connect_kwargs) -> dict:
        self.client = socketio.AsyncClient(reconnection=False)
        self.client.on("event", self._on_event)
        await self.client.connect(self.url, auth={"token": self.token}, transports=["websocket"],
                                  wait_timeout=connect_kwargs.pop("wait_timeout", 30), **connect_kwargs)
        return await self.join()

    async def join(self) -> dict:
        answer = await self.client.call("join", {"meeting_id": self.meeting_id, "since": self.since()}, timeout=60)
        assert answer.get("ok"), answer
        async with self.lock:
            self._apply_answer(answer)
        return answer

    async def disconnect(self) -> None:
        if self.client is not None:
            await self.client.disconnect()

    def _apply_answer(self, answer: dict) -> None:
        head = answer["head"]
        if "snapshot" in answer:
            for audience in ("meeting", "secretariat", *self.heads):
                self.heads[audience] = head
            self.heads.setdefault("meeting", head)
            return
        for event in answer["events"]:
            self._apply(event)
        for audience in list(self.heads):
            self.heads[audience] = max(self.heads[audience], head)

    def _apply(self, event: dict) -> bool:
        audience = event["audience"]
        base = self.heads.setdefault(audience, min(self.heads.values()) if self.heads else 0)
        if event["seq"] <= base:
            self.dropped += 1
            return True
        if event["prev"] > base:
            return False  # a gap: resync
        self.applied.append(event["seq"])
        self.heads[audience] = event["seq"]
        return True

    async def _on_event(self, event: dict) -> None:
        if event.get("meeting_id") != self.meeting_id:
            return
        self.received.append(event["seq"])
        async with self.lock:
            if self._apply(event):
                return
            self.resyncs += 1
            answer = await self.client.call("resync", {"meeting_id": self.meeting_id, "since": self.since()},
                                            timeout=60)
            assert answer.get("ok"), answer
            self._apply_answer(answer)
            self._apply(event)


async def logged_events(settings: Settings, meeting_id: int, after: int = 0) -> list[tuple[int, str, int]]:
    """The meeting's log after `after`, as (seq, audience, prev) in order, read from the database."""
    db = Database(settings)
    try:
        async with db.read() as s:
            rows = await s.execute(select(Event.seq, Event.audience, Event.prev)
                                   .where(Event.meeting_id == meeting_id, Event.seq > after).order_by(Event.seq))
            return [tuple(r) for r in rows.all()]
    finally:
        await db.close()


async def wait_until(predicate, timeout: float, what: str, interval: float = 0.05) -> None:
    """Wait for a state the system must reach (not a timing claim): fail with `what` after `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(interval)


async def open_sessions(settings: Settings, usernames: list[str]) -> dict[str, str]:
    """A session token per account, written straight into the database (signing in a hall
    through argon2 would measure the login, which is not under test here)."""
    from server.auth.sessions import open_session
    from server.store.tables import User

    db = Database(settings)
    try:
        async with db.write() as s:
            users = {u.username: u for u in (await s.scalars(select(User).where(User.username.in_(usernames)))).all()}
            return {name: (await open_session(s, users[name], hours=2))["token"] for name in usernames}
    finally:
        await db.close()


def check_log(log: list[tuple[int, str, int]], head: int) -> None:
    """The meeting's log is gap-free from 1 to `head`, and each event's `prev` is the previous
    event of its audience."""
    assert [seq for seq, _, _ in log] == list(range(1, head + 1)), "the event log has a gap"
    last: dict[str, int] = {}
    for seq, audience, prev in log:
        assert prev == last.get(audience, 0), (seq, audience, prev, last.get(audience))
        last[audience] = seq


async def meeting_setup(api: Api, code: str = "DEMO-SAP-TOI") -> tuple[int, int]:
    """The demo's upcoming meeting started, everyone present, a motion open: (meeting id, poll id)."""
    meeting = next(x for x in (await api.ok("GET", "/api/meetings"))["meetings"] if x["code"] == code)
    m = meeting["id"]
    await api.ok("POST", "/api/commands/meeting.start", {"meeting_id": m})
    snapshot = await api.ok("GET", f"/api/meetings/{m}")
    for p in snapshot["participants"]:
        await api.ok("POST", "/api/commands/attendance.set", {"meeting_id": m, "participant_id": p["id"],
                                                                "status": "present"})
    poll = (await api.ok("POST", "/api/commands/poll.create", {"meeting_id": m, "kind": "motion",
                                                               "title": "Thông qua Nghị quyết"}))["result"]["poll_id"]
    await api.ok("POST", "/api/commands/poll.open", {"meeting_id": m, "poll_id": poll})
    return m, poll


def serve_on(data_dir: Path, host: str, *, env: dict | None = None, demo: bool = True):
    """`phonghop serve` listening on `host` (an address other than 127.0.0.1), like
    tests.conftest.start_server otherwise; waits until the port answers there."""
    import os
    import socket
    import subprocess
    import sys
    import time

    from tests.conftest import ROOT, TEST_PASSWORD, ServerProcess, free_port

    port = free_port()
    args = [sys.executable, "-m", "server.cli", "serve", "--host", host, "--port", str(port), "--data-dir",
            str(data_dir)]
    if demo:
        args.append("--demo")
    log = open(data_dir / f"server-{port}.log", "ab")  # noqa: SIM115  (closed with the process)
    process = subprocess.Popen(args, cwd=ROOT, env={**os.environ, "PHONGHOP_DEMO_PASSWORD": TEST_PASSWORD, **(env or {})},
                               stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {(data_dir / f'server-{port}.log').read_text()[-3000:]}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
            return ServerProcess(f"http://{host}:{port}", port, TEST_PASSWORD, data_dir, process)
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not start within 60 s")


class Proxy:
    """A TCP relay in front of a server, in this test's event loop. `cut()` drops every
    connection at once (a reset, no goodbye) and refuses new ones, as when the hall's access
    point restarts; `restore()` listens again on the same port."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.server: asyncio.base_events.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.accepted = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, backlog=2048)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self.writers |= {writer, up_writer}

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                sink.transport.abort()

        try:
            await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
        finally:
            self.writers -= {writer, up_writer}

    async def cut(self) -> None:
        import socket
        import struct

        self.server.close()
        for writer in list(self.writers):
            sock = writer.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST
            writer.transport.abort()
        self.writers.clear()

    async def restore(self) -> None:
        await self.start()

    async def close(self) -> None:
        await self.cut()
