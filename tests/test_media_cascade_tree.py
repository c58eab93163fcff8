"""The floor through a three-level media cascade (issue 5, docs/conference.md "Media nodes",
docs/media.md "The cascade").

The server (its embedded node is the central node) holds a tree like the demo's: a central
unit, two provinces, six communes under each. Two `phonghop media-node --server` processes
serve the provinces; twelve commune points and the host point (at the centre) run as bridge
agents (`media.agent.run`, in this process). Every point receives the host's picture; the
floor given to a commune of the second province reaches everyone (its node sends it up, the
central node takes that link as its main feed), then a commune of the first province (and the
second province's node stops sending up); the second province's node killed, its points go to
the central node and receive the floor's picture again there. Pictures are solid colours told
apart by `closest`.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import signal
from dataclasses import dataclass, field

import pytest

from media import agent
from media.sources import closest
from server.store.tables import Unit
from tests.media.conftest import PALETTE
from tests.test_conference import staff
from tests.test_media_nodes import (  # noqa: F401  (settings: the fixture, small qualities, heartbeats 0.5 s)
    add_centre,
    board_nodes,
    board_point,
    open_conference,
    settings,
    start_node,
    until,
)

COLOURS = {**PALETTE, "grey": (128, 128, 128)}
HOST, SPEAKER_B, SPEAKER_A, OTHERS = "red", "blue", "green", "grey"
PROVINCE_A, PROVINCE_B = "bac-ninh", "bac-giang"

_lines: contextvars.ContextVar[list[dict]] = contextvars.ContextVar("agent_lines")


@dataclass
class Agent:
    """A bridge agent run in this process; its JSON lines kept as dicts."""

    code: str
    lines: list[dict] = field(default_factory=list)
    task: asyncio.Task | None = None

    def seen(self, colour: str, *, after: int = 0, node: str | None = None) -> bool:
        """A stats line since `after` showing the main feed decoded, of that colour (on that node)."""
        for line in self.lines[after:]:
            received = line.get("received") or {}
            if (line.get("event") == "stats" and received.get("video_frames", 0) > 0 and received.get("color")
                    and closest(tuple(received["color"]), COLOURS) == colour
                    and (node is None or line.get("node") == node)):
                return True
        return False

    def last(self) -> dict | None:
        stats = [x for x in self.lines if x.get("event") == "stats"]
        return stats[-1] if stats else None


@pytest.fixture
async def agents(monkeypatch):
    """Start agents in this loop; each one's lines go to its own list; all stopped at the end."""
    monkeypatch.setattr(agent, "_out", lambda event, **fields: _lines.get().append({"event": event, **fields}))
    started: list[Agent] = []

    async def run(a: Agent, **kw) -> int:
        _lines.set(a.lines)
        return await agent.run(**kw)

    def start(live, meeting_id: int, code: str, token: str, colour: str) -> Agent:
        a = Agent(code)
        signalling = agent.ServerSignalling(live.url, token=token, meeting_id=meeting_id)
        a.task = asyncio.ensure_future(run(
            a, signalling=signalling, peer_id=code, duration=0, connection_test=False, layer="lo",
            report_every=0.5, color=COLOURS[colour], fps=10, size=(160, 90), ice_addresses=("127.0.0.1",)))
        started.append(a)
        return a

    yield start
    for a in started:
        a.task.cancel()
    await asyncio.gather(*(a.task for a in started), return_exceptions=True)


async def add_tree(world) -> tuple[list[str], list[str], int]:
    """The centre above the world's province (Bắc Ninh) and a second province (Bắc Giang), six
    communes under each: the communes' codes of each province, and the second province's id."""
    centre = await add_centre(world)
    names_a = ["Xã Tiên Du", "Phường Quế Võ", "Xã Lim", "Xã Phật Tích", "Xã Đại Đồng", "Xã Hoàn Sơn"]
    names_b = ["Phường Bắc Giang", "Xã Lục Nam", "Xã Yên Thế", "Xã Tân Yên", "Xã Lạng Giang", "Xã Hiệp Hòa"]
    codes_a = ["BN-TD", "BN-QV", *(f"BN-X{i}" for i in range(3, 7))]
    codes_b = [f"BG-X{i}" for i in range(1, 7)]
    async with world.live.app["db"].write() as db:
        province_b = Unit(code="BG", name="Tỉnh Bắc Giang", level="Tỉnh", parent_id=centre)
        db.add(province_b)
        await db.flush()
        for code, name in zip(codes_a[2:], names_a[2:], strict=True):
            db.add(Unit(code=code, name=name, level="Xã", parent_id=world.unit_id))
        for code, name in zip(codes_b, names_b, strict=True):
            db.add(Unit(code=code, name=name, level="Xã", parent_id=province_b.id))
    world.live.app["media_nodes"]._tree_at = 0.0  # the registry reads the new units now
    return codes_a, codes_b, province_b.id


async def test_the_floor_reaches_every_point_through_three_levels_and_survives_a_province_node(world, agents):
    live = world.live
    codes_a, codes_b, province_b = await add_tree(world)
    ops = await open_conference(world, host="TW", invite=codes_a + codes_b)
    registry = live.app["media_nodes"]
    central = live.app["media"]
    nodes = []
    try:
        nodes.append(await start_node(live, PROVINCE_A, world.unit_id))
        node_b = await start_node(live, PROVINCE_B, province_b)
        nodes.append(node_b)

        async def cascade() -> bool:
            return all(central.peers.get(n) is not None and central.peers[n].state == "connected"
                       for n in (PROVINCE_A, PROVINCE_B))

        await until(cascade, timeout=90, every=0.3)
        assert await registry.chain_to(PROVINCE_B) == ["central", PROVINCE_B]

        speaker_b, speaker_a = codes_b[3], codes_a[4]
        colour = {speaker_b: SPEAKER_B, speaker_a: SPEAKER_A}
        host = agents(live, world.meeting_id, "TW", ops["TW"]["token"], HOST)
        points = {code: agents(live, world.meeting_id, code, ops[code]["token"], colour.get(code, OTHERS))
                  for code in codes_a + codes_b}
        everyone = [host, *points.values()]

        # Each point on the node of its province, the host on the central node.
        async def homed():
            on = await board_nodes(world)
            wanted = {"TW": "central", **dict.fromkeys(codes_a, PROVINCE_A), **dict.fromkeys(codes_b, PROVINCE_B)}
            return on == wanted or None

        await until(homed)

        async def all_see(colour: str, marks: dict[str, int]) -> None:
            async def check():
                return not [a for a in everyone if not a.seen(colour, after=marks[a.code])] or None

            try:
                await until(check)
            except AssertionError:
                late = {a.code: (a.last() or {}).get("received") for a in everyone
                        if not a.seen(colour, after=marks[a.code])}
                raise AssertionError(f"not seeing {colour}: {late}") from None

        # The host's picture everywhere: at the centre, and relayed by both province nodes.
        await all_see(HOST, dict.fromkeys([a.code for a in everyone], 0))

        async def media_up(code: str):
            return (await board_point(world, code))["state"] in ("media_connected", "on_air") or None

        # The floor to a commune of province B (as the console gives it): everyone sees it.
        await until(lambda: media_up(speaker_b))
        marks = {a.code: len(a.lines) for a in everyone}
        conf = (await staff(world, "floor.grant", who="chutri", point=speaker_b))["conference"]
        assert conf["floor"]["code"] == speaker_b
        await all_see(SPEAKER_B, marks)
        port_b = registry.port_of(PROVINCE_B)
        assert central.floor == PROVINCE_B and (await port_b.stats())["uplink"] is not None

        # Then to a commune of province A: everyone sees it, and province B stops sending up.
        await until(lambda: media_up(speaker_a))
        marks = {a.code: len(a.lines) for a in everyone}
        conf = (await staff(world, "floor.grant", who="chutri", point=speaker_a))["conference"]
        assert conf["floor"]["code"] == speaker_a
        await all_see(SPEAKER_A, marks)
        assert central.floor == PROVINCE_A
        assert (await port_b.stats())["uplink"] is None

        # Province B's node killed: its points go to the central node and see the floor again there.
        marks = {a.code: len(a.lines) for a in everyone}
        await node_b.stop(signal.SIGKILL)

        async def rehomed():
            on = await board_nodes(world)
            return all(on[code] == "central" for code in codes_b) or None

        await until(rehomed)
        for code in codes_b:
            await until(lambda code=code: _seen_async(points[code], SPEAKER_A, marks[code], "central"))
        assert all(a.seen(SPEAKER_A, after=marks[a.code]) for a in everyone)
        assert (await board_nodes(world))["BN-TD"] == PROVINCE_A  # province A's points stay
    finally:
        for node in nodes:
            with contextlib.suppress(Exception):
                await node.stop()


async def _seen_async(a: Agent, colour: str, after: int, node: str) -> bool | None:
    return a.seen(colour, after=after, node=node) or None



def test_the_floor_grace_is_a_setting(monkeypatch):
    from datetime import timedelta

    from server import config
    from server.conference.board import Board

    monkeypatch.setenv("PHONGHOP_FLOOR_GRACE_S", "2.5")
    settings_ = config.from_env()
    assert settings_.floor_grace_s == 2.5
    assert Board({"settings": settings_}).floor_grace == timedelta(seconds=2.5)
    monkeypatch.setenv("PHONGHOP_FLOOR_GRACE_S", "-1")
    with pytest.raises(ValueError, match="PHONGHOP_FLOOR_GRACE_S is between 0 and 3600"):
        config.from_env()
    monkeypatch.delenv("PHONGHOP_FLOOR_GRACE_S")
    assert Board({"settings": config.from_env()}).floor_grace == timedelta(seconds=10)
