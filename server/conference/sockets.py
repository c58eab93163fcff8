"""The conference's socket.io messages (docs/conference.md): watching the live board, a
point's link figures, and the media signalling between a point and the media node.

Each answers through the same ack as every message (`{"ok": true, ...}` or `{"ok": false,
"error"}`), and none is logged: what they change is presence and figures, kept by the live
board (server/conference/board.py). A verdict of the connection test, once measured, is
recorded by the `point.test_result` command.
"""

from __future__ import annotations

import contextlib
import math

from server.auth import access as access_rules
from server.commands import conference as conference_commands
from server.commands import dispatch
from server.conference.board import peer_id
from server.conference.media_port import media_of
from server.domain import conference as rules
from server.domain.errors import DomainError, Forbidden, Invalid, NotFound
from server.domain.permissions import Role

MAX_SDP = 64 * 1024
ROLES = ("point", "probe")


def _meeting_id(data: dict) -> int:
    value = data.get("meeting_id")
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**31:
        raise Invalid("meeting_id must be a whole number")
    return value


def _figure(data: dict, name: str, high: float, optional: bool = True) -> float | None:
    value = data.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value) or not 0 <= value <= high:
        raise Invalid(f"{name} must be a number from 0 to {high:g}", details=[{"field": name}])
    return float(value)


def register(sio, app, answering, caller_of) -> None:
    db = app["db"]

    def board():
        return app["conference"]

    async def _access(sid: str, data: dict):
        meeting_id = _meeting_id(data)
        caller = await caller_of(sid)
        async with db.read() as session:
            access = await access_rules.meeting_access(session, caller, meeting_id)
        return caller, access

    async def _own_point(sid: str, data: dict):
        """The caller's point in the meeting's conference: its operator's own unit."""
        caller, access = await _access(sid, data)
        me = access.me
        if me is None or me.role != Role.OPERATOR or me.unit_id is None:
            raise Forbidden("only a bridge point's operator does this")
        conf = await board().get(access.meeting.id)
        if conf is None:
            raise NotFound("this meeting has no online conference")
        point = conf.points.get(me.unit_id)
        if point is None:
            raise rules.ConferenceError("not_invited", "this point is not invited to the conference")
        return caller, access, conf, point

    @sio.on("conference.watch")
    @answering
    async def watch(sid, data):
        """The whole live board (staff, the chair), or the caller's own point (an operator).
        The secretariat room then brings `conference.board`, the operator's own room
        `conference.my_point`."""
        _, access = await _access(sid, data)
        conf = await board().get(access.meeting.id)
        if conf is None:
            return {"board": None}
        if access.sees_secretariat:
            return {"board": board().view(conf)}
        me = access.me
        if me is not None and me.role == Role.OPERATOR and me.unit_id in conf.points:
            return {"board": board().view(conf, only=me.unit_id)}
        raise Forbidden("the live board is for the secretariat and the points' operators")

    @sio.on("point.link")
    @answering
    async def link(sid, data):
        """Figures a point measured on its own link (a browser's or an agent's), every second or two."""
        unknown = set(data) - {"meeting_id", "loss", "rtt_ms", "jitter_ms", "bitrate_kbps"}
        if unknown:
            raise Invalid(f"unknown fields: {', '.join(sorted(unknown))}")
        loss = _figure(data, "loss", 1.0, optional=False)
        rtt, jitter = _figure(data, "rtt_ms", 600_000), _figure(data, "jitter_ms", 600_000)
        bitrate = _figure(data, "bitrate_kbps", 10_000_000)
        _, _, conf, point = await _own_point(sid, data)
        if not point.presence.media:
            raise rules.ConferenceError("no_media", "the point's media is not connected: no link to measure")
        board().sample(conf, point.unit_id, loss=loss, rtt_ms=rtt, jitter_ms=jitter, bitrate_kbps=bitrate)
        return {}

    def _node():
        node = media_of(app)
        if node is None:
            raise DomainError("this server runs no media node", code="unavailable", status=503)
        return node

    def _registry():
        return app.get("media_nodes") if hasattr(app, "get") else None

    def _node_of_peer(peer: str):
        """The node that holds this peer (an external node's, or this server's own)."""
        registry = _registry()
        if registry is not None and peer in registry.peer_nodes:
            port = registry.port_of(registry.peer_nodes[peer])
            if port is not None:
                return port
        return _node()

    @sio.on("media.offer")
    @answering
    async def offer(sid, data):
        """A point's SDP offer: `role` point (its picture and sound, the main feed back) or
        probe (its connection test: what it sends comes back). Answers `{"sdp", "peer_id"}`."""
        role = data.get("role", "point")
        sdp = data.get("sdp")
        layers = data.get("layers")
        if role not in ROLES:
            raise Invalid(f"role is one of {', '.join(ROLES)}")
        if not isinstance(sdp, str) or not 0 < len(sdp) <= MAX_SDP:
            raise Invalid("sdp is the text of an SDP offer")
        if layers is not None and (not isinstance(layers, list) or not all(isinstance(x, str) for x in layers)
                                   or len(layers) > 4):
            raise Invalid("layers is a list of quality names")
        _, access, conf, point = await _own_point(sid, data)
        if not rules.may_join(conf.state, point.presence.ever_online):
            raise rules.ConferenceError("locked", f"the conference is {conf.state}: no new point joins")
        registry = _registry()
        node_id = await registry.node_for(point.unit_id) if registry is not None else None
        node = registry.port_of(node_id) if node_id is not None else None
        if node is None:
            node = _node()
            node_id = getattr(node, "node_id", None)
        # A point that signals is there, even one (an agent) that has not joined the meeting's rooms.
        await board().joined(sid, access.meeting.id, access.me)
        old = board().peer_of(access.meeting.id, point.unit_id, role)
        if old is not None:  # the point offers again (a reload, a new camera): its old connection goes
            old_node = _node_of_peer(old)
            board().forget_peer(old)
            with contextlib.suppress(DomainError, ConnectionError, OSError):
                await old_node.close_peer(old)
            if role == "point":
                await board().media(access.meeting.id, point.unit_id, False)
        peer = peer_id(conf.id, point.unit_id, role)
        board().track_peer(peer, access.meeting.id, point.unit_id, role)
        if registry is not None and node_id is not None:
            registry.peer_nodes[peer] = node_id
        try:
            answer = await node.accept(peer, sdp, role=role, layers=layers)
        except Exception:
            board().forget_peer(peer)
            if registry is not None:
                registry.peer_nodes.pop(peer, None)
            raise
        if point.node != node_id:
            point.node = node_id
            conf.changed.add(point.unit_id)
        return {"sdp": answer, "peer_id": peer, "node": node_id}

    @sio.on("media.verdict")
    @answering
    async def verdict(sid, data):
        """The media node's verdict on the point's connection test (its probe), recorded as
        the point's test (`point.test_result`)."""
        key = data.get("key")
        caller, access, conf, point = await _own_point(sid, data)
        probe = board().peer_of(access.meeting.id, point.unit_id, "probe")
        if probe is None:
            raise NotFound("no connection test of this point is running: offer a probe first")
        figures = await _node_of_peer(probe).verdict(probe)
        token = conference_commands.VERDICT_SOURCE.set("node")
        try:
            done = await dispatch.execute(app, caller, "point.test_result", key, {
                "meeting_id": access.meeting.id,
                "loss": float(figures.get("loss") or 0.0),
                "rtt_ms": figures.get("rtt_ms"),
                "jitter_ms": figures.get("jitter_ms"),
                "bitrate_kbps": figures.get("bitrate_kbps"),
                "packets_received": int(figures.get("packets_received") or 0),
                "duration_s": figures.get("duration_s"),
            })
        finally:
            conference_commands.VERDICT_SOURCE.reset(token)
        return done

    @sio.on("media.close")
    @answering
    async def close(sid, data):
        role = data.get("role", "point")
        if role not in ROLES:
            raise Invalid(f"role is one of {', '.join(ROLES)}")
        _, access, _, point = await _own_point(sid, data)
        peer = board().peer_of(access.meeting.id, point.unit_id, role)
        if peer is not None:
            with contextlib.suppress(NotFound):
                await _node_of_peer(peer).close_peer(peer)
        return {}
