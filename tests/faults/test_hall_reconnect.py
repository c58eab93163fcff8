"""1,000 tablets reconnecting at once (issue 8, "Faults survived").

A hall of 1,000 delegates' tablets (Node's socket.io-client, tests/faults/hall.cjs) reaches a
real server through a TCP relay. Every connection is dropped at once (the relay resets them
all and refuses new ones, as when the hall's access point restarts); the secretariat goes on
committing events meanwhile and while the tablets come back; each tablet reconnects by itself
and joins with `since` = its lowest head. What must hold, for every tablet: it applied every
event of its audiences since it first joined, in order, exactly once (lost 0, duplicates 0).
No timing is asserted: `bench/reconnect.py` measures how long the storm takes.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import subprocess
from pathlib import Path

from server.config import Settings
from server.store.migrate import upgrade
from tests.conftest import ROOT, require, start_server
from tests.faults.helpers import Api, Proxy, check_log, logged_events, wait_until

TABLETS = int(os.environ.get("PHONGHOP_TEST_HALL", "1000"))
CLIENT = ROOT / "clients" / "web" / "node_modules" / "socket.io-client"
HERE = Path(__file__).resolve().parent


async def seed_hall(settings: Settings, n: int) -> tuple[int, str, list[str], list[int], list[int]]:
    """A meeting in session with `n` voting delegates, each with a session (signing a thousand
    accounts in through argon2 would test the login): (meeting, staff token, tablet tokens,
    their user ids, agenda item ids)."""
    from server.auth.sessions import digest
    from server.store.db import Database
    from server.store.tables import AgendaItem, Meeting, Participant, Session, Unit, User, utcnow

    db = Database(settings)
    try:
        async with db.write() as s:
            province = Unit(code="HALL", name="Tỉnh Hội trường", level="Tỉnh")
            s.add(province)
            await s.flush()
            meeting = Meeting(title="Hội nghị toàn thể", unit_id=province.id, status="in_session", quorum="1/2")
            s.add(meeting)
            await s.flush()
            items = [AgendaItem(meeting_id=meeting.id, position=i, title=t)
                     for i, t in enumerate(("Khai mạc", "Báo cáo chính trị", "Thảo luận", "Bế mạc"))]
            staff = User(username="vanphong", full_name="Văn phòng", password_hash="x", roles=["secretariat"],
                         unit_id=province.id)
            delegates = [User(username=f"daibieu{i:04d}", full_name=f"Đại biểu {i:04d}", password_hash="x", roles=[],
                              unit_id=province.id) for i in range(n)]
            s.add_all([*items, staff, *delegates])
            await s.flush()
            s.add_all(Participant(meeting_id=meeting.id, user_id=u.id, full_name=u.full_name, role="delegate",
                                  voting=True, unit_id=province.id) for u in delegates)
            expires = utcnow().replace(year=utcnow().year + 1)
            tokens = {}
            for u in (staff, *delegates):
                tokens[u.id] = secrets.token_urlsafe(32)
                s.add(Session(token_hash=digest(tokens[u.id]), user_id=u.id, expires_at=expires))
            await s.flush()
            return (meeting.id, tokens[staff.id], [tokens[u.id] for u in delegates], [u.id for u in delegates],
                    [i.id for i in items])
    finally:
        await db.close()


class Hall:
    """The Node process and the JSON lines it prints."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[dict] = []
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while line := await self.process.stdout.readline():
            self.lines.append(json.loads(line))

    def send(self, order: str) -> None:
        self.process.stdin.write(order.encode() + b"\n")

    async def ask(self, order: str, key: str, timeout: float = 120) -> dict:
        seen = len(self.lines)
        self.send(order)
        await wait_until(lambda: any(key in x for x in self.lines[seen:]) or self.process.returncode is not None,
                         timeout, f"the hall to answer {order}")
        answer = next((x[key] for x in self.lines[seen:] if key in x), None)
        assert answer is not None, self.lines[-5:]
        return answer


async def test_a_thousand_tablets_reconnect_at_once_and_lose_nothing(tmp_path):
    require(shutil.which("node") is not None and CLIENT.is_dir(),
            "node and clients/web/node_modules (`./dev setup`, or `npm ci` in clients/web)")
    settings = Settings(data_dir=tmp_path)
    await asyncio.to_thread(upgrade, settings)
    meeting_id, staff_token, tokens, user_ids, items = await seed_hall(settings, TABLETS)
    server = await asyncio.to_thread(start_server, tmp_path, demo=False)
    proxy = Proxy(server.port)
    hall = None
    try:
        await proxy.start()
        spec = tmp_path / "hall.json"
        spec.write_text(json.dumps({"url": proxy.url, "meeting_id": meeting_id, "tokens": tokens, "client": str(CLIENT)}))
        process = await asyncio.create_subprocess_exec(
            "node", str(HERE / "hall.cjs"), str(spec), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            limit=2**26)
        hall = Hall(process)
        async with Api(server.url, staff_token) as staff:
            n = 0

            async def commit() -> int:
                nonlocal n
                n += 1
                if n % 3:
                    path, body = "/api/commands/agenda.set_current", {"meeting_id": meeting_id, "item_id": items[n % 4]}
                else:
                    path, body = f"/api/meetings/{meeting_id}/agenda", {"title": f"Nội dung phát sinh {n}"}
                return (await staff.ok("POST", path, body))["seq"]

            # 1. The hall switches on; events flow.
            await wait_until(lambda: any("ready" in x for x in hall.lines) or process.returncode is not None,
                             1200, "every tablet to join")
            assert any("ready" in x for x in hall.lines), hall.lines[-5:]
            for _ in range(3):
                seq = await commit()

            async def all_at(seq: int) -> bool:
                status = await hall.ask("status", "status")
                return status["online"] == TABLETS and status["lowest"] >= seq

            await wait_until(lambda: all_at(seq), 300, "every tablet to apply the first events", interval=1.0)
            connects = (await hall.ask("status", "status"))["connects"]

            # 2. Every connection dropped at once; the meeting goes on.
            await proxy.cut()
            for _ in range(4):
                await commit()

            async def all_gone() -> bool:
                return (await hall.ask("status", "status"))["online"] == 0

            await wait_until(all_gone, 120, "every tablet to notice it lost its connection", interval=0.5)

            # 3. Back: a thousand reconnect and resync while events keep coming.
            await proxy.restore()
            for _ in range(6):
                await commit()
                await asyncio.sleep(0.3)
            final = await commit()
            await wait_until(lambda: all_at(final), 600, "every tablet to reconnect and catch up", interval=1.0)
            status = await hall.ask("status", "status")
            assert status["connects"] >= connects + TABLETS  # each one did reconnect

        # 4. Per tablet: every event of its audiences since its first join, once, in order.
        log = await logged_events(settings, meeting_id)
        check_log(log, final)
        report = await hall.ask("report", "report")
        assert len(report) == TABLETS
        lost = duplicates = 0
        wrong = []
        for tablet, user_id in zip(report, user_ids, strict=True):
            expected = [seq for seq, audience, _ in log
                        if seq > tablet["first"] and audience in ("meeting", f"user:{user_id}")]
            applied = tablet["applied"]
            lost += len(set(expected) - set(applied))
            duplicates += len(applied) - len(set(applied))
            if applied != expected:
                wrong.append((user_id, tablet))
        assert (lost, duplicates) == (0, 0), wrong[:3]
        assert wrong == []
        assert server.process.poll() is None
    finally:
        if hall is not None and hall.process.returncode is None:
            hall.send("bye")
            try:
                await asyncio.wait_for(hall.process.wait(), 30)
            except TimeoutError:
                hall.process.kill()
                await hall.process.wait()
        await proxy.close()
        server.stop()
