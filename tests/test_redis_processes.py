"""Two server processes sharing PostgreSQL and Redis: an event committed through one
reaches a client connected to the other."""

from __future__ import annotations

import asyncio

import aiohttp
import socketio

from tests.conftest import postgres_available, postgres_database, redis_available, require, start_server


async def _login(http: aiohttp.ClientSession, url: str, username: str, password: str) -> str:
    async with http.post(f"{url}/api/auth/login", json={"username": username, "password": password}) as resp:
        assert resp.status == 200, await resp.text()
        return (await resp.json())["token"]


async def test_event_crosses_processes_through_redis(tmp_path):
    require(postgres_available(), "PostgreSQL is not reachable on 127.0.0.1:5432")
    require(redis_available(), "Redis is not reachable on 127.0.0.1:6379")
    async with postgres_database() as database_url:
        env = {"PHONGHOP_DATABASE_URL": database_url, "PHONGHOP_REDIS_URL": "redis://127.0.0.1:6379/0"}
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        # One after the other: the first seeds the demo, the second finds it seeded.
        a = await asyncio.to_thread(start_server, tmp_path / "a", env=env)
        b = await asyncio.to_thread(start_server, tmp_path / "b", env=env)
        tablet = socketio.AsyncClient(reconnection=False)
        try:
            async with aiohttp.ClientSession() as http:
                delegate = await _login(http, a.url, "daibieu01", a.password)
                secretary = await _login(http, b.url, "thuky", b.password)
                async with http.get(f"{a.url}/api/meetings", headers={"Authorization": f"Bearer {delegate}"}) as r:
                    meetings = (await r.json())["meetings"]
                upcoming = next(m for m in meetings if m["status"] == "published")

                received: asyncio.Queue = asyncio.Queue()
                tablet.on("event", received.put_nowait)
                await tablet.connect(a.url, auth={"token": delegate}, transports=["websocket"])
                joined = await tablet.call("join", {"meeting_id": upcoming["id"], "since": None}, timeout=10)
                assert joined["ok"], joined

                async with http.post(
                    f"{b.url}/api/meetings/{upcoming['id']}/agenda",
                    json={"title": "Nội dung thêm qua máy chủ thứ hai"},
                    headers={"Authorization": f"Bearer {secretary}", "Idempotency-Key": "redis-test-1"},
                ) as resp:
                    assert resp.status == 200, await resp.text()
                    seq = (await resp.json())["seq"]
                event = await asyncio.wait_for(received.get(), 15)
                assert event["seq"] == seq == joined["head"] + 1
                assert event["data"]["agenda"][-1]["title"] == "Nội dung thêm qua máy chủ thứ hai"
                async with http.get(f"{a.url}/healthz") as resp:
                    assert (await resp.json())["redis"] == "ok"
        finally:
            await tablet.disconnect()
            a.stop()
            b.stop()
