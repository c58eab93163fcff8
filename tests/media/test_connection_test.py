"""The connection test (kiểm tra kết nối): a short stream, a verdict with bitrate, loss, RTT, jitter."""

from __future__ import annotations

import asyncio

from media.node import MediaNode
from media.point import Point, connection_test
from media.sources import SyntheticVideo, Tone
from tests.media.conftest import node_settings, running

FIELDS = {"peer_id", "node_id", "duration_s", "bitrate_kbps", "loss", "loss_percent", "rtt_ms", "jitter_ms",
          "packets_received", "packets_lost", "quality", "passed", "reasons"}


async def test_a_clean_link_passes_with_every_figure():
    node = MediaNode(node_settings())
    async with running(node):
        verdict = await connection_test(node, "xa-1:test", seconds=3)
        assert "xa-1:test" not in node.peers  # the probe is closed after its verdict
    assert FIELDS <= set(verdict)
    assert verdict["passed"] is True and verdict["quality"] == "normal" and verdict["reasons"] == []
    assert verdict["bitrate_kbps"] > 10
    assert verdict["packets_received"] > 100
    assert verdict["loss"] == 0
    assert verdict["rtt_ms"] is not None and verdict["rtt_ms"] >= 0
    assert verdict["jitter_ms"] is not None
    assert verdict["echo"]["video_frames"] > 0  # the node sent the stream back, undecoded


def drop_every(point: Point, n: int) -> None:
    """Lose every n-th RTP packet the point sends (RTCP passes), as a weak link would."""
    transport = point.pc.getTransceivers()[0].sender.transport
    send = transport._send_rtp
    count = 0

    async def lossy(data: bytes) -> None:
        nonlocal count
        if len(data) > 1 and not 192 <= data[1] <= 223:  # RTP, not RTCP
            count += 1
            if count % n == 0:
                return
        await send(data)

    transport._send_rtp = lossy


async def probe_with_loss(node: MediaNode, peer_id: str, every: int) -> dict:
    point = Point(peer_id, video=SyntheticVideo(320, 180, fps=15), audio=Tone(), role="probe")
    try:
        await point.connect(node)
        drop_every(point, every)
        await asyncio.sleep(3)
        return await node.verdict(peer_id)
    finally:
        await point.close()


async def test_loss_makes_the_link_degraded_or_critical():
    node = MediaNode(node_settings())
    async with running(node):
        degraded = await probe_with_loss(node, "xa-2:test", every=40)  # 2.5 %
        critical = await probe_with_loss(node, "xa-3:test", every=10)  # 10 %
    assert 0.01 <= degraded["loss"] <= 0.05, degraded
    assert degraded["quality"] == "degraded" and degraded["passed"] is True
    assert critical["loss"] > 0.05, critical
    assert critical["quality"] == "critical" and critical["passed"] is False and "loss" in critical["reasons"]


async def test_a_point_sees_its_link_figures_while_joined():
    node = MediaNode(node_settings())
    async with running(node):
        point = Point("xa-4", video=SyntheticVideo(320, 180, fps=15), audio=Tone())
        try:
            await point.connect(node)
            await asyncio.sleep(1.5)
            first = await node.peer_stats("xa-4")
            drop_every(point, 8)
            await asyncio.sleep(2)
            second = await node.peer_stats("xa-4")
        finally:
            await point.close()
    assert first["link"]["quality"] == "normal"
    assert first["in"]["video"]["packets"] > 0 and first["link"]["bitrate_in_kbps"] > 0
    assert second["link"]["loss_in"] > 0.05 and second["link"]["quality"] == "critical"
