"""Decode once, encode once per quality, hand the same packets to every receiver.

Real aiortc peers on loopback: a source point holds the floor, receivers decode what
the node sends them as a browser would.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from aiortc.codecs import h264, opus, vpx
from aiortc.utils import uint16_add

from media.node import MediaNode
from media.settings import DEFAULT_LAYERS
from media.sources import closest
from tests.media.conftest import PALETTE, RED, connected, node_settings, receiver_point, running, source_point


@pytest.fixture
def aiortc_encoders(monkeypatch):
    """Which aiortc encoder objects encoded (a frame) and which only packed (pre-encoded bytes)."""
    calls: dict[str, Counter] = {"encode": Counter(), "pack": Counter()}
    for cls in (vpx.Vp8Encoder, opus.OpusEncoder, h264.H264Encoder):
        for method in ("encode", "pack"):
            original = getattr(cls, method)

            def counting(self, *args, _original=original, _method=method, **kwargs):
                calls[_method][id(self)] += 1
                return _original(self, *args, **kwargs)

            monkeypatch.setattr(cls, method, counting)
    return calls


def node_encoders(node: MediaNode) -> set[int]:
    """The aiortc encoder objects of the node's senders (they exist once a sender sent)."""
    found = set()
    for peer in node.peers.values():
        for transceiver, _ in peer.outputs:
            encoder = getattr(transceiver.sender, "_RTCRtpSender__encoder", None)
            if encoder is not None:
                found.add(id(encoder))
    return found


async def test_one_encode_per_frame_per_quality_whatever_the_receivers(aiortc_encoders):
    node = MediaNode(node_settings())
    source = source_point("A", RED)
    receivers = [receiver_point(f"R{i}", layers=["hi" if i % 2 else "lo"]) for i in range(4)]
    async with running(node), connected(node, source, *receivers):
        await node.set_floor("A")
        for r in receivers:
            await r.wait_until(lambda r=r: r.received.video_frames >= 15 and r.received.audio_frames >= 50)
        # Freeze the figures: no new source frame while counting.
        node.program.set_source(None, None)
        await asyncio.sleep(0.3)
        figures = node.program.as_dict()
        encoders = node_encoders(node)
        published = {name: feed.frames for name, feed in node.main_video.items()}

    # The program encoded each quality once per source frame it encoded at all: never
    # once per receiver (4 receivers, 2 qualities).
    assert figures["encoded"]["hi"] == figures["encoded"]["lo"]
    assert figures["encoded"]["hi"] + figures["skipped"] <= figures["decoded"]["video"]
    assert published["hi"] <= figures["encoded"]["hi"]
    assert figures["encoded"]["audio"] >= 50
    # The node's senders only packetized: aiortc's own encoders never ran on the node.
    assert encoders, "the node's senders have no encoder objects"
    assert not encoders & set(aiortc_encoders["encode"]), "a node sender encoded a frame"
    assert all(aiortc_encoders["pack"][e] > 0 for e in encoders)
    # Every receiver decoded the picture of its quality, with the source's colour.
    for i, r in enumerate(receivers):
        expected = (320, 180) if i % 2 else (160, 90)
        assert r.received.sizes == {expected}, (r.peer_id, r.received.sizes)
        assert closest(r.received.color, PALETTE) == "red"
        assert r.received.audio_peak > 1000  # the source's tone, not silence
    # Two receivers per quality got (close to) every frame published once.
    total = sum(r.received.video_frames for r in receivers)
    assert total > 2 * published["lo"] + published["hi"]


async def test_the_real_qualities_720p_and_360p():
    node = MediaNode(node_settings(layers=DEFAULT_LAYERS, max_fps=10))
    source = source_point("A", RED, fps=8, size=(640, 360))
    high, low = receiver_point("R720", layers=["720p"]), receiver_point("R360", layers=["360p"])
    async with running(node), connected(node, source, high, low):
        await node.set_floor("A")
        await high.wait_until(lambda: high.received.video_frames >= 5, timeout=15)
        await low.wait_until(lambda: low.received.video_frames >= 5, timeout=15)
    assert high.received.sizes == {(1280, 720)}
    assert low.received.sizes == {(640, 360)}
    assert closest(high.received.color, PALETTE) == "red"


async def test_keyframes_on_join_and_on_loss_are_rate_limited():
    interval = 0.5
    node = MediaNode(node_settings(keyframe_interval=interval))
    keyframe_times: list[float] = []
    feed = node.main_video["hi"]
    publish = feed.publish

    def recording(data, pts, keyframe):
        if keyframe:
            keyframe_times.append(asyncio.get_running_loop().time())
        publish(data, pts, keyframe)

    feed.publish = recording
    source = source_point("A", RED, fps=15)
    async with running(node), connected(node, source):
        await node.set_floor("A")
        receivers = [receiver_point(f"R{i}", layers=["hi"]) for i in range(3)]
        async with connected(node, *receivers):
            for r in receivers:
                await r.wait_until(lambda r=r: r.received.video_frames >= 3)
            joined = feed.pacer.requests["join"]
            # A receiver reports picture loss (RTCP PLI) several times in a row.
            point_receiver = receivers[0].pc.getTransceivers()[0].receiver
            before = len(keyframe_times)
            for _ in range(5):
                sources = point_receiver.getSynchronizationSources()
                for s in sources:
                    await point_receiver._send_rtcp_pli(s.source)
            await receivers[0].wait_until(lambda: feed.pacer.requests["loss"] >= 5)
            await receivers[0].wait_until(lambda: len(keyframe_times) > before, timeout=5)
            await asyncio.sleep(interval * 2)
            after_loss = len(keyframe_times) - before
    assert joined >= 3
    assert feed.pacer.requests["loss"] >= 5
    # Five PLIs in a burst: one or two keyframes, not five.
    assert 1 <= after_loss <= 2
    # Never two keyframes within the interval (a little slack for the loop's clock).
    gaps = [b - a for a, b in zip(keyframe_times, keyframe_times[1:], strict=False)]
    assert all(g >= interval - 0.05 for g in gaps), gaps


async def test_a_receiver_changes_quality_without_renegotiating():
    node = MediaNode(node_settings())
    source, receiver = source_point("A", RED), receiver_point("R", layers=["hi"])
    async with running(node), connected(node, source, receiver):
        await node.set_floor("A")
        await receiver.wait_until(lambda: (320, 180) in receiver.received.sizes)
        sdp = receiver.pc.remoteDescription.sdp
        await node.set_layer("R", "lo")
        await receiver.wait_until(lambda: (160, 90) in receiver.received.sizes)
        assert receiver.pc.remoteDescription.sdp == sdp
        stats = await node.peer_stats("R")
    assert [o["feed"] for o in stats["out"]] == ["main:lo", "main:audio"]


@pytest.mark.parametrize("packet_ms", [60, 20])
async def test_the_main_feed_s_sound_comes_in_packets_of_the_configured_length(packet_ms):
    """60 ms by default: a third of the packets of 20 ms (docs/media.md, BENCHMARKS.md)."""
    node = MediaNode(node_settings(audio_packet_ms=packet_ms))
    stamps: list[int] = []
    publish = node.main_audio.publish
    node.main_audio.publish = lambda data, pts, keyframe: (stamps.append(pts), publish(data, pts, keyframe))
    source = source_point("A", RED)
    receiver = receiver_point("R")
    async with running(node), connected(node, source, receiver):
        await node.set_floor("A")
        await receiver.wait_until(lambda: receiver.received.audio_frames >= 20, timeout=20)
    steps = Counter(b - a for a, b in zip(stamps, stamps[1:], strict=False))
    assert steps.most_common(1)[0][0] == 48 * packet_ms, steps
    assert receiver.received.audio_peak > 1000  # decoded, the source's tone


def test_a_sound_packet_is_20_40_or_60_ms():
    with pytest.raises(ValueError, match="audio_packet_ms"):
        node_settings(audio_packet_ms=30)


async def test_a_node_s_senders_send_as_the_feed_publishes_and_keep_aiortc_s_books():
    """media.sender: no task per sender; the counts of sender reports and the history NACKs
    are answered from stay as aiortc keeps them."""
    node = MediaNode(node_settings())
    source = source_point("A", RED)
    receiver = receiver_point("R", layers=["lo"])
    async with running(node), connected(node, source, receiver):
        await node.set_floor("A")
        await receiver.wait_until(lambda: receiver.received.video_frames >= 10 and receiver.received.audio_frames >= 5)
        for transceiver, track in node.peers["R"].outputs:
            sender = transceiver.sender
            direct = track._direct
            assert direct is not None and direct.packets > 0, track.kind
            assert sender._RTCRtpSender__packet_count == direct.packets
            stats = [s for s in (await sender.getStats()).values() if s.type == "outbound-rtp"]
            assert stats[0].packetsSent == direct.packets
            # A NACK is answered from the history the direct sender filled.
            dtls = sender.transport
            before = dtls._RTCDtlsTransport__tx_packets
            await sender._retransmit(uint16_add(direct._sequence, -1))
            assert dtls._RTCDtlsTransport__tx_packets == before + 1
        # The picture decoded: the packets were well formed.
        assert closest(receiver.received.color, PALETTE) == "red"
