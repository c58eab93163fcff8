"""Redis gone under two server processes (issue 8, "Faults survived").

Two `phonghop serve` processes share PostgreSQL and a Redis of this test alone (a private
`redis-server` on a free port: the machine's shared one is never touched). A tablet is
connected to each process. Redis is killed; then:

- /healthz of each process says Redis is failing, and neither process crashes;
- an event committed through a process still reaches the tablet connected to that process
  (fan-out within each process goes on);
- Redis comes back: fan-out across the processes resumes by itself, and each tablet, by the
  client rule of docs/protocol.md (a gap in `prev` asks `resync`), ends with every event of
  its audiences applied exactly once: nothing lost, nothing twice.
"""

from __future__ import annotations

import asyncio

from server.config import Settings
from tests.conftest import postgres_available, postgres_database, require, start_server
from tests.faults.helpers import Api, Tablet, check_log, logged_events, open_sessions, wait_until
from tests.faults.services import RedisServer, redis_binary, require_tool


async def _health(api: Api) -> dict:
    status, body = await api.call("GET", "/healthz")
    assert (status == 200) == (body["status"] == "ok"), (status, body)
    return body


async def test_redis_gone_fan_out_goes_on_in_each_process_and_resumes_across(tmp_path):
    require(postgres_available(), "PostgreSQL is not reachable on 127.0.0.1:5432")
    require_tool(redis_binary() is not None, "redis-server is not installed")
    redis = RedisServer()
    servers = []
    tablets: list[Tablet] = []
    try:
        redis.start()
        async with postgres_database() as database_url:
            env = {"PHONGHOP_DATABASE_URL": database_url, "PHONGHOP_REDIS_URL": redis.url}
            settings = Settings(data_dir=tmp_path, database_url=database_url)
            (tmp_path / "a").mkdir()
            (tmp_path / "b").mkdir()
            # One after the other: the first seeds the demo, the second finds it seeded.
            a = await asyncio.to_thread(start_server, tmp_path / "a", env=env)
            servers.append(a)
            b = await asyncio.to_thread(start_server, tmp_path / "b", env=env)
            servers.append(b)
            tokens = await open_sessions(settings, ["thuky", "daibieu01", "daibieu02"])
            async with Api(a.url, tokens["thuky"]) as via_a, Api(b.url, tokens["thuky"]) as via_b:
                meeting = next(x for x in (await via_a.ok("GET", "/api/meetings"))["meetings"]
                               if x["code"] == "DEMO-SAP-TOI")
                m = meeting["id"]
                on_a = Tablet(a.url, tokens["daibieu01"], m)
                on_b = Tablet(b.url, tokens["daibieu02"], m)
                tablets += [on_a, on_b]
                joined = {id(t): (await t.connect())["head"] for t in tablets}
                added = 0

                async def add(api: Api) -> int:
                    nonlocal added
                    added += 1
                    return (await api.ok("POST", f"/api/meetings/{m}/agenda", {"title": f"Nội dung thêm {added}"},
                                         key=f"redis-{added}"))["seq"]

                # Across the processes while Redis is up.
                seq = await add(via_b)
                await wait_until(lambda: seq in on_a.applied and seq in on_b.applied, 30, "fan-out across processes")
                assert (await _health(via_a))["redis"] == "ok"

                # 1. Redis gone.
                redis.kill()
                for api in (via_a, via_b):
                    body = await _health(api)
                    assert body["status"] == "degraded" and body["redis"].startswith("failing"), body
                    assert body["database"] == "ok", body
                # Fan-out within each process goes on: a commit through a process reaches its own tablet.
                for api, tablet in ((via_a, on_a), (via_b, on_b), (via_a, on_a)):
                    seq = await add(api)
                    await wait_until(lambda seq=seq, tablet=tablet: seq in tablet.applied, 30,
                                     "an event to reach the tablet of the process that committed it")
                # Sign-in goes on: its failure counts fall back to each process's own memory.
                status, body = await via_a.call("POST", "/api/auth/login", {"username": "chutri", "password": a.password})
                assert status == 200 and body.get("token"), (status, body)
                assert a.process.poll() is None and b.process.poll() is None

                # 2. Redis back (same address, empty): fan-out across the processes resumes.
                redis.start()

                async def healthy() -> bool:
                    return [(await _health(api))["status"] for api in (via_a, via_b)] == ["ok", "ok"]

                await wait_until(healthy, 60, "/healthz of both processes to say Redis is back")
                crossing: list[int] = []

                async def crossed() -> bool:
                    # python-socketio's listener subscribes again after a back-off of up to a minute:
                    # an event through B every second until one arrives live at A's tablet.
                    crossing.append(await add(via_b))
                    return any(seq in on_a.received for seq in crossing)

                await wait_until(crossed, 150, "an event through B to reach the tablet on A again", interval=1.0)
                seq = await add(via_a)
                await wait_until(lambda: seq in on_b.received, 60, "an event through A to reach the tablet on B")
                final = await add(via_b)
                await wait_until(lambda: final in on_a.applied and final in on_b.applied, 60,
                                 "both tablets to apply the last event")

                # 3. Nothing lost, nothing twice: each tablet applied exactly its audiences' events.
                log = await logged_events(settings, m)
                check_log(log, final)
                for tablet, username in ((on_a, "daibieu01"), (on_b, "daibieu02")):
                    me = (await via_a.ok("GET", "/api/auth/me", token=tokens[username]))["user"]
                    expected = [s for s, audience, _ in log
                                if s > joined[id(tablet)] and audience in ("meeting", f"user:{me['id']}")]
                    assert tablet.applied == expected, (username, tablet.applied, expected)
                assert on_a.resyncs >= 1  # A's tablet missed B's events while Redis was away, and caught up
                assert a.process.poll() is None and b.process.poll() is None
    finally:
        for tablet in tablets:
            await tablet.disconnect()
        for server in servers:
            server.stop()
        redis.close()
