"""The seam between the conference's coordination and the media plane.

The server drives a media node through these methods only. `media.node.MediaNode` (the
embedded node, `app["media"]`) and `media.control.NodeClient` (a node in another process)
both have them, so the coordination does not care where the node runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class MediaPort(Protocol):
    async def accept(self, peer_id: str, sdp: str, *, role: str = "point", layers: list[str] | None = None,
                     audio: bool = True) -> str:
        """Answer a point's SDP offer (role `point`, or `probe` for its connection test)."""

    async def close_peer(self, peer_id: str) -> None: ...

    async def set_floor(self, peer_id: str | None) -> None:
        """The main feed becomes this peer's picture and sound."""

    async def stats(self) -> dict:
        """`{"peers": {peer_id: {"role", "state", "link": {"loss", "rtt_ms", "jitter_ms",
        "bitrate_in_kbps", "quality", ...}}}}`."""

    async def verdict(self, peer_id: str) -> dict:
        """The connection test's result for a probe peer: `loss`, `rtt_ms`, `jitter_ms`,
        `bitrate_kbps`, `packets_received`, `passed`, `quality`, `reasons`."""

    def on_event(self, listener: Callable[[dict], None]) -> None:
        """`listener({"type": "peer.state", "peer_id", "role", "state"})` as peers connect and go."""


def media_of(app) -> MediaPort | None:
    """The node this server process drives, if it runs one."""
    try:
        return app["media"]
    except KeyError:
        return None


def peer_is_connected(node: object, peer_id: str) -> bool:
    """Whether the node holds a connected peer of this id (an embedded node only; a remote
    node reports through its events)."""
    peers = getattr(node, "peers", None)
    peer = peers.get(peer_id) if isinstance(peers, dict) else None
    return getattr(peer, "state", None) == "connected"
