"""PostgreSQL restarted under load (issue 8, "Faults survived").

The test runs its own PostgreSQL cluster (initdb on a free port; the machine's shared one is
never touched) and stops it at once (`pg_ctl -m immediate`, as in a crash) while the
secretariat adds agenda items over REST and delegates vote over socket.io, then starts it
again. What must hold:

- the server stays up, and while the database is away every command, read and resync is
  answered with the typed error `unavailable` (503 with Retry-After over REST), never a 500
  or a stack trace; /healthz says the database is failing;
- once PostgreSQL is back the server reconnects by itself, and the same commands sent again
  with the same idempotency keys succeed exactly once: every agenda item once, every
  delegate's ballot once, each key answering its first result on every later retry;
- the meeting's event log is gap-free, and a tablet connected throughout applied every
  event of its audiences exactly once.
"""

from __future__ import annotations

import asyncio
import os
import shutil

import socketio
from sqlalchemy import func, select

from server.config import Settings
from server.store.db import Database
from server.store.tables import NamedBallot, PollVoter
from tests.conftest import start_server
from tests.faults.helpers import (
    Api,
    Tablet,
    check_log,
    clean_error,
    logged_events,
    meeting_setup,
    open_sessions,
    wait_until,
)
from tests.faults.services import PostgresCluster, postgres_bin, require_tool

DELEGATES = [f"daibieu{n:02d}" for n in range(1, 41)]
BEFORE, LOADED, DURING = DELEGATES[:10], DELEGATES[10:30], DELEGATES[30:35]  # the rest vote after


async def _socket(url: str, token: str) -> socketio.AsyncClient:
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=30)
    return client


async def test_postgresql_restarted_under_load(tmp_path):
    require_tool(postgres_bin() is not None, "PostgreSQL's server binaries (initdb, pg_ctl) are not installed")
    require_tool(os.geteuid() != 0 or shutil.which("runuser") is not None, "runuser is missing (util-linux)")
    pg = await asyncio.to_thread(PostgresCluster)
    server = None
    sockets: list[socketio.AsyncClient] = []
    try:
        await asyncio.to_thread(pg.start)
        await asyncio.to_thread(pg.create_database)
        settings = Settings(data_dir=tmp_path, database_url=pg.url)
        server = await asyncio.to_thread(start_server, tmp_path, env={"PHONGHOP_DATABASE_URL": pg.url})
        async with Api(server.url) as api:
            api.token = await api.login("thuky", server.password)
            m, poll = await meeting_setup(api)
            tokens = await open_sessions(settings, [*DELEGATES, "thuky"])
            voters = {who: await _socket(server.url, tokens[who]) for who in DELEGATES}
            staff_socket = await _socket(server.url, tokens["thuky"])
            sockets += [*voters.values(), staff_socket]
            tablet = Tablet(server.url, tokens["daibieu01"], m)
            joined = await tablet.connect()
            sockets.append(tablet.client)
            watched_from = joined["head"]

            errors: list[tuple[str, object, object]] = []  # every refusal seen: (where, status, body)
            acks: dict[str, dict] = {}  # vote key -> the first accepted answer
            firsts: dict[str, dict] = {}  # agenda key -> the first 200 answer
            titles: dict[str, str] = {}

            async def vote(who: str) -> None:
                """One delegate's ballot, sent again with the same key until it is accepted."""
                key = f"pg-vote-{who}"
                message = {"name": "poll.vote", "key": key, "data": {"meeting_id": m, "poll_id": poll, "choice": "yes"}}
                while True:
                    ack = await voters[who].call("command", message, timeout=60)
                    if ack.get("ok"):
                        acks[key] = ack
                        return
                    errors.append(("vote", None, ack))
                    await asyncio.sleep(0.2)

            async def add_item(n: int) -> None:
                key, title = f"pg-agenda-{n}", f"Nội dung bổ sung số {n}"
                titles[key] = title
                while True:
                    status, body = await api.command("agenda.add", key, meeting_id=m, title=title)
                    if status == 200:
                        firsts[key] = body
                        return
                    errors.append(("rest", status, body))
                    await asyncio.sleep(0.2)

            # 1. Before: some ballots and items, all accepted at once.
            await asyncio.gather(*(vote(who) for who in BEFORE))
            for n in range(3):
                await add_item(n)
            assert errors == []

            # 2. Load: items one after the other and ballots spread out, through the outage.
            stop = asyncio.Event()

            async def items_until_stopped() -> None:
                n = 3
                while not stop.is_set():
                    await add_item(n)
                    n += 1
                    await asyncio.sleep(0.05)

            async def ballots_spread() -> None:
                for who in LOADED:
                    await vote(who)
                    await asyncio.sleep(0.15)

            load = [asyncio.create_task(items_until_stopped()), asyncio.create_task(ballots_spread())]
            await wait_until(lambda: len(firsts) >= 6 and len(acks) >= 13, 60, "the load to be under way")
            await asyncio.to_thread(pg.stop, "immediate")

            # 3. While PostgreSQL is away.
            async def health() -> tuple[int, dict]:
                return await api.call("GET", "/healthz")

            status, body = await health()
            assert status == 503 and body["status"] == "degraded" and body["database"].startswith("failing"), body
            status, body = await api.command("agenda.add", "pg-probe-rest", meeting_id=m, title="Nội dung thử khi mất CSDL")
            assert status == 503 and clean_error(body) and body["error"]["code"] == "unavailable", (status, body)
            status, body = await api.call("GET", f"/api/meetings/{m}")
            assert status == 503 and clean_error(body) and body["error"]["code"] == "unavailable", (status, body)
            set_current = {"name": "agenda.set_current", "key": "pg-probe-sio", "data": {"meeting_id": m, "item_id": None}}
            ack = await staff_socket.call("command", set_current, timeout=60)
            assert ack["ok"] is False and clean_error(ack) and ack["error"]["code"] == "unavailable", ack
            ack = await tablet.client.call("resync", {"meeting_id": m, "since": 0}, timeout=60)
            assert ack["ok"] is False and clean_error(ack) and ack["error"]["code"] == "unavailable", ack
            during = []
            for who in DURING:
                message = {"name": "poll.vote", "key": f"pg-vote-{who}",
                           "data": {"meeting_id": m, "poll_id": poll, "choice": "yes"}}
                during.append(await voters[who].call("command", message, timeout=60))
            assert all(a["ok"] is False and clean_error(a) and a["error"]["code"] == "unavailable" for a in during), during
            assert server.process.poll() is None

            # 4. PostgreSQL back: the server reconnects by itself.
            await asyncio.to_thread(pg.start)
            await wait_until(lambda: _healthy(api), 60, "/healthz to say the database is back")
            status, body = await api.command("agenda.add", "pg-probe-rest", meeting_id=m, title="Nội dung thử khi mất CSDL")
            assert status == 200, (status, body)
            firsts["pg-probe-rest"], titles["pg-probe-rest"] = body, "Nội dung thử khi mất CSDL"
            ack = await staff_socket.call("command", set_current, timeout=60)
            assert ack["ok"], ack
            await asyncio.gather(*(vote(who) for who in DURING))
            stop.set()
            await asyncio.gather(*load)
            await asyncio.gather(*(vote(who) for who in DELEGATES[35:]))
            assert server.process.poll() is None

            # Every refusal on the way was the typed, clean `unavailable`.
            assert errors, "no command met the outage: the test did not restart PostgreSQL under load"
            bad = [e for e in errors if not (clean_error(e[2]) and e[2]["error"]["code"] == "unavailable"
                                             and e[1] in (None, 503))]
            assert bad == []

            # 5. Exactly once. Each key answers its first result again and changes nothing.
            head = (await api.ok("GET", f"/api/meetings/{m}"))["head"]
            for key, first in firsts.items():
                status, body = await api.command("agenda.add", key, meeting_id=m, title=titles[key])
                assert (status, body) == (200, first), key
            for key, first in acks.items():
                who = key.removeprefix("pg-vote-")
                message = {"name": "poll.vote", "key": key, "data": {"meeting_id": m, "poll_id": poll, "choice": "no"}}
                assert await voters[who].call("command", message, timeout=60) == first, key
            snapshot = await api.ok("GET", f"/api/meetings/{m}")
            assert snapshot["head"] == head
            agenda_titles = [item["title"] for item in snapshot["agenda"]]
            for title in titles.values():
                assert agenda_titles.count(title) == 1, title
            assert len(acks) == len(DELEGATES)
            db = Database(settings)
            try:
                async with db.read() as s:
                    marks = await s.scalar(select(func.count()).select_from(PollVoter).where(PollVoter.poll_id == poll))
                    ballots = await s.scalar(
                        select(func.count()).select_from(NamedBallot).where(NamedBallot.poll_id == poll))
            finally:
                await db.close()
            assert marks == ballots == len(DELEGATES)

            # 6. The log is gap-free, and the tablet applied each of its events once.
            log = await logged_events(settings, m)
            check_log(log, head)
            me = (await api.ok("GET", "/api/auth/me", token=tokens["daibieu01"]))["user"]
            visible = {"meeting", f"user:{me['id']}"}
            expected = [seq for seq, audience, _ in log if seq > watched_from and audience in visible]
            await wait_until(lambda: tablet.applied[-1:] == expected[-1:], 30, "the tablet to apply the last event")
            assert tablet.applied == expected
    finally:
        for client in sockets:
            await client.disconnect()
        if server is not None:
            server.stop()
        await asyncio.to_thread(pg.close)


async def _healthy(api: Api) -> bool:
    status, body = await api.call("GET", "/healthz")
    return status == 200 and body.get("database") == "ok"
