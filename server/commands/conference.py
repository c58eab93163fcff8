"""conference.*, floor.*, point.*: the online conference across the tree (docs/conference.md).

The secretariat schedules a conference for a meeting, with its host point (its feed is the
main feed), and invites bridge points by picking parts of the tree; the chair (or the
secretariat) opens, locks, unlocks and ends it, gives the floor to a point and takes it
back, and mutes every point but the speaker. A point's operator reports how many people sit
there and the verdict of its connection test.

A point asks for the floor through the list of speakers (`speaker.request`, as a delegate
does): `floor.grant` gives it from that request, or from the chair's own pick, and the
speech is on the list for the minutes. A point's presence and link are not commands: they
are the live board's (server/conference/board.py).
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import Field
from sqlalchemy import select

from server.commands.attendance import record_point_count
from server.commands.registry import Context, Id, MeetingPayload, Moment, command
from server.domain import conference as rules
from server.domain import links
from server.domain import speakers as speech_rules
from server.domain.errors import Forbidden, Invalid, NotFound
from server.domain.meeting import Status
from server.domain.permissions import STAFF, Role
from server.domain.times import iso
from server.store import conference_views as views
from server.store.speaker_views import LIST_KEY, load_list, speaker_list, speaker_rows, store_list
from server.store.tables import (
    Conference,
    ConferencePoint,
    Meeting,
    Participant,
    SpeakerRequest,
    Unit,
    utcnow,
)

# Set by the media signalling (server/conference/sockets.py) around a verdict the media node
# measured itself, so the stored test says where its figures came from.
VERDICT_SOURCE: contextvars.ContextVar[str] = contextvars.ContextVar("verdict_source", default="point")

Level = Annotated[str, Field(min_length=1, max_length=100)]
Code = Annotated[str, Field(min_length=1, max_length=64)]
Figure = Annotated[float, Field(strict=True, ge=0, le=600_000)]


class Schedule(MeetingPayload):
    host_unit_id: Id | None = None  # default: the meeting's unit
    starts_at: Moment | None = None  # default: the meeting's start


class Invite(MeetingPayload):
    root_unit_id: Id | None = None  # with `levels`: every unit of those levels under it
    levels: list[Level] = Field(default_factory=list, max_length=20)
    unit_ids: list[Id] = Field(default_factory=list, max_length=10_000)  # or these units


class Uninvite(MeetingPayload):
    unit_ids: list[Id] = Field(min_length=1, max_length=10_000)


class FloorGrant(MeetingPayload):
    request_id: Id | None = None  # a point's request on the list of speakers...
    unit_id: Id | None = None  # ...or a point by its unit...
    point: Code | None = None  # ...or by its code


class MuteAll(MeetingPayload):
    muted: bool = Field(default=True, strict=True)


class PointReport(MeetingPayload):
    point: Code | None = None  # default: the caller's own point
    seated: int | None = Field(default=None, strict=True, ge=0, le=100_000)
    media: Literal["connected", "lost"] | None = None


class TestResult(MeetingPayload):
    point: Code | None = None
    loss: float = Field(strict=True, ge=0, le=1)  # a fraction: 0.01 is 1 %
    rtt_ms: Figure | None = None
    jitter_ms: Figure | None = None
    bitrate_kbps: Figure | None = None
    packets_received: int = Field(strict=True, ge=0, le=10**9)
    duration_s: Figure | None = None


# ------------------------------------------------------------------ helpers


def _board(ctx: Context):
    return ctx.app["conference"] if ctx.app is not None and "conference" in ctx.app else None


async def _conference(ctx: Context) -> Conference:
    conf = await views.conference_of(ctx.db, ctx.meeting.id)
    if conf is None:
        raise NotFound("this meeting has no online conference: schedule one first")
    return conf


def _meeting_open(ctx: Context, what: str) -> None:
    if ctx.meeting.status == Status.CLOSED:
        raise rules.ConferenceError("meeting_closed", f"{what} is not possible: the meeting is closed")


async def _announce(ctx: Context, conf: Conference, *, floor_moved: bool = False) -> dict:
    await ctx.db.flush()
    wire = await views.conference_dict(ctx.db, conf)
    ctx.emit("conference.updated", {"conference": wire})
    board = _board(ctx)
    if board is not None:
        meeting_id = ctx.meeting.id
        # Every process (this one and, through Redis, the others) reads the conference again and,
        # when the floor moved, moves its media node's main feed (server/conference/board.py).
        ctx.after_commit.append(lambda: board.changed(meeting_id, floor_moved=floor_moved))
    return wire


async def _operators(ctx: Context, unit_ids: set[int]) -> dict[int, int]:
    """The meeting's operator participants by unit (the first invited, when several)."""
    rows = (await ctx.db.execute(
        select(Participant.unit_id, Participant.user_id)
        .where(Participant.meeting_id == ctx.meeting.id, Participant.role == Role.OPERATOR,
               Participant.unit_id.in_(unit_ids), Participant.user_id.is_not(None))
        .order_by(Participant.id)
    )).all()
    out: dict[int, int] = {}
    for unit_id, user_id in rows:
        out.setdefault(unit_id, user_id)
    return out


def _brief(unit: Unit, conf: Conference, operator: int | None) -> dict:
    return {"unit_id": unit.id, "code": unit.code, "name": unit.name, "level": unit.level,
            "parent_id": unit.parent_id, "host": unit.id == conf.host_unit_id,
            "operator_user_id": operator}


async def _add_points(ctx: Context, conf: Conference, units: list[Unit]) -> list[dict]:
    have = set((await ctx.db.scalars(select(ConferencePoint.unit_id)
                                     .where(ConferencePoint.conference_id == conf.id))).all())
    new = [u for u in units if u.id not in have]
    operators = await _operators(ctx, {u.id for u in new})
    now = utcnow()
    for u in new:
        ctx.db.add(ConferencePoint(conference_id=conf.id, unit_id=u.id, meeting_id=ctx.meeting.id,
                                   operator_user_id=operators.get(u.id), invited_at=now, ever_online=False,
                                   connected=False, media=False, lost=False))
    return [_brief(u, conf, operators.get(u.id)) for u in new]


async def _point_unit(ctx: Context, conf: Conference, code: str | None) -> Unit:
    """The point a report is about: the caller's own (an operator), or any (the staff)."""
    staff = bool(ctx.roles & STAFF)
    if code is None:
        if ctx.me is None or ctx.me.role != Role.OPERATOR or ctx.me.unit_id is None:
            raise Invalid("name the point (its unit code): the caller runs no point")
        unit = await ctx.db.get(Unit, ctx.me.unit_id)
    else:
        unit = await ctx.db.scalar(select(Unit).where(Unit.code == code))
        if unit is None:
            raise NotFound(f"no bridge point {code!r}")
    if not staff and not (ctx.me is not None and ctx.me.role == Role.OPERATOR and ctx.me.unit_id == unit.id):
        raise Forbidden("only the point's own operator or the secretariat reports for a point")
    if await ctx.db.get(ConferencePoint, (conf.id, unit.id)) is None:
        raise rules.ConferenceError("not_invited", f"{unit.name} is not invited to this conference", point=unit.code)
    return unit


# ------------------------------------------------------------------ the conference


@command("conference.schedule", Schedule, "Schedule the meeting's online conference (or change its host and start)",
         ("POST", "/api/meetings/{meeting_id}/conference"))
async def schedule(ctx: Context, data: Schedule) -> dict:
    _meeting_open(ctx, "scheduling a conference")
    host_id = data.host_unit_id or ctx.meeting.unit_id
    host = await ctx.db.get(Unit, host_id)
    if host is None:
        raise NotFound(f"unit {host_id} does not exist")
    conf = await views.conference_of(ctx.db, ctx.meeting.id, lock=True)
    if conf is None:
        conf = Conference(meeting_id=ctx.meeting.id, host_unit_id=host.id, state=rules.ConferenceState.SCHEDULED,
                          starts_at=data.starts_at or ctx.meeting.starts_at, mute_all=False)
        ctx.db.add(conf)
        await ctx.db.flush()
    else:
        if conf.state != rules.ConferenceState.SCHEDULED:
            raise rules.ConferenceError("already_started", f"the conference is {conf.state}: its host stays",
                                        code="invalid_transition", state=conf.state)
        conf.host_unit_id = host.id
        if "starts_at" in data.model_fields_set:
            conf.starts_at = data.starts_at
    added = await _add_points(ctx, conf, [host])
    if added:
        ctx.emit("conference.points", {"points": added, "removed": []}, "secretariat")
    ctx.audit("conference.schedule", f"meeting:{ctx.meeting.id}", {"host": host.code})
    return {"conference": await _announce(ctx, conf)}


@command("conference.invite", Invite, "Invite bridge points: every unit of some levels under a unit, or listed units",
         ("POST", "/api/meetings/{meeting_id}/conference/points"))
async def invite(ctx: Context, data: Invite) -> dict:
    _meeting_open(ctx, "inviting points")
    conf = await _conference(ctx)
    rules.check_invitations_open(conf.state)
    if data.root_unit_id is None and not data.unit_ids:
        raise Invalid("name a part of the tree (root_unit_id and levels) or the units (unit_ids)")
    if data.root_unit_id is not None and not data.levels:
        raise Invalid("with root_unit_id, name the levels to invite (e.g. [\"Xã\", \"Phường\"])")
    chosen: list[int] = []
    if data.root_unit_id is not None:
        tree = await views.tree_units(ctx.db)
        day = (conf.starts_at or ctx.meeting.starts_at or utcnow()).date()
        chosen += rules.select_points(tree, data.root_unit_id, data.levels, day)
    chosen += [u for u in data.unit_ids if u not in chosen]
    units = {u.id: u for u in (await ctx.db.scalars(select(Unit).where(Unit.id.in_(chosen)))).all()} if chosen else {}
    missing = [u for u in chosen if u not in units]
    if missing:
        raise NotFound(f"these units do not exist: {', '.join(map(str, missing[:20]))}")
    if not chosen:
        raise rules.ConferenceError("nothing_chosen", "no unit of those levels under that unit")
    added = await _add_points(ctx, conf, [units[u] for u in chosen])
    if added:
        ctx.emit("conference.points", {"points": added, "removed": []}, "secretariat")
        ctx.audit("conference.invite", f"meeting:{ctx.meeting.id}", {"points": len(added)})
        wire = await _announce(ctx, conf)
    else:
        wire = await views.conference_dict(ctx.db, conf)
    return {"conference": wire, "invited": [p["unit_id"] for p in added], "chosen": len(chosen)}


@command("conference.uninvite", Uninvite, "Take points off the conference",
         ("POST", "/api/meetings/{meeting_id}/conference/points/remove"))
async def uninvite(ctx: Context, data: Uninvite) -> dict:
    conf = await _conference(ctx)
    rules.check_invitations_open(conf.state)
    if conf.host_unit_id in data.unit_ids:
        raise rules.ConferenceError("host", "the host point stays: schedule another host first")
    if conf.floor_unit_id is not None and conf.floor_unit_id in data.unit_ids:
        raise rules.ConferenceError("has_floor", "this point holds the floor: take it back first")
    rows = (await ctx.db.scalars(select(ConferencePoint).where(
        ConferencePoint.conference_id == conf.id, ConferencePoint.unit_id.in_(data.unit_ids)))).all()
    for row in rows:
        await ctx.db.delete(row)
    removed = sorted(r.unit_id for r in rows)
    if removed:
        ctx.emit("conference.points", {"points": [], "removed": removed}, "secretariat")
        wire = await _announce(ctx, conf)
    else:
        wire = await views.conference_dict(ctx.db, conf)
    return {"conference": wire, "removed": removed}


async def _step(ctx: Context, step: str) -> dict:
    conf = await _conference(ctx)
    if step == "open":
        _meeting_open(ctx, "opening the conference")
        if ctx.meeting.status == Status.DRAFT:
            raise rules.ConferenceError("meeting_draft", "publish the meeting before opening its conference")
    conf.state = rules.conference_step(conf.state, step)
    now = utcnow()
    if step == "open":
        conf.opened_at = now
    floor_moved = step in ("open", "end")
    if step == "end":
        conf.ended_at = now
        conf.floor_unit_id = conf.floor_request_id = None
        conf.mute_all = False
    ctx.audit(f"conference.{step}", f"meeting:{ctx.meeting.id}")
    return {"conference": await _announce(ctx, conf, floor_moved=floor_moved)}


@command("conference.open", MeetingPayload, "Open the conference: ready points go on air",
         ("POST", "/api/meetings/{meeting_id}/conference/open"))
async def open_(ctx: Context, data: MeetingPayload) -> dict:
    return await _step(ctx, "open")


@command("conference.lock", MeetingPayload, "Lock the conference: the roll is closed, no new point joins",
         ("POST", "/api/meetings/{meeting_id}/conference/lock"))
async def lock(ctx: Context, data: MeetingPayload) -> dict:
    return await _step(ctx, "lock")


@command("conference.unlock", MeetingPayload, "Unlock the conference",
         ("POST", "/api/meetings/{meeting_id}/conference/unlock"))
async def unlock(ctx: Context, data: MeetingPayload) -> dict:
    return await _step(ctx, "unlock")


@command("conference.end", MeetingPayload, "End the conference",
         ("POST", "/api/meetings/{meeting_id}/conference/end"))
async def end(ctx: Context, data: MeetingPayload) -> dict:
    return await _step(ctx, "end")


@command("conference.mute_all", MuteAll, "Mute every point but the one holding the floor (or unmute them)",
         ("POST", "/api/meetings/{meeting_id}/conference/mute-all"))
async def mute_all(ctx: Context, data: MuteAll) -> dict:
    conf = await _conference(ctx)
    rules.check_live(conf.state, "muting the points")
    conf.mute_all = data.muted
    return {"conference": await _announce(ctx, conf)}


# ------------------------------------------------------------------ the floor


def _speech_list_open(ctx: Context) -> bool:
    return ctx.meeting.status == Status.IN_SESSION


@dataclass(frozen=True)
class _Seen:
    """What is known of a point's presence now, for a decision (the floor)."""

    presence: rules.Presence
    presence_at: datetime | None
    seen_at: datetime | None
    passed: bool | None
    held_here: bool


async def _seen(ctx: Context, conf: Conference, unit_id: int) -> _Seen | None:
    """The point's presence: this process's live board when it holds the point's connection (or
    has not written what it saw yet), else the database, where the process that holds it writes
    every change within a second; another process's cached copy may be 30 s old. The verdict of
    its test is the database's. None: not invited."""
    row = await ctx.db.get(ConferencePoint, (conf.id, unit_id))
    if row is None:
        return None
    board = _board(ctx)
    live = await board.get(ctx.meeting.id) if board is not None else None
    p = live.points.get(unit_id) if live is not None else None
    if p is not None and (p.here or p.dirty):
        return _Seen(p.presence, p.presence_at, p.seen_at, row.test_passed, p.here)
    return _Seen(rules.Presence(row.ever_online, row.connected, row.media, row.lost), row.presence_at, row.seen_at,
                 row.test_passed, False)


def _state_of(seen: _Seen, conf: Conference, now: datetime) -> rules.PointState:
    from server.conference.board import STALE

    presence = seen.presence if seen.held_here else rules.stale(seen.presence, seen.seen_at, now, STALE)
    return rules.state_of(presence, passed=seen.passed, live=rules.is_live(conf.state))


async def _point_state(ctx: Context, conf: Conference, unit_id: int) -> rules.PointState | None:
    """The point's state now, with the conference's state of this transaction (None: not invited)."""
    seen = await _seen(ctx, conf, unit_id)
    return _state_of(seen, conf, utcnow()) if seen is not None else None


async def _start_speech(ctx: Context, rows: list[SpeakerRequest], row: SpeakerRequest) -> None:
    """The point's request becomes the current speech (ending the one under way)."""
    before = load_list(rows)
    lst = before
    now = utcnow()
    if lst.current is not None and lst.current.request.id != str(row.id):
        lst = speech_rules.stop(lst, now)
    if lst.current is None:
        if not next(r for r in lst.queue if r.id == str(row.id)).approved:
            lst = speech_rules.approve(lst, str(row.id))
        lst = speech_rules.start(lst, now, str(row.id))
    store_list(rows, before, lst)


async def _point_request(ctx: Context, rows: list[SpeakerRequest], unit: Unit) -> SpeakerRequest:
    """The point's own request on the list, or one made for it now (the chair's pick)."""
    mine = [r for r in rows if r.point == unit.code and r.state in ("waiting", "approved", "speaking")]
    if mine:
        return next((r for r in mine if r.state == "speaking"), mine[0])
    operator = await ctx.db.scalar(select(Participant).where(
        Participant.meeting_id == ctx.meeting.id, Participant.role == Role.OPERATOR, Participant.unit_id == unit.id,
    ).order_by(Participant.id).limit(1))
    row = SpeakerRequest(meeting_id=ctx.meeting.id, agenda_item_id=ctx.meeting.current_item_id,
                         participant_id=operator.id if operator else None, point=unit.code, topic="",
                         kind="ordinary", state="waiting", position=len(rows), requested_at=utcnow())
    ctx.db.add(row)
    await ctx.db.flush()
    before = load_list(rows)
    rows.append(row)
    asked = speech_rules.SpeechRequest(
        id=str(row.id), requester=speech_rules.Requester(speech_rules.RequesterKind.POINT, unit.code),
        item_id=LIST_KEY, topic="", requested_at=row.requested_at)
    store_list(rows, before, speech_rules.request_floor(before, asked))
    return row


@command("floor.grant", FloorGrant, "Give the floor to a point: from its request, the list of speakers, or the roll",
         ("POST", "/api/meetings/{meeting_id}/conference/floor"))
async def grant(ctx: Context, data: FloorGrant) -> dict:
    conf = await _conference(ctx)
    if sum(x is not None for x in (data.request_id, data.unit_id, data.point)) != 1:
        raise Invalid("name the floor's point once: request_id, unit_id or point")
    rows = await speaker_rows(ctx.db, ctx.meeting.id)
    request = None
    if data.request_id is not None:
        request = next((r for r in rows if r.id == data.request_id), None)
        if request is None:
            raise NotFound(f"request {data.request_id} is not on this meeting's list of speakers")
        if not request.point:
            raise rules.ConferenceError("not_a_point", "this request is a delegate's in the hall: give the floor with "
                                        "speaker.start (the host's feed shows the hall)")
        if request.state not in ("waiting", "approved", "speaking"):
            raise rules.ConferenceError("request_over", f"this request is {request.state}", state=request.state)
        unit = await ctx.db.scalar(select(Unit).where(Unit.code == request.point))
    elif data.unit_id is not None:
        unit = await ctx.db.get(Unit, data.unit_id)
    else:
        unit = await ctx.db.scalar(select(Unit).where(Unit.code == data.point))
    if unit is None:
        raise NotFound("no such bridge point")
    invited = await ctx.db.get(ConferencePoint, (conf.id, unit.id))
    state = await _point_state(ctx, conf, unit.id) if invited is not None else None
    if invited is not None and state is None:
        state = rules.PointState.INVITED
    rules.check_floor(conf.state, state, is_host=unit.id == conf.host_unit_id)
    if _speech_list_open(ctx):
        if request is None:
            request = await _point_request(ctx, rows, unit)
        await _start_speech(ctx, rows, request)
        await ctx.db.flush()
        ctx.emit("speakers.updated", {"speakers": await speaker_list(ctx.db, rows)})
    changed = conf.floor_unit_id != unit.id or conf.floor_request_id != (request.id if request else None)
    conf.floor_unit_id, conf.floor_request_id = unit.id, request.id if request else None
    if not changed and not ctx.events:
        return {"conference": await views.conference_dict(ctx.db, conf)}
    return {"conference": await _announce(ctx, conf, floor_moved=True)}


@command("floor.revoke", MeetingPayload, "Take the floor back: the host's feed is the main feed again",
         ("POST", "/api/meetings/{meeting_id}/conference/floor/revoke"))
async def revoke(ctx: Context, data: MeetingPayload) -> dict:
    conf = await _conference(ctx)
    if conf.floor_unit_id is None:
        return {"conference": await views.conference_dict(ctx.db, conf)}
    await _take_back(ctx, conf)
    return {"conference": await _announce(ctx, conf, floor_moved=True)}


async def _take_back(ctx: Context, conf: Conference) -> None:
    """The floor back to the host; the point's speech, if it is the one under way, ends (with
    its duration, for the minutes)."""
    rows = await speaker_rows(ctx.db, ctx.meeting.id)
    speaking = next((r for r in rows if r.state == "speaking" and r.id == conf.floor_request_id), None)
    if speaking is not None:
        before = load_list(rows)
        store_list(rows, before, speech_rules.stop(before, utcnow()))
        await ctx.db.flush()
        ctx.emit("speakers.updated", {"speakers": await speaker_list(ctx.db, rows)})
    conf.floor_unit_id = conf.floor_request_id = None


# What the chair's console shows when the system gave the floor back (Vietnamese first).
FALLBACK_NOTICE = {
    rules.FloorLoss.DROPPED: ("Điểm cầu {name} mất kết nối: quyền phát biểu trở về điểm cầu chủ trì "
                              "({name} lost its connection: the floor went back to the host)"),
    rules.FloorLoss.MEDIA_LOST: ("Điểm cầu {name} mất hình và tiếng: quyền phát biểu trở về điểm cầu chủ trì "
                                 "({name} lost its picture and sound: the floor went back to the host)"),
}


async def fall_back_floor(app, meeting_id: int, unit_id: int, reason: rules.FloorLoss,
                          since: datetime | None = None, grace: timedelta = rules.FLOOR_GRACE) -> bool:
    """The system takes the floor back from a point nobody can see any more (the live board
    decided it: `rules.floor_falls_back`), in its own transaction, as `floor.revoke` would, and
    says so in the meeting's log (`conference.floor_returned`) and the audit log. False when the
    floor had moved meanwhile (another process, or the chair, was first): nothing is written."""
    from server.commands.polls import SYSTEM
    from server.store import audit, eventlog

    async with app["db"].write() as db:
        # The meeting first, as every command does, so the writers of its log queue in one order.
        meeting = await db.scalar(select(Meeting).where(Meeting.id == meeting_id).with_for_update())
        if meeting is None:
            return False
        ctx = Context(db=db, caller=SYSTEM, settings=app["settings"], meeting=meeting, app=app)
        conf = await views.conference_of(db, meeting_id, lock=True)
        if conf is None or conf.floor_unit_id != unit_id or not rules.is_live(conf.state):
            return False
        # Decided on this process's view of a point another process may hold: the rule again,
        # on what that process wrote (the point may be back).
        seen = await _seen(ctx, conf, unit_id)
        now = utcnow()
        if seen is not None:
            from server.conference.board import STALE

            since = rules.down_since(seen.presence, seen.presence_at, seen.seen_at, now, STALE,
                                     held_here=seen.held_here)
            reason = rules.floor_falls_back(conf.state, conf.floor_unit_id, conf.host_unit_id,
                                            _state_of(seen, conf, now), since, now, grace)
            if reason is None:
                return False
        unit = await db.get(Unit, unit_id)
        await _take_back(ctx, conf)
        wire = await _announce(ctx, conf, floor_moved=True)
        name = unit.name if unit is not None else str(unit_id)
        ctx.emit("conference.floor_returned", {
            "point": {"unit_id": unit_id, "code": unit.code if unit else None, "name": name},
            "reason": reason.value, "since": iso(since), "by": "system",
            "notice": FALLBACK_NOTICE[reason].format(name=name),
            "conference": wire,
        })
        ctx.audit("floor.fallback", f"meeting:{meeting_id}", {"point": unit.code if unit else unit_id,
                                                              "reason": reason.value})
        written = await eventlog.append(db, meeting, ctx.events)
        await audit.append(db, ctx.audited)
    await app["fanout"].publish([eventlog.wire(e) for e in written])
    for then in ctx.after_commit:
        then()
    return True


async def follow_speech(ctx: Context, rows: list[SpeakerRequest]) -> None:
    """After `speaker.start` or `speaker.stop`: the floor follows the list of speakers. A
    point's speech brings its feed (when its media is up); a delegate's speech in the hall,
    or no speech, gives the main feed back to the host."""
    conf = await views.conference_of(ctx.db, ctx.meeting.id)
    if conf is None or not rules.is_live(conf.state):
        return
    speaking = next((r for r in rows if r.state == "speaking"), None)
    unit = None
    if speaking is not None and speaking.point:
        unit = await ctx.db.scalar(select(Unit).where(Unit.code == speaking.point))
    target, request_id = None, None
    if unit is not None and unit.id != conf.host_unit_id:
        state = await _point_state(ctx, conf, unit.id)
        if state in rules.MEDIA_STATES:
            target, request_id = unit.id, speaking.id
        else:
            return  # the point cannot be seen: the floor stays where it is
    if (conf.floor_unit_id, conf.floor_request_id) == (target, request_id):
        return
    conf.floor_unit_id, conf.floor_request_id = target, request_id
    await _announce(ctx, conf, floor_moved=True)


# ------------------------------------------------------------------ the points' reports


@command("point.report", PointReport, "A point's report: how many people sit there, whether its media is up",
         ("POST", "/api/meetings/{meeting_id}/conference/report"))
async def report(ctx: Context, data: PointReport) -> dict:
    if data.seated is None and data.media is None:
        raise Invalid("report the seated count, the media's state, or both")
    conf = await _conference(ctx)
    unit = await _point_unit(ctx, conf, data.point)
    answer: dict = {"point": unit.code}
    if data.seated is not None:
        answer.update(await record_point_count(ctx, unit, data.seated))
    board = _board(ctx)
    if data.media is not None and board is not None:
        meeting_id, unit_id, up = ctx.meeting.id, unit.id, data.media == "connected"
        await board.get(meeting_id)  # loaded now, so the report applies before the answer
        ctx.after_commit.append(lambda: board.media_now(meeting_id, unit_id, up))
    return answer


@command("point.test_result", TestResult, "Record a point's connection test: its figures, and the verdict on them",
         ("POST", "/api/meetings/{meeting_id}/conference/test-result"))
async def test_result(ctx: Context, data: TestResult) -> dict:
    conf = await _conference(ctx)
    if conf.state == rules.ConferenceState.ENDED:
        raise rules.ConferenceError("ended", "the conference has ended")
    unit = await _point_unit(ctx, conf, data.point)
    row = await ctx.db.get(ConferencePoint, (conf.id, unit.id))
    decided = links.verdict(loss=data.loss, rtt_ms=data.rtt_ms, jitter_ms=data.jitter_ms,
                            packets_received=data.packets_received)
    now = utcnow()
    test = {**decided.as_dict(), "loss": data.loss, "rtt_ms": data.rtt_ms, "jitter_ms": data.jitter_ms,
            "bitrate_kbps": data.bitrate_kbps, "packets_received": data.packets_received,
            "duration_s": data.duration_s, "at": iso(now), "source": VERDICT_SOURCE.get()}
    row.test_passed, row.test, row.test_at = decided.passed, test, now
    brief = {"unit_id": unit.id, "code": unit.code, "name": unit.name, "test": test}
    ctx.emit("conference.points", {"points": [brief], "removed": []}, "secretariat")
    operator = row.operator_user_id or (await _operators(ctx, {unit.id})).get(unit.id)
    if operator is not None:
        ctx.emit("conference.points", {"points": [brief], "removed": []}, f"user:{operator}")
    board = _board(ctx)
    if board is not None:
        meeting_id = ctx.meeting.id
        ctx.after_commit.append(lambda: board.invalidate(meeting_id))
    return {"point": unit.code, "test": test}
