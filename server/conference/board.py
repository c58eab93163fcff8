"""The live board of a conference: every point's presence and link, kept in memory, written
behind, and sent out at most once a second (docs/conference.md).

Presence (a point's connection came or went, its media link came up or went down) and link
figures (a sample every second or two per point) arrive far too often to be commands: a
thousand points reconnecting after a network cut, three thousand links measured every two
seconds. The board applies them in memory through the domain's rules
(server/domain/conference.py), and once a second (`FLUSH`):

- writes what changed to `conference_points` and the closed link samples to
  `conference_link_samples`, in one transaction;
- sends the points whose view changed as one unlogged `conference.board` message to the
  meeting's secretariat room (the console, the operations screen), and each changed point to
  its operator (`conference.my_point`, to the operator's own room).

What commands decide (invitations, test verdicts, the conference's state, the floor) is in the
database and the event log; a command marks the board stale (`invalidate`) and the next tick
reads it again, keeping what only this process knows (its points' connections). With several
server processes each holds the points connected to it; the others' are read back from the
database every `REFRESH` seconds, and a presence nobody confirmed for `STALE` counts as dropped.
What a command changed reaches every process at once, though: after its commit the process that
ran it publishes the meeting on Redis (`CHANNEL`, beside socket.io's own channel) and each
process reads the conference again and, when the floor moved, points its media node's main
feed at the floor's point (`apply_floor`, idempotent: it sets what the database says).

The floor reaches the main feed through the cascade of media nodes (`apply_floor`): the node
holding the floor's peer sends it up (`set_uplink`), each node above sends up the link of the
one below, and the root (the central node) takes the link of its child as its main feed
(`set_floor`), as `media.cascade.floor_route` lists; the route applied last is kept per meeting,
and nodes that were on it and are no longer stop sending upward.

The floor does not stay with a point nobody can see: a point holding it whose media has been
down for the floor's grace (PHONGHOP_FLOOR_GRACE_S: its operator gone, or its picture and
sound) gives it back to the host, by a decision of the system that is logged like a command's
(`fall_back_floor`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from prometheus_client import Counter, Gauge
from sqlalchemy import delete, insert, select, update

from server.conference.media_port import media_of, peer_is_connected
from server.domain import conference as rules
from server.domain.links import LinkState, classify
from server.domain.times import iso
from server.realtime.fanout import secretariat_room, user_room
from server.store import conference_views as views
from server.store.tables import ConferencePoint, LinkSample, utcnow

log = logging.getLogger("phonghop.conference")

FLUSH = 1.0  # seconds between two writes and messages
HEARTBEAT = 15.0  # a connected point's presence is confirmed in the database this often
STALE = timedelta(seconds=45)  # a presence unconfirmed for longer counts as dropped
REFRESH = 30.0  # what other processes wrote is read again this often
LINK_POLL = 2.0  # the media node's figures are read this often
COMPACT_EVERY = 60.0  # link history is downsampled this often
IDLE = 300.0  # a conference nobody looked at, with no point here, is forgotten after this
CHANNEL = "phonghop:conference"  # Redis channel: a command changed a meeting's conference
RELAY_RETRY = 2.0  # seconds before listening again after Redis went away
ROUTE_STEP_TIMEOUT = 20.0  # one node's part of a floor route (a node still joining its parent finishes first)
DECISIVE_STATES = ("connected", "failed", "closed", "disconnected")  # a peer's states that move its media

SIGNALS = Counter("phonghop_conference_signals_total", "Presence observations applied to points", ["signal"])
SAMPLES = Counter("phonghop_conference_link_samples_total", "Link figures applied to points")
RELAYED = Counter("phonghop_conference_relayed_total", "Conference changes passed between server processes",
                  ["direction"])
FALLBACKS = Counter("phonghop_conference_floor_fallbacks_total", "Floors given back to the host by the system",
                    ["reason"])
POINTS_HERE = Gauge("phonghop_conference_points_connected", "Points whose connection this process holds")


@dataclass
class LivePoint:
    unit_id: int
    code: str
    name: str
    level: str
    parent_id: int | None
    host: bool
    operator_user_id: int | None
    operator_name: str | None
    presence: rules.Presence
    presence_at: datetime | None
    seen_at: datetime | None
    invited_at: datetime | None
    link: LinkState | None = None
    loss: float | None = None
    rtt_ms: float | None = None
    jitter_ms: float | None = None
    bitrate_kbps: float | None = None
    link_at: datetime | None = None
    passed: bool | None = None
    test: dict | None = None
    test_at: datetime | None = None
    seated: int | None = None
    sids: set[str] = field(default_factory=set)  # this process's connections of the point
    window: rules.Window | None = None  # link figures of the current fine bucket
    dirty: bool = False  # presence to write
    link_dirty: bool = False  # link figures to write
    since: datetime | None = None  # when its state last changed, as this process saw it
    state: rules.PointState | None = None  # its state when last sent
    node: str | None = None  # the media node that serves it (server/conference/nodes.py)

    @property
    def here(self) -> bool:
        return bool(self.sids)


Step = tuple[str, str, str | None]  # (node id, "set_floor" or "set_uplink", peer id)


@dataclass(frozen=True)
class FloorRoute:
    """The steps last applied to route a meeting's floor, and whether every node took its own."""

    steps: tuple[Step, ...]
    complete: bool

    def uplinks(self) -> set[str]:
        return {node_id for node_id, action, _ in self.steps if action == "set_uplink"}


@dataclass
class LiveConference:
    meeting_id: int
    id: int
    state: str
    host_unit_id: int
    floor_unit_id: int | None
    mute_all: bool
    points: dict[int, LivePoint]
    units: dict[int, rules.TreeUnit]
    levels: list[str]
    loaded: float = field(default_factory=time.monotonic)
    used: float = field(default_factory=time.monotonic)
    stale: bool = False
    changed: set[int] = field(default_factory=set)
    samples: list[dict] = field(default_factory=list)  # closed fine samples to write
    sent: dict[int, dict] = field(default_factory=dict)  # unit_id -> the view last sent
    compacted: float = field(default_factory=time.monotonic)
    heartbeat: float = 0.0

    @property
    def live(self) -> bool:
        return rules.is_live(self.state)


def presence_now(p: LivePoint, now: datetime) -> rules.Presence:
    """What is known of the point; a presence another process held and stopped confirming
    counts as dropped."""
    return p.presence if p.here else rules.stale(p.presence, p.seen_at, now, STALE)


def point_state(conf: LiveConference, p: LivePoint, now: datetime) -> rules.PointState:
    return rules.state_of(presence_now(p, now), passed=p.passed, live=conf.live)


def point_view(conf: LiveConference, p: LivePoint, now: datetime) -> rules.PointView:
    state = point_state(conf, p, now)
    return rules.PointView(p.unit_id, p.name, p.level, state, p.link if state in rules.MEDIA_STATES else None,
                           p.loss, p.rtt_ms, p.passed, p.seated, p.parent_id)


def point_dict(conf: LiveConference, p: LivePoint, now: datetime) -> dict:
    """A point as the wire shows it (docs/conference.md, "A point")."""
    view = point_view(conf, p, now)
    media = view.state in rules.MEDIA_STATES
    return {
        "unit_id": p.unit_id,
        "code": p.code,
        "name": p.name,
        "level": p.level,
        "parent_id": p.parent_id,
        "host": p.host,
        "operator": {"user_id": p.operator_user_id, "name": p.operator_name} if p.operator_user_id else None,
        "state": view.state.value,
        "since": iso(p.since or p.presence_at or p.invited_at),
        "floor": conf.floor_unit_id == p.unit_id,
        "link": view.link.value if view.link else None,
        "loss": p.loss if media else None,
        "rtt_ms": p.rtt_ms if media else None,
        "jitter_ms": p.jitter_ms if media else None,
        "bitrate_kbps": p.bitrate_kbps if media else None,
        "link_at": iso(p.link_at) if media else None,
        "test": p.test,
        "seated": p.seated,
        "trouble": rules.trouble(view),
        "node": p.node,
    }


_serial = itertools.count(1)


def peer_id(conference_id: int, unit_id: int, role: str = "point") -> str:
    """A new id for the point's peer at the media node (its connection test is a peer of its
    own): each offer gets its own, so the late events of a replaced connection are not taken
    for the new one's."""
    return f"c{conference_id}-u{unit_id}-{'t' if role == 'probe' else 'p'}{next(_serial)}"


class Board:
    def __init__(self, app) -> None:
        self.app = app
        self.conferences: dict[int, LiveConference] = {}
        # Operators' connections that joined a meeting: sid -> {meeting_id: unit_id}. Kept even
        # before their unit is invited, so an invitation finds them connected.
        self.sockets: dict[str, dict[int, int]] = {}
        self.peers: dict[str, tuple[int, int, str]] = {}  # media peer -> (meeting, unit, role)
        self._loading: dict[int, asyncio.Lock] = {}
        self._generations: dict[int, int] = {}  # bumped by each committed change (see get)
        self._task: asyncio.Task | None = None
        self._media_task: asyncio.Task | None = None
        self._listening = False
        self._flushing = asyncio.Lock()
        # Between processes (docs/conference.md, "Several server processes"): this process's
        # mark on what it publishes, and the Redis it publishes on (None: it runs alone).
        self.origin = secrets.token_hex(8)
        settings = app["settings"] if "settings" in app else None
        self._redis_url: str | None = getattr(settings, "redis_url", None)
        self._redis = None
        self._relay_task: asyncio.Task | None = None
        self.relaying = asyncio.Event()  # set while subscribed (tests wait for it)
        self._tasks: set[asyncio.Task] = set()  # fire-and-forget work, kept from the collector
        grace = getattr(settings, "floor_grace_s", None)
        self.floor_grace = rules.FLOOR_GRACE if grace is None else timedelta(seconds=grace)
        self._routes: dict[int, FloorRoute] = {}  # meeting -> the floor's route through the media nodes
        self._routing: dict[int, asyncio.Lock] = {}  # one route applied at a time per meeting
        self._falling: set[int] = set()  # meetings whose floor is being given back just now

    # ---------------------------------------------------------------- life

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self._task is None:
            self._task = loop.create_task(self._run(), name="conference-board")
        node = media_of(self.app)
        if node is not None and not self._listening:
            node.on_event(self._media_event)
            self._listening = True
        if node is not None and self._media_task is None:
            self._media_task = loop.create_task(self._poll_media(), name="conference-links")
        if self._redis_url and self._relay_task is None:
            self._relay_task = loop.create_task(self._listen(), name="conference-relay")

    async def stop(self) -> None:
        for task in (self._task, self._media_task, self._relay_task, *self._tasks):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._media_task = self._relay_task = None
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.aclose()
            self._redis = None
        with contextlib.suppress(Exception):
            await self.flush()

    def _spawn(self, work, name: str) -> None:
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---------------------------------------------------------------- between processes

    def changed(self, meeting_id: int, *, floor_moved: bool = False) -> None:
        """A command committed a change of this meeting's conference: read it again here, move
        this process's media node's main feed if the floor moved, and tell the other processes
        to do the same (they hold other points' connections and their media)."""
        self.invalidate(meeting_id)
        if floor_moved:
            self._spawn(self.apply_floor(meeting_id), "conference-floor")
        if self._redis_url:
            self._spawn(self._publish(meeting_id, floor_moved), "conference-relay-out")

    async def _publish(self, meeting_id: int, floor_moved: bool) -> None:
        message = json.dumps({"meeting_id": meeting_id, "floor": floor_moved, "origin": self.origin})
        try:
            if self._redis is None:
                import redis.asyncio

                self._redis = redis.asyncio.from_url(self._redis_url, socket_timeout=5)
            await self._redis.publish(CHANNEL, message)
            RELAYED.labels("out").inc()
        except Exception as exc:  # the change is committed: the others read it within REFRESH
            log.warning("conference: the other processes could not be told of meeting %s's change (%s); they read "
                        "it again within %g s", meeting_id, exc or type(exc).__name__, REFRESH)

    async def _listen(self) -> None:
        """Changes committed by other processes, from Redis, for as long as this process runs."""
        import redis.asyncio

        while True:
            client = redis.asyncio.from_url(self._redis_url)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    self.relaying.set()
                    # What was published while this process was not listening is read again.
                    for meeting_id in list(self.conferences):
                        self._received(meeting_id, True, held_only=True)
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self._relayed(message.get("data"))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("conference: not listening to the other processes (%s); again in %g s",
                            exc or type(exc).__name__, RELAY_RETRY)
            finally:
                self.relaying.clear()
                with contextlib.suppress(Exception):
                    await client.aclose()
            await asyncio.sleep(RELAY_RETRY)

    def _relayed(self, data: bytes | str | None) -> None:
        try:
            message = json.loads(data)
            meeting_id, floor, origin = int(message["meeting_id"]), bool(message["floor"]), message.get("origin")
        except (TypeError, ValueError, KeyError):
            log.warning("conference: a message on %s that is not ours: %r", CHANNEL, data)
            return
        if origin == self.origin:
            return  # this process applied it when it committed
        RELAYED.labels("in").inc()
        self._received(meeting_id, floor, held_only=True)

    def _received(self, meeting_id: int, floor_moved: bool, *, held_only: bool) -> None:
        self.invalidate(meeting_id)
        # Only a process with media peers of this meeting has a main feed to move; the others
        # leave their node alone (it may carry another meeting).
        if floor_moved and (not held_only or any(m == meeting_id for m, _, _ in self.peers.values())):
            self._spawn(self.apply_floor(meeting_id), "conference-floor")

    # ---------------------------------------------------------------- reading

    async def get(self, meeting_id: int) -> LiveConference | None:
        """The meeting's conference as this process knows it (read when missing or stale)."""
        conf = self.conferences.get(meeting_id)
        if conf is not None and not conf.stale and time.monotonic() - conf.loaded < REFRESH:
            conf.used = time.monotonic()
            return conf
        lock = self._loading.setdefault(meeting_id, asyncio.Lock())
        async with lock:
            conf = self.conferences.get(meeting_id)
            if conf is not None and not conf.stale and time.monotonic() - conf.loaded < REFRESH:
                return conf
            generation = self._generations.get(meeting_id, 0)
            fresh = await self._load(meeting_id, conf)
            if fresh is not None and self._generations.get(meeting_id, 0) != generation:
                # A command committed while this read was under way: what it read may predate
                # the commit, so the next reader reads again.
                fresh.stale = True
            if fresh is None:
                self.conferences.pop(meeting_id, None)
            else:
                self.conferences[meeting_id] = fresh
            return fresh

    def invalidate(self, meeting_id: int) -> None:
        """A command changed what the database says of this conference: read it again."""
        self._generations[meeting_id] = self._generations.get(meeting_id, 0) + 1
        conf = self.conferences.get(meeting_id)
        if conf is not None:
            conf.stale = True

    async def _load(self, meeting_id: int, old: LiveConference | None) -> LiveConference | None:
        async with self.app["db"].read() as db:
            row = await views.conference_of(db, meeting_id)
            if row is None:
                return None
            rows = await views.point_rows(db, row)
            units = await views.tree_units(db)
        now = utcnow()
        points: dict[int, LivePoint] = {}
        for p, unit, operator_name, seated in rows:
            lp = LivePoint(
                unit_id=unit.id, code=unit.code, name=unit.name, level=unit.level, parent_id=unit.parent_id,
                host=unit.id == row.host_unit_id, operator_user_id=p.operator_user_id, operator_name=operator_name,
                presence=rules.Presence(p.ever_online, p.connected, p.media, p.lost),
                presence_at=p.presence_at, seen_at=p.seen_at, invited_at=p.invited_at,
                link=LinkState(p.link) if p.link else None, loss=p.loss, rtt_ms=p.rtt_ms, jitter_ms=p.jitter_ms,
                bitrate_kbps=p.bitrate_kbps, link_at=p.link_at, passed=p.test_passed, test=p.test, test_at=p.test_at,
                seated=seated,
            )
            was = old.points.get(unit.id) if old is not None and old.id == row.id else None
            if was is not None:
                lp.since, lp.state, lp.node = was.since, was.state, was.node
                if was.here or was.dirty or was.link_dirty:  # what this process knows is newer
                    lp.presence, lp.presence_at, lp.seen_at = was.presence, was.presence_at, was.seen_at
                    lp.sids, lp.dirty = was.sids, was.dirty
                if was.window is not None or was.link_dirty or was.here:
                    lp.link, lp.loss, lp.rtt_ms, lp.jitter_ms = was.link, was.loss, was.rtt_ms, was.jitter_ms
                    lp.bitrate_kbps, lp.link_at, lp.window, lp.link_dirty = (was.bitrate_kbps, was.link_at,
                                                                              was.window, was.link_dirty)
            points[unit.id] = lp
        conf = LiveConference(
            meeting_id=meeting_id, id=row.id, state=row.state, host_unit_id=row.host_unit_id,
            floor_unit_id=row.floor_unit_id, mute_all=row.mute_all, points=points, units=units,
            levels=rules.level_order(units),
        )
        if old is not None and old.id == row.id:
            conf.sent, conf.samples, conf.compacted, conf.heartbeat = old.sent, old.samples, old.compacted, old.heartbeat
            # Points no longer invited: their connections stay known (an invitation may come back).
            for gone in set(old.points) - set(points):
                conf.sent.pop(gone, None)
        conf.changed = set(points)  # compared with what was sent at the next tick
        # Operators already connected to this meeting whose unit is (now) a point.
        for sid, meetings in self.sockets.items():
            unit_id = meetings.get(meeting_id)
            p = points.get(unit_id) if unit_id is not None else None
            if p is not None and sid not in p.sids and rules.may_join(conf.state, p.presence.ever_online):
                self._signal(conf, p, rules.Signal.CONNECT, sid=sid, now=now)
        return conf

    def view(self, conf: LiveConference, only: int | None = None) -> dict:
        """The whole board (or one point's): points worst first, totals by level and by
        branch of the tree, the tree's levels."""
        now = utcnow()
        conf.used = time.monotonic()
        chosen = [p for p in conf.points.values() if only is None or p.unit_id == only]
        views_ = {p.unit_id: point_view(conf, p, now) for p in chosen}
        ordered = rules.worst_first(views_.values())
        points = [point_dict(conf, conf.points[v.unit_id], now) for v in ordered]
        answer = {"meeting_id": conf.meeting_id, "conference_id": conf.id, "state": conf.state,
                  "points": points, "at": iso(now)}
        if only is None:
            answer["totals"] = rules.totals(views_.values(), conf.levels)
            branches = rules.branch_totals(views_.values(), conf.units)
            answer["branches"] = [
                {"unit_id": u, "code": conf.units[u].code, "name": conf.units[u].name, "level": conf.units[u].level,
                 "parent_id": conf.units[u].parent_id, **t}
                for u, t in branches.items() if u in conf.units
            ]
            answer["levels"] = conf.levels
        return answer

    # ---------------------------------------------------------------- presence

    def _signal(self, conf: LiveConference, p: LivePoint, signal: rules.Signal, *, sid: str | None = None,
                now: datetime | None = None) -> None:
        now = now or utcnow()
        if signal is rules.Signal.CONNECT and sid is not None:
            p.sids.add(sid)
        before = p.presence
        p.presence = rules.sense(p.presence, signal)
        if signal is rules.Signal.CONNECT and not p.presence.media:
            # The point's media may have outlived a blip of its connection (a bridge agent).
            node = media_of(self.app)
            peer = self.peer_of(conf.meeting_id, p.unit_id)
            if node is not None and peer is not None and peer_is_connected(node, peer):
                p.presence = rules.sense(p.presence, rules.Signal.MEDIA_UP)
        SIGNALS.labels(signal.value).inc()
        if p.presence != before:
            p.presence_at = now
            p.dirty = True
            conf.changed.add(p.unit_id)
        if p.here:
            p.seen_at = now

    async def joined(self, sid: str, meeting_id: int, me) -> None:
        """A connection joined a meeting; if it is a point's operator, the point is online."""
        if me is None or me.role != "operator" or me.unit_id is None:
            return
        self.sockets.setdefault(sid, {})[meeting_id] = me.unit_id
        conf = await self.get(meeting_id)
        p = conf.points.get(me.unit_id) if conf is not None else None
        if p is not None and sid not in p.sids and rules.may_join(conf.state, p.presence.ever_online):
            self._signal(conf, p, rules.Signal.CONNECT, sid=sid)
            POINTS_HERE.set(self._here())

    def left(self, sid: str, meeting_id: int | None = None) -> None:
        """A connection left a meeting (None: every meeting: it is gone)."""
        meetings = self.sockets.get(sid, {})
        for m in [meeting_id] if meeting_id is not None else list(meetings):
            unit_id = meetings.pop(m, None)
            conf = self.conferences.get(m)
            p = conf.points.get(unit_id) if conf is not None and unit_id is not None else None
            if p is not None and sid in p.sids:
                p.sids.discard(sid)
                if not p.sids:
                    self._signal(conf, p, rules.Signal.DISCONNECT)
        if not meetings:
            self.sockets.pop(sid, None)
        POINTS_HERE.set(self._here())

    def _here(self) -> int:
        return sum(1 for c in self.conferences.values() for p in c.points.values() if p.here)

    async def media(self, meeting_id: int, unit_id: int, up: bool) -> None:
        """The point's media link came up or went down (the node said so, or the point)."""
        await self.get(meeting_id)
        self.media_now(meeting_id, unit_id, up)

    def media_now(self, meeting_id: int, unit_id: int, up: bool) -> None:
        """`media` for a conference already loaded (after a command's commit)."""
        conf = self.conferences.get(meeting_id)
        p = conf.points.get(unit_id) if conf is not None else None
        if p is None:
            return
        self._signal(conf, p, rules.Signal.MEDIA_UP if up else rules.Signal.MEDIA_DOWN)
        if up and (unit_id == conf.floor_unit_id or (conf.floor_unit_id is None and unit_id == conf.host_unit_id)):
            # The main feed's source is back.
            asyncio.get_running_loop().create_task(self.apply_floor(meeting_id))

    def sample(self, conf: LiveConference, unit_id: int, *, loss: float, rtt_ms: float | None = None,
               jitter_ms: float | None = None, bitrate_kbps: float | None = None, at: datetime | None = None) -> None:
        """Figures of a point's link over the last second or two."""
        p = conf.points.get(unit_id)
        if p is None:
            return
        at = at or utcnow()
        loss = min(1.0, max(0.0, float(loss)))
        p.link = classify(loss, p.link)
        p.loss, p.rtt_ms, p.jitter_ms, p.bitrate_kbps, p.link_at = loss, rtt_ms, jitter_ms, bitrate_kbps, at
        p.link_dirty = True
        conf.changed.add(unit_id)
        policy = rules.DEFAULT_POLICY
        start = rules.bucket(at, policy.fine)
        if p.window is not None and p.window.at != start:
            self._close_window(conf, p)
        if p.window is None:
            p.window = rules.Window(start)
        p.window.add(rules.Sample(at, policy.fine, loss, rtt_ms, jitter_ms, bitrate_kbps, p.link))
        SAMPLES.inc()

    def _close_window(self, conf: LiveConference, p: LivePoint) -> None:
        s = p.window.sample(rules.DEFAULT_POLICY.fine)
        conf.samples.append({"conference_id": conf.id, "unit_id": p.unit_id, "at": s.at, "span": s.span,
                             "loss": s.loss, "rtt_ms": s.rtt_ms, "jitter_ms": s.jitter_ms,
                             "bitrate_kbps": s.bitrate_kbps, "quality": s.quality.value})
        p.window = None

    # ---------------------------------------------------------------- the media node

    def track_peer(self, peer: str, meeting_id: int, unit_id: int, role: str) -> None:
        self.peers[peer] = (meeting_id, unit_id, role)

    def _media_event(self, event: dict) -> None:
        if event.get("type") != "peer.state":
            return
        state = event.get("state")
        if event.get("role") == "child" and state == "connected":
            # A child node (re)joined this node: its uplink starts empty, and this node lost
            # the floor if it came through that child's old link. Route every floor again.
            self.reroute(force=True)
            return
        known = self.peers.pop(event.get("peer_id"), None) if state == "closed" else self.peers.get(event.get("peer_id"))
        if known is None or known[2] != "point":
            return  # not ours, or a connection test (its verdict is what counts)
        if state in DECISIVE_STATES:
            asyncio.get_running_loop().create_task(self.media(known[0], known[1], state == "connected"))

    def apply_peer_figures(self, peer: str, figures: dict) -> None:
        """One peer's figures as its media node gives them (`{"state", "link": {"loss", "rtt_ms",
        "jitter_ms", "bitrate_in_kbps", ...}}`): a decisive state brings the point's media up or
        down, the link figures of a connected peer are a sample of the point's link. The
        embedded node's (`_poll_media`) and an external node's heartbeat (`NodeRegistry`) alike."""
        known = self.peers.get(peer)
        conf = self.conferences.get(known[0]) if known is not None else None
        p = conf.points.get(known[1]) if conf is not None else None
        if p is None or known[2] != "point" or not isinstance(figures, dict):
            return  # not a point's (a connection test, a child node), or not loaded here
        state = figures.get("state")
        up = state == "connected"
        if state in DECISIVE_STATES and up != bool(p.presence.media):
            self.media_now(conf.meeting_id, p.unit_id, up)
        link = figures.get("link")
        if up and isinstance(link, dict):
            self.sample(conf, p.unit_id, loss=link.get("loss") or 0.0, rtt_ms=link.get("rtt_ms"),
                        jitter_ms=link.get("jitter_ms"), bitrate_kbps=link.get("bitrate_in_kbps"))

    def peer_of(self, meeting_id: int, unit_id: int, role: str = "point") -> str | None:
        """The point's current peer of that role at the media node."""
        for peer, (m, u, r) in self.peers.items():
            if m == meeting_id and u == unit_id and r == role:
                return peer
        return None

    def forget_peer(self, peer: str) -> None:
        self.peers.pop(peer, None)

    def reroute(self, meeting_ids=None, *, force: bool = False) -> None:
        """Route the floor of these live conferences again (all loaded: None): a point's peer
        moved to another node, or a node came back. `force`: even along the same route (a
        node that came back has forgotten its part)."""
        for meeting_id in list(self.conferences if meeting_ids is None else meeting_ids):
            conf = self.conferences.get(meeting_id)
            if conf is not None and conf.live:
                self._spawn(self.apply_floor(meeting_id, force=force), "conference-floor")

    async def apply_floor(self, meeting_id: int, *, force: bool = False) -> None:
        """Route the floor's point (or the host's) to the main feed, through every media node
        between the root and the node that holds its peer (see the module's docstring)."""
        async with self._routing.setdefault(meeting_id, asyncio.Lock()):
            conf = await self.get(meeting_id)
            if conf is None:
                return
            source = None
            if conf.live:
                unit = conf.floor_unit_id if conf.floor_unit_id is not None else conf.host_unit_id
                source = self.peer_of(meeting_id, unit)
                if source is None and conf.floor_unit_id is not None:
                    source = self.peer_of(meeting_id, conf.host_unit_id)
            steps = await self._floor_steps(source)
            if not steps:
                return  # no media node
            old = self._routes.get(meeting_id)
            if not force and old is not None and old.complete and old.steps == steps and self._root_has(steps[0]):
                return  # already so (every process applies every change it hears of)
            # From the bottom up: each node sends the speaker up before the node above takes
            # its link, and the root switches last. Until then every receiver keeps the
            # previous speaker; after it, the link the root takes already carries the new one.
            # Top down, the root would first show a link still sending nothing (black) or the
            # previous uplink of that branch.
            complete = True
            for node_id, action, peer in reversed(steps):
                complete = await self._route_step(meeting_id, node_id, action, peer) and complete
            # Nodes of the previous route that are off this one stop sending upward, once the
            # root no longer shows what they send.
            if old is not None:
                registry = self._registry()
                for node_id in sorted(old.uplinks() - {node_id for node_id, _, _ in steps}):
                    if registry is None or registry.alive(node_id):
                        await self._route_step(meeting_id, node_id, "set_uplink", None)
            self._routes[meeting_id] = FloorRoute(steps, complete)

    def _registry(self):
        return self.app.get("media_nodes") if hasattr(self.app, "get") else None

    async def _floor_steps(self, source: str | None) -> tuple[Step, ...]:
        """The steps that bring `source` (a point's peer, None: nothing) to the root's main
        feed: the chain of nodes from the root down to the node that holds the peer, each
        sending up the peer that leads to it (a child node's peer on its parent is its id)."""
        registry = self._registry()
        if registry is not None:
            holder = (registry.peer_nodes.get(source) if source is not None else None) or registry.central_id
            chain = await registry.chain_to(holder) if holder is not None else []
        else:
            node = media_of(self.app)
            chain = [getattr(node, "node_id", "central")] if node is not None else []
        if not chain:
            return ()
        from media.cascade import floor_route  # aiortc is loaded only where media runs

        return tuple(floor_route(list(zip(chain, [*chain[1:], source], strict=True))))

    def _port(self, node_id: str):
        registry = self._registry()
        return registry.port_of(node_id) if registry is not None else media_of(self.app)

    def _root_has(self, step: Step) -> bool:
        """Whether the root still shows the route's peer (an embedded root drops a peer that
        closes; a remote one is taken at its word)."""
        node_id, _, peer = step
        return getattr(self._port(node_id), "floor", peer) == peer

    async def _route_step(self, meeting_id: int, node_id: str, action: str, peer: str | None) -> bool:
        port = self._port(node_id)
        try:
            if port is None:
                raise LookupError("no such node")
            await asyncio.wait_for(getattr(port, action)(peer), ROUTE_STEP_TIMEOUT)
            return True
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the node's refusal must not undo the chair's decision
            log.warning("media: the floor of meeting %s: node %s could not %s %s: %s", meeting_id, node_id, action,
                        peer, exc or type(exc).__name__)
            return False

    async def _poll_media(self) -> None:
        node = media_of(self.app)
        while True:
            await asyncio.sleep(LINK_POLL)
            if not any(role == "point" for _, _, role in self.peers.values()):
                continue
            try:
                figures = await node.stats()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("media: the node's figures could not be read")
                continue
            for peer, fig in (figures.get("peers") or {}).items():
                self.apply_peer_figures(peer, fig)

    # ---------------------------------------------------------------- the tick

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(FLUSH)
            try:
                await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the conference board could not be written or sent; trying again")

    async def flush(self) -> None:
        """Write what changed, then send it. Called every FLUSH seconds (and by tests)."""
        async with self._flushing:
            await self._flush()

    async def _flush(self) -> None:
        now = utcnow()
        mono = time.monotonic()
        for meeting_id, conf in list(self.conferences.items()):
            if conf.stale or mono - conf.loaded >= REFRESH:
                conf = await self.get(meeting_id)
                if conf is None:
                    continue
            if not any(p.here for p in conf.points.values()) and mono - conf.used > IDLE:
                await self._write(conf, now, mono)
                self.conferences.pop(meeting_id, None)
                continue
            await self._write(conf, now, mono)
            await self._send(conf, now)
            self._check_floor(conf, now)

    # ---------------------------------------------------------------- the floor's point gone

    def _check_floor(self, conf: LiveConference, now: datetime) -> None:
        """Give the floor back to the host when its point has been out of sight too long."""
        if conf.floor_unit_id is None or conf.meeting_id in self._falling:
            return
        p = conf.points.get(conf.floor_unit_id)
        state = point_state(conf, p, now) if p is not None else None
        since = (rules.down_since(p.presence, p.presence_at, p.seen_at, now, STALE, held_here=p.here)
                 if p is not None else None)
        reason = rules.floor_falls_back(conf.state, conf.floor_unit_id, conf.host_unit_id, state, since, now,
                                        self.floor_grace)
        if reason is None:
            return
        self._falling.add(conf.meeting_id)
        self._spawn(self._fall_back(conf.meeting_id, conf.floor_unit_id, reason, since), "conference-fallback")

    async def _fall_back(self, meeting_id: int, unit_id: int, reason: rules.FloorLoss,
                         since: datetime | None) -> None:
        from server.commands.conference import fall_back_floor

        try:
            if await fall_back_floor(self.app, meeting_id, unit_id, reason, since, self.floor_grace):
                FALLBACKS.labels(reason.value).inc()
                log.info("conference: meeting %s's floor went back to the host: point %s %s", meeting_id, unit_id,
                         reason.value)
        except Exception:
            log.exception("conference: the floor of meeting %s could not go back to the host; trying again",
                          meeting_id)
        finally:
            self.invalidate(meeting_id)  # whoever moved it, the database says where it is now
            self._falling.discard(meeting_id)

    async def _write(self, conf: LiveConference, now: datetime, mono: float) -> None:
        fine = rules.DEFAULT_POLICY.fine
        for p in conf.points.values():
            if p.window is not None and now >= p.window.at + timedelta(seconds=fine):
                self._close_window(conf, p)
        beat = mono - conf.heartbeat >= HEARTBEAT
        presence = [
            {"conference_id": conf.id, "unit_id": p.unit_id, "ever_online": p.presence.ever_online,
             "connected": p.presence.connected, "media": p.presence.media, "lost": p.presence.lost,
             "presence_at": p.presence_at, "seen_at": now if p.here else p.seen_at}
            for p in conf.points.values() if p.dirty or (beat and p.here)
        ]
        link = [
            {"conference_id": conf.id, "unit_id": p.unit_id, "link": p.link.value if p.link else None,
             "loss": p.loss, "rtt_ms": p.rtt_ms, "jitter_ms": p.jitter_ms, "bitrate_kbps": p.bitrate_kbps,
             "link_at": p.link_at}
            for p in conf.points.values() if p.link_dirty
        ]
        compact = mono - conf.compacted >= COMPACT_EVERY
        if not (presence or link or conf.samples or compact):
            return
        samples, conf.samples = conf.samples, []
        # What is written, as it is now: a change that comes while the write waits for the
        # database stays dirty for the next flush. (Clearing every point after the write lost
        # a point's "media up" that came meanwhile until the next heartbeat, 15 s later: the
        # other processes refused it the floor until then.)
        written = {p.unit_id: _written_state(p) for p in conf.points.values()}
        try:
            async with self.app["db"].write() as db:
                if presence:
                    await db.execute(update(ConferencePoint), presence)
                if link:
                    await db.execute(update(ConferencePoint), link)
                if samples:
                    await db.execute(insert(LinkSample), samples)
                if compact:
                    await compact_history(db, conf.id, now)
        except Exception:
            conf.samples = samples + conf.samples  # written next time
            raise
        for p in conf.points.values():
            if written.get(p.unit_id) == _written_state(p):
                p.dirty = p.link_dirty = False
        if beat:
            conf.heartbeat = mono
        if compact:
            conf.compacted = mono

    async def _send(self, conf: LiveConference, now: datetime) -> None:
        if not conf.changed:
            return
        changed, conf.changed = conf.changed, set()
        out = []
        for unit_id in sorted(changed):
            p = conf.points.get(unit_id)
            if p is None:
                continue
            view = point_dict(conf, p, now)
            state = rules.PointState(view["state"])
            if state is not p.state:
                if p.state is not None:
                    p.since = now
                    view["since"] = iso(now)
                p.state = state
            if conf.sent.get(unit_id) == view:
                continue
            conf.sent[unit_id] = view
            out.append(view)
        if not out:
            return
        sio, fanout = self.app["sio"], self.app["fanout"]
        await fanout.paced("conference.board", {"meeting_id": conf.meeting_id, "points": out, "at": iso(now)},
                           secretariat_room(conf.meeting_id))
        for view in out:
            operator = view["operator"]
            if operator is not None:
                await sio.emit("conference.my_point", {"meeting_id": conf.meeting_id, "point": view},
                               room=user_room(operator["user_id"]))


async def compact_history(db, conference_id: int, now: datetime,
                          policy: rules.SamplePolicy = rules.DEFAULT_POLICY) -> None:
    """Fine samples past their time become one a minute; samples past the policy's end go."""
    plan = rules.compaction(now, policy)
    fine = (await db.scalars(select(LinkSample).where(
        LinkSample.conference_id == conference_id, LinkSample.span == policy.fine, LinkSample.at < plan.merge_before,
    ))).all()
    if fine:
        by_unit: dict[int, list[rules.Sample]] = {}
        for s in fine:
            by_unit.setdefault(s.unit_id, []).append(rules.Sample(s.at, s.span, s.loss, s.rtt_ms, s.jitter_ms,
                                                                  s.bitrate_kbps, LinkState(s.quality)))
        merged = [
            {"conference_id": conference_id, "unit_id": unit_id, "at": m.at, "span": m.span, "loss": m.loss,
             "rtt_ms": m.rtt_ms, "jitter_ms": m.jitter_ms, "bitrate_kbps": m.bitrate_kbps, "quality": m.quality.value}
            for unit_id, samples in by_unit.items() for m in rules.downsample(samples, policy.coarse)
        ]
        await db.execute(delete(LinkSample).where(
            LinkSample.conference_id == conference_id, LinkSample.span == policy.fine,
            LinkSample.at < plan.merge_before,
        ))
        await db.execute(insert(LinkSample), merged)
    await db.execute(delete(LinkSample).where(LinkSample.conference_id == conference_id,
                                              LinkSample.at < plan.drop_before))


def _written_state(p: LivePoint) -> tuple:
    """What `Board._write` writes of a point (its presence and its link), to compare."""
    return (p.presence, p.presence_at, p.link, p.loss, p.rtt_ms, p.jitter_ms, p.bitrate_kbps, p.link_at)
