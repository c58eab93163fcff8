"""Frames from a receiver's RTP packets, handed out as soon as they are whole.

aiortc's own `JitterBuffer` hands out at most one frame for each packet that arrives,
and waits for a missing packet until 512 later ones have come. So a receiver that once
waited for a retransmission stays behind by every frame that piled up meanwhile (a
picture of one packet a frame never catches up), and one whose NACK went unanswered
stops for those 512 packets, half a minute of a small picture. Measured in the
conference benchmark, a speaker's picture reached its province node 4 s late because a
packet had been lost on loopback while 100 points joined; the floor then took 4 s to
change. At a node, every such delay is passed on to everyone below it.

`FrameAssembler` takes the place of that buffer on a receiver (`attach`):
- a picture is handed out when its last packet (the RTP marker) is in, with every other
  whole frame behind it, at once;
- a missing packet is waited for a while: the NACK's retransmission comes within a round
  trip, so twice the connection's round-trip time, at least `GAP_WAIT`; then the frames behind the gap are skipped to the next frame
  that starts after it, the sender is asked for a keyframe (PLI), and pictures are
  dropped until one comes, since those in between would not decode;
- sound: each packet is a frame, handed out at once in order; a late one is dropped
  (the receivers below have jitter buffers of their own).

This reaches into one private attribute of aiortc's receiver; pyproject.toml pins aiortc
below 2 and the media tests fail if it moves.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aiortc import RTCPeerConnection, RTCRtpReceiver
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpreceiver import TimestampMapper
from aiortc.rtp import RtpPacket
from aiortc.utils import uint16_add, uint16_gt

from media.feed import vp8_is_keyframe

_BUFFER_ATTRIBUTE = "_RTCRtpReceiver__jitter_buffer"

GAP_WAIT = 0.3  # seconds a missing packet is waited for at least, or when the round trip is unknown
MAX_GAP_WAIT = 2.0  # and at most, whatever the round trip
MAX_HELD = 256  # packets held behind a gap before it is skipped whatever the time
KEYFRAME_RETRY = 1.0  # seconds between keyframe requests while pictures are dropped

# (the frame's first packet, its bytes, its RTP timestamp)
Emit = Callable[[RtpPacket, bytes, int], None]


def _starts_frame(packet: RtpPacket) -> bool:
    """VP8's payload descriptor: S set and partition 0 on a frame's first packet (RFC 7741)."""
    payload = packet.payload
    return bool(payload) and bool(payload[0] & 0x10) and payload[0] & 0x0F == 0


class FrameAssembler:
    def __init__(self, kind: str, emit: Emit, *, gap_wait: float = GAP_WAIT,
                 rtt: Callable[[], float | None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.video = kind == "video"
        self.min_gap_wait = gap_wait
        self._rtt = rtt  # seconds, when the connection has measured it
        self._emit = emit
        self._clock = clock
        self._held: dict[int, RtpPacket] = {}
        self._next: int | None = None  # the sequence number handed out next
        self._newest: int | None = None  # the newest sequence number held
        self._gap_since: float | None = None
        self._awaiting_keyframe = self.video  # a picture decodes from a keyframe on
        self._asked_at: float | None = None
        self._starved = False  # something was dropped while waiting for a keyframe
        # Figures for the tests and the node's statistics.
        self.frames = 0
        self.late = 0  # packets that came after their frame was handed out or skipped
        self.gaps_skipped = 0
        self.keyframes_asked = 0
        self.dropped_frames = 0  # whole pictures dropped while waiting for a keyframe

    def add(self, packet: RtpPacket) -> tuple[bool, None]:
        """What aiortc's receiver calls for each packet: (send a PLI now?, no frame for its decoder).

        The frames go to `emit` instead, all that are whole.
        """
        if not self.video:
            if self._next is not None and uint16_gt(self._next, packet.sequence_number):
                self.late += 1
            else:
                self._next = uint16_add(packet.sequence_number, 1)
                self.frames += 1
                self._emit(packet, packet._data, packet.timestamp)
            return False, None

        seq = packet.sequence_number
        if self._next is None:
            if not _starts_frame(packet):
                self._starved = True
                return self._ask(), None  # the middle of a frame: wait for the next one's start
            self._next = self._newest = seq
        elif uint16_gt(self._next, seq) or seq in self._held:
            self.late += 1
            return False, None
        self._held[seq] = packet
        if uint16_gt(seq, self._newest):
            self._newest = seq
        self._hand_out()
        pli = False
        if self._has_gap():
            now = self._clock()
            if self._gap_since is None:
                self._gap_since = now
            elif now - self._gap_since >= self.gap_wait() or len(self._held) > MAX_HELD:
                self._skip_gap()
                self._hand_out()
                pli = True
        else:
            self._gap_since = None
        return self._ask(force=pli), None

    def gap_wait(self) -> float:
        rtt = self._rtt() if self._rtt is not None else None
        if rtt is None:
            return self.min_gap_wait
        return min(MAX_GAP_WAIT, max(self.min_gap_wait, 2 * rtt))

    def _has_gap(self) -> bool:
        if not self._held:
            return False
        return uint16_add(self._newest, -self._next) + 1 > len(self._held)

    def _hand_out(self) -> None:
        held = self._held
        while self._next is not None:
            first = held.get(self._next)
            if first is None:
                return
            if not first.payload:  # padding between frames
                del held[self._next]
                self._next = uint16_add(self._next, 1)
                continue
            parts = []
            seq = self._next
            while True:
                packet = held.get(seq)
                if packet is None:
                    return  # not whole yet
                if packet.timestamp != first.timestamp:
                    break  # the sender set no marker: the next frame began
                parts.append(packet)
                seq = uint16_add(seq, 1)
                if packet.marker:
                    break
            for packet in parts:
                del held[packet.sequence_number]
            self._next = seq
            self._gap_since = None
            data = b"".join(p._data for p in parts)
            if self._awaiting_keyframe:
                if not vp8_is_keyframe(data):
                    self.dropped_frames += 1
                    self._starved = True
                    continue
                self._awaiting_keyframe = self._starved = False
            self.frames += 1
            self._emit(first, data, first.timestamp)

    def _skip_gap(self) -> None:
        """Give up on the missing packets: go on from the first frame that starts after them."""
        self.gaps_skipped += 1
        self._awaiting_keyframe = True
        self._gap_since = None
        seq = self._next
        missing_seen = False
        while seq != uint16_add(self._newest, 1):
            packet = self._held.get(seq)
            if packet is None:
                missing_seen = True
            elif missing_seen and _starts_frame(packet):
                self._next = seq
                return
            else:
                del self._held[seq]
            seq = uint16_add(seq, 1)
        # Nothing after the gap starts a frame yet: start again at the next frame's start.
        self._held.clear()
        self._next = None

    def _ask(self, force: bool = False) -> bool:
        """A keyframe request (PLI) now? Always after a skipped gap; once a while when pictures are dropped."""
        if not self._awaiting_keyframe or not (force or self._starved):
            return False
        now = self._clock()
        if force or self._asked_at is None or now - self._asked_at >= KEYFRAME_RETRY:
            self._asked_at = now
            self.keyframes_asked += 1
            return True
        return False

    def as_dict(self) -> dict:
        return {"frames": self.frames, "late": self.late, "gaps_skipped": self.gaps_skipped,
                "dropped_frames": self.dropped_frames, "keyframes_asked": self.keyframes_asked,
                "held": len(self._held)}


def round_trip(pc: RTCPeerConnection) -> Callable[[], float | None]:
    """The connection's round-trip time in seconds, as its senders measured it from RTCP (None: not yet)."""
    def rtt() -> float | None:
        measured = [r for s in pc.getSenders() if (r := getattr(s, "_RTCRtpSender__rtt", None)) is not None]
        return max(measured) if measured else None
    return rtt


def attach(receiver: RTCRtpReceiver, deliver: Callable[[bytes, int], None] | None = None,
           **options) -> FrameAssembler:
    """Put a `FrameAssembler` in place of the receiver's jitter buffer; call before it starts.

    deliver(data, timestamp): each frame goes there, undecoded (a node that forwards it);
    without it, to the receiver's own decoder as aiortc would (a point that shows it).
    options: `rtt` (`round_trip(pc)`), `gap_wait`.
    Timestamps are the RTP ones counted from the first frame, as aiortc's decoder gets them.
    """
    if not hasattr(receiver, _BUFFER_ATTRIBUTE):
        raise RuntimeError("this aiortc has no jitter buffer on RTCRtpReceiver: media.reassembly needs updating")
    mapper = TimestampMapper()
    if deliver is not None:
        def emit(first: RtpPacket, data: bytes, timestamp: int) -> None:
            deliver(data, mapper.map(timestamp))
    else:
        codecs = receiver._RTCRtpReceiver__codecs
        decoder_queue = receiver._RTCRtpReceiver__decoder_queue

        def emit(first: RtpPacket, data: bytes, timestamp: int) -> None:
            codec = codecs.get(first.payload_type)
            if codec is not None:
                decoder_queue.put((codec, JitterFrame(data=data, timestamp=mapper.map(timestamp))))
    assembler = FrameAssembler(receiver._RTCRtpReceiver__kind, emit, **options)
    setattr(receiver, _BUFFER_ATTRIBUTE, assembler)
    return assembler
