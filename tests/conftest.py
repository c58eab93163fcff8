"""Shared fixtures: real servers on loopback ports, real databases, real clients.

PostgreSQL and Redis come from PHONGHOP_TEST_POSTGRES_URL and PHONGHOP_TEST_REDIS_URL
(defaults: the local services). When one is missing the tests that need it are
skipped with the reason, except under CI (CI=true), where a missing service fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import aiohttp
import pytest
import socketio
from aiohttp import web

from server.app import create_app
from server.config import Settings
from server.store.migrate import upgrade
from tests.samples import make_pdf

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("PHONGHOP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("PHONGHOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, reason: str) -> None:
    """Skip a test whose service is missing; under CI that is a failure, not a skip."""
    if not condition:
        if IN_CI:
            pytest.fail(f"CI must run this test, but: {reason}")
        pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _reachable(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        return True
    return False


def postgres_available() -> bool:
    return _reachable("127.0.0.1", 5432)


def redis_available() -> bool:
    return _reachable("127.0.0.1", 6379)


@contextlib.asynccontextmanager
async def postgres_database():
    """A fresh, empty PostgreSQL database for one test; dropped afterwards."""
    import asyncpg

    name = f"phonghop_t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(POSTGRES_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = POSTGRES_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        admin = await asyncpg.connect(POSTGRES_URL)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def settings(request, tmp_path) -> Settings:
    """Settings for a fresh database of each kind, migrated to the newest schema."""
    if request.param == "postgres":
        require(postgres_available(), "PostgreSQL is not reachable on 127.0.0.1:5432")
        async with postgres_database() as url:
            s = Settings(data_dir=tmp_path, database_url=url)
            await asyncio.to_thread(upgrade, s)
            yield s
    else:
        s = Settings(data_dir=tmp_path)
        await asyncio.to_thread(upgrade, s)
        yield s


@dataclass
class LiveApp:
    url: str
    app: web.Application
    settings: Settings

    async def request(self, method: str, path: str, token: str | None = None, **kwargs):
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        async with aiohttp.ClientSession() as http, http.request(
            method, self.url + path, headers=headers, **kwargs
        ) as resp:
            body = await resp.json(content_type=None) if resp.content_length != 0 else None
            return resp.status, body

    async def login(self, username: str, password: str = "matkhau-thu-nghiem") -> str:
        status, body = await self.request("POST", "/api/auth/login", json={"username": username, "password": password})
        assert status == 200, body
        return body["token"]

    async def command(self, token: str, name: str, /, key: str | None = None, **data):
        headers = {"Idempotency-Key": key} if key else {}
        return await self.request("POST", f"/api/commands/{name}", token=token, json=data, headers=headers)

    async def socket(self, token: str) -> socketio.AsyncClient:
        client = socketio.AsyncClient(reconnection=False)
        client.received = []
        client.on("event", lambda e: client.received.append(e))
        await client.connect(self.url, auth={"token": token}, transports=["websocket"], wait_timeout=10)
        return client


@contextlib.asynccontextmanager
async def serving(settings):
    """The real application on a loopback port, in the running event loop, until the block ends."""
    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        yield LiveApp(f"http://127.0.0.1:{port}", app, settings)
    finally:
        await runner.cleanup()


@pytest.fixture
async def live(settings) -> LiveApp:
    """The real application on a loopback port, in this test's event loop."""
    async with serving(settings) as app:
        yield app


TEST_PASSWORD = "matkhau-thu-nghiem"


@dataclass
class ServerProcess:
    url: str
    port: int
    password: str
    data_dir: Path
    process: subprocess.Popen

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_server(data_dir: Path, *, demo: bool = True, env: dict | None = None, port: int | None = None) -> ServerProcess:
    """`phonghop serve` as its own process; waits until /healthz answers."""
    port = port or free_port()
    password = TEST_PASSWORD
    full_env = {**os.environ, "PHONGHOP_DEMO_PASSWORD": password, **(env or {})}
    args = [sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--data-dir", str(data_dir)]
    if demo:
        args.append("--demo")
    log = open(data_dir / f"server-{port}.log", "ab")  # noqa: SIM115  (closed with the process)
    process = subprocess.Popen(args, cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {(data_dir / f'server-{port}.log').read_text()[-3000:]}")
        if _reachable("127.0.0.1", port):
            return ServerProcess(f"http://127.0.0.1:{port}", port, password, data_dir, process)
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not start within 60 s")


@pytest.fixture
def live_server(tmp_path_factory):
    """A `phonghop serve --demo` process on SQLite, for browser tests."""
    server = start_server(tmp_path_factory.mktemp("server"))
    yield server
    server.stop()


async def wait_for(predicate, timeout: float = 10) -> None:
    """Poll a condition a live client will reach (an event arriving), failing after `timeout`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting for the condition")
        await asyncio.sleep(0.02)


def new_key() -> str:
    return secrets.token_hex(8)


@dataclass
class World:
    """A small organisation: a province, two communes, accounts and one draft meeting."""

    live: LiveApp
    tokens: dict[str, str]
    users: dict[str, int]
    unit_id: int
    meeting_id: int
    participants: dict[str, int]  # username -> participant id


WORLD_ACCOUNTS = {
    # username: (full name, global roles, meeting role or None)
    "admin": ("Quản trị hệ thống", ["admin"], None),
    "vanphong": ("Lê Văn Phòng", ["secretariat"], None),
    "thuky": ("Trần Thị Hoa", [], "secretary"),
    "chutri": ("Nguyễn Văn An", [], "chair"),
    "daibieu01": ("Phạm Thị Bình", [], "delegate"),
    "daibieu02": ("Hoàng Văn Cường", [], "delegate"),
    "daibieu03": ("Đỗ Thị Dung", [], "delegate"),
    "khach": ("Vũ Minh Khách", [], "guest"),
    "quansat": ("Bùi Quan Sát", [], "observer"),
    "kythuat": ("Đặng Kỹ Thuật", [], "operator"),
    "nguoingoai": ("Ngô Người Ngoài", [], None),
}


async def build_world(live: LiveApp) -> World:
    from server.auth.passwords import hash_password
    from server.auth.sessions import open_session
    from server.store.tables import Unit, User

    digest = await asyncio.to_thread(hash_password, TEST_PASSWORD)
    db = live.app["db"]
    users: dict[str, int] = {}
    tokens: dict[str, str] = {}
    async with db.write() as session:
        province = Unit(code="BN", name="Tỉnh Bắc Ninh", level="Tỉnh")
        session.add(province)
        await session.flush()
        for code, name in (("BN-TD", "Xã Tiên Du"), ("BN-QV", "Phường Quế Võ")):
            session.add(Unit(code=code, name=name, level="Xã", parent_id=province.id))
        for username, (full_name, roles, _) in WORLD_ACCOUNTS.items():
            user = User(username=username, full_name=full_name, password_hash=digest, roles=roles, unit_id=province.id)
            session.add(user)
            await session.flush()
            users[username] = user.id
            # Sessions opened directly: signing in is tested on its own, and argon2 is slow on purpose.
            tokens[username] = (await open_session(session, user, hours=1))["token"]
    status, body = await live.command(
        tokens["vanphong"], "meeting.create", title="Hội nghị Ban Chấp hành lần thứ 5", unit_id=province.id,
        place="Hội trường Tỉnh ủy", starts_at="2026-12-10T08:00:00+07:00",
    )
    assert status == 200, body
    meeting_id = body["result"]["meeting"]["id"]
    participants = {}
    for username, (_, _, role) in WORLD_ACCOUNTS.items():
        if role:
            status, body = await live.command(
                tokens["vanphong"], "participant.add", meeting_id=meeting_id, user_id=users[username], role=role
            )
            assert status == 200, body
            participants[username] = body["result"]["participant"]["id"]
    for title in ("Khai mạc", "Báo cáo chính trị", "Bế mạc"):
        status, body = await live.command(tokens["vanphong"], "agenda.add", meeting_id=meeting_id, title=title)
        assert status == 200, body
    return World(live, tokens, users, province.id, meeting_id, participants)


@pytest.fixture
async def world(live) -> World:
    return await build_world(live)


async def upload(world: World, content: bytes, filename: str, who: str = "vanphong") -> tuple[int, dict]:
    return await world.live.request(
        "POST", f"/api/meetings/{world.meeting_id}/uploads?filename={quote(filename)}", token=world.tokens[who],
        data=content,
    )


async def add_document(world: World, pages: list[str], filename: str = "Báo cáo.pdf", **options) -> dict:
    """A document of the world's meeting (a draft), rendered before this returns."""
    status, body = await upload(world, make_pdf(pages), filename)
    assert status == 201, body
    status, body = await world.live.command(world.tokens["vanphong"], "document.add", meeting_id=world.meeting_id,
                                            upload_id=body["upload"]["id"], **options)
    assert status == 200, body
    document = body["result"]["document"]
    await world.live.app["renderer"].wait(document["latest"]["id"])
    return document
