"""Frames from RTP packets (media.reassembly): no backlog after a mended gap, a bounded wait on
an unmended one, and pictures only from a keyframe on."""

from __future__ import annotations

import asyncio

from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtp import RtpPacket

from media import ice
from media.reassembly import FrameAssembler, attach
from media.settings import NodeSettings

TICK = 6000  # 90 kHz clock, 15 frames a second


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def vp8(seq: int, frame: int, *, start: bool = True, marker: bool = True, key: bool = False) -> RtpPacket:
    """One packet of VP8 frame number `frame`; its depayloaded bytes name the frame."""
    body = (b"\x00" if key else b"\x01") + b"f%d" % frame if start else b"+%d" % frame
    packet = RtpPacket(payload_type=96, marker=int(marker), sequence_number=seq % 65536,
                       timestamp=frame * TICK, payload=(b"\x10" if start else b"\x00") + body)
    packet._data = body
    return packet


def assembler(kind: str = "video", **options):
    out: list[tuple[bytes, int]] = []
    clock = Clock()
    a = FrameAssembler(kind, lambda first, data, ts: out.append((data, ts)), clock=clock, **options)
    return a, out, clock


def frames(out) -> list[int]:
    return [ts // TICK for _, ts in out]


def test_a_picture_is_handed_out_when_its_last_packet_comes():
    a, out, _ = assembler()
    assert a.add(vp8(10, 0, marker=False, key=True)) == (False, None)
    assert out == []
    a.add(vp8(11, 0, start=False, marker=True))
    # Whole at its marker: not held until the next frame's first packet shows it ended.
    assert out == [(b"\x00f0+0", 0)]


def test_every_frame_behind_a_mended_gap_comes_out_with_the_retransmission():
    a, out, _ = assembler()
    a.add(vp8(0, 0, key=True))
    a.add(vp8(1, 1))
    for seq in range(3, 11):  # packet 2 (frame 2) is lost for now
        a.add(vp8(seq, seq))
    assert frames(out) == [0, 1]
    a.add(vp8(2, 2))  # its retransmission
    assert frames(out) == list(range(11))
    assert a.gaps_skipped == 0


def test_aiortc_s_own_buffer_stays_behind_after_the_same_gap():
    """Why the assembler exists: aiortc hands out one frame per packet, so the backlog stays."""
    buffer = JitterBuffer(capacity=512, is_video=True)
    out = []
    for packet in [vp8(0, 0, key=True), vp8(1, 1), *(vp8(s, s) for s in range(3, 11)), vp8(2, 2),
                   *(vp8(s, s) for s in range(11, 21))]:
        _, frame = buffer.add(packet)
        if frame is not None:
            out.append(frame.timestamp // TICK)
    assert out[-1] < 20 - 5  # ten frames later, still more than five frames behind


def test_a_gap_that_is_not_mended_is_skipped_and_pictures_wait_for_a_keyframe():
    a, out, clock = assembler(gap_wait=0.3)
    a.add(vp8(0, 0, key=True))
    a.add(vp8(1, 1))
    assert a.add(vp8(3, 3)) == (False, None)  # 2 is missing: wait for its retransmission
    clock.now += 0.2
    assert a.add(vp8(4, 4)) == (False, None)
    clock.now += 0.15
    pli, _ = a.add(vp8(5, 5))
    assert pli, "after the wait the sender is asked for a keyframe"
    assert frames(out) == [0, 1], "the frames after the gap would not decode: dropped"
    assert a.gaps_skipped == 1 and a.dropped_frames == 3
    a.add(vp8(6, 6))
    a.add(vp8(7, 7, key=True))
    a.add(vp8(8, 8))
    assert frames(out) == [0, 1, 7, 8]
    clock.now += 5
    assert a.add(vp8(9, 9)) == (False, None), "no request once a keyframe came"
    assert a.add(vp8(2, 2)) == (False, None) and a.late == 1, "the retransmission that came too late"


def test_while_pictures_are_dropped_the_request_is_repeated_every_second():
    a, out, clock = assembler()
    a.add(vp8(0, 0, key=True))
    clock.now += 1
    a.add(vp8(2, 2))
    clock.now += 1
    assert a.add(vp8(3, 3))[0]  # the gap skipped: asked
    clock.now += 0.5
    assert not a.add(vp8(4, 4))[0]
    clock.now += 0.6
    assert a.add(vp8(5, 5))[0]  # the keyframe (or its request) was lost: asked again
    assert a.keyframes_asked == 2


def test_the_wait_follows_the_round_trip():
    rtt = [None]
    a, out, clock = assembler(gap_wait=0.3, rtt=lambda: rtt[0])
    assert a.gap_wait() == 0.3
    rtt[0] = 0.6  # a weak link: the retransmission comes after 600 ms
    assert a.gap_wait() == 1.2
    a.add(vp8(0, 0, key=True))
    a.add(vp8(2, 2))
    clock.now += 0.9
    a.add(vp8(3, 3))
    assert a.gaps_skipped == 0
    a.add(vp8(1, 1))
    assert frames(out) == [0, 1, 2, 3]
    rtt[0] = 30.0
    assert a.gap_wait() == 2.0  # bounded


def test_a_stream_joined_in_the_middle_of_a_frame_starts_at_the_next_keyframe():
    a, out, _ = assembler()
    a.add(vp8(5, 0, start=False))  # the end of a frame whose start was never seen
    a.add(vp8(6, 1))  # a delta picture: no reference to decode it from
    a.add(vp8(7, 2, key=True, marker=False))
    a.add(vp8(8, 2, start=False))
    assert frames(out) == [2]


def test_sequence_numbers_wrap():
    a, out, _ = assembler()
    for n, seq in enumerate(range(65533, 65540)):
        a.add(vp8(seq, n, key=n == 0))
    assert frames(out) == list(range(7))


def test_sound_is_handed_out_at_once_and_late_packets_are_dropped():
    a, out, _ = assembler("audio")
    for seq in (1, 2, 4, 3, 5):
        packet = RtpPacket(payload_type=111, sequence_number=seq, timestamp=seq * 960, payload=b"o%d" % seq)
        packet._data = packet.payload
        assert a.add(packet) == (False, None)
    assert [data for data, _ in out] == [b"o1", b"o2", b"o4", b"o5"]
    assert a.late == 1


async def test_attach_takes_the_place_of_the_receiver_s_jitter_buffer():
    pc = ice.peer_connection(NodeSettings())
    try:
        receiver = pc.addTransceiver("video", direction="recvonly").receiver
        got = []
        assembler = attach(receiver, lambda data, ts: got.append((data, ts)))
        assert receiver._RTCRtpReceiver__jitter_buffer is assembler
        assembler.add(vp8(0, 7, key=True))
        assert got == [(b"\x00f7", 0)]  # timestamps from the first frame on, as aiortc's decoder has them
    finally:
        await pc.close()


async def test_a_node_reports_how_it_put_a_point_s_frames_together():
    from media.node import MediaNode
    from tests.media.conftest import RED, connected, node_settings, running, source_point

    node = MediaNode(node_settings())
    source = source_point("A", RED)
    async with running(node), connected(node, source):
        await node.set_floor("A")
        await asyncio.sleep(1.0)
        figures = (await node.stats())["peers"]["A"]["in"]
    video, audio = figures["video"]["reassembly"], figures["audio"]["reassembly"]
    assert video["frames"] >= 5 and video["gaps_skipped"] == 0 and video["held"] <= 2, video
    assert audio["frames"] >= 20, audio
