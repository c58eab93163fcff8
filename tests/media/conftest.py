"""Media tests: real aiortc peers on loopback, nothing else.

Every peer connection offers 127.0.0.1 only, and a guard makes any use of aiortc's
default (public) STUN server fail the test.
"""

from __future__ import annotations

import contextlib

import pytest
from aiortc.rtcicetransport import RTCIceGatherer

from media import ice
from media.node import MediaNode
from media.point import Point
from media.settings import Layer, NodeSettings
from media.sources import SyntheticVideo, Tone

# Small qualities keep the tests cheap on two cores; one test runs the real 720p/360p.
SMALL_LAYERS = (Layer("hi", 320, 180, 300_000), Layer("lo", 160, 90, 100_000))
RED, BLUE, GREEN = (210, 40, 40), (40, 60, 210), (40, 190, 60)
PALETTE = {"red": RED, "blue": BLUE, "green": GREEN}


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    ice.restrict_host_addresses(["127.0.0.1"])

    def no_public_stun(cls):
        raise AssertionError("a peer connection asked for the default (public) STUN server")

    monkeypatch.setattr(RTCIceGatherer, "getDefaultIceServers", classmethod(no_public_stun))
    yield


def node_settings(node_id: str = "central", **kw) -> NodeSettings:
    kw.setdefault("layers", SMALL_LAYERS)
    kw.setdefault("max_fps", 15)
    return NodeSettings(node_id=node_id, ice_addresses=("127.0.0.1",), **kw)


@contextlib.asynccontextmanager
async def running(*nodes: MediaNode):
    for node in nodes:
        await node.start()
    try:
        yield nodes
    finally:
        for node in reversed(nodes):
            await node.stop()


def source_point(peer_id: str, color, fps: int = 12, size=(320, 180), **kw) -> Point:
    return Point(peer_id, video=SyntheticVideo(*size, fps=fps, color=color), audio=Tone(), **kw)


def receiver_point(peer_id: str, **kw) -> Point:
    """A point that sends a small picture too (as every point does) and receives the main feed."""
    return Point(peer_id, video=SyntheticVideo(160, 90, fps=5, color=GREEN), audio=Tone(), **kw)


@contextlib.asynccontextmanager
async def connected(node, *points: Point):
    try:
        for point in points:
            await point.connect(node)
        yield points
    finally:
        for point in points:
            await point.close()
