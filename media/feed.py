"""Feeds of encoded media, and the tracks that hand the same packets to many senders.

A `Feed` is one stream of encoded frames (VP8 pictures of one quality, or Opus sound)
with one producer and any number of consumers. Producers are the node's encoders
(`media.program`), the frames received from a point or from the parent node
(`media.tap`), nothing else.

A `FeedTrack` is what an aiortc `RTCRtpSender` reads. Its `recv()` returns an
`EncodedPacket`, not a decoded frame, and aiortc's sender then only packetizes it
(`Encoder.pack`) instead of encoding it (`Encoder.encode`): the bytes of one encode
go to every receiver. A node's own senders do not even read it: the track hands each
frame to its `media.sender.DirectSender` as the feed publishes it. Each track keeps its own timestamps continuous, so it can be
moved from one feed to another (the floor changes, a receiver drops to a lower
quality, a child node finds a new parent) without renegotiating anything: it waits
for the new feed's next keyframe and asks for one.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from media.keyframes import KeyframePacer

VIDEO_CLOCK = 90_000
AUDIO_CLOCK = 48_000
# When a track moves to another feed, or a feed's timestamps jump, the next packet
# comes this many clock ticks after the last one.
NOMINAL_STEP = {"video": VIDEO_CLOCK // 30, "audio": 960}
MAX_GAP_SECONDS = 5


@dataclass(slots=True)
class EncodedPacket:
    """One encoded frame as aiortc's `Encoder.pack` reads it: bytes(), .pts, .time_base."""

    data: bytes
    pts: int
    time_base: fractions.Fraction
    keyframe: bool

    def __bytes__(self) -> bytes:
        return self.data


def vp8_is_keyframe(data: bytes) -> bool:
    """The VP8 frame tag's first bit is 0 on a keyframe (RFC 6386, section 9.1)."""
    return bool(data) and not data[0] & 0x01


class Feed:
    """One stream of encoded frames, its consumers, and its keyframe requests."""

    def __init__(self, name: str, kind: str, *, keyframe_interval: float = 0.5,
                 on_keyframe_request: Callable[[], None] | None = None) -> None:
        if kind not in ("audio", "video"):
            raise ValueError(kind)
        self.name = name
        self.kind = kind
        self.clock_rate = VIDEO_CLOCK if kind == "video" else AUDIO_CLOCK
        self.time_base = fractions.Fraction(1, self.clock_rate)
        self.pacer = KeyframePacer(keyframe_interval)
        # Called when a keyframe request should be passed on now (producers that cannot
        # make keyframes themselves send a PLI upstream); encoders poll `keyframe_due`.
        self.on_keyframe_request = on_keyframe_request
        self._tracks: set[FeedTrack] = set()
        self.frames = 0
        self.keyframes = 0
        self.bytes = 0
        self.started = time.monotonic()
        self.last_frame_at: float | None = None

    @property
    def consumers(self) -> int:
        return len(self._tracks)

    def request_keyframe(self, reason: str) -> None:
        if self.kind != "video":
            return
        self.pacer.request(reason)
        if self.on_keyframe_request is not None and self.pacer.take():
            self.on_keyframe_request()

    def keyframe_due(self) -> bool:
        """For an encoder, before each frame: should this one be a keyframe?"""
        return self.kind == "video" and self.pacer.take()

    def publish(self, data: bytes, pts: int, keyframe: bool) -> None:
        """Hand one encoded frame to every consumer (the same bytes, never copied)."""
        self.frames += 1
        self.bytes += len(data)
        self.last_frame_at = time.monotonic()
        if keyframe and self.kind == "video":
            self.keyframes += 1
            self.pacer.satisfied()
        elif self.on_keyframe_request is not None and self.pacer.take():
            # A request that had to wait out the interval is passed on now.
            self.on_keyframe_request()
        for track in list(self._tracks):
            track._push(self, data, pts, keyframe)

    def _add(self, track: FeedTrack) -> None:
        self._tracks.add(track)

    def _remove(self, track: FeedTrack) -> None:
        self._tracks.discard(track)

    def close(self) -> None:
        for track in list(self._tracks):
            track.switch(None)

    def as_dict(self) -> dict:
        return {
            "name": self.name, "kind": self.kind, "frames": self.frames, "keyframes": self.keyframes,
            "bytes": self.bytes, "consumers": self.consumers, "keyframe_requests": self.pacer.as_dict(),
        }


class FeedTrack(MediaStreamTrack):
    """A track whose frames are already encoded: aiortc's sender packetizes them as they are."""

    def __init__(self, kind: str, feed: Feed | None = None, *, queue_size: int | None = None,
                 lazy: bool = False, on_first_frame: Callable[[Feed], None] | None = None) -> None:
        super().__init__()
        self.kind = kind
        self._queue: asyncio.Queue[EncodedPacket | None] = asyncio.Queue()
        self._queue_size = queue_size or (30 if kind == "video" else 50)
        self._feed: Feed | None = None
        self._waiting = False  # video: dropping delta frames until a keyframe
        self._last_in: int | None = None
        self._last_out: int | None = None
        self._last_feed: Feed | None = None
        self._on_first_frame = on_first_frame
        self._first_frame_pending = False
        self._direct = None  # a media.sender.DirectSender once its connection is up
        self.packets = 0
        self.dropped = 0
        # lazy: join the feed when a sender first reads (or its direct sender may send), not
        # before the connection is up (frames published meanwhile would pile up, thrown away).
        self._lazy_feed: Feed | None = feed if lazy else None
        if feed is not None and not lazy:
            self.switch(feed)

    @property
    def feed(self) -> Feed | None:
        return self._feed

    @property
    def target(self) -> Feed | None:
        """The feed this track reads or will read once its sender starts."""
        return self._feed or self._lazy_feed

    @property
    def backlog(self) -> int:
        return self._queue.qsize()

    def switch(self, feed: Feed | None, reason: str = "join") -> None:
        """Take packets from `feed` from its next keyframe on (None: from nothing)."""
        if self._lazy_feed is not None:
            self._lazy_feed = None
        if feed is self._feed:
            return
        if feed is not None and feed.kind != self.kind:
            raise ValueError(f"a {self.kind} track cannot take a {feed.kind} feed")
        if self._feed is not None:
            self._feed._remove(self)
            # What is queued belongs to the old feed: a decoder reading this track starts afresh.
            while not self._queue.empty():
                if self._queue.get_nowait() is None:
                    self._queue.put_nowait(None)
                    break
        self._feed = feed
        self._first_frame_pending = True
        if feed is not None:
            self._waiting = self.kind == "video"
            feed._add(self)
            feed.request_keyframe(reason)

    def send_directly(self, sender) -> None:
        """Hand each frame straight to `sender` as the feed publishes it (`media.sender`), not
        through `recv()` and a task of aiortc's; a lazy track joins its feed once it may send."""
        from media.sender import DirectSender

        direct = DirectSender(sender)

        def ready() -> None:
            self._direct = direct
            if self._lazy_feed is not None:
                self.switch(self._lazy_feed)
            else:
                self.resync("join")

        direct.install(ready)

    def resync(self, reason: str = "loss") -> None:
        """Drop frames until the feed's next keyframe, and ask for one (a decoder lost its place)."""
        if self._feed is not None and self.kind == "video":
            self._waiting = True
            self._feed.request_keyframe(reason)

    def request_keyframe(self, reason: str = "loss") -> None:
        """A receiver asked for a keyframe (PLI/FIR reached its sender)."""
        if self._feed is not None:
            self._feed.request_keyframe(reason)

    def _push(self, feed: Feed, data: bytes, pts: int, keyframe: bool) -> None:
        if feed is not self._feed:
            return
        if self._waiting:
            if not keyframe:
                feed.request_keyframe("retry")  # coalesced by the feed's pacer; covers a lost request
                self.dropped += 1
                return
            self._waiting = False
        if self._direct is not None:
            self.packets += 1
            self._direct.send(EncodedPacket(data, self._restamp(feed, pts), feed.time_base, keyframe))
            self._first_frame_done(feed)
            return
        if self._queue.qsize() >= self._queue_size:
            # The consumer fell behind: throw the backlog away and start again from a keyframe.
            self.dropped += self._queue.qsize() + 1
            while not self._queue.empty():
                self._queue.get_nowait()
            if self.kind == "video":
                self._waiting = True
                feed.request_keyframe("overflow")
                return
        out = self._restamp(feed, pts)
        self.packets += 1
        self._queue.put_nowait(EncodedPacket(data, out, feed.time_base, keyframe))
        self._first_frame_done(feed)

    def _first_frame_done(self, feed: Feed) -> None:
        if self._first_frame_pending:
            self._first_frame_pending = False
            if self._on_first_frame is not None:
                self._on_first_frame(feed)

    def _restamp(self, feed: Feed, pts: int) -> int:
        step = NOMINAL_STEP[self.kind]
        if self._last_out is None:
            out = 0
        elif (
            feed is not self._last_feed
            or self._last_in is None
            or not 0 <= pts - self._last_in <= MAX_GAP_SECONDS * feed.clock_rate
        ):
            out = self._last_out + step
        else:
            out = self._last_out + (pts - self._last_in)
        self._last_in, self._last_out, self._last_feed = pts, out, feed
        return out

    async def recv(self) -> EncodedPacket:
        if self.readyState != "live":
            raise MediaStreamError
        if self._lazy_feed is not None:
            self.switch(self._lazy_feed)
        packet = await self._queue.get()
        if packet is None:
            raise MediaStreamError
        return packet

    def stop(self) -> None:
        self._lazy_feed = None
        if self._feed is not None:
            self._feed._remove(self)
            self._feed = None
        if self.readyState == "live":
            self._queue.put_nowait(None)
        super().stop()
