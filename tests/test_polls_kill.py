"""Kill the server mid-burst: every acknowledged ballot survives, none counts twice."""

from __future__ import annotations

import asyncio
import signal

import aiohttp
import socketio
from sqlalchemy import func, select

from server.config import Settings
from server.store.db import Database
from server.store.tables import NamedBallot, PollVoter
from tests.conftest import postgres_available, postgres_database, require, start_server

DELEGATES = [f"daibieu{n:02d}" for n in range(1, 41)]


async def _post(url: str, path: str, token: str | None = None, **body) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as http, http.post(url + path, json=body, headers=headers) as resp:
        answer = await resp.json()
        assert resp.status == 200, answer
        return answer


async def _login(url: str, username: str, password: str) -> str:
    return (await _post(url, "/api/auth/login", username=username, password=password))["token"]


async def _scenario(tmp_path, env: dict) -> None:
    server = start_server(tmp_path, env=env)
    try:
        url = server.url
        thuky = await _login(url, "thuky", server.password)
        async with aiohttp.ClientSession() as http, http.get(
            url + "/api/meetings", headers={"Authorization": f"Bearer {thuky}"}
        ) as resp:
            meetings = (await resp.json())["meetings"]
        meeting = next(m for m in meetings if m["status"] == "published")
        m = meeting["id"]
        await _post(url, "/api/commands/meeting.start", thuky, meeting_id=m)
        async with aiohttp.ClientSession() as http, http.get(
            f"{url}/api/meetings/{m}", headers={"Authorization": f"Bearer {thuky}"}
        ) as resp:
            snap = await resp.json()
        for p in snap["participants"]:
            await _post(url, "/api/commands/attendance.set", thuky, meeting_id=m, participant_id=p["id"],
                        status="present")
        poll_id = (await _post(url, "/api/commands/poll.create", thuky, meeting_id=m, kind="motion",
                               title="Biểu quyết thử tắt máy"))["result"]["poll_id"]
        await _post(url, "/api/commands/poll.open", thuky, meeting_id=m, poll_id=poll_id)
        tokens = await asyncio.gather(*[_login(url, u, server.password) for u in DELEGATES])
        clients = []
        for token in tokens:
            c = socketio.AsyncClient(reconnection=False)
            await c.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=10)
            clients.append(c)

        keys = {u: f"kill-{u}" for u in DELEGATES}
        acked: dict[str, dict] = {}

        async def vote(i: int, who: str) -> None:
            await asyncio.sleep(0.005 * i)  # a burst spread over 0.2 s, so the kill lands inside it
            message = {"name": "poll.vote", "key": keys[who],
                       "data": {"meeting_id": m, "poll_id": poll_id, "choice": "yes" if i % 3 else "no"}}
            try:
                ack = await clients[i].call("command", message, timeout=5)
            except Exception:
                return  # the server died before answering
            if ack.get("ok"):
                acked[who] = ack["result"]

        burst = [asyncio.create_task(vote(i, who)) for i, who in enumerate(DELEGATES)]
        while len(acked) < 5:
            await asyncio.sleep(0.001)
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(10)
        await asyncio.gather(*burst)
        for c in clients:
            await c.disconnect()
        assert 5 <= len(acked) <= len(DELEGATES)

        # Restart on the same data; the database holds every acknowledged ballot, once.
        server = start_server(tmp_path, env=env)
        url = server.url
        settings = Settings(data_dir=tmp_path, database_url=env.get("PHONGHOP_DATABASE_URL"))
        db = Database(settings)
        try:
            async with db.read() as s:
                voters = set((await s.scalars(select(PollVoter.participant_id).where(PollVoter.poll_id == poll_id))).all())
                ballots = await s.scalar(select(func.count()).select_from(NamedBallot).where(NamedBallot.poll_id == poll_id))
            assert len(voters) == ballots  # a voter mark and its ballot commit together
            assert len(voters) >= len(acked)  # acknowledged means durable

            # Every delegate retries with the same key: the acknowledged get their first answer
            # again, the others are counted now; nobody is counted twice.
            again = {}
            for who, token in zip(DELEGATES, tokens, strict=True):
                headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": keys[who]}
                async with aiohttp.ClientSession() as http, http.post(
                    f"{url}/api/meetings/{m}/polls/{poll_id}/vote", json={"choice": "yes"}, headers=headers
                ) as resp:
                    body = await resp.json()
                    assert resp.status == 200, body
                    again[who] = body["result"]
            assert all(again[who] == acked[who] for who in acked)
            async with db.read() as s:
                voters_after = await s.scalar(
                    select(func.count()).select_from(PollVoter).where(PollVoter.poll_id == poll_id))
                ballots_after = await s.scalar(
                    select(func.count()).select_from(NamedBallot).where(NamedBallot.poll_id == poll_id))
            assert voters_after == ballots_after == len(DELEGATES)
        finally:
            await db.close()
    finally:
        server.stop()


async def test_kill_mid_burst_sqlite(tmp_path):
    await _scenario(tmp_path, {})


async def test_kill_mid_burst_postgres(tmp_path):
    require(postgres_available(), "PostgreSQL is not reachable on 127.0.0.1:5432")
    async with postgres_database() as url:
        await _scenario(tmp_path, {"PHONGHOP_DATABASE_URL": url})

