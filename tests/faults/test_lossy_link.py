"""A bridge point behind a link with 10 % loss and 300 ms delay (issue 8, "Faults survived").

The point's operator runs in a network namespace of its own whose only way to the server is a
link that loses 10 % of the packets and delays each by 300 ms, each way (tests/faults/
lossy_relay.py: netem's `delay 300ms loss 10%` in user space, between two TUN interfaces).
Through it the point (tests/faults/point_client.py, a socket.io client behaving as the bridge
page) joins the meeting, reports how many people sit there and enters its show of hands. The
answer to the show of hands is lost on the way back and the link then goes down altogether
while the secretariat goes on; the point sends the same figures again under the same key
until it is answered, and catches up when it is back. What must hold:

- the point joins, and its seated count and its show of hands reach the server;
- the show of hands is applied exactly once although it was sent several times;
- after reconnecting, the point has applied every event of its audiences exactly once.

(The media path on such a link, picture and sound, is tested with the media plane.)
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from server.config import Settings
from server.store.db import Database
from server.store.tables import Event
from server.store.tables import PointCount as PointCountRow
from tests.conftest import ROOT
from tests.faults.helpers import Api, logged_events, open_sessions, serve_on, wait_until
from tests.faults.services import require_tool

HERE = Path(__file__).resolve().parent
POINT = "BN-X-TIENDU"  # Xã Tiên Du: its operator in the demo is diemcau11
OPERATOR = "diemcau11"
HANDS = {"yes": 20, "no": 3, "abstain": 2}


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30)


class Lines:
    """The JSON lines a subprocess prints, gathered as they come."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self.items: list[dict] = []
        self.task = asyncio.create_task(self._read(stream))

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            try:
                self.items.append(json.loads(line))
            except ValueError:
                self.items.append({"text": line.decode(errors="replace").strip()})

    async def first(self, predicate, timeout: float, what: str) -> dict:
        found: list[dict] = []

        def seen() -> bool:
            found[:] = [item for item in self.items if predicate(item)]
            return bool(found)

        await wait_until(seen, timeout, what)
        return found[0]


async def test_a_bridge_point_on_a_lossy_slow_link_joins_reports_and_loses_nothing(tmp_path):
    require_tool(os.geteuid() == 0, "network namespaces need root")
    require_tool(shutil.which("ip") is not None, "ip (iproute2) is not installed")
    require_tool(os.path.exists("/dev/net/tun"), "/dev/net/tun is missing")
    tag = secrets.token_hex(3)
    namespace, server_side, point_side = f"phl-{tag}", f"phs{tag}", f"php{tag}"
    net = f"10.{200 + int(tag[:2], 16) % 50}.{int(tag[2:4], 16)}"
    server_ip, point_ip = f"{net}.1", f"{net}.2"
    relay = subprocess.Popen([sys.executable, str(HERE / "lossy_relay.py"), "--a", server_side, "--b", point_side,
                              "--delay", "0.3", "--loss", "0.1", "--seed", "8"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    server = point = None
    made_namespace = False
    try:
        assert relay.stdout.readline().strip() == "ready"
        ip("netns", "add", namespace)
        made_namespace = True
        ip("link", "set", point_side, "netns", namespace)
        ip("addr", "add", server_ip, "peer", point_ip, "dev", server_side)
        ip("link", "set", server_side, "up")
        ip("-n", namespace, "addr", "add", point_ip, "peer", server_ip, "dev", point_side)
        ip("-n", namespace, "link", "set", point_side, "up")
        ip("-n", namespace, "link", "set", "lo", "up")

        def link(mode: str) -> None:
            relay.stdin.write(mode + "\n")
            relay.stdin.flush()

        server = await asyncio.to_thread(serve_on, tmp_path, server_ip)
        settings = Settings(data_dir=tmp_path)
        async with Api(server.url) as staff:  # the secretariat, in the hall: not through the link
            staff.token = await staff.login("thuky", server.password)
            meeting = next(x for x in (await staff.ok("GET", "/api/meetings"))["meetings"] if x["code"] == "DEMO-SAP-TOI")
            m = meeting["id"]
            await staff.ok("POST", "/api/commands/meeting.start", {"meeting_id": m})
            token = (await open_sessions(settings, [OPERATOR]))[OPERATOR]
            operator_id = (await staff.ok("GET", "/api/auth/me", token=token))["user"]["id"]

            point = await asyncio.create_subprocess_exec(
                "ip", "netns", "exec", namespace, sys.executable, str(HERE / "point_client.py"),
                json.dumps({"url": server.url, "token": token, "meeting_id": m}),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT)
            said = Lines(point.stdout)

            def order(**fields) -> None:
                point.stdin.write((json.dumps(fields) + "\n").encode())

            # 1. The point joins through the link.
            joined = await said.first(lambda x: "joined" in x, 120, "the point to join through the lossy link")
            first_head = joined["joined"]

            # 2. How many people sit there.
            order(do="send", name="attendance.point_count", key="tiendu-seated-1",
                  data={"meeting_id": m, "point": POINT, "seated": 25})
            ack = await said.first(lambda x: x.get("key") == "tiendu-seated-1" and "ack" in x, 120, "the seated count's answer")
            assert ack["answer"]["ok"], ack
            snapshot = await staff.ok("GET", f"/api/meetings/{m}")
            assert snapshot["quorum"]["by_point"][POINT]["seated"] == 25

            # 3. A motion opens; the point's figures go, and the answer is lost on the way back.
            poll = (await staff.ok("POST", "/api/commands/poll.create",
                                   {"meeting_id": m, "kind": "motion", "title": "Thông qua Nghị quyết"}))["result"]["poll_id"]
            opened = await staff.ok("POST", "/api/commands/poll.open", {"meeting_id": m, "poll_id": poll})
            assert opened["result"]["poll"]["points_present"][POINT] == 25
            link("cut-return")
            order(do="send", name="poll.hands", key="tiendu-hands-1",
                  data={"meeting_id": m, "poll_id": poll, "point": POINT, "counts": HANDS})

            async def hands_stored() -> bool:
                polls = (await staff.ok("GET", f"/api/meetings/{m}"))["polls"]
                return (next(p for p in polls if p["id"] == poll).get("point_counts") or {}).get(POINT) == HANDS

            await wait_until(hands_stored, 60, "the show of hands to reach the server")
            # 4. The link goes down altogether while the meeting goes on.
            link("down")
            missed = []
            for title in ("Ý kiến của điểm cầu xã Tiên Du", "Tổng hợp ý kiến các điểm cầu"):
                missed.append((await staff.ok("POST", f"/api/meetings/{m}/agenda", {"title": title}))["seq"])
            item = (await staff.ok("GET", f"/api/meetings/{m}"))["agenda"][-1]["id"]
            await staff.ok("POST", "/api/commands/agenda.set_current", {"meeting_id": m, "item_id": item})
            await said.first(lambda x: "disconnected" in x, 120, "the point to notice the link is gone")
            assert not any(x.get("key") == "tiendu-hands-1" and "ack" in x for x in said.items)
            link("up")

            # 5. Back: the figures are answered (their first result), the point catches up.
            ack = await said.first(lambda x: x.get("key") == "tiendu-hands-1" and "ack" in x, 180,
                                   "the show of hands to be answered after the link is back")
            assert ack["answer"]["ok"], ack
            assert ack["attempts"] >= 2, ack  # sent more than once...
            final = (await staff.ok("POST", f"/api/meetings/{m}/agenda", {"title": "Bế mạc"}))["seq"]

            async def caught_up() -> bool:
                order(do="report")
                await asyncio.sleep(0.5)
                reports = [x["report"] for x in said.items if "report" in x]
                return bool(reports) and final in reports[-1]["applied"]

            await wait_until(caught_up, 120, "the point to apply the last event", interval=1.0)
            report = [x["report"] for x in said.items if "report" in x][-1]
            order(do="quit")

        # ...and applied once: one row of figures, one poll.hands for everyone after the opening.
        db = Database(settings)
        try:
            async with db.read() as s:
                rows = (await s.scalars(select(PointCountRow).where(PointCountRow.poll_id == poll))).all()
                updates = (await s.scalars(select(Event.seq).where(
                    Event.meeting_id == m, Event.type.startswith("poll."), Event.audience == "meeting",
                    Event.seq > opened["seq"]))).all()
        finally:
            await db.close()
        assert [(r.point, r.counts) for r in rows] == [(POINT, HANDS)]
        assert list(updates) == [ack["answer"]["seq"]]

        # Nothing lost, nothing twice: every event of the point's audiences since it joined.
        log = await logged_events(settings, m)
        expected = [seq for seq, audience, _ in log if seq > first_head and audience in ("meeting", f"user:{operator_id}")]
        assert set(missed) <= set(expected)
        assert report["applied"] == expected
        assert report["connects"] >= 2  # it did reconnect
    finally:
        if point is not None and point.returncode is None:
            point.kill()
            await point.wait()
        if server is not None:
            server.stop()
        relay.kill()
        relay.wait(10)
        if made_namespace:
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True, timeout=30)
