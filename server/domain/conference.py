"""The online conference across the tree (hội nghị trực tuyến): pure rules, no I/O.

A conference belongs to one meeting. Its host point (the province hall, say) sends the
main feed; the secretariat invites bridge points by picking parts of the organisation
tree ("every commune of province X"); each point comes online, connects its media,
passes the connection test and goes on air. The chair gives the floor to a point and
takes it back.

- **The conference**: scheduled → open ⇄ locked → ended (`conference_step`). Locked: the
  roll is closed (no invitation changes, a point that never came online may not join);
  points already in may reconnect, and the floor still moves.
- **A point's state** is derived from what is known of it (`Presence`, its test verdict
  and whether the conference is live), never stored on its own: invited → online →
  media connected → ready → on air, plus dropped (its connection is gone) and
  reconnecting (it came back, its media not yet). `sense` applies what the server saw
  (the point's socket came or went, its media link came up or went down) and
  `state_of` reads the state; `ALLOWED` lists every move the derivation can make.
- **Invitations** select units from the tree by level names, which are data
  (`select_points`).
- **The roll call**: totals by level and by branch of the tree, points worst first.
- **Link history**: samples at a few seconds, merged into minutes after a while, then
  dropped (`SamplePolicy`, `downsample`).

Link quality itself (normal / degraded / critical with hysteresis, the connection test's
verdict) is `server.domain.links`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from server.domain import orgtree
from server.domain.errors import DomainError, Invalid
from server.domain.links import LinkState
from server.domain.text import nfc, text_key


class ConferenceError(DomainError):
    """A rule refused the step: wire code `conflict` (or `invalid_transition`); `reason` in `details`."""

    def __init__(self, reason: str, message: str, *, code: str | None = None, **params: object) -> None:
        super().__init__(message, code=code, details={"reason": reason, **params})
        self.reason = reason


# ------------------------------------------------------------------ the conference


class ConferenceState(StrEnum):
    SCHEDULED = "scheduled"
    OPEN = "open"
    LOCKED = "locked"
    ENDED = "ended"


STEPS: dict[str, tuple[frozenset[ConferenceState], ConferenceState]] = {
    "open": (frozenset({ConferenceState.SCHEDULED}), ConferenceState.OPEN),
    "lock": (frozenset({ConferenceState.OPEN}), ConferenceState.LOCKED),
    "unlock": (frozenset({ConferenceState.LOCKED}), ConferenceState.OPEN),
    "end": (frozenset({ConferenceState.SCHEDULED, ConferenceState.OPEN, ConferenceState.LOCKED}),
            ConferenceState.ENDED),
}


def conference_step(current: str, step: str) -> ConferenceState:
    sources, target = STEPS[step]
    state = ConferenceState(current)
    if state not in sources:
        allowed = ", ".join(sorted(s.value for s in sources))
        raise ConferenceError("wrong_state", f"cannot {step} a conference that is {state.value} (only from: {allowed})",
                              code="invalid_transition", state=state.value, step=step)
    return target


def is_live(state: str) -> bool:
    """Open or locked: media flows, the floor moves, ready points are on air."""
    return ConferenceState(state) in (ConferenceState.OPEN, ConferenceState.LOCKED)


def check_invitations_open(state: str) -> None:
    """Points may be invited or removed while the conference is scheduled or open."""
    if ConferenceState(state) not in (ConferenceState.SCHEDULED, ConferenceState.OPEN):
        raise ConferenceError("roll_closed", f"the list of points cannot change while the conference is {state}",
                              state=state)


def may_join(state: str, ever_online: bool) -> bool:
    """Whether a point may connect (its socket and its media): an ended conference takes
    nobody; a locked one only points that were already in."""
    s = ConferenceState(state)
    if s is ConferenceState.ENDED:
        return False
    return s is not ConferenceState.LOCKED or ever_online


# ------------------------------------------------------------------ a point's state


class PointState(StrEnum):
    INVITED = "invited"
    ONLINE = "online"
    MEDIA_CONNECTED = "media_connected"
    READY = "ready"
    ON_AIR = "on_air"
    DROPPED = "dropped"
    RECONNECTING = "reconnecting"


# The order of the roll call, from not yet there to on air; dropped and reconnecting last.
STATE_ORDER = (PointState.INVITED, PointState.ONLINE, PointState.MEDIA_CONNECTED, PointState.READY,
               PointState.ON_AIR, PointState.RECONNECTING, PointState.DROPPED)
CONNECTED_STATES = frozenset({PointState.ONLINE, PointState.MEDIA_CONNECTED, PointState.READY, PointState.ON_AIR,
                              PointState.RECONNECTING})
MEDIA_STATES = frozenset({PointState.MEDIA_CONNECTED, PointState.READY, PointState.ON_AIR})


class Signal(StrEnum):
    CONNECT = "connect"  # the point's socket.io connection joined the meeting
    DISCONNECT = "disconnect"  # its last connection went away
    MEDIA_UP = "media_up"  # its media link to its node is up (the node, or the point, says so)
    MEDIA_DOWN = "media_down"  # its media link is down


@dataclass(frozen=True)
class Presence:
    """What the server saw of a point, and nothing else."""

    ever_online: bool = False
    connected: bool = False
    media: bool = False
    lost: bool = False  # its connection or media went away since its media was last up


def sense(p: Presence, signal: Signal) -> Presence:
    """The presence after one observation. Media runs through the point's page or agent, so
    losing the connection loses the media too, until it says otherwise."""
    if signal is Signal.CONNECT:
        return replace(p, ever_online=True, connected=True)
    if signal is Signal.DISCONNECT:
        if not p.connected:
            return p
        return replace(p, connected=False, media=False, lost=True)
    if signal is Signal.MEDIA_UP:
        if not p.connected:
            return p  # a late word from the node about a point that is gone
        return replace(p, media=True, lost=False)
    if signal is Signal.MEDIA_DOWN:
        if not p.media:
            return p
        return replace(p, media=False, lost=True)
    raise ValueError(signal)


def state_of(p: Presence, *, passed: bool | None, live: bool) -> PointState:
    """A point's state: what it has reached, from what is known of it.

    `passed`: its last connection test's verdict (None: not tested); `live`: the
    conference is open or locked.
    """
    if not p.ever_online:
        return PointState.INVITED
    if not p.connected:
        return PointState.DROPPED
    if not p.media:
        return PointState.RECONNECTING if p.lost else PointState.ONLINE
    if not passed:
        return PointState.MEDIA_CONNECTED
    return PointState.ON_AIR if live else PointState.READY


_S = PointState
# Every move `state_of` can make between two observations (a signal, a verdict, the
# conference opening or ending): tests/domain/test_conference_rules.py walks them all.
ALLOWED: dict[PointState, frozenset[PointState]] = {
    _S.INVITED: frozenset({_S.ONLINE}),
    _S.ONLINE: frozenset({_S.MEDIA_CONNECTED, _S.READY, _S.ON_AIR, _S.DROPPED}),
    _S.MEDIA_CONNECTED: frozenset({_S.READY, _S.ON_AIR, _S.RECONNECTING, _S.DROPPED}),
    _S.READY: frozenset({_S.ON_AIR, _S.MEDIA_CONNECTED, _S.RECONNECTING, _S.DROPPED}),
    _S.ON_AIR: frozenset({_S.READY, _S.MEDIA_CONNECTED, _S.RECONNECTING, _S.DROPPED}),
    _S.DROPPED: frozenset({_S.RECONNECTING}),
    _S.RECONNECTING: frozenset({_S.MEDIA_CONNECTED, _S.READY, _S.ON_AIR, _S.DROPPED}),
}


def stale(p: Presence, seen_at: datetime | None, now: datetime, after: timedelta) -> Presence:
    """A presence last confirmed longer ago than `after` (the process that held the point's
    connection stopped without saying so) counts as dropped."""
    if p.connected and (seen_at is None or now - seen_at > after):
        return replace(p, connected=False, media=False, lost=True)
    return p


# ------------------------------------------------------------------ the floor


def check_floor(conference_state: str, point_state: PointState | None, *, is_host: bool) -> None:
    """The chair may give the floor while the conference is live, to an invited point whose
    media is up (otherwise nobody would see it); the host takes it back with `floor.revoke`."""
    if not is_live(conference_state):
        raise ConferenceError("not_live", f"the floor moves only while the conference is open, not {conference_state}",
                              state=conference_state)
    if point_state is None:
        raise ConferenceError("not_invited", "this point is not invited to the conference")
    if is_host:
        raise ConferenceError("host", "the host point's feed is the main feed already: take the floor back instead")
    if point_state not in MEDIA_STATES:
        raise ConferenceError("no_media", f"the point's media is not connected (it is {point_state.value})",
                              state=point_state.value)


# How long the floor waits for its point to come back: a page reloaded or a link cut for a
# moment keeps the floor (the chair would otherwise have to give it again); longer, and every
# point would watch a frozen picture, so the host's feed comes back.
FLOOR_GRACE = timedelta(seconds=10)


class FloorLoss(StrEnum):
    """Why the floor went back to the host by itself (on the log with the decision)."""

    DROPPED = "dropped"  # the point's operator's connection is gone
    MEDIA_LOST = "media_lost"  # still connected, but its picture and sound are down


def down_since(p: Presence, presence_at: datetime | None, seen_at: datetime | None, now: datetime,
               stale_after: timedelta, *, held_here: bool) -> datetime | None:
    """Since when the point's media has not been up, as far as is known (None: it is up).

    `presence_at` is when its presence last changed (what took the media away, as the process
    holding its connection saw it); a presence held by another process that stopped
    confirming it (`stale`) counts as gone from the moment it became stale."""
    seen = p if held_here else stale(p, seen_at, now, stale_after)
    if seen.connected and seen.media:
        return None
    if seen is not p:  # gone by staleness: since its holder's last word plus the threshold
        return (seen_at + stale_after) if seen_at is not None else now
    return presence_at or now


def floor_falls_back(conference_state: str, floor_unit_id: int | None, host_unit_id: int,
                     point: PointState | None, since: datetime | None, now: datetime,
                     grace: timedelta = FLOOR_GRACE) -> FloorLoss | None:
    """Whether the floor goes back to the host by itself, and why (None: it stays).

    The floor stays while the conference is not live (nothing to show), with the host (it is
    the main feed already), and with a point whose media is up. A point that cannot be seen
    or heard (dropped, reconnecting, online without media) keeps it for `grace` from `since`
    (`down_since`), then loses it. A point no longer on the roll loses it at once."""
    if floor_unit_id is None or floor_unit_id == host_unit_id or not is_live(conference_state):
        return None
    if point is None:
        return FloorLoss.DROPPED
    if point in MEDIA_STATES:
        return None
    if since is not None and now - since < grace:
        return None
    return FloorLoss.DROPPED if point in (PointState.DROPPED, PointState.INVITED) else FloorLoss.MEDIA_LOST


def check_live(conference_state: str, what: str) -> None:
    if not is_live(conference_state):
        raise ConferenceError("not_live", f"{what} only while the conference is open, not {conference_state}",
                              state=conference_state)


# ------------------------------------------------------------------ invitations


@dataclass(frozen=True)
class TreeUnit:
    id: int
    parent_id: int | None
    level: str
    name: str = ""
    code: str = ""
    valid_from: date | None = None
    valid_to: date | None = None

    @property
    def node(self) -> orgtree.Node:
        return orgtree.Node(self.id, self.parent_id, self.valid_from, self.valid_to)


def level_key(level: str) -> str:
    return nfc(level).strip().casefold()


def select_points(units: dict[int, TreeUnit], root: int, levels: Iterable[str], on: date | None = None) -> list[int]:
    """The units under `root` (and `root` itself) whose level is one of `levels`, valid on
    `on`, in breadth-first order: "every commune of province X" is
    `select_points(units, X, ["Xã", "Phường", "Đặc khu"])`; a national conference picks
    `["Tỉnh", "Thành phố"]` under the centre, or the communes of all of them. Level names
    are compared as typed, without regard to case."""
    if root not in units:
        raise Invalid(f"unit {root} is not in the organisation tree")
    wanted = {level_key(x) for x in levels if x and x.strip()}
    if not wanted:
        raise Invalid("name at least one level of the tree to invite (e.g. Xã)")
    nodes = {u.id: u.node for u in units.values()}
    candidates = [root, *orgtree.descendants(nodes, root, on)]
    root_ok = on is None or orgtree.is_valid_on(nodes[root], on)
    return [i for i in candidates if level_key(units[i].level) in wanted and (i != root or root_ok)]


def levels_below(units: dict[int, TreeUnit], root: int, on: date | None = None) -> list[str]:
    """The level names found under `root` (itself included), top first: what the console offers."""
    if root not in units:
        return []
    nodes = {u.id: u.node for u in units.values()}
    seen: dict[str, tuple[int, str]] = {}
    frontier, depth = [root], 0
    below: dict[int | None, list[int]] = {}
    for u in units.values():
        below.setdefault(u.parent_id, []).append(u.id)
    while frontier:
        for i in frontier:
            if on is None or orgtree.is_valid_on(nodes[i], on):
                seen.setdefault(level_key(units[i].level), (depth, units[i].level))
        frontier = [c for i in frontier for c in below.get(i, [])]
        depth += 1
    return [name for _, name in sorted(seen.values(), key=lambda x: (x[0], text_key(x[1])))]


# ------------------------------------------------------------------ the roll call


@dataclass(frozen=True)
class PointView:
    """One point as the roll call and the operations screen weigh it."""

    unit_id: int
    name: str
    level: str
    state: PointState
    link: LinkState | None = None  # the class of its media link (only while its media is up)
    loss: float | None = None
    rtt_ms: float | None = None
    passed: bool | None = None  # its connection test; None: not tested
    seated: int | None = None
    parent_id: int | None = None


# How much a point needs a technician's eye: higher first on the operations screen.
TROUBLE = {
    PointState.DROPPED: 100,
    PointState.RECONNECTING: 90,
    PointState.ONLINE: 40,  # connected but its media is not
    PointState.INVITED: 30,  # not come yet
    PointState.MEDIA_CONNECTED: 20,  # media up, not (yet) passed its test
    PointState.READY: 10,
    PointState.ON_AIR: 0,
}
LINK_TROUBLE = {LinkState.CRITICAL: 80, LinkState.DEGRADED: 60, LinkState.NORMAL: 0}
FAILED_TEST = 50


def trouble(p: PointView) -> int:
    score = TROUBLE[p.state]
    if p.state in MEDIA_STATES and p.link is not None:
        score = max(score, LINK_TROUBLE[p.link])
    if p.passed is False and p.state not in (PointState.DROPPED, PointState.RECONNECTING):
        score = max(score, FAILED_TEST)
    return score


def worst_first(points: Iterable[PointView]) -> list[PointView]:
    """Dropped, then reconnecting, then critical links, degraded links, failed tests, points
    online without media, points not come yet, untested, ready, on air; within each, the
    higher loss and round-trip time first, then by name."""
    def key(p: PointView):
        live_link = p.state in MEDIA_STATES
        return (-trouble(p), -((p.loss or 0.0) if live_link else 0.0), -((p.rtt_ms or 0.0) if live_link else 0.0),
                text_key(p.name), p.unit_id)

    return sorted(points, key=key)


def _blank() -> dict:
    return {"points": 0, "by_state": {s.value: 0 for s in STATE_ORDER},
            "by_link": {"normal": 0, "degraded": 0, "critical": 0},
            "passed": 0, "failed": 0, "untested": 0, "seated": 0, "reported": 0}


def _add(t: dict, p: PointView) -> None:
    t["points"] += 1
    t["by_state"][p.state.value] += 1
    if p.state in MEDIA_STATES and p.link is not None:
        t["by_link"][p.link.value] += 1
    t["passed" if p.passed else "failed" if p.passed is False else "untested"] += 1
    if p.seated is not None:
        t["seated"] += p.seated
        t["reported"] += 1


def totals(points: Iterable[PointView], level_order: list[str] | None = None) -> dict:
    """Counts for the whole roll call and per level of the tree (the level's points, their
    states, links, tests and the people seated there). Levels come in `level_order` (top
    first), then any other in Vietnamese order."""
    whole = _blank()
    by_level: dict[str, dict] = {}
    names: dict[str, str] = {}
    for p in points:
        _add(whole, p)
        k = level_key(p.level)
        names.setdefault(k, p.level)
        _add(by_level.setdefault(k, _blank()), p)
    rank = {level_key(name): i for i, name in enumerate(level_order or [])}
    ordered = sorted(by_level, key=lambda k: (rank.get(k, len(rank)), text_key(names[k])))
    whole["by_level"] = [{"level": names[k], **by_level[k]} for k in ordered]
    return whole


def branch_totals(points: Iterable[PointView], units: dict[int, TreeUnit]) -> dict[int, dict]:
    """For every unit above an invited point: the totals of the points below it (a province's
    communes, a region's provinces) and the worst trouble among them."""
    nodes = {u.id: u.node for u in units.values()}
    out: dict[int, dict] = {}
    for p in points:
        if p.unit_id not in nodes:
            continue
        for a in orgtree.ancestors(nodes, p.unit_id):
            t = out.setdefault(a, {**_blank(), "worst": 0})
            _add(t, p)
            t["worst"] = max(t["worst"], trouble(p))
    return out


def level_order(units: dict[int, TreeUnit]) -> list[str]:
    """Level names by their depth in the tree (the shallowest first)."""
    nodes = {u.id: u.node for u in units.values()}
    depth: dict[str, tuple[int, str]] = {}
    for u in units.values():
        try:
            d = len(orgtree.ancestors(nodes, u.id))
        except DomainError:
            continue
        k = level_key(u.level)
        if k not in depth or d < depth[k][0]:
            depth[k] = (d, u.level)
    return [name for _, name in sorted(depth.values(), key=lambda x: (x[0], text_key(x[1])))]


# ------------------------------------------------------------------ link history


@dataclass(frozen=True)
class Sample:
    """A point's link over `span` seconds from `at`: the worst loss, round-trip time and
    jitter seen, the mean bitrate, and the class its link had (the worst, when merged)."""

    at: datetime
    span: int
    loss: float
    rtt_ms: float | None = None
    jitter_ms: float | None = None
    bitrate_kbps: float | None = None
    quality: LinkState = LinkState.NORMAL


@dataclass(frozen=True)
class SamplePolicy:
    fine: int = 5  # seconds per sample while fresh
    fine_for: timedelta = timedelta(minutes=10)  # then merged into...
    coarse: int = 60  # ...a sample a minute
    keep_for: timedelta = timedelta(hours=12)  # and dropped after this

    def __post_init__(self) -> None:
        if not 0 < self.fine <= self.coarse or self.coarse % self.fine:
            raise ValueError("the coarse span is a whole number of fine spans")
        if self.keep_for < self.fine_for:
            raise ValueError("samples are kept at least as long as they are fine")


DEFAULT_POLICY = SamplePolicy()


def bucket(at: datetime, span: int) -> datetime:
    """The start of the `span`-second bucket `at` falls in (UTC, aligned on the epoch)."""
    t = at.astimezone(UTC)
    seconds = int(t.timestamp())
    return datetime.fromtimestamp(seconds - seconds % span, UTC)


def _worst(states: Iterable[LinkState]) -> LinkState:
    return max(states, key=lambda s: s.rank)


def _max(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def merge(samples: list[Sample], at: datetime, span: int) -> Sample:
    if not samples:
        raise ValueError("nothing to merge")
    rates = [s.bitrate_kbps for s in samples if s.bitrate_kbps is not None]
    return Sample(
        at=at, span=span,
        loss=max(s.loss for s in samples),
        rtt_ms=_max(s.rtt_ms for s in samples),
        jitter_ms=_max(s.jitter_ms for s in samples),
        bitrate_kbps=round(sum(rates) / len(rates), 1) if rates else None,
        quality=_worst(s.quality for s in samples),
    )


def downsample(samples: Iterable[Sample], span: int) -> list[Sample]:
    """Samples merged into buckets of `span` seconds, oldest first."""
    groups: dict[datetime, list[Sample]] = {}
    for s in samples:
        groups.setdefault(bucket(s.at, span), []).append(s)
    return [merge(groups[at], at, span) for at in sorted(groups)]


@dataclass(frozen=True)
class Compaction:
    merge_before: datetime  # fine samples older than this become coarse ones
    drop_before: datetime  # every sample older than this goes


def compaction(now: datetime, policy: SamplePolicy = DEFAULT_POLICY) -> Compaction:
    # Merge whole coarse buckets only, so that a bucket is never merged twice.
    return Compaction(merge_before=bucket(now - policy.fine_for, policy.coarse), drop_before=now - policy.keep_for)


@dataclass
class Window:
    """What one point's link looked like over the current fine bucket (the figures the
    media side reports every second or two), until it is written as one sample."""

    at: datetime
    figures: list[Sample] = field(default_factory=list)

    def add(self, sample: Sample) -> None:
        self.figures.append(sample)

    def sample(self, span: int) -> Sample:
        return merge(self.figures, self.at, span)
