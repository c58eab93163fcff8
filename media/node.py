"""A media node: the interface the coordination server uses.

    node = MediaNode(NodeSettings(node_id="central"))
    await node.start()
    answer = await node.accept("point-17", offer_sdp, role="point", layers=["360p"])
    await node.set_floor("point-17")          # every receiver now gets point 17
    figures = await node.stats()              # per peer: bitrate, loss, RTT, jitter, class
    verdict = await node.verdict("test-17")   # a connection test's result
    await node.stop()

A root node encodes the main feed itself (`media.program`). A child node has a parent
(`set_parent`) and relays the parent's encoded feed to its own peers; it sends one of
its peers' feeds up the tree when asked (`set_uplink`), so the floor can be given to a
point anywhere below. `media.control.NodeClient` offers the same methods over HTTP for a
node in another process, so the server treats an embedded node and a remote one alike.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Protocol

from aiortc import RTCSessionDescription
from aiortc import sdp as aiortc_sdp

from media import ice
from media.feed import Feed, FeedTrack
from media.peer import ROLES, Peer
from media.program import Program
from media.settings import NodeSettings
from media.stats import inbound, outbound
from server.domain import links
from server.domain.errors import DomainError, Invalid, NotFound

log = logging.getLogger("phonghop.media")

MAX_ID = 100


class Upstream(Protocol):
    """What a child node needs of its parent: a MediaNode, or a NodeClient for one elsewhere."""

    async def accept(self, peer_id: str, sdp: str, *, role: str = "point", layers: list[str] | None = None,
                     audio: bool = True) -> str: ...

    async def close_peer(self, peer_id: str) -> None: ...


def _prefer_vp8(transceiver) -> None:
    """The node sends and relays VP8 only: put it first among the negotiated codecs."""
    codecs = getattr(transceiver, "_codecs", None)
    if not codecs:
        return
    vp8 = [c for c in codecs if c.mimeType.lower() == "video/vp8"]
    if not vp8:
        raise Invalid("the offer's video has no VP8: points send and receive VP8")
    vp8_pt = vp8[0].payloadType
    rtx = [c for c in codecs if c.mimeType.lower() == "video/rtx" and c.parameters.get("apt") == vp8_pt]
    transceiver._codecs = [vp8[0], *rtx]


def _check_id(peer_id: object) -> str:
    if not isinstance(peer_id, str) or not peer_id.strip() or len(peer_id) > MAX_ID:
        raise Invalid(f"a peer id is a non-empty string of at most {MAX_ID} characters")
    return peer_id


class MediaNode:
    def __init__(self, settings: NodeSettings | None = None) -> None:
        self.settings = settings or NodeSettings()
        ki = self.settings.keyframe_interval
        self.main_video: dict[str, Feed] = {
            layer.name: Feed(f"main:{layer.name}", "video", keyframe_interval=ki) for layer in self.settings.layers
        }
        self.main_audio = Feed("main:audio", "audio", keyframe_interval=ki)
        self.program = Program(self.settings, self.main_video, self.main_audio)
        self.peers: dict[str, Peer] = {}
        self.floor: str | None = None
        self.uplink: str | None = None
        self.parent = None  # media.cascade.ParentLink when this node is a child
        self._listeners: list[Callable[[dict], None]] = []
        self._started = False
        self._lock = asyncio.Lock()

    @property
    def node_id(self) -> str:
        return self.settings.node_id

    # -------------------------------------------------------------- life

    async def start(self) -> None:
        if self.settings.ice_addresses:
            ice.restrict_host_addresses(self.settings.ice_addresses)
        if not self._started:
            self.program.start()
            self._started = True

    async def stop(self) -> None:
        if self.parent is not None:
            await self.parent.close()
            self.parent = None
        for peer_id in list(self.peers):
            await self.close_peer(peer_id)
        if self._started:
            await self.program.stop()
            self._started = False

    def on_event(self, listener: Callable[[dict], None]) -> None:
        """`listener({"type": "peer.state", "peer_id", "state"})`, `{"type": "parent.state", "state"}`."""
        self._listeners.append(listener)

    def _emit(self, event: dict) -> None:
        for listener in self._listeners:
            try:
                listener({"node_id": self.node_id, **event})
            except Exception:
                log.exception("media: an event listener failed")

    # -------------------------------------------------------------- peers

    async def accept(self, peer_id: str, sdp: str, *, role: str = "point", layers: list[str] | None = None,
                     audio: bool = True) -> str:
        """Answer a peer's SDP offer; returns the answer's SDP (all candidates included).

        role: `point` (sends its picture and sound, receives the main feed), `child` (a
        child node: receives every quality, sends its uplink) or `probe` (a connection
        test: what it sends comes back to it, and `verdict` measures the link).
        layers: the qualities sent to the peer's receiving video m-lines, in their order
        (default: the best quality for a point, all of them for a child node).
        """
        _check_id(peer_id)
        if role not in ROLES:
            raise Invalid(f"role is one of {', '.join(ROLES)}, not {role!r}")
        if not isinstance(sdp, str) or "m=" not in sdp:
            raise Invalid("sdp is the text of an SDP offer")
        if layers is None:
            layers = list(self.main_video) if role == "child" else [self.settings.layers[0].name]
        for name in layers:
            if name not in self.main_video:
                raise Invalid(f"no quality {name!r} on this node: {', '.join(self.main_video)}")
        if peer_id in self.peers:  # a point that reconnects replaces its old connection
            await self.close_peer(peer_id)

        pc = ice.peer_connection(self.settings)
        peer = Peer(peer_id, role, pc, self.settings)
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            # Nothing may be awaited between here and the taps: the receivers start on the
            # first await after setRemoteDescription.
            directions = {m.rtp.muxId: m.direction for m in aiortc_sdp.SessionDescription.parse(sdp).media}
            wanted = iter(layers)
            audio_sent = False
            for transceiver in pc.getTransceivers():
                offered = directions.get(transceiver.mid) or "sendrecv"
                peer_sends = offered in ("sendrecv", "sendonly")
                peer_receives = offered in ("sendrecv", "recvonly")
                if transceiver.kind == "video":
                    _prefer_vp8(transceiver)
                if peer_sends:
                    peer.receive(transceiver)
                track = None
                if peer_receives:
                    if role == "probe":
                        own = peer.video_in if transceiver.kind == "video" else peer.audio_in
                        if not any(t.target is own for _, t in peer.outputs):
                            track = FeedTrack(transceiver.kind, own, lazy=True)
                    elif transceiver.kind == "video":
                        name = next(wanted, None)
                        if name is not None:
                            track = FeedTrack("video", self.main_video[name], lazy=True)
                    elif audio and not audio_sent:
                        track = FeedTrack("audio", self.main_audio, lazy=True)
                        audio_sent = True
                if track is not None:
                    peer.send(transceiver, track)
                    transceiver.direction = "sendrecv" if peer_sends else "sendonly"
                else:
                    transceiver.direction = "recvonly" if peer_sends else "inactive"
            answer = await pc.createAnswer()
            await pc.setLocalDescription(answer)
        except DomainError:
            await peer.close()
            raise
        except Exception as exc:
            await peer.close()
            raise Invalid(f"the offer was refused: {exc}") from None

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            state = pc.connectionState
            peer.set_state(state)
            if state in ("failed", "closed"):
                # The point left or its link died: free what it held (the floor, the uplink).
                if self.peers.get(peer_id) is peer:
                    if state == "failed":
                        self._emit({"type": "peer.state", "peer_id": peer_id, "role": role, "state": state})
                    await self.close_peer(peer_id)
                return
            self._emit({"type": "peer.state", "peer_id": peer_id, "role": role, "state": state})

        self.peers[peer_id] = peer
        self._emit({"type": "peer.state", "peer_id": peer_id, "role": role, "state": "new"})
        return pc.localDescription.sdp

    async def close_peer(self, peer_id: str) -> None:
        peer = self.peers.pop(peer_id, None)
        if peer is None:
            raise NotFound(f"no peer {peer_id!r} on node {self.node_id}")
        if self.floor == peer_id:
            self.floor = None
            self.program.set_source(None, None)
        if self.uplink == peer_id:
            self.uplink = None
            if self.parent is not None:
                self.parent.set_uplink(None)
        await peer.close()
        self._emit({"type": "peer.state", "peer_id": peer_id, "role": peer.role, "state": "closed"})

    def _peer(self, peer_id: str) -> Peer:
        peer = self.peers.get(peer_id)
        if peer is None:
            raise NotFound(f"no peer {peer_id!r} on node {self.node_id}")
        return peer

    # -------------------------------------------------------------- the floor, qualities, keyframes

    async def set_floor(self, peer_id: str | None) -> None:
        """Give the floor: the main feed becomes this peer's picture and sound (None: nothing).

        On a root node only; the peer may be a point or a child node whose uplink carries
        the speaker's point. Receivers keep their connections: they see the new picture
        from its first keyframe on.
        """
        if self.parent is not None:
            raise DomainError("this node takes its main feed from its parent: set its uplink instead",
                              code="conflict")
        peer = self._peer(peer_id) if peer_id is not None else None
        self.floor = peer_id
        self.program.set_source(peer.video_in if peer else None, peer.audio_in if peer else None)

    async def set_uplink(self, peer_id: str | None) -> None:
        """On a child node: send this peer's picture and sound up to the parent (None: nothing).

        A parent link being joined is waited for: the server routes the floor again as soon as
        the parent sees the link up, which may be before this node has finished joining.
        """
        async with self._lock:
            pass
        if self.parent is None:
            raise DomainError("this node has no parent to send an uplink to", code="conflict")
        peer = self._peer(peer_id) if peer_id is not None else None
        self.uplink = peer_id
        self.parent.set_uplink(peer)

    async def set_layer(self, peer_id: str, layer: str) -> None:
        """Move a peer's picture to another quality (a weak link drops to 360p), no renegotiation."""
        peer = self._peer(peer_id)
        if layer not in self.main_video:
            raise Invalid(f"no quality {layer!r} on this node: {', '.join(self.main_video)}")
        track = peer.video_output()
        if track is None or peer.role == "probe":
            raise DomainError(f"peer {peer_id!r} receives no main picture", code="conflict")
        track.switch(self.main_video[layer], reason="join")

    async def request_keyframe(self, layer: str | None = None) -> None:
        if layer is not None and layer not in self.main_video:
            raise Invalid(f"no quality {layer!r} on this node")
        for name, feed in self.main_video.items():
            if layer is None or name == layer:
                feed.request_keyframe("manual")

    # -------------------------------------------------------------- cascade

    async def set_parent(self, upstream: str | Upstream | None, secret: str | None = None) -> None:
        """Become a child of `upstream` (a control API URL, or a node object), or a root again (None).

        The node's receivers keep their connections through the change: their tracks read
        the node's main feeds, which the parent link feeds from now on (or the program).
        """
        from media.cascade import ParentLink
        from media.control import NodeClient

        async with self._lock:
            if self.parent is not None:
                old, self.parent = self.parent, None
                await old.close()
            if upstream is None:
                for feed in self.main_video.values():
                    feed.on_keyframe_request = None  # the program makes keyframes again
                self._emit({"type": "parent.state", "state": "none"})
                return
            self.floor = None
            self.program.set_source(None, None)
            if isinstance(upstream, str):
                upstream = NodeClient(upstream, secret)
            link = ParentLink(self, upstream, link_id=self.node_id)
            await link.connect()
            self.parent = link
            if self.uplink is not None and self.uplink in self.peers:
                link.set_uplink(self.peers[self.uplink])

    # -------------------------------------------------------------- figures

    async def peer_stats(self, peer_id: str) -> dict:
        return await self._peer(peer_id).figures()

    async def stats(self) -> dict:
        peers = {}
        for peer_id, peer in list(self.peers.items()):
            peers[peer_id] = await peer.figures()
        return {
            "node_id": self.node_id,
            "mode": "child" if self.parent is not None else "root",
            "parent": self.parent.as_dict() if self.parent is not None else None,
            "floor": self.floor,
            "uplink": self.uplink,
            "layers": [layer.as_dict() for layer in self.settings.layers],
            "program": self.program.as_dict(),
            "feeds": {feed.name: feed.as_dict() for feed in (*self.main_video.values(), self.main_audio)},
            "peers": peers,
        }

    async def verdict(self, peer_id: str, *, wait_rtt: float = 3.0) -> dict:
        """The connection test's answer for a peer: bitrate, loss, RTT, jitter, class, pass or fail.

        Figures are over the whole test. The round-trip time needs one receiver report that
        answers the node's latest sender report: it waits up to `wait_rtt` seconds for one.
        A `probe` peer is closed afterwards.
        """
        peer = self._peer(peer_id)
        deadline = time.monotonic() + wait_rtt
        while True:
            outs = [(track, await outbound(t.sender, 90_000 if track.kind == "video" else 48_000))
                    for t, track in peer.outputs]
            rtts = [o.rtt_ms for _, o in outs if o.rtt_ms is not None]
            if rtts or time.monotonic() >= deadline or not outs:
                break
            await asyncio.sleep(0.1)
        video_in = inbound(peer.receivers.get("video"))
        audio_in = inbound(peer.receivers.get("audio"))
        seconds = time.monotonic() - (peer.connected_at or peer.created)
        received = video_in.packets + audio_in.packets
        lost_in = video_in.lost + audio_in.lost
        sent = sum(o.packets for _, o in outs)
        lost_out = sum(o.lost for _, o in outs)
        loss_in = lost_in / (received + lost_in) if received + lost_in else 0.0
        loss_out = lost_out / sent if sent else 0.0
        loss = min(1.0, max(loss_in, loss_out))
        jitters = [j for j in (video_in.jitter_ms, audio_in.jitter_ms, *(o.jitter_ms for _, o in outs))
                   if j is not None]
        rtt = max(rtts) if rtts else None
        jitter = max(jitters) if jitters else None
        decided = links.verdict(loss=loss, rtt_ms=rtt, jitter_ms=jitter, packets_received=received,
                                thresholds=self.settings.thresholds)
        result = {
            "peer_id": peer_id,
            "node_id": self.node_id,
            "duration_s": round(seconds, 2),
            "bitrate_kbps": round((peer.video_in.bytes + peer.audio_in.bytes) * 8 / max(seconds, 1e-3) / 1000, 1),
            "loss": round(loss, 4),
            "loss_percent": round(loss * 100, 2),
            "loss_in": round(loss_in, 4),
            "loss_out": round(loss_out, 4),
            "rtt_ms": round(rtt, 1) if rtt is not None else None,
            "jitter_ms": round(jitter, 1) if jitter is not None else None,
            "packets_received": received,
            "packets_lost": lost_in,
            "packets_sent": sent,
            "packets_lost_by_peer": lost_out,
            "video_frames": peer.video_in.frames,
            **decided.as_dict(),
        }
        if peer.role == "probe":
            await self.close_peer(peer_id)
        return result

    async def health(self) -> dict:
        return {"node_id": self.node_id, "status": "ok", "peers": len(self.peers),
                "mode": "child" if self.parent is not None else "root"}
