"""`phonghop bridge-agent --server`: a bridge point without a screen, signalled through the
coordination server's socket.io (docs/conference.md, docs/media.md).

A real server (in this test's loop, with its embedded media node on loopback) holds an open
conference whose host is the province hall; the hall's operator pairs the agent's machine with
a one-time code. The agent, as its own process, runs its connection test, joins as the point,
reports its seated count and asks for the floor. The live board shows the point tested and its
media connected (on air), the list of speakers has its request, and the agent's summary shows
the main feed (its own picture, the host's, through the node's encoder) received.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys

import pytest

from server.config import Settings
from server.store.migrate import upgrade
from tests.conftest import ROOT, wait_for
from tests.test_conference import board_state, staff, watcher

SMALL = "hi:320x180@300,lo:160x90@100"


@pytest.fixture
async def settings(tmp_path) -> Settings:
    """SQLite; the embedded media node offers loopback only, in small qualities (two cores)."""
    s = Settings(data_dir=tmp_path, media_layers=SMALL, media_ice_addresses=("127.0.0.1",))
    await asyncio.to_thread(upgrade, s)
    yield s


async def run_agent(*args: str) -> tuple[int, list[dict], str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server.cli", "bridge-agent", *args, cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(process.communicate(), 120)
    except TimeoutError:
        process.kill()
        out, err = await process.communicate()
        raise AssertionError(f"the agent did not finish: {out.decode()[-2000:]} {err.decode()[-2000:]}") from None
    lines = [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]
    return process.returncode, lines, err.decode()


async def test_the_agent_pairs_tests_joins_and_receives_the_main_feed(world):
    live = world.live
    if live.app.get("media") is None:
        pytest.skip("this server runs no media node")
    await staff(world, "conference.schedule")  # the host: the province hall, whose operator is `kythuat`
    await staff(world, "meeting.publish")
    await staff(world, "conference.open", who="chutri")
    console = await watcher(world, world.tokens["vanphong"])
    # The hall's operator pairs the agent's machine (as a tablet is paired).
    status, body = await live.request("POST", "/api/devices/pairing", token=world.tokens["vanphong"],
                                      json={"user_id": world.users["kythuat"]})
    assert status == 200, body

    code, lines, err = await run_agent(
        "--server", live.url, "--pair-code", body["code"], "--meeting", str(world.meeting_id),
        "--device-name", "Máy điểm cầu tỉnh", "--test-seconds", "2", "--duration", "4", "--report-every", "1",
        "--size", "320x180", "--fps", "10", "--ice-address", "127.0.0.1", "--seated", "42",
        "--request-floor", "Ý kiến của điểm cầu tỉnh")
    assert code == 0, (lines, err[-3000:])
    events = [x["event"] for x in lines]
    assert events[:3] == ["paired", "joined_meeting", "verdict"], events
    assert "joined" in events and "stats" in events and events[-1] == "summary", events
    verdict = lines[events.index("verdict")]
    assert verdict["source"] == "node" and verdict["packets_received"] > 0
    summary = lines[-1]
    # The main feed came down: the host's picture (the agent's own), encoded by the node.
    assert summary["main_feed_frames"] > 0 and summary["received"]["video_frames"] > 0
    assert summary["received"]["width"] in (320, 160)
    assert lines[events.index("reported")]["seated"] == 42
    assert lines[events.index("floor_requested")]["request_id"]

    # The board: the point was tested by the node and its media connected (on air, the
    # conference being open, when the test passed); its seated count is there.
    await live.app["conference"].flush()
    status, board = await live.request("GET", f"/api/meetings/{world.meeting_id}/conference",
                                       token=world.tokens["vanphong"])
    assert status == 200, board
    point = next(p for p in board["points"] if p["host"])
    assert point["test"]["source"] == "node" and point["test"]["packets_received"] > 0
    assert point["test"]["passed"] is verdict["passed"]
    assert point["seated"] == 42
    assert summary["point"]["test_passed"] is verdict["passed"]
    # Its media was up while it ran (the board's message to the secretariat said so).
    seen = [p["state"] for m in console.boards for p in m["points"] if p["unit_id"] == world.unit_id]
    assert ("on_air" if verdict["passed"] else "media_connected") in seen, seen
    # It has gone: dropped now.
    await board_state(world, console, world.unit_id, "dropped")
    status, snap = await live.request("GET", f"/api/meetings/{world.meeting_id}", token=world.tokens["vanphong"])
    assert any(s["topic"] == "Ý kiến của điểm cầu tỉnh" for s in snap["speakers"]), snap["speakers"]
    await console.disconnect()


async def test_the_agent_says_why_when_the_server_refuses(world):
    """A bad pairing code, and a token whose point is not in the conference: refused, clearly."""
    await staff(world, "conference.schedule")
    code, lines, err = await run_agent("--server", world.live.url, "--pair-code", "NOPE1234", "--meeting",
                                       str(world.meeting_id), "--duration", "1")
    assert code == 2 and "pairing refused" in err, (lines, err)
    # A delegate is no point's operator.
    await staff(world, "meeting.publish")
    code, lines, err = await run_agent("--server", world.live.url, f"--token={world.tokens['daibieu01']}",
                                       "--meeting", str(world.meeting_id), "--duration", "1",
                                       "--ice-address", "127.0.0.1")
    assert code == 2 and "forbidden" in err and "Traceback" not in err, (lines, err)
    code, _, err = await run_agent("--server", world.live.url, "--token", "x")
    assert code == 2 and "--meeting" in err


def _held(node, unit_id: int) -> dict:
    """What the node holds for a unit's point: its peers (role, state, senders) and the
    readers of the main feeds, from its own figures."""
    return {peer_id: peer for peer_id, peer in node.peers.items() if f"-u{unit_id}-" in peer_id}


async def test_an_agent_killed_mid_run_drops_its_point_and_a_new_one_takes_it_back(world):
    """The agent's process is killed (no goodbye): the point goes dropped. A new agent for the
    same point joins: the point is on air again, and the node holds exactly the new agent's
    peer: the old one's senders and receivers are gone (the feeds' readers say so)."""
    from tests.test_media_nodes import Proc, start_agent

    live = world.live
    node = live.app.get("media")
    if node is None:
        pytest.skip("this server runs no media node")
    await staff(world, "conference.schedule")
    await staff(world, "meeting.publish")
    await staff(world, "conference.open", who="chutri")
    console = await watcher(world, world.tokens["vanphong"])
    first: Proc | None = None
    second: Proc | None = None
    try:
        first = await start_agent(live, world.meeting_id, world.tokens["kythuat"], color="220,40,40", test=True)
        verdict = await first.wait(lambda x: x.get("event") == "verdict", timeout=90)
        assert verdict["passed"], verdict
        await first.wait(lambda x: x.get("event") == "stats" and x["received"]["video_frames"] > 0, timeout=60)
        await board_state(world, console, world.unit_id, "on_air")
        old = set(_held(node, world.unit_id))
        assert len(old) == 1, old

        await first.stop(signal.SIGKILL)
        await board_state(world, console, world.unit_id, "dropped")

        second = await start_agent(live, world.meeting_id, world.tokens["kythuat"], color="40,220,40")
        await second.wait(lambda x: x.get("event") == "stats" and x["received"]["video_frames"] > 0, timeout=60)
        await board_state(world, console, world.unit_id, "on_air")  # its test passed before: on air again
        held = _held(node, world.unit_id)
        assert len(held) == 1 and not set(held) & old, (held, old)
        (peer_id,) = held
        figures = await node.stats()
        assert set(figures["peers"]) == {peer_id}
        # One reader of each main feed (the new agent's two senders); none left of the old connection.
        readers = {name: feed["consumers"] for name, feed in figures["feeds"].items()}
        assert set(readers.values()) <= {0, 1} and sum(readers.values()) == 2, readers
        assert len(figures["peers"][peer_id]["out"]) == 2
        assert node.floor == peer_id  # the host's feed is the main feed again

        # The second leaves properly: nothing is held at all.
        assert await second.stop() == 0
        await wait_for(lambda: not _held(node, world.unit_id), timeout=30)
        figures = await node.stats()
        assert sum(feed["consumers"] for feed in figures["feeds"].values()) == 0, figures["feeds"]
    finally:
        for proc in (first, second):
            if proc is not None:
                await proc.stop()
        await console.disconnect()
