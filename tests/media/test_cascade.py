"""Cascade: center → province → commune; children relay, never re-encode; the floor goes anywhere."""

from __future__ import annotations

from media.cascade import floor_route
from media.node import MediaNode
from media.sources import closest
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


async def test_three_nodes_relay_the_main_feed_and_the_floor_comes_from_below():
    center, province, commune = (MediaNode(node_settings(n)) for n in ("center", "province", "commune"))
    chair = source_point("chair", RED)  # the central hall
    speaker = source_point("xa-1", BLUE)  # a commune point that will get the floor
    listener = receiver_point("xa-2", layers=["lo"])
    province_listener = receiver_point("huyen-1", layers=["hi"])
    async with running(center, province, commune):
        await province.set_parent(center)
        await commune.set_parent(province)
        async with connected(center, chair), connected(province, province_listener), \
                connected(commune, speaker, listener):
            await center.set_floor("chair")
            await listener.wait_until(lambda: colour(listener) == "red", timeout=15)
            await province_listener.wait_until(lambda: colour(province_listener) == "red", timeout=15)
            assert listener.received.sizes == {(160, 90)}
            assert province_listener.received.sizes == {(320, 180)}

            # The floor to a commune point: each node on the way up forwards it.
            steps = floor_route([("center", "province"), ("province", "commune"), ("commune", "xa-1")])
            assert steps == [("center", "set_floor", "province"), ("province", "set_uplink", "commune"),
                             ("commune", "set_uplink", "xa-1")]
            nodes = {"center": center, "province": province, "commune": commune}
            for node_id, action, peer_id in reversed(steps):
                await getattr(nodes[node_id], action)(peer_id)
            await listener.wait_until(lambda: colour(listener) == "blue", timeout=15)
            await province_listener.wait_until(lambda: colour(province_listener) == "blue", timeout=15)

            # Only the center decoded and encoded; the children relayed encoded frames.
            for child in (province, commune):
                figures = child.program.as_dict()
                assert figures["decoded"] == {} and figures["encoded"] == {}, (child.node_id, figures)
                assert child.main_video["lo"].frames > 0
            assert center.program.as_dict()["encoded"]["hi"] > 0
            stats = await commune.stats()
            assert stats["mode"] == "child" and stats["parent"]["state"] == "connected"

            # The province node dies: the server re-homes the commune node to the center.
            # The commune's receivers keep their connections.
            sdp = listener.pc.remoteDescription.sdp
            await center.set_floor("chair")
            await province.stop()
            await commune.set_parent(center)
            before = listener.received.video_frames
            await listener.wait_until(lambda: colour(listener) == "red" and listener.received.video_frames > before + 5,
                                      timeout=15)
            assert listener.pc.remoteDescription.sdp == sdp
            assert commune.program.as_dict()["encoded"] == {}
