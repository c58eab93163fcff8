"""Floor control: the main feed moves from one point to another, receivers untouched."""

from __future__ import annotations

import pytest

from media.node import MediaNode
from media.sources import closest
from server.domain.errors import DomainError, NotFound
from tests.media.conftest import (
    BLUE,
    PALETTE,
    RED,
    connected,
    node_settings,
    receiver_point,
    running,
    source_point,
)


def colour(point) -> str | None:
    return closest(point.received.color, PALETTE) if point.received.color else None


async def test_giving_the_floor_switches_every_receiver_without_renegotiation():
    node = MediaNode(node_settings())
    a, b = source_point("A", RED), source_point("B", BLUE)
    receivers = [receiver_point("R1", layers=["hi"]), receiver_point("R2", layers=["lo"])]
    async with running(node), connected(node, a, b, *receivers):
        await node.set_floor("A")
        for r in receivers:
            await r.wait_until(lambda r=r: colour(r) == "red")
        descriptions = [r.pc.remoteDescription.sdp for r in receivers]
        states = [r.pc.signalingState for r in receivers]
        counts = [r.received.video_frames for r in receivers]

        await node.set_floor("B")
        for r in receivers:
            await r.wait_until(lambda r=r: colour(r) == "blue")
        # Back and forth: the chair gives the floor again.
        await node.set_floor("A")
        for r in receivers:
            await r.wait_until(lambda r=r: colour(r) == "red")

        assert [r.pc.remoteDescription.sdp for r in receivers] == descriptions
        assert [r.pc.signalingState for r in receivers] == states == ["stable", "stable"]
        assert all(r.received.video_frames > c for r, c in zip(receivers, counts, strict=True))
        figures = node.program.as_dict()
    assert figures["switches"] == 3
    assert figures["first_frame_after_switch_ms"] is not None
    assert node.main_video["hi"].pacer.requests["floor"] >= 3


async def test_the_floor_follows_a_point_that_leaves():
    node = MediaNode(node_settings())
    a, r = source_point("A", RED), receiver_point("R")
    async with running(node), connected(node, a, r):
        await node.set_floor("A")
        await r.wait_until(lambda: colour(r) == "red")
        await node.close_peer("A")
        assert node.floor is None and node.program.source is None
        with pytest.raises(NotFound):
            await node.set_floor("A")
        with pytest.raises(DomainError) as refused:
            await node.set_uplink("R")  # a root node has no parent
        assert refused.value.code == "conflict"
