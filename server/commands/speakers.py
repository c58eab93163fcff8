"""speaker.*: the list of speakers (đăng ký phát biểu) and the floor.

The rules are the domain's state machine (server/domain/speakers.py): points of order
jump the queue, the chair approves, orders, starts and stops, one speech at a time,
each finished speech keeps its duration. Every step sends the whole list again as
`speakers.updated` to the meeting.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from server.commands.conference import follow_speech
from server.commands.registry import Context, Id, MeetingPayload, command
from server.domain import speakers as rules
from server.domain.errors import DomainError, Forbidden, NotFound
from server.domain.meeting import Status
from server.domain.permissions import STAFF, Role
from server.store.speaker_views import LIST_KEY, load_list, speaker_list, speaker_rows, store_list
from server.store.tables import AgendaItem, SpeakerRequest, Unit, utcnow

# Requests may be made (and ordered) once the meeting is published; the floor is given in session.
QUEUE_OPEN = frozenset({Status.PUBLISHED, Status.IN_SESSION, Status.ADJOURNED})
FLOOR_OPEN = frozenset({Status.IN_SESSION})


class SpeakerAsk(MeetingPayload):
    agenda_item_id: Id | None = None
    topic: str = Field(default="", max_length=500)
    kind: Literal["ordinary", "point_of_order"] = "ordinary"


class SpeakerRef(MeetingPayload):
    request_id: Id


class SpeakerMove(MeetingPayload):
    request_id: Id
    position: int = Field(strict=True, ge=0, le=100_000)


class SpeakerStart(MeetingPayload):
    request_id: Id
    limit_seconds: int | None = Field(default=None, strict=True, ge=1, le=24 * 3600)


class SpeakerStop(MeetingPayload):
    request_id: Id | None = None


class SpeakerSummary(MeetingPayload):
    request_id: Id
    summary: str = Field(max_length=5000)


def _status(ctx: Context, allowed: frozenset[Status], what: str) -> None:
    if ctx.meeting.status not in allowed:
        raise DomainError(f"{what} is not possible while the meeting is {ctx.meeting.status}",
                          code="invalid_transition")


async def _rows(ctx: Context) -> list[SpeakerRequest]:
    return await speaker_rows(ctx.db, ctx.meeting.id)


def _find(rows: list[SpeakerRequest], request_id: int) -> SpeakerRequest:
    row = next((r for r in rows if r.id == request_id), None)
    if row is None:
        raise NotFound(f"request {request_id} is not on this meeting's list of speakers")
    return row


async def _step(ctx: Context, rows: list[SpeakerRequest], step) -> dict:
    """Run one step of the domain's state machine, store it and send the whole list."""
    before = load_list(rows)
    after = step(before)
    store_list(rows, before, after)
    await ctx.db.flush()
    speakers = await speaker_list(ctx.db, rows)
    ctx.emit("speakers.updated", {"speakers": speakers})
    return {"speakers": speakers}


@command("speaker.request", SpeakerAsk, "Ask for the floor (an operator asks for its bridge point)",
         ("POST", "/api/meetings/{meeting_id}/speakers"))
async def request(ctx: Context, data: SpeakerAsk) -> dict:
    _status(ctx, QUEUE_OPEN, "asking for the floor")
    me = ctx.me
    if me is None or me.role == Role.OBSERVER:
        raise Forbidden("only a participant of this meeting (not an observer) asks for the floor")
    item_id = data.agenda_item_id if data.agenda_item_id is not None else ctx.meeting.current_item_id
    if data.agenda_item_id is not None:
        item = await ctx.db.get(AgendaItem, data.agenda_item_id)
        if item is None or item.meeting_id != ctx.meeting.id:
            raise NotFound(f"agenda item {data.agenda_item_id} is not on this meeting's agenda")
    point = None
    if me.role == Role.OPERATOR:
        unit = await ctx.db.get(Unit, me.unit_id) if me.unit_id is not None else None
        if unit is None:
            raise DomainError("this operator has no unit, so no bridge point to ask for")
        point = unit.code
    rows = await _rows(ctx)
    row = SpeakerRequest(
        meeting_id=ctx.meeting.id, agenda_item_id=item_id, participant_id=me.id, point=point,
        topic=data.topic, kind=data.kind, state="waiting", position=len(rows), requested_at=utcnow(),
    )
    ctx.db.add(row)
    await ctx.db.flush()
    rows.append(row)
    asked = rules.SpeechRequest(
        id=str(row.id),
        requester=rules.Requester(rules.RequesterKind.POINT, point) if point
        else rules.Requester(rules.RequesterKind.DELEGATE, str(me.id)),
        item_id=LIST_KEY, topic=data.topic, requested_at=row.requested_at, kind=rules.RequestKind(data.kind),
    )
    # The new row is not in the list yet: `load_list` would read it as queued, so step from the rest.
    before = load_list([r for r in rows if r is not row])
    after = rules.request_floor(before, asked)
    store_list(rows, before, after)
    row.topic = next(r.topic for r in after.queue if r.id == str(row.id))
    await ctx.db.flush()
    speakers = await speaker_list(ctx.db, rows)
    ctx.emit("speakers.updated", {"speakers": speakers})
    return {"request_id": row.id, "speakers": speakers}


@command("speaker.withdraw", SpeakerRef, "Withdraw a request to speak (its author, the staff or the chair)",
         ("POST", "/api/meetings/{meeting_id}/speakers/{request_id}/withdraw"))
async def withdraw(ctx: Context, data: SpeakerRef) -> dict:
    _status(ctx, QUEUE_OPEN, "changing the list of speakers")
    rows = await _rows(ctx)
    row = _find(rows, data.request_id)
    me = ctx.me
    mine = me is not None and (
        row.participant_id == me.id or (row.point is not None and me.role == Role.OPERATOR
                                        and row.point == await _unit_code(ctx, me.unit_id))
    )
    # The domain lets the chair decline a request as well as its author withdraw it.
    if not (mine or ctx.roles & STAFF or Role.CHAIR in ctx.roles):
        raise Forbidden("only its author or the secretariat withdraws a request to speak")
    return await _step(ctx, rows, lambda lst: rules.withdraw(lst, str(row.id)))


async def _unit_code(ctx: Context, unit_id: int | None) -> str | None:
    unit = await ctx.db.get(Unit, unit_id) if unit_id is not None else None
    return unit.code if unit else None


@command("speaker.approve", SpeakerRef, "Approve a request to speak",
         ("POST", "/api/meetings/{meeting_id}/speakers/{request_id}/approve"))
async def approve(ctx: Context, data: SpeakerRef) -> dict:
    _status(ctx, QUEUE_OPEN, "changing the list of speakers")
    rows = await _rows(ctx)
    row = _find(rows, data.request_id)
    return await _step(ctx, rows, lambda lst: rules.approve(lst, str(row.id)))


@command("speaker.move", SpeakerMove, "Put a waiting request at another place of the queue (0 = next)",
         ("POST", "/api/meetings/{meeting_id}/speakers/{request_id}/move"))
async def move(ctx: Context, data: SpeakerMove) -> dict:
    _status(ctx, QUEUE_OPEN, "changing the list of speakers")
    rows = await _rows(ctx)
    row = _find(rows, data.request_id)
    return await _step(ctx, rows, lambda lst: rules.move(lst, str(row.id), data.position))


@command("speaker.start", SpeakerStart, "Give the floor to an approved request",
         ("POST", "/api/meetings/{meeting_id}/speakers/{request_id}/start"))
async def start(ctx: Context, data: SpeakerStart) -> dict:
    _status(ctx, FLOOR_OPEN, "giving the floor")
    rows = await _rows(ctx)
    row = _find(rows, data.request_id)
    now = utcnow()
    answer = await _step(ctx, rows, lambda lst: rules.start(lst, now, str(row.id), limit=data.limit_seconds))
    await follow_speech(ctx, rows)  # a point's speech brings its feed to the conference
    return answer


@command("speaker.stop", SpeakerStop, "End the current speech; its duration is kept",
         ("POST", "/api/meetings/{meeting_id}/speakers/stop"))
async def stop(ctx: Context, data: SpeakerStop) -> dict:
    # A speech running when the meeting is adjourned or closed can still be ended.
    _status(ctx, frozenset(Status) - {Status.DRAFT}, "ending a speech")
    rows = await _rows(ctx)
    if data.request_id is not None:
        row = _find(rows, data.request_id)
        if row.state != "speaking":
            raise rules.SpeakerError("not_speaking", request=str(row.id))
    now = utcnow()
    answer = await _step(ctx, rows, lambda lst: rules.stop(lst, now))
    await follow_speech(ctx, rows)  # the conference's main feed goes back to the host
    return answer


@command("speaker.summary", SpeakerSummary, "Write the summary of a speech for the minutes",
         ("POST", "/api/meetings/{meeting_id}/speakers/{request_id}/summary"))
async def summary(ctx: Context, data: SpeakerSummary) -> dict:
    _status(ctx, frozenset(Status) - {Status.DRAFT}, "writing a speech's summary")
    rows = await _rows(ctx)
    row = _find(rows, data.request_id)
    if row.state not in ("speaking", "done"):
        raise rules.SpeakerError("not_spoken", request=str(row.id))
    row.summary = data.summary
    await ctx.db.flush()
    speakers = await speaker_list(ctx.db, rows)
    ctx.emit("speakers.updated", {"speakers": speakers})
    return {"speakers": speakers}
