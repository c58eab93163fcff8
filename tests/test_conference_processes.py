"""The conference with two server processes sharing PostgreSQL and Redis (docs/conference.md,
"Several server processes").

A bridge point (`phonghop bridge-agent`, its own process) is connected to process B, its media
on B's embedded node. The chair gives the floor through process A: B's live board shows the
point holding the floor and B's media node's main feed becomes the point's (its control API's
`/media/stats`), without waiting for B to read the database again. The floor taken back through
A leaves B's node. Then the point's agent goes: B, which held it, gives the floor back to the
host after the grace, once, on the meeting's log.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys

import aiohttp

from tests.conftest import ROOT, postgres_available, postgres_database, redis_available, require, start_server

SECRET = "bi-mat-nut-media-thu-nghiem"
POINT = "BN-X-TIENDU"
OPERATOR = "diemcau11"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def login(http: aiohttp.ClientSession, url: str, username: str, password: str) -> str:
    async with http.post(f"{url}/api/auth/login", json={"username": username, "password": password}) as resp:
        assert resp.status == 200, await resp.text()
        return (await resp.json())["token"]


async def run(http: aiohttp.ClientSession, url: str, token: str, name: str, **data) -> tuple[int, dict]:
    async with http.post(f"{url}/api/commands/{name}", json=data, headers=bearer(token)) as resp:
        return resp.status, await resp.json()


async def get(http: aiohttp.ClientSession, url: str, path: str, token: str) -> dict:
    async with http.get(url + path, headers=bearer(token)) as resp:
        assert resp.status == 200, (path, await resp.text())
        return await resp.json()


async def until(check, what: str, timeout: float = 30):
    """The value of `check()` once it is truthy (polled; the condition is a server's state)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


async def test_the_floor_given_through_one_process_moves_the_board_and_media_of_the_other(tmp_path):
    require(postgres_available(), "PostgreSQL is not reachable on 127.0.0.1:5432")
    require(redis_available(), "Redis is not reachable on 127.0.0.1:6379")
    async with postgres_database() as database_url:
        env = {"PHONGHOP_DATABASE_URL": database_url, "PHONGHOP_REDIS_URL": "redis://127.0.0.1:6379/0",
               "PHONGHOP_MEDIA_SECRET": SECRET, "PHONGHOP_MEDIA_LAYERS": "lo:160x90@100",
               "PHONGHOP_MEDIA_ICE_ADDRESSES": "127.0.0.1"}
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        a = await asyncio.to_thread(start_server, tmp_path / "a", env=env)
        b = await asyncio.to_thread(start_server, tmp_path / "b", env=env)
        agent = None
        try:
            async with aiohttp.ClientSession() as http:
                staff = await login(http, a.url, "thuky", a.password)
                chair = await login(http, a.url, "chutri", a.password)
                operator = await login(http, b.url, OPERATOR, b.password)
                meetings = (await get(http, a.url, "/api/meetings", staff))["meetings"]
                meeting_id = next(m["id"] for m in meetings if m["status"] == "published")
                units = (await get(http, a.url, "/api/units", staff))["units"]
                unit_id = next(u["id"] for u in units if u["code"] == POINT)
                for name, who, data in [("conference.schedule", staff, {}),
                                        ("conference.invite", staff, {"unit_ids": [unit_id]}),
                                        ("conference.open", chair, {})]:
                    status, body = await run(http, a.url, who, name, meeting_id=meeting_id, **data)
                    assert status == 200, (name, body)
                conf_id = body["result"]["conference"]["id"]

                # The point joins through B: its media on B's node. (`--token=`: a token may start with "-".)
                agent = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "server.cli", "bridge-agent", "--server", b.url, f"--token={operator}",
                    "--meeting", str(meeting_id), "--no-connection-test", "--duration", "0", "--size", "160x90",
                    "--fps", "5", "--report-every", "5", "--ice-address", "127.0.0.1", cwd=ROOT,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                    stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)

                async def point_on(server, path=f"/api/meetings/{meeting_id}/conference"):
                    board = await get(http, server.url, path, staff)
                    return next(p for p in board["points"] if p["code"] == POINT)

                async def media_up():
                    return (await point_on(b))["state"] == "media_connected"

                await until(media_up, "the point's media on B", 60)

                # The chair gives it the floor through A (which holds nothing of the point).
                async def granted():
                    status, body = await run(http, a.url, chair, "floor.grant", meeting_id=meeting_id, point=POINT)
                    assert status in (200, 409), body
                    return body if status == 200 else None

                body = await until(granted, "A to see the point's media (B writes it within a second)", 10)
                assert body["result"]["conference"]["floor"]["code"] == POINT

                async def node_floor(server):
                    return (await get(http, server.url, "/media/stats", SECRET))["floor"]

                # B's media node: the main feed is the point's peer; B's board says it holds the floor.
                async def on_b():
                    floor = await node_floor(b)
                    return floor if floor and floor.startswith(f"c{conf_id}-u{unit_id}-p") else None

                await until(on_b, "B's media node to take the point's feed", 10)
                assert (await point_on(b))["floor"] is True
                assert await node_floor(a) is None  # A's node carries none of this conference's points

                # Taken back through A: B's node leaves the point's feed (the host has none here).
                status, body = await run(http, a.url, chair, "floor.revoke", meeting_id=meeting_id)
                assert status == 200 and body["result"]["conference"]["floor"] is None, body

                async def off_b():
                    return await node_floor(b) is None and (await point_on(b))["floor"] is False

                await until(off_b, "B's node and board to leave the point", 10)

                # Given again, then the point goes: B, which held it, gives the floor back.
                status, body = await run(http, a.url, chair, "floor.grant", meeting_id=meeting_id, point=POINT)
                assert status == 200, body
                await until(on_b, "B's media node to take the point's feed again", 10)
                agent.terminate()
                await agent.wait()
                agent = None

                async def fell_back():
                    snap = await get(http, a.url, f"/api/meetings/{meeting_id}", staff)
                    return snap["conference"]["floor"] is None

                await until(fell_back, "the floor back to the host", 45)
                log = await get(http, a.url, f"/api/meetings/{meeting_id}/events?since=0", staff)
                returned = [e for e in log["events"] if e["type"] == "conference.floor_returned"]
                assert len(returned) == 1 and returned[0]["data"]["point"]["code"] == POINT, returned
                assert returned[0]["data"]["reason"] == "dropped"
                await until(lambda: _floor_off(http, b, staff, meeting_id), "B's board without the floor", 10)
        finally:
            if agent is not None:
                with contextlib.suppress(ProcessLookupError):
                    agent.kill()
                await agent.wait()
            a.stop()
            b.stop()


async def _floor_off(http, server, token, meeting_id) -> bool:
    board = await get(http, server.url, f"/api/meetings/{meeting_id}/conference", token)
    return not any(p["floor"] for p in board["points"])
