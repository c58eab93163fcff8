"""One peer of a media node: a bridge point, a child node, or a point running its connection test.

A peer's incoming picture and sound are tapped undecoded into its own two feeds
(`video_in`, `audio_in`), which the node's program reads when the peer holds the floor,
the parent link forwards when the peer is the uplink, and the connection test echoes.
Its outgoing senders read `FeedTrack`s on the node's main feeds (or, for a connection
test, on its own feeds).
"""

from __future__ import annotations

import asyncio
import time

from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpTransceiver

from media.feed import Feed, FeedTrack, vp8_is_keyframe
from media.reassembly import FrameAssembler, round_trip
from media.settings import NodeSettings
from media.stats import LinkMeter, _max, inbound, outbound
from media.tap import send_pli, tap

ROLES = ("point", "child", "probe")


def hook_keyframe_requests(transceiver: RTCRtpTransceiver) -> None:
    """Route the PLI/FIR a receiver sends to this sender to the feed its track reads.

    aiortc's sender only sets a flag for its own encoder, which a FeedTrack never uses.
    """
    sender = transceiver.sender

    def send_keyframe() -> None:
        track = sender.track
        if isinstance(track, FeedTrack):
            track.request_keyframe("loss")

    sender._send_keyframe = send_keyframe


def deliver_to(feed: Feed):
    if feed.kind == "video":
        return lambda data, timestamp: feed.publish(data, timestamp, vp8_is_keyframe(data))
    return lambda data, timestamp: feed.publish(data, timestamp, True)


def _discard(data: bytes, timestamp: int) -> None:
    pass


class Peer:
    def __init__(self, peer_id: str, role: str, pc: RTCPeerConnection, settings: NodeSettings) -> None:
        self.id = peer_id
        self.role = role
        self.pc = pc
        self.video_in = Feed(f"{peer_id}:video", "video", keyframe_interval=settings.keyframe_interval,
                             on_keyframe_request=self._ask_keyframe)
        self.audio_in = Feed(f"{peer_id}:audio", "audio")
        self.receivers: dict[str, RTCRtpReceiver] = {}
        self.assemblers: dict[str, FrameAssembler] = {}
        self.outputs: list[tuple[RTCRtpTransceiver, FeedTrack]] = []
        self.created = time.monotonic()
        self.connected_at: float | None = None
        self.connected = asyncio.Event()
        self.state = "new"
        self.meter = LinkMeter(settings.thresholds)
        self._tasks: set[asyncio.Task] = set()

    # -------------------------------------------------------------- wiring

    def receive(self, transceiver: RTCRtpTransceiver) -> None:
        """Tap what the peer sends on this transceiver: the first of each kind feeds its feed."""
        kind = transceiver.kind
        rtt = round_trip(self.pc)
        if kind in self.receivers:
            tap(transceiver.receiver, _discard, rtt=rtt)
            return
        self.receivers[kind] = transceiver.receiver
        self.assemblers[kind] = tap(transceiver.receiver, deliver_to(self.video_in if kind == "video" else self.audio_in),
                                    rtt=rtt)

    def send(self, transceiver: RTCRtpTransceiver, track: FeedTrack) -> None:
        transceiver.sender.replaceTrack(track)
        track.send_directly(transceiver.sender)
        hook_keyframe_requests(transceiver)
        self.outputs.append((transceiver, track))

    def _ask_keyframe(self) -> None:
        receiver = self.receivers.get("video")
        if receiver is not None:
            task = asyncio.ensure_future(send_pli(receiver))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def video_output(self) -> FeedTrack | None:
        for _, track in self.outputs:
            if track.kind == "video":
                return track
        return None

    def set_state(self, state: str) -> None:
        self.state = state
        if state == "connected" and self.connected_at is None:
            self.connected_at = time.monotonic()
            self.connected.set()

    # -------------------------------------------------------------- figures

    async def figures(self) -> dict:
        video_in = inbound(self.receivers.get("video"))
        audio_in = inbound(self.receivers.get("audio"))
        outs = []
        for transceiver, track in self.outputs:
            clock = 90_000 if track.kind == "video" else 48_000
            figures = await outbound(transceiver.sender, clock)
            outs.append((track, figures))
        rtt = _max(*(o.rtt_ms for _, o in outs))
        jitter = _max(video_in.jitter_ms, audio_in.jitter_ms, *(o.jitter_ms for _, o in outs))
        fractions = [o.fraction_lost for _, o in outs if o.fraction_lost is not None]
        link = self.meter.update(
            bytes_in=self.video_in.bytes + self.audio_in.bytes,
            bytes_out=sum(o.bytes for _, o in outs),
            in_packets=video_in.packets + audio_in.packets,
            in_lost=video_in.lost + audio_in.lost,
            out_packets=sum(o.packets for _, o in outs),
            out_lost=sum(o.lost for _, o in outs),
            out_fraction_lost=max(fractions) if fractions else None,
            rtt_ms=rtt,
            jitter_ms=jitter,
        )
        return {
            "peer_id": self.id,
            "role": self.role,
            "state": self.state,
            "connected_s": round(time.monotonic() - self.connected_at, 2) if self.connected_at else None,
            "in": {
                kind: {"packets": fig.packets, "lost": fig.lost,
                       "jitter_ms": round(fig.jitter_ms, 1) if fig.jitter_ms is not None else None,
                       "frames": feed.frames, "keyframes": feed.keyframes, "bytes": feed.bytes,
                       "reassembly": self.assemblers[kind].as_dict() if kind in self.assemblers else None}
                for kind, fig, feed in (("video", video_in, self.video_in), ("audio", audio_in, self.audio_in))
            },
            "out": [
                {"kind": track.kind, "feed": track.target.name if track.target else None,
                 "packets": o.packets, "bytes": o.bytes, "lost": o.lost,
                 "rtt_ms": round(o.rtt_ms, 1) if o.rtt_ms is not None else None,
                 "jitter_ms": round(o.jitter_ms, 1) if o.jitter_ms is not None else None,
                 "dropped": track.dropped}
                for track, o in outs
            ],
            "link": link,
        }

    async def close(self) -> None:
        for _, track in self.outputs:
            track.stop()
        self.video_in.close()
        self.audio_in.close()
        for task in list(self._tasks):
            task.cancel()
        await self.pc.close()
