"""meeting.*: create, edit and move a meeting through its lifecycle."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, field_validator
from sqlalchemy import func, select

from server.commands.registry import Context, Id, MeetingPayload, Moment, Payload, command
from server.domain import meeting as lifecycle
from server.domain.errors import DomainError, Invalid, NotFound
from server.domain.quorum import parse_fraction
from server.store.tables import AgendaItem, Meeting, Participant, Unit
from server.store.views import meeting_dict


def _quorum(value: str | None) -> str | None:
    if value is not None:
        parse_fraction(value)  # raises ValueError, reported as a field error
    return value


class MeetingCreate(Payload):
    title: str = Field(min_length=1, max_length=500)
    unit_id: Id
    place: str = Field(default="", max_length=300)
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    quorum: str = Field(default="2/3", max_length=20)
    code: str | None = Field(default=None, max_length=64)

    _q = field_validator("quorum")(_quorum)


class MeetingUpdate(MeetingPayload):
    title: str | None = Field(default=None, min_length=1, max_length=500)
    place: str | None = Field(default=None, max_length=300)
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    quorum: str | None = Field(default=None, max_length=20)

    _q = field_validator("quorum")(_quorum)


def _check_times(starts: datetime | None, ends: datetime | None) -> None:
    if starts and ends and ends <= starts:
        raise Invalid("a meeting must end after it starts")


@command("meeting.create", MeetingCreate, "Create a meeting (a draft)", ("POST", "/api/meetings"))
async def create(ctx: Context, data: MeetingCreate) -> dict:
    if await ctx.db.get(Unit, data.unit_id) is None:
        raise NotFound(f"unit {data.unit_id} does not exist")
    _check_times(data.starts_at, data.ends_at)
    meeting = Meeting(
        title=data.title, unit_id=data.unit_id, place=data.place, starts_at=data.starts_at, ends_at=data.ends_at,
        quorum=data.quorum, code=data.code, status="draft", last_seq=0,
    )
    ctx.db.add(meeting)
    await ctx.db.flush()
    ctx.meeting = meeting
    ctx.emit("meeting.updated", {"meeting": meeting_dict(meeting)})
    ctx.lists_changed = True
    return {"meeting": meeting_dict(meeting)}


@command("meeting.update", MeetingUpdate, "Edit a meeting's title, place, times or quorum",
         ("PATCH", "/api/meetings/{meeting_id}"))
async def update(ctx: Context, data: MeetingUpdate) -> dict:
    m = ctx.meeting
    if m.status == lifecycle.Status.CLOSED:
        raise DomainError("a closed meeting is part of the record and cannot change")
    fields = data.changes(keep={"meeting_id"}, required={"title", "place", "quorum"})
    for name, value in fields.items():
        setattr(m, name, value)
    _check_times(m.starts_at, m.ends_at)
    ctx.emit("meeting.updated", {"meeting": meeting_dict(m)})
    ctx.lists_changed = True
    return {"meeting": meeting_dict(m)}


def _step(step: str):
    async def handler(ctx: Context, data: MeetingPayload) -> dict:
        m = ctx.meeting
        items = await ctx.db.scalar(select(func.count()).select_from(AgendaItem).where(AgendaItem.meeting_id == m.id))
        chairs = await ctx.db.scalar(
            select(func.count()).select_from(Participant).where(Participant.meeting_id == m.id, Participant.role == "chair")
        )
        m.status = lifecycle.next_status(m.status, step, agenda_items=items, has_chair=chairs > 0).value
        if m.status == lifecycle.Status.CLOSED:
            m.current_item_id = None
        ctx.emit("meeting.updated", {"meeting": meeting_dict(m)})
        ctx.lists_changed = True
        return {"meeting": meeting_dict(m)}

    return handler


_SUMMARIES = {
    "publish": "Publish a draft meeting to its participants",
    "start": "Open the session",
    "adjourn": "Adjourn the session (it may resume)",
    "resume": "Resume an adjourned session",
    "close": "Close the meeting; its record is then frozen",
}
for _name, _summary in _SUMMARIES.items():
    command(f"meeting.{_name}", MeetingPayload, _summary, ("POST", f"/api/meetings/{{meeting_id}}/{_name}"))(
        _step(_name)
    )
