"""Cascade: a child node's link to its parent, following the organisation tree.

The central node feeds the province nodes, which feed their communes' points. A child
node joins its parent as a peer of role `child`: it receives every quality of the
parent's main feed and the sound, tapped undecoded straight into its own main feeds
(so its receivers get the parent's encoded packets: the child never decodes or encodes),
and it sends one uplink, the picture and sound of whichever of its peers it is told to
send (a point of its own, or a child link below it), so the floor can go to any point
of the tree.

Keyframe requests travel up: a receiver's PLI at the child reaches the child's main
feed, whose pacer lets at most one request per interval through as a PLI on the link,
which the parent's sender hands to its own feed, and so on to the root's encoder.

`floor_route` says which node must do what for the floor to reach a point.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from aiortc import RTCRtpCodecCapability, RTCRtpSender, RTCSessionDescription

from media import ice
from media.feed import FeedTrack
from media.peer import deliver_to, hook_keyframe_requests
from media.reassembly import round_trip
from media.tap import send_pli, tap

if TYPE_CHECKING:
    from media.node import MediaNode, Upstream
    from media.peer import Peer

log = logging.getLogger("phonghop.media")

CONNECT_TIMEOUT = 15.0


def vp8_preferences() -> list[RTCRtpCodecCapability]:
    return [c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType.lower() in ("video/vp8", "video/rtx")]


class ParentLink:
    def __init__(self, node: MediaNode, upstream: Upstream, *, link_id: str) -> None:
        self.node = node
        self.upstream = upstream
        self.link_id = link_id
        self.pc = None
        self.receivers: dict[str, object] = {}  # layer name -> RTCRtpReceiver
        self.uplink_video = FeedTrack("video")
        self.uplink_audio = FeedTrack("audio")
        self.state = "new"
        self._tasks: set[asyncio.Task] = set()

    async def connect(self) -> None:
        node = self.node
        pc = self.pc = ice.peer_connection(node.settings)
        rtt = round_trip(pc)
        for name, feed in node.main_video.items():
            transceiver = pc.addTransceiver("video", direction="recvonly")
            transceiver.setCodecPreferences(vp8_preferences())
            tap(transceiver.receiver, deliver_to(feed), rtt=rtt)
            self.receivers[name] = transceiver.receiver
            feed.on_keyframe_request = self._keyframe_asker(name)
        transceiver = pc.addTransceiver("audio", direction="recvonly")
        tap(transceiver.receiver, deliver_to(node.main_audio), rtt=rtt)
        up_video = pc.addTransceiver(self.uplink_video, direction="sendonly")
        up_video.setCodecPreferences(vp8_preferences())
        hook_keyframe_requests(up_video)
        pc.addTransceiver(self.uplink_audio, direction="sendonly")

        connected = asyncio.Event()

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            self.state = pc.connectionState
            node._emit({"type": "parent.state", "state": self.state})
            if self.state == "connected":
                connected.set()
            elif self.state in ("failed", "closed"):
                connected.set()

        offer = await pc.createOffer()
        await pc.setLocalDescription(offer)
        try:
            answer = await self.upstream.accept(self.link_id, pc.localDescription.sdp, role="child",
                                                layers=list(node.main_video))
            await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
            await asyncio.wait_for(connected.wait(), CONNECT_TIMEOUT)
        except BaseException:
            await self.close(tell_upstream=False)
            raise
        if self.state != "connected":
            await self.close(tell_upstream=False)
            raise ConnectionError(f"the link to the parent node ended as {self.state}")
        # Receivers already waiting at this node need a keyframe from the new parent.
        for feed in node.main_video.values():
            if feed.consumers:
                feed.request_keyframe("join")

    def _keyframe_asker(self, layer: str):
        def ask() -> None:
            receiver = self.receivers.get(layer)
            if receiver is not None:
                task = asyncio.ensure_future(send_pli(receiver))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        return ask

    def set_uplink(self, peer: Peer | None) -> None:
        self.uplink_video.switch(peer.video_in if peer else None, reason="floor")
        self.uplink_audio.switch(peer.audio_in if peer else None, reason="floor")

    async def close(self, *, tell_upstream: bool = True) -> None:
        for feed in self.node.main_video.values():
            if feed.on_keyframe_request is not None:
                feed.on_keyframe_request = None
        self.uplink_video.switch(None)
        self.uplink_audio.switch(None)
        for task in list(self._tasks):
            task.cancel()
        if tell_upstream:
            try:
                await self.upstream.close_peer(self.link_id)
            except Exception as exc:  # the parent may be gone: that is often why we leave it
                log.info("media: the parent did not take the link's close: %s", exc)
        if self.pc is not None:
            await self.pc.close()
        self.state = "closed"

    def as_dict(self) -> dict:
        return {"link_id": self.link_id, "state": self.state,
                "upstream": getattr(self.upstream, "url", None) or getattr(self.upstream, "node_id", None)}


def floor_route(path: Sequence[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """The steps that give the floor to a point, from the root node down to the point's node.

    `path` lists (node id, the id of the peer on that node that leads to the point) from the
    root down: for a point P on commune node C, under province node B, under root A,
    `[("A", "B"), ("B", "C"), ("C", "P")]` (a child node's peer id on its parent is its node
    id). The answer: `[("A", "set_floor", "B"), ("B", "set_uplink", "C"), ("C", "set_uplink", "P")]`.
    The server applies them last first (`Board.apply_floor`): each link carries the point before
    the node above takes it, so nobody is shown an empty link.
    """
    steps = []
    for depth, (node_id, peer_id) in enumerate(path):
        steps.append((node_id, "set_floor" if depth == 0 else "set_uplink", peer_id))
    return steps
