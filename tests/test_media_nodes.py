"""Media nodes across the tree (docs/conference.md, "Media nodes"): an external
`phonghop media-node --server URL --serves UNIT` registers itself, the server assigns the
points under its unit to it and makes it a child of the central (embedded) node; killed, it
misses its heartbeats and its points are re-homed to the central node, as the board shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys

import pytest

from server.config import Settings
from server.store.migrate import upgrade
from tests.conftest import ROOT, free_port, wait_for
from tests.test_conference import add_operators, staff

SECRET = "bi-mat-cua-cac-nut"
SMALL = "hi:320x180@300,lo:160x90@100"


@pytest.fixture
async def settings(tmp_path) -> Settings:
    # Heartbeats twice a second (PHONGHOP_MEDIA_HEARTBEAT_S): a dead node is noticed within 1.5 s.
    s = Settings(data_dir=tmp_path, media_layers=SMALL, media_ice_addresses=("127.0.0.1",), media_secret=SECRET,
                 media_heartbeat_s=0.5, media_heartbeat_missed=3)
    await asyncio.to_thread(upgrade, s)
    yield s


async def board_nodes(world) -> dict[str, str | None]:
    await world.live.app["conference"].flush()
    status, board = await world.live.request("GET", f"/api/meetings/{world.meeting_id}/conference",
                                             token=world.tokens["vanphong"])
    assert status == 200, board
    return {p["code"]: p["node"] for p in board["points"]}


async def test_a_province_node_serves_its_points_and_they_go_back_to_the_centre_when_it_dies(world):
    live = world.live
    if live.app.get("media") is None:
        pytest.skip("this server runs no media node")
    registry = live.app["media_nodes"]
    registry.every = 0.5  # heartbeats twice a second: a dead node is noticed within 1.5 s
    ops = await add_operators(world, ["BN-TD"])
    await staff(world, "conference.schedule")
    await staff(world, "conference.invite", unit_ids=[ops["BN-TD"]["unit_id"]])
    await staff(world, "meeting.publish")
    await live.app["conference"].get(world.meeting_id)
    await wait_for(lambda: True)
    assert set((await board_nodes(world)).values()) <= {"central", None}

    # Refused without the media secret.
    status, _ = await live.request("POST", "/media-nodes/heartbeat", json={"node_id": "x", "url": "http://x"})
    assert status == 401

    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server.cli", "media-node", "--server", live.url, "--serves", str(world.unit_id),
        "--node-id", "bac-ninh", "--listen", f"127.0.0.1:{port}", "--secret", SECRET, "--ice-address", "127.0.0.1",
        "--layers", SMALL, cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        ready = json.loads(await asyncio.wait_for(process.stdout.readline(), 60))
        assert ready["event"] == "ready" and ready["serves"] == world.unit_id
        # Registered: the province's points (the hall and the commune) are its; it hangs below the centre.
        await wait_for(lambda: "bac-ninh" in registry.nodes, timeout=30)
        nodes = {}

        async def assigned():
            nodes.update(await board_nodes(world))
            return nodes.get("BN-TD") == "bac-ninh" and nodes.get("BN") == "bac-ninh"

        for _ in range(300):
            if await assigned():
                break
            await asyncio.sleep(0.1)
        assert nodes == {"BN": "bac-ninh", "BN-TD": "bac-ninh"}, nodes
        status, listing = await live.request("GET", "/media-nodes", headers={"Authorization": f"Bearer {SECRET}"})
        assert status == 200
        assert {n["node_id"]: n["parent"] for n in listing["nodes"]} == {"central": None, "bac-ninh": "central"}
        # It became a child of the central node itself (the heartbeat's answer named its parent).
        await wait_for(lambda: live.app["media"].peers.get("bac-ninh") is not None, timeout=30)

        # Killed: its heartbeats stop, its points go back to the central node.
        process.send_signal(signal.SIGKILL)
        await process.wait()
        for _ in range(300):
            nodes = await board_nodes(world)
            if nodes.get("BN-TD") == "central":
                break
            await asyncio.sleep(0.1)
        assert nodes == {"BN": "central", "BN-TD": "central"}, nodes
        status, listing = await live.request("GET", "/media-nodes", headers={"Authorization": f"Bearer {SECRET}"})
        assert {n["node_id"]: n["alive"] for n in listing["nodes"]} == {"central": True, "bac-ninh": False}
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


# ---------------------------------------------------------------- real processes


class Proc:
    """A `phonghop` subprocess whose JSON lines are collected as they come (its pipe never fills)."""

    def __init__(self, process: asyncio.subprocess.Process, name: str) -> None:
        self.process = process
        self.name = name
        self.lines: list[dict] = []
        self.text: list[str] = []
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def start(cls, name: str, *args: str) -> Proc:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "server.cli", *args, cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        return cls(process, name)

    async def _read(self) -> None:
        while line := await self.process.stdout.readline():
            text = line.decode(errors="replace").rstrip()
            self.text.append(text)
            if text.startswith("{"):
                with contextlib.suppress(ValueError):
                    self.lines.append(json.loads(text))

    def events(self, name: str) -> list[dict]:
        return [x for x in self.lines if x.get("event") == name]

    async def wait(self, predicate, timeout: float = 60) -> dict:
        """The first JSON line (from the start) for which `predicate` holds."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for line in self.lines:
                if predicate(line):
                    return line
            if self.process.returncode is not None and self._reader.done():
                raise AssertionError(f"{self.name} ended ({self.process.returncode}): {self.tail()}")
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{self.name}: timed out; it said: {self.tail()}")
            await asyncio.sleep(0.05)

    def tail(self, n: int = 40) -> str:
        return "\n".join(self.text[-n:])

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.returncode is None:
            self.process.send_signal(sig)
        try:
            await asyncio.wait_for(self.process.wait(), 30)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._reader, 5)
        return self.process.returncode


async def start_node(live, node_id: str, serves: int) -> Proc:
    """`phonghop media-node --server` on a loopback port, serving the unit's subtree."""
    node = await Proc.start(
        f"node {node_id}", "media-node", "--server", live.url, "--serves", str(serves), "--node-id", node_id,
        "--listen", f"127.0.0.1:{free_port()}", "--secret", SECRET, "--ice-address", "127.0.0.1", "--layers", SMALL)
    await node.wait(lambda x: x.get("event") == "ready")
    return node


async def start_agent(live, meeting_id: int, token: str, *, color: str, test: bool = False,
                      duration: float = 0) -> Proc:
    """`phonghop bridge-agent --server` as the point of the token's operator, until stopped."""
    args = ["bridge-agent", "--server", live.url, f"--token={token}", "--meeting", str(meeting_id),
            "--duration", str(duration), "--report-every", "0.5", "--size", "160x90", "--fps", "10",
            "--color", color, "--ice-address", "127.0.0.1"]
    args += ["--test-seconds", "2"] if test else ["--no-connection-test"]
    return await Proc.start(f"agent {color}", *args)


def near(color, wanted, within: int = 40) -> bool:
    return color is not None and all(abs(a - b) <= within for a, b in zip(color, wanted, strict=True))


async def node_stats(port) -> dict:
    return await port.stats()


# ---------------------------------------------------------------- registration rules


async def beat(live, body: dict) -> tuple[int, dict]:
    return await live.request("POST", "/media-nodes/heartbeat", json=body,
                              headers={"Authorization": f"Bearer {SECRET}"})


async def test_one_node_id_one_url_while_it_lives(world):
    live = world.live
    registry = live.app["media_nodes"]
    assert (registry.every, registry.missed) == (0.5, 3)  # from the settings
    first = {"node_id": "bac-ninh", "url": "http://127.0.0.1:9001", "serves": world.unit_id}
    status, body = await beat(live, first)
    assert status == 200 and body["every"] == 0.5 and body["parent"]["node_id"] == "central", body
    # Another process under the same id, elsewhere: refused while the first beats.
    status, body = await beat(live, {**first, "url": "http://127.0.0.1:9002"})
    assert status == 409 and body["error"]["code"] == "conflict", body
    assert body["error"]["details"]["reason"] == "node_id_taken"
    assert "http://127.0.0.1:9001" in body["error"]["message"]
    assert registry.nodes["bac-ninh"].url == "http://127.0.0.1:9001"
    # The first one again: fine (its own heartbeat).
    assert (await beat(live, first))[0] == 200
    # Malformed figures: a clear 422, the node's registration unchanged.
    status, body = await beat(live, {**first, "peers": {"p1": {"state": "connected", "link": {"loss": 3}}}})
    assert status == 422 and "p1" in body["error"]["message"], body
    # Once the first has missed its heartbeats (dead), the id may be taken from elsewhere.
    await wait_for(lambda: not registry.alive("bac-ninh"), timeout=10)
    status, body = await beat(live, {**first, "url": "http://127.0.0.1:9002"})
    assert status == 200, body
    assert registry.nodes["bac-ninh"].url == "http://127.0.0.1:9002"


def test_heartbeat_settings_come_from_the_environment(monkeypatch):
    from server import config

    monkeypatch.setenv("PHONGHOP_MEDIA_HEARTBEAT_S", "1.5")
    monkeypatch.setenv("PHONGHOP_MEDIA_HEARTBEAT_MISSED", "4")
    s = config.from_env()
    assert (s.media_heartbeat_s, s.media_heartbeat_missed) == (1.5, 4)
    monkeypatch.setenv("PHONGHOP_MEDIA_HEARTBEAT_MISSED", "0")
    with pytest.raises(ValueError, match="PHONGHOP_MEDIA_HEARTBEAT_MISSED is between 1 and 100"):
        config.from_env()
    monkeypatch.setenv("PHONGHOP_MEDIA_HEARTBEAT_MISSED", "3")
    monkeypatch.setenv("PHONGHOP_MEDIA_HEARTBEAT_S", "often")
    with pytest.raises(ValueError, match="PHONGHOP_MEDIA_HEARTBEAT_S is a number"):
        config.from_env()


def test_the_main_feed_s_sound_packet_comes_from_the_environment(monkeypatch):
    from media.service import node_settings
    from server import config

    assert node_settings(config.from_env()).audio_packet_ms == 60
    monkeypatch.setenv("PHONGHOP_MEDIA_AUDIO_PACKET_MS", "20")
    assert node_settings(config.from_env()).audio_packet_ms == 20
    monkeypatch.setenv("PHONGHOP_MEDIA_AUDIO_PACKET_MS", "30")
    with pytest.raises(ValueError, match="PHONGHOP_MEDIA_AUDIO_PACKET_MS is 20, 40 or 60"):
        config.from_env()


# ---------------------------------------------------------------- real media through external nodes

HOST_COLOR = (220, 40, 40)  # the host's picture: red; the communes send blue
COMMUNE_COLOR = "40,40,220"


async def open_conference(world, *, host: str | None = None, invite: list[str]) -> dict[str, dict]:
    """An open conference; operators for `invite` (and a non-default host), invited."""
    codes = list(invite) + ([host] if host else [])
    ops = await add_operators(world, codes)
    await staff(world, "conference.schedule", **({"host_unit_id": ops[host]["unit_id"]} if host else {}))
    await staff(world, "conference.invite", unit_ids=[ops[c]["unit_id"] for c in invite])
    await staff(world, "meeting.publish")
    await staff(world, "conference.open", who="chutri")
    return ops


async def board_point(world, code: str) -> dict:
    await world.live.app["conference"].flush()
    status, board = await world.live.request("GET", f"/api/meetings/{world.meeting_id}/conference",
                                             token=world.tokens["vanphong"])
    assert status == 200, board
    return next(p for p in board["points"] if p["code"] == code)


async def until(check, timeout: float = 60, every: float = 0.2):
    """Poll an async check until it gives something true; its last answer on failure."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        answer = await check()
        if answer:
            return answer
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out; last: {answer!r}")
        await asyncio.sleep(every)


def main_feed_here(line: dict, color=HOST_COLOR) -> bool:
    """A stats line showing the host's picture decoded by the agent on its current connection."""
    received = line.get("received") or {}
    return line.get("event") == "stats" and received.get("video_frames", 0) > 0 and near(received.get("color"), color)


async def test_the_host_feed_reaches_a_commune_through_an_external_node_and_its_figures_reach_the_board(world):
    """The host's picture, encoded by the central (embedded) node, relayed by a separate
    `phonghop media-node` process to the commune's agent, decoded there; the node's link
    figures of the commune come back in its heartbeats to the board and the link history."""
    live = world.live
    ops = await open_conference(world, invite=["BN-TD"])
    host_token = world.tokens["kythuat"]  # the province hall's operator: the host
    node = host = commune = None
    try:
        node = await start_node(live, "tien-du", ops["BN-TD"]["unit_id"])
        registry = live.app["media_nodes"]
        await wait_for(lambda: live.app["media"].peers.get("tien-du") is not None
                       and live.app["media"].peers["tien-du"].state == "connected", timeout=60)
        assert await registry.node_for(ops["BN-TD"]["unit_id"]) == "tien-du"
        host = await start_agent(live, world.meeting_id, host_token, color="220,40,40")
        await host.wait(lambda x: x.get("event") == "joined", timeout=60)
        assert host.events("joined")[0]["node"] == "central"
        await wait_for(lambda: live.app["media"].floor is not None, timeout=30)  # the host's feed is the main feed

        commune = await start_agent(live, world.meeting_id, ops["BN-TD"]["token"], color=COMMUNE_COLOR, test=True)
        verdict = await commune.wait(lambda x: x.get("event") == "verdict", timeout=90)
        assert verdict["source"] == "node" and verdict["packets_received"] > 0, verdict  # measured by its node
        joined = await commune.wait(lambda x: x.get("event") == "joined", timeout=60)
        assert joined["node"] == "tien-du"
        line = await commune.wait(main_feed_here, timeout=60)
        assert line["received"]["width"] in (320, 160), line

        # The central node holds no peer of the commune: the external node does.
        unit = ops["BN-TD"]["unit_id"]
        assert not [p for p in live.app["media"].peers if f"-u{unit}-" in p]
        tien_du = registry.port_of("tien-du")
        figures = await tien_du.stats()
        theirs = [p for p, f in figures["peers"].items() if f"-u{unit}-p" in p and f["state"] == "connected"]
        assert len(theirs) == 1, figures["peers"].keys()

        # The board: the commune on air on its node, with the figures that node measured.
        async def measured():
            p = await board_point(world, "BN-TD")
            ok = (p["state"] == "on_air" and p["node"] == "tien-du" and p["link"] is not None
                  and (p["bitrate_kbps"] or 0) > 0 and p["link_at"] is not None)
            return p if ok else None

        point = await until(measured)
        assert 0 <= point["loss"] <= 1 and (point["rtt_ms"] is None or point["rtt_ms"] >= 0), point
        # ...and the link history keeps them (a 5 s sample closes, then is written).
        async def history():
            await live.app["conference"].flush()
            status, body = await live.request(
                "GET", f"/api/meetings/{world.meeting_id}/conference/points/{unit}/links", token=world.tokens["vanphong"])
            assert status == 200, body
            return [s for s in body["samples"] if (s["bitrate_kbps"] or 0) > 0]

        samples = await until(history, timeout=30, every=0.5)
        assert samples[0]["quality"] in ("normal", "degraded", "critical")

        # The agent stops: the node closes its peer, its heartbeat says so, the media is down.
        assert await commune.stop() == 0
        summary = commune.events("summary")[-1]
        assert summary["main_feed_frames"] > 0 and summary["node"] == "tien-du"

        async def released():
            figures = await tien_du.stats()
            return not [p for p in figures["peers"] if f"-u{unit}-" in p]

        await until(released, timeout=30)
        await until(lambda: _state_is(world, "BN-TD", "dropped"), timeout=30)
    finally:
        for proc in (commune, host, node):
            if proc is not None:
                await proc.stop()


async def _state_is(world, code: str, state: str) -> bool:
    return (await board_point(world, code))["state"] == state


async def add_centre(world) -> int:
    """A unit above the province (the centre), so a point can be served by neither province node."""
    from sqlalchemy import update

    from server.store.tables import Unit

    async with world.live.app["db"].write() as db:
        centre = Unit(code="TW", name="Trung ương", level="Trung ương")
        db.add(centre)
        await db.flush()
        await db.execute(update(Unit).where(Unit.id == world.unit_id).values(parent_id=centre.id))
        return centre.id


async def test_the_agent_follows_its_point_to_another_node_when_its_node_dies(world):
    """Centre (embedded) → province node `bac-ninh` → commune node `tien-du` → the commune's
    agent. `tien-du` is killed: the server re-homes the commune to `bac-ninh`, the agent
    hears it, asks which node serves it now, offers there and gets the host's feed again
    (frames decoded on the new connection)."""
    live = world.live
    await add_centre(world)
    ops = await open_conference(world, host="TW", invite=["BN-TD"])
    unit = ops["BN-TD"]["unit_id"]
    registry = live.app["media_nodes"]
    province = commune_node = host = agent = None
    try:
        province = await start_node(live, "bac-ninh", world.unit_id)
        commune_node = await start_node(live, "tien-du", unit)

        async def cascade():
            status, listing = await live.request("GET", "/media-nodes", headers={"Authorization": f"Bearer {SECRET}"})
            parents = {n["node_id"]: n["parent"] for n in listing["nodes"]}
            if parents != {"central": None, "bac-ninh": "central", "tien-du": "bac-ninh"}:
                return None
            below = (await registry.port_of("bac-ninh").stats())["peers"].get("tien-du") or {}
            above = live.app["media"].peers.get("bac-ninh")
            return below.get("state") == "connected" and above is not None and above.state == "connected"

        await until(cascade, timeout=90, every=0.3)
        host = await start_agent(live, world.meeting_id, ops["TW"]["token"], color="220,40,40")
        assert (await host.wait(lambda x: x.get("event") == "joined", timeout=60))["node"] == "central"
        await wait_for(lambda: live.app["media"].floor is not None, timeout=30)

        agent = await start_agent(live, world.meeting_id, ops["BN-TD"]["token"], color=COMMUNE_COLOR)
        assert (await agent.wait(lambda x: x.get("event") == "joined", timeout=60))["node"] == "tien-du"
        await agent.wait(lambda x: main_feed_here(x) and x.get("node") == "tien-du", timeout=60)

        await commune_node.stop(signal.SIGKILL)
        changed = await agent.wait(lambda x: x.get("event") == "node_changed", timeout=60)
        assert changed == {"event": "node_changed", "old": "tien-du", "new": "bac-ninh"}
        rejoined = await agent.wait(lambda x: x.get("event") == "rejoined", timeout=60)
        assert rejoined["node"] == "bac-ninh"
        # Frames of the host's picture on the new connection (its counters start again at it).
        after = agent.lines.index(rejoined)
        await agent.wait(lambda x: agent.lines.index(x) > after and main_feed_here(x) and x.get("node") == "bac-ninh",
                         timeout=60)
        # Its media is up again on the board (untested, so connected rather than on air), on its new node.
        point = await until(lambda: _point_if(world, "BN-TD", node="bac-ninh", state="media_connected"), timeout=30)
        assert point["link"] is not None

        assert await agent.stop() == 0
        summary = agent.events("summary")[-1]
        assert summary["media_reconnects"] == 1 and summary["main_feed_frames_here"] > 0
        assert summary["main_feed_frames"] > summary["main_feed_frames_here"]  # frames from both nodes
    finally:
        for proc in (agent, host, commune_node, province):
            if proc is not None:
                await proc.stop()


async def _point_if(world, code: str, **wanted) -> dict | None:
    p = await board_point(world, code)
    return p if all(p.get(k) == v for k, v in wanted.items()) else None
