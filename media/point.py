"""A bridge point as a program: it sends a picture and a sound to its media node and receives the main feed.

Used by the bridge agent (`phonghop bridge-agent`), the tests and the benchmark. The
point offers, the node answers: through anything with the node's `accept` / `verdict` /
`close_peer` methods (a `MediaNode` in the same process, a `NodeClient` over the control
API, and later the coordination server's signalling).

What arrives is put together by `media.reassembly` (which, like a browser, gives up on a
packet that does not come and asks for a keyframe), decoded by aiortc and counted: frames, their size,
the colour of the picture (`media.sources.mean_rgb`), so a caller can tell whose picture
it receives and when it changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiortc import RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from media import ice
from media.cascade import vp8_preferences
from media.reassembly import FrameAssembler, attach, round_trip
from media.settings import NodeSettings
from media.sources import mean_rgb
from media.stats import _max, inbound, outbound


@dataclass
class Received:
    video_frames: int = 0
    audio_frames: int = 0
    width: int | None = None
    height: int | None = None
    sizes: set[tuple[int, int]] = field(default_factory=set)
    color: tuple[int, int, int] | None = None
    first_video_at: float | None = None
    last_video_at: float | None = None
    audio_peak: int = 0  # the loudest sample heard (0: silence)
    assembler: FrameAssembler | None = None  # the picture's: it asks for keyframes itself

    def as_dict(self) -> dict:
        return {"video_frames": self.video_frames, "audio_frames": self.audio_frames,
                "width": self.width, "height": self.height, "color": list(self.color) if self.color else None,
                "audio_peak": self.audio_peak,
                "keyframes_asked": self.assembler.keyframes_asked if self.assembler is not None else 0}


class Point:
    def __init__(self, peer_id: str, *, video: MediaStreamTrack | None = None,
                 audio: MediaStreamTrack | None = None, role: str = "point",
                 layers: list[str] | None = None, receive: bool = True,
                 settings: NodeSettings | None = None, color_every: int = 1,
                 on_video_frame: Callable[[object], None] | None = None) -> None:
        self.peer_id = peer_id
        self.role = role
        self.layers = layers
        self.video = video
        self.audio = audio
        self.receive = receive
        self.settings = settings
        self.color_every = max(1, color_every)
        self.on_video_frame = on_video_frame
        self.received = Received()
        self.pc = None
        self.node = None
        self.connected = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._senders: list = []
        self._receivers: dict[str, object] = {}
        self._closed = False

    async def connect(self, node, timeout: float = 15.0) -> None:
        """Offer to `node` (a MediaNode, a NodeClient...) and wait until the connection is up."""
        self.node = node
        pc = self.pc = ice.peer_connection(self.settings)
        recv = "sendrecv" if self.receive else "sendonly"
        for kind, source in (("video", self.video), ("audio", self.audio)):
            direction = recv if source is not None else ("recvonly" if self.receive else None)
            if direction is None:
                continue
            transceiver = pc.addTransceiver(source if source is not None else kind, direction=direction)
            if kind == "video":
                transceiver.setCodecPreferences(vp8_preferences())
            if source is not None:
                self._senders.append(transceiver.sender)
            self._receivers[kind] = transceiver.receiver
            if self.receive:
                assembler = attach(transceiver.receiver, rtt=round_trip(pc))
                if kind == "video":
                    self.received.assembler = assembler

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            consume = self._consume_video if track.kind == "video" else self._consume_audio
            self._tasks.append(asyncio.ensure_future(consume(track)))

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("connected", "failed", "closed"):
                self.connected.set()

        await pc.setLocalDescription(await pc.createOffer())
        answer = await node.accept(self.peer_id, pc.localDescription.sdp, role=self.role, layers=self.layers)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        await asyncio.wait_for(self.connected.wait(), timeout)
        if pc.connectionState != "connected":
            raise ConnectionError(f"the point's connection ended as {pc.connectionState}")

    async def _consume_video(self, track: MediaStreamTrack) -> None:
        r = self.received
        with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
            while True:
                frame = await track.recv()
                now = time.monotonic()
                r.video_frames += 1
                r.first_video_at = r.first_video_at or now
                r.last_video_at = now
                r.width, r.height = frame.width, frame.height
                r.sizes.add((frame.width, frame.height))
                if r.video_frames % self.color_every == 0 or r.color is None:
                    r.color = mean_rgb(frame)
                if self.on_video_frame is not None:
                    self.on_video_frame(frame)

    async def _consume_audio(self, track: MediaStreamTrack) -> None:
        r = self.received
        with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
            while True:
                frame = await track.recv()
                r.audio_frames += 1
                if r.audio_frames % 10 == 0:
                    data = memoryview(bytes(frame.planes[0])).cast("h")
                    r.audio_peak = max(r.audio_peak, max((abs(x) for x in data[:: 7]), default=0))

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"point {self.peer_id}: condition not met within {timeout} s ({self.received})")
            await asyncio.sleep(0.02)

    async def stats(self) -> dict:
        """The link as this point sees it: what it receives, and the node's reports on what it sends."""
        received = [inbound(r) for r in self._receivers.values()]
        sent = [await outbound(s, 90_000 if s.kind == "video" else 48_000) for s in self._senders]
        packets = sum(f.packets for f in received)
        lost = sum(f.lost for f in received)
        return {
            "peer_id": self.peer_id,
            "received": self.received.as_dict(),
            "packets_received": packets,
            "packets_lost": lost,
            "loss": round(lost / (packets + lost), 4) if packets + lost else 0.0,
            "jitter_ms": _max(*(f.jitter_ms for f in received)),
            "packets_sent": sum(s.packets for s in sent),
            "rtt_ms": _max(*(s.rtt_ms for s in sent)),
        }

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for task in self._tasks:
            task.cancel()
        if self.pc is not None:
            await self.pc.close()


async def connection_test(node, peer_id: str, *, seconds: float = 4.0, video: MediaStreamTrack | None = None,
                          audio: MediaStreamTrack | None = None, settings: NodeSettings | None = None) -> dict:
    """The connection test (kiểm tra kết nối): a short stream to the node, and its verdict.

    The node echoes the stream back (so the round-trip time is measured by RTCP on both
    ends) and answers with bitrate, loss, RTT, jitter and pass or fail.
    """
    from media.sources import SyntheticVideo, Tone

    point = Point(peer_id, video=video or SyntheticVideo(fps=15), audio=audio or Tone(), role="probe",
                  settings=settings, color_every=30)
    try:
        await point.connect(node)
        await asyncio.sleep(seconds)
        result = await node.verdict(peer_id)
        result["echo"] = point.received.as_dict()
        return result
    finally:
        await point.close()
