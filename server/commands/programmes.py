"""programme.* and schedule.*: the work programmes and the weekly schedule (docs/programmes.md).

Not scoped to one meeting: nothing here writes a meeting's event log, except the two commands
that make a meeting from an entry, which log its creation the way meeting.create and
participant.add do. A change to a published week is recorded as a numbered amendment
(`schedule_changes`). After the commit every client gets a hint (`schedule_changed`,
`programme_changed`) naming what changed, and refetches it if it shows it.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time

from pydantic import Field
from sqlalchemy import delete, func, select

from server.commands.registry import Context, Id, Moment, Payload, command
from server.domain import programmes as rules
from server.domain.errors import DomainError, Invalid, NotFound
from server.domain.permissions import Role
from server.domain.times import LOCAL, local
from server.store import programme_views as views
from server.store.tables import (
    Meeting,
    Participant,
    Programme,
    ProgrammeEntry,
    ScheduleAttendee,
    ScheduleChange,
    ScheduleEntry,
    ScheduleWeek,
    Unit,
    User,
    utcnow,
)
from server.store.views import attendance_update, meeting_dict, participant_dict

# Hints being sent: kept so that the loop does not drop a task before it ran.
_SENDING: set[asyncio.Task] = set()


def _hint(ctx: Context, name: str, data: dict) -> None:
    """After the commit, tell every connected client that a schedule or programme changed (the hint
    carries only ids: a reader refetches what it may see)."""
    app = ctx.app
    sio = app.get("sio") if app is not None else None
    if sio is None:  # offline (the demo's seeding): nobody is connected
        return

    def send() -> None:
        task = asyncio.get_running_loop().create_task(sio.emit(name, data))
        _SENDING.add(task)
        task.add_done_callback(_SENDING.discard)

    ctx.after_commit.append(send)


async def _unit(ctx: Context, unit_id: int | None, field: str = "unit_id") -> Unit | None:
    if unit_id is None:
        return None
    unit = await ctx.db.get(Unit, unit_id)
    if unit is None:
        raise NotFound(f"unit {unit_id} does not exist", details=[{"field": field, "problem": "no such unit"}])
    return unit


async def _users(ctx: Context, ids: list[int], field: str) -> list[User]:
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return []
    found = {u.id: u for u in (await ctx.db.scalars(select(User).where(User.id.in_(wanted)))).all()}
    missing = [i for i in wanted if i not in found]
    if missing:
        raise NotFound(f"no account with id {', '.join(map(str, missing))}",
                       details=[{"field": field, "problem": "no such account"}])
    return [found[i] for i in wanted]


async def _make_meeting(ctx: Context, *, unit_id: int, title: str, place: str, starts: datetime | None,
                        ends: datetime | None, people: list[tuple[User, str]]) -> Meeting:
    """A draft meeting with its participants, logged as meeting.create and participant.add log them."""
    meeting = Meeting(title=title[:500], unit_id=unit_id, place=place[:300], starts_at=starts, ends_at=ends,
                      quorum="2/3", status="draft", last_seq=0)
    ctx.db.add(meeting)
    await ctx.db.flush()
    ctx.meeting = meeting
    ctx.emit("meeting.updated", {"meeting": meeting_dict(meeting)})
    for user, role in people:
        p = Participant(meeting_id=meeting.id, user_id=user.id, full_name=user.full_name, title="",
                        unit_id=user.unit_id, role=role, voting=role in (Role.CHAIR, Role.SECRETARY, Role.DELEGATE))
        ctx.db.add(p)
        await ctx.db.flush()
        ctx.emit("participant.updated", {"participant": participant_dict(p)})
    if people:
        ctx.emit("attendance.updated", await attendance_update(ctx.db, meeting))
    ctx.lists_changed = True
    return meeting


# --- programmes ----------------------------------------------------------------------------------


class ProgrammeCreate(Payload):
    unit_id: Id
    kind: rules.ProgrammeKind
    year: int = Field(strict=True, ge=1900, le=2200)
    month: int | None = Field(default=None, strict=True, ge=1, le=12)
    title: str | None = Field(default=None, min_length=1, max_length=500)


class ProgrammeUpdate(Payload):
    programme_id: Id
    title: str | None = Field(default=None, min_length=1, max_length=500)


class ProgrammeRef(Payload):
    programme_id: Id


class EntryFields(Payload):
    content: str | None = Field(default=None, min_length=1, max_length=2000)
    kind: rules.EntryKind | None = None
    preparing_unit: str | None = Field(default=None, max_length=300)
    preparing_unit_id: Id | None = None
    due_month: int | None = Field(default=None, strict=True, ge=1, le=12)
    due_quarter: int | None = Field(default=None, strict=True, ge=1, le=4)
    due_date: date | None = None


class ProgrammeEntryAdd(EntryFields):
    programme_id: Id
    content: str = Field(min_length=1, max_length=2000)
    kind: rules.EntryKind = rules.EntryKind.OTHER


class ProgrammeEntryUpdate(EntryFields):
    entry_id: Id


class ProgrammeEntryRef(Payload):
    entry_id: Id


class ProgrammeEntryState(Payload):
    entry_id: Id
    state: rules.EntryState
    reason: str = Field(default="", max_length=2000)


class ProgrammeMeeting(Payload):
    entry_id: Id
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    place: str = Field(default="", max_length=300)


async def _programme(ctx: Context, programme_id: int) -> Programme:
    p = await ctx.db.get(Programme, programme_id)
    if p is None:
        raise NotFound(f"programme {programme_id} does not exist")
    return p


async def _programme_entry(ctx: Context, entry_id: int) -> tuple[ProgrammeEntry, Programme]:
    e = await ctx.db.get(ProgrammeEntry, entry_id)
    if e is None:
        raise NotFound(f"programme entry {entry_id} does not exist")
    return e, await ctx.db.get(Programme, e.programme_id)


async def _programme_answer(ctx: Context, e: ProgrammeEntry) -> dict:
    meetings = await views.meetings_by_id(ctx.db, [e.meeting_id])
    _hint(ctx, "programme_changed", {"programme_id": e.programme_id})
    return {"entry": views.programme_entry_dict(e, meetings)}


async def _preparing(ctx: Context, text: str | None, unit_id: int | None) -> str:
    """The preparing unit as printed: the text given, else the named unit's name."""
    unit = await _unit(ctx, unit_id, "preparing_unit_id")
    if text:
        return text
    return unit.name if unit is not None else ""


@command("programme.create", ProgrammeCreate, "Start a unit's annual or monthly work programme (a draft)",
         ("POST", "/api/programmes"))
async def programme_create(ctx: Context, data: ProgrammeCreate) -> dict:
    await _unit(ctx, data.unit_id)
    period = rules.period_key(data.kind, data.year, data.month)
    taken = await ctx.db.scalar(select(Programme.id).where(Programme.unit_id == data.unit_id,
                                                           Programme.period == period))
    if taken is not None:
        raise DomainError(f"the unit already has the programme of {period} (programme {taken})")
    p = Programme(unit_id=data.unit_id, kind=data.kind, year=data.year, month=data.month, period=period,
                  title=data.title or rules.default_title(data.kind, data.year, data.month), state="draft")
    ctx.db.add(p)
    await ctx.db.flush()
    _hint(ctx, "programme_changed", {"programme_id": p.id})
    return {"programme": views.programme_dict(p)}


@command("programme.update", ProgrammeUpdate, "Rename a work programme", ("PATCH", "/api/programmes/{programme_id}"))
async def programme_update(ctx: Context, data: ProgrammeUpdate) -> dict:
    p = await _programme(ctx, data.programme_id)
    for name, value in data.changes(keep={"programme_id"}, required={"title"}).items():
        setattr(p, name, value)
    _hint(ctx, "programme_changed", {"programme_id": p.id})
    return {"programme": views.programme_dict(p)}


@command("programme.publish", ProgrammeRef, "Issue a work programme: everyone signed in may read it",
         ("POST", "/api/programmes/{programme_id}/publish"))
async def programme_publish(ctx: Context, data: ProgrammeRef) -> dict:
    p = await _programme(ctx, data.programme_id)
    if p.state == rules.Publication.PUBLISHED:
        raise DomainError("the programme is already published; its entries may still change",
                          code="invalid_transition")
    if not await ctx.db.scalar(select(func.count()).select_from(ProgrammeEntry)
                               .where(ProgrammeEntry.programme_id == p.id)):
        raise DomainError("a programme needs at least one entry before it is published")
    p.state, p.published_at = rules.Publication.PUBLISHED, utcnow()
    _hint(ctx, "programme_changed", {"programme_id": p.id})
    return {"programme": views.programme_dict(p)}


@command("programme.entry_add", ProgrammeEntryAdd, "Add an entry to a work programme",
         ("POST", "/api/programmes/{programme_id}/entries"))
async def programme_entry_add(ctx: Context, data: ProgrammeEntryAdd) -> dict:
    p = await _programme(ctx, data.programme_id)
    due = rules.Due(month=data.due_month, quarter=data.due_quarter, day=data.due_date)
    rules.check_due(p.kind, p.year, p.month, due)
    last = await ctx.db.scalar(select(func.max(ProgrammeEntry.position)).where(ProgrammeEntry.programme_id == p.id))
    e = ProgrammeEntry(
        programme_id=p.id, position=(last or 0) + 1, content=data.content, kind=data.kind,
        preparing_unit=await _preparing(ctx, data.preparing_unit, data.preparing_unit_id),
        preparing_unit_id=data.preparing_unit_id, due_month=data.due_month, due_quarter=data.due_quarter,
        due_date=data.due_date, state=rules.EntryState.PLANNED, reason="", updated_at=utcnow(),
    )
    ctx.db.add(e)
    await ctx.db.flush()
    return await _programme_answer(ctx, e)


@command("programme.entry_update", ProgrammeEntryUpdate, "Edit a programme entry (content, kind, unit, when)",
         ("PATCH", "/api/programme-entries/{entry_id}"))
async def programme_entry_update(ctx: Context, data: ProgrammeEntryUpdate) -> dict:
    e, p = await _programme_entry(ctx, data.entry_id)
    fields = data.changes(keep={"entry_id"}, required={"content", "kind", "preparing_unit"})
    if "preparing_unit_id" in fields:
        await _unit(ctx, fields["preparing_unit_id"], "preparing_unit_id")
        if "preparing_unit" not in fields and fields["preparing_unit_id"] is not None:
            fields["preparing_unit"] = await _preparing(ctx, None, fields["preparing_unit_id"])
    for name, value in fields.items():
        setattr(e, name, value)
    rules.check_due(p.kind, p.year, p.month, views.due_of(e))
    e.updated_at = utcnow()
    return await _programme_answer(ctx, e)


@command("programme.entry_remove", ProgrammeEntryRef, "Take an entry out of a draft programme",
         ("DELETE", "/api/programme-entries/{entry_id}"))
async def programme_entry_remove(ctx: Context, data: ProgrammeEntryRef) -> dict:
    e, p = await _programme_entry(ctx, data.entry_id)
    if p.state == rules.Publication.PUBLISHED:
        raise DomainError("a published programme keeps its entries: cancel this one instead, with a reason")
    used = await ctx.db.scalar(select(func.count()).select_from(ScheduleEntry)
                               .where(ScheduleEntry.programme_entry_id == e.id))
    if e.meeting_id is not None or used:
        raise DomainError("the entry is on a weekly schedule or has its meeting: cancel it instead")
    await ctx.db.delete(e)
    _hint(ctx, "programme_changed", {"programme_id": p.id})
    return {"entry_id": data.entry_id}


@command("programme.entry_set_state", ProgrammeEntryState,
         "Mark a programme entry planned, scheduled, done, postponed (with a reason) or cancelled",
         ("POST", "/api/programme-entries/{entry_id}/state"))
async def programme_entry_set_state(ctx: Context, data: ProgrammeEntryState) -> dict:
    e, _ = await _programme_entry(ctx, data.entry_id)
    e.state = rules.next_entry_state(e.state, data.state, data.reason)
    e.reason = data.reason if e.state in rules.NEEDS_REASON else ""
    e.updated_at = utcnow()
    return await _programme_answer(ctx, e)


def _morning_of(day: date | None) -> datetime | None:
    # A dated entry whose hour is not given is taken to open the morning session, as the
    # committee's meetings do; the secretariat moves it on the meeting if it is otherwise.
    return datetime.combine(day, time(8), tzinfo=LOCAL) if day is not None else None


@command("programme.create_meeting", ProgrammeMeeting,
         "Make a meeting (a draft) from a programme entry; the entry becomes scheduled and links to it",
         ("POST", "/api/programme-entries/{entry_id}/meeting"))
async def programme_create_meeting(ctx: Context, data: ProgrammeMeeting) -> dict:
    e, p = await _programme_entry(ctx, data.entry_id)
    if e.meeting_id is not None:
        raise DomainError(f"a meeting was already made from this entry (meeting {e.meeting_id})")
    if e.state in (rules.EntryState.DONE, rules.EntryState.CANCELLED):
        raise DomainError(f"the entry is {e.state}: no meeting is made for it", code="invalid_transition")
    starts = data.starts_at or _morning_of(e.due_date)
    if starts is not None and data.ends_at is not None and data.ends_at <= starts:
        raise Invalid("a meeting must end after it starts", details=[{"field": "ends_at", "problem": "before the start"}])
    meeting = await _make_meeting(ctx, unit_id=p.unit_id, title=e.content, place=data.place, starts=starts,
                                  ends=data.ends_at, people=[])
    e.meeting_id = meeting.id
    if rules.may_schedule(e.state):
        e.state, e.reason = rules.EntryState.SCHEDULED, ""
    e.updated_at = utcnow()
    answer = await _programme_answer(ctx, e)
    return {**answer, "meeting": meeting_dict(meeting)}


# --- the weekly schedule -------------------------------------------------------------------------


class ScheduleFields(Payload):
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    content: str | None = Field(default=None, min_length=1, max_length=2000)
    place: str | None = Field(default=None, max_length=300)
    presiding: str | None = Field(default=None, max_length=300)
    presiding_user_id: Id | None = None
    attendee_ids: list[Id] | None = Field(default=None, max_length=500)
    attendees_note: str | None = Field(default=None, max_length=2000)
    preparing_unit: str | None = Field(default=None, max_length=300)
    preparing_unit_id: Id | None = None


class ScheduleEntryAdd(ScheduleFields):
    unit_id: Id
    starts_at: Moment
    content: str = Field(min_length=1, max_length=2000)
    programme_entry_id: Id | None = None


class ScheduleEntryUpdate(ScheduleFields):
    entry_id: Id


class ScheduleEntryRef(Payload):
    entry_id: Id


class ScheduleEntryCancel(Payload):
    entry_id: Id
    reason: str = Field(min_length=1, max_length=2000)


class SchedulePublish(Payload):
    unit_id: Id
    year: int = Field(strict=True, ge=1900, le=2200)
    week: int = Field(strict=True, ge=1, le=53)


async def _schedule_entry(ctx: Context, entry_id: int) -> tuple[ScheduleEntry, ScheduleWeek]:
    e = await ctx.db.get(ScheduleEntry, entry_id)
    if e is None:
        raise NotFound(f"schedule entry {entry_id} does not exist")
    return e, await ctx.db.get(ScheduleWeek, e.week_id)


def _iso_week(row: ScheduleWeek) -> rules.IsoWeek:
    return rules.IsoWeek(row.year, row.week)


async def _attendee_rows(ctx: Context, entry_id: int) -> list[User]:
    return (await views.attendees_of(ctx.db, [entry_id]))[entry_id]


def _printed(e: ScheduleEntry, attendees: list[User]) -> dict[str, str]:
    """The entry's fields as the schedule prints them, to describe an amendment."""
    return {
        "starts_at": rules.moment_label(e.starts_at),
        "ends_at": local(e.ends_at).strftime("%H:%M") if e.ends_at else "",
        "content": e.content,
        "place": e.place,
        "presiding": e.presiding,
        "attendees": ", ".join(u.full_name for u in attendees),
        "attendees_note": e.attendees_note,
        "preparing_unit": e.preparing_unit,
    }


def _record(ctx: Context, row: ScheduleWeek, e: ScheduleEntry, kind: str, summary: str) -> None:
    """A change to an entry: a new SEQUENCE for calendars that hold it; and in a published week,
    marked on the entry and numbered by the amendment that carries it."""
    number = rules.amendment_number(row.state, row.issue)
    if kind != "added":
        e.sequence += 1
    e.updated_at = utcnow()
    if number is None:
        return
    e.amendment = number
    ctx.db.add(ScheduleChange(week_id=row.id, number=number, entry_id=e.id, kind=kind, summary=summary,
                              by_user_id=ctx.caller.user_id))


async def _schedule_answer(ctx: Context, e: ScheduleEntry, row: ScheduleWeek) -> dict:
    await ctx.db.flush()
    unit = await ctx.db.get(Unit, row.unit_id)
    week = await views.week_data(ctx.db, unit, _iso_week(row), office=True)
    shown = week.as_dict()
    _hint(ctx, "schedule_changed", {"unit_id": row.unit_id, "week": week.week.key})
    return {
        "entry": next((x for x in shown["entries"] if x["id"] == e.id), None),
        "week": shown["week"],
        # Clashes are warnings: the office decides (a deputy may go in the chair's place).
        "warnings": [c.as_dict() for c in rules.clashes_of(e.id, week.clashes)],
    }


async def _set_attendees(ctx: Context, e: ScheduleEntry, users: list[User]) -> None:
    await ctx.db.execute(delete(ScheduleAttendee).where(ScheduleAttendee.entry_id == e.id))
    for user in users:
        ctx.db.add(ScheduleAttendee(entry_id=e.id, user_id=user.id))


async def _week_for(ctx: Context, unit_id: int, week: rules.IsoWeek) -> ScheduleWeek:
    row = await views.week_row(ctx.db, unit_id, week)
    if row is None:
        row = ScheduleWeek(unit_id=unit_id, year=week.year, week=week.week, state="draft", issue=0)
        ctx.db.add(row)
        await ctx.db.flush()
    return row


@command("schedule.entry_add", ScheduleEntryAdd, "Add an entry to a unit's weekly schedule (its week follows "
         "from starts_at)", ("POST", "/api/schedule/entries"))
async def schedule_entry_add(ctx: Context, data: ScheduleEntryAdd) -> dict:
    await _unit(ctx, data.unit_id)
    week = rules.IsoWeek.of(data.starts_at)
    rules.check_entry_times(week, data.starts_at, data.ends_at)
    presiding = (await _users(ctx, [data.presiding_user_id] if data.presiding_user_id else [], "presiding_user_id"))
    attendees = await _users(ctx, data.attendee_ids or [], "attendee_ids")
    programme_entry = None
    if data.programme_entry_id is not None:
        programme_entry, _ = await _programme_entry(ctx, data.programme_entry_id)
        if programme_entry.state in (rules.EntryState.DONE, rules.EntryState.CANCELLED):
            raise DomainError(f"programme entry {programme_entry.id} is {programme_entry.state}",
                              code="invalid_transition")
    row = await _week_for(ctx, data.unit_id, week)
    e = ScheduleEntry(
        week_id=row.id, starts_at=data.starts_at, ends_at=data.ends_at, place=data.place or "",
        content=data.content, presiding=data.presiding or (presiding[0].full_name if presiding else ""),
        presiding_user_id=data.presiding_user_id, attendees_note=data.attendees_note or "",
        preparing_unit=await _preparing(ctx, data.preparing_unit, data.preparing_unit_id),
        preparing_unit_id=data.preparing_unit_id, status="active", reason="", sequence=0,
        programme_entry_id=data.programme_entry_id, meeting_id=None, updated_at=utcnow(),
    )
    ctx.db.add(e)
    await ctx.db.flush()
    await _set_attendees(ctx, e, attendees)
    _record(ctx, row, e, "added", f"Bổ sung: {rules.moment_label(e.starts_at)} — {e.content}")
    if programme_entry is not None and rules.may_schedule(programme_entry.state):
        programme_entry.state, programme_entry.reason = rules.EntryState.SCHEDULED, ""
        programme_entry.updated_at = utcnow()
        _hint(ctx, "programme_changed", {"programme_id": programme_entry.programme_id})
    return await _schedule_answer(ctx, e, row)


@command("schedule.entry_update", ScheduleEntryUpdate, "Change an entry of the weekly schedule (within its week)",
         ("PATCH", "/api/schedule/entries/{entry_id}"))
async def schedule_entry_update(ctx: Context, data: ScheduleEntryUpdate) -> dict:
    e, row = await _schedule_entry(ctx, data.entry_id)
    if e.status == "cancelled":
        raise DomainError("the entry is cancelled: restore it before changing it", code="invalid_transition")
    fields = data.changes(keep={"entry_id"}, required={"starts_at", "content", "place", "presiding",
                                                        "attendee_ids", "attendees_note", "preparing_unit"})
    before = _printed(e, await _attendee_rows(ctx, e.id))
    presiding_before = e.presiding_user_id
    week = _iso_week(row)
    starts, ends = fields.get("starts_at", e.starts_at), fields.get("ends_at", e.ends_at)
    if rules.IsoWeek.of(starts) != week:
        raise Invalid(f"an entry stays in its week ({week.key}): to move it to another week, cancel it here "
                      "and add it there", details=[{"field": "starts_at", "problem": "another week"}])
    rules.check_entry_times(week, starts, ends)
    attendees = None
    if "attendee_ids" in fields:
        attendees = await _users(ctx, fields.pop("attendee_ids"), "attendee_ids")
    if "presiding_user_id" in fields:
        chosen = await _users(ctx, [fields["presiding_user_id"]] if fields["presiding_user_id"] else [],
                              "presiding_user_id")
        if chosen and "presiding" not in fields:
            fields["presiding"] = chosen[0].full_name
    if "preparing_unit_id" in fields and fields["preparing_unit_id"] is not None and "preparing_unit" not in fields:
        fields["preparing_unit"] = await _preparing(ctx, None, fields["preparing_unit_id"])
    elif "preparing_unit_id" in fields:
        await _unit(ctx, fields["preparing_unit_id"], "preparing_unit_id")
    for name, value in fields.items():
        setattr(e, name, value)
    if attendees is not None:
        await _set_attendees(ctx, e, attendees)
        await ctx.db.flush()
    after = _printed(e, attendees if attendees is not None else await _attendee_rows(ctx, e.id))
    summary = rules.describe_change(before, after)
    if summary or e.presiding_user_id != presiding_before:
        _record(ctx, row, e, "changed", summary or f"Chủ trì: {e.presiding}")
    return await _schedule_answer(ctx, e, row)


@command("schedule.entry_cancel", ScheduleEntryCancel, "Cancel (hoãn) an entry of the weekly schedule, with a reason",
         ("POST", "/api/schedule/entries/{entry_id}/cancel"))
async def schedule_entry_cancel(ctx: Context, data: ScheduleEntryCancel) -> dict:
    e, row = await _schedule_entry(ctx, data.entry_id)
    if e.status == "cancelled":
        raise DomainError("the entry is already cancelled", code="invalid_transition")
    e.status, e.reason = "cancelled", data.reason
    _record(ctx, row, e, "cancelled", f"Hoãn: {rules.moment_label(e.starts_at)} — {e.content} ({data.reason})")
    return await _schedule_answer(ctx, e, row)


@command("schedule.entry_restore", ScheduleEntryRef, "Put a cancelled entry back on the weekly schedule",
         ("POST", "/api/schedule/entries/{entry_id}/restore"))
async def schedule_entry_restore(ctx: Context, data: ScheduleEntryRef) -> dict:
    e, row = await _schedule_entry(ctx, data.entry_id)
    if e.status != "cancelled":
        raise DomainError("the entry is not cancelled", code="invalid_transition")
    e.status, e.reason = "active", ""
    _record(ctx, row, e, "restored", f"Khôi phục: {rules.moment_label(e.starts_at)} — {e.content}")
    return await _schedule_answer(ctx, e, row)


@command("schedule.entry_remove", ScheduleEntryRef, "Delete an entry from a week that was never published",
         ("DELETE", "/api/schedule/entries/{entry_id}"))
async def schedule_entry_remove(ctx: Context, data: ScheduleEntryRef) -> dict:
    e, row = await _schedule_entry(ctx, data.entry_id)
    if row.state != rules.Publication.DRAFT:
        raise DomainError("a published schedule keeps what it announced: cancel the entry instead, with a reason")
    await ctx.db.execute(delete(ScheduleAttendee).where(ScheduleAttendee.entry_id == e.id))
    await ctx.db.delete(e)
    _hint(ctx, "schedule_changed", {"unit_id": row.unit_id, "week": _iso_week(row).key})
    return {"entry_id": data.entry_id}


@command("schedule.publish", SchedulePublish,
         "Publish a unit's week (issue 1), or reissue it with its amendments (điều chỉnh lần N)",
         ("POST", "/api/schedule/{year}/{week}/publish"))
async def schedule_publish(ctx: Context, data: SchedulePublish) -> dict:
    unit = await _unit(ctx, data.unit_id)
    week = rules.IsoWeek(data.year, data.week)
    row = await views.week_row(ctx.db, unit.id, week)
    if row is None or not await ctx.db.scalar(select(func.count()).select_from(ScheduleEntry)
                                              .where(ScheduleEntry.week_id == row.id)):
        raise DomainError(f"week {week.key} of {unit.name} has no entries to publish")
    row.issue = rules.publish_step(row.state, row.issue, await views.pending_changes(ctx.db, row))
    row.state, row.published_at, row.published_by = rules.Publication.PUBLISHED, utcnow(), ctx.caller.user_id
    await ctx.db.flush()
    _hint(ctx, "schedule_changed", {"unit_id": unit.id, "week": week.key})
    data_now = await views.week_data(ctx.db, unit, week, office=True)
    return {"week": data_now.as_dict()["week"]}


@command("schedule.create_meeting", ScheduleEntryRef,
         "Make a meeting (a draft) from a schedule entry: its title, time, place, chair and attendees",
         ("POST", "/api/schedule/entries/{entry_id}/meeting"))
async def schedule_create_meeting(ctx: Context, data: ScheduleEntryRef) -> dict:
    e, row = await _schedule_entry(ctx, data.entry_id)
    if e.meeting_id is not None:
        raise DomainError(f"a meeting was already made from this entry (meeting {e.meeting_id})")
    if e.status == "cancelled":
        raise DomainError("the entry is cancelled: no meeting is made for it", code="invalid_transition")
    people: list[tuple[User, str]] = []
    if e.presiding_user_id is not None:
        people.append((await ctx.db.get(User, e.presiding_user_id), Role.CHAIR))
    people += [(u, Role.DELEGATE) for u in await _attendee_rows(ctx, e.id) if u.id != e.presiding_user_id]
    meeting = await _make_meeting(ctx, unit_id=row.unit_id, title=e.content, place=e.place, starts=e.starts_at,
                                  ends=e.ends_at, people=people)
    e.meeting_id = meeting.id
    e.updated_at = utcnow()
    if e.programme_entry_id is not None:
        # The programme entry the schedule came from is now served by this meeting too.
        pe = await ctx.db.get(ProgrammeEntry, e.programme_entry_id)
        if pe is not None and pe.meeting_id is None:
            pe.meeting_id = meeting.id
            if rules.may_schedule(pe.state):
                pe.state, pe.reason = rules.EntryState.SCHEDULED, ""
            pe.updated_at = utcnow()
            _hint(ctx, "programme_changed", {"programme_id": pe.programme_id})
    answer = await _schedule_answer(ctx, e, row)
    return {**answer, "meeting": meeting_dict(meeting)}

